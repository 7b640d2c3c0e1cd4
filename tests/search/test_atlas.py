"""The atlas: one UMAP fit (small n), cached with the index; queries placed; plotly figure."""

from __future__ import annotations

import re

import numpy as np
import pytest

pytest.importorskip("umap")
pytest.importorskip("plotly")

import ttmrpp.search.atlas as atlas_module  # noqa: E402
from ttmrpp.search.atlas import (  # noqa: E402
    ATLAS_NAME,
    atlas_figure,
    get_atlas,
    place,
    place_by_neighbours,
    write_html,
)
from ttmrpp.search.index import MusicIndex  # noqa: E402

GENRES = ["rock", "jazz", "ambient", "techno"]
PER = 15


def clustered_collection(rng: np.random.Generator, per: int, start: int = 0):
    centres = np.random.default_rng(123).standard_normal((len(GENRES), 128))
    records, vecs = [], []
    for g, genre in enumerate(GENRES):
        for j in range(per):
            i = start + g * per + j
            records.append(
                {
                    "id": f"t{i:03d}",
                    "path": f"/music/{genre}/{i:03d}.flac",
                    "size": 1,
                    "mtime": 1,
                    "title": f"Song {i} <{genre}>",
                    "artist": f"Artist {g}",
                    "duration": 61.0,
                    "tags": {"genre": [genre], "mood": ["calm"]},
                }
            )
            vecs.append(centres[g] + 0.5 * rng.standard_normal(128))
    return records, np.array(vecs, dtype=np.float32), centres


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """One index folder with one UMAP fit, shared by the tests below."""
    rng = np.random.default_rng(0)
    records, vecs, centres = clustered_collection(rng, PER)
    index = MusicIndex("fingerprint", 128)
    index.add_embeddings(records, vecs)
    index.save(tmp_path_factory.mktemp("atlas") / "idx")
    atlas = get_atlas(index)
    return index, atlas, centres


@pytest.mark.slow  # the one UMAP fit of the suite (numba compiles for tens of seconds)
def test_atlas_is_fitted_cached_and_separates_clusters(fitted, monkeypatch):
    index, atlas, _ = fitted
    assert atlas.coords.shape == (len(GENRES) * PER, 2) and np.isfinite(atlas.coords).all()
    assert (index.folder / ATLAS_NAME).is_file()
    genre_of = {t["path"]: t["tags"]["genre"][0] for t in index.tracks}
    labels = np.array([genre_of[p] for p in atlas.paths])
    d = np.linalg.norm(atlas.coords[:, None] - atlas.coords[None], axis=-1)
    same = labels[:, None] == labels[None]
    assert d[same].mean() < 0.5 * d[~same].mean()

    def no_fit(*a, **k):
        raise AssertionError("the cached atlas should have been used")

    monkeypatch.setattr(atlas_module, "fit_umap", no_fit)
    reloaded = get_atlas(MusicIndex.load(index.folder))
    assert reloaded.paths == atlas.paths and np.array_equal(reloaded.coords, atlas.coords)


def test_query_lands_near_matching_tracks(fitted):
    index, atlas, centres = fitted
    rng = np.random.default_rng(5)
    for g, genre in enumerate(GENRES):
        q = centres[g] + 0.8 * rng.standard_normal(128)  # a noisy "jazz" query
        xy = place(index, atlas, q / np.linalg.norm(q))[0]
        dist = np.linalg.norm(atlas.coords - xy, axis=1)
        match = np.array([f"/{genre}/" in p for p in atlas.paths])
        assert dist[match].mean() < np.median(dist)


def test_place_by_neighbours_weights_nearest_most():
    coords = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    xy = place_by_neighbours(np.array([0.9, 0.5, 0.5]), coords)
    assert np.linalg.norm(xy) < np.linalg.norm(xy - coords[1])
    assert np.allclose(place_by_neighbours(np.array([0.7, 0.7, 0.7]), coords), coords.mean(0))


def test_new_tracks_are_placed_without_refitting(fitted, monkeypatch, tmp_path):
    index, atlas, centres = fitted
    records, vecs, _ = clustered_collection(np.random.default_rng(9), 2, start=500)
    grown = MusicIndex.load(index.folder)
    grown.add_embeddings(records, vecs)
    grown.save(tmp_path / "grown")  # carries atlas.npz over
    monkeypatch.setattr(atlas_module, "fit_umap", lambda *a, **k: pytest.fail("refit"))
    updated = get_atlas(grown)
    assert len(updated.paths) == len(GENRES) * (PER + 2) and updated.version == grown.version
    where = updated.lookup()
    for rec in records:
        genre = rec["tags"]["genre"][0]
        own = np.stack([where[p] for p in atlas.paths if f"/{genre}/" in p]).mean(0)
        others = [
            np.stack([where[p] for p in atlas.paths if f"/{g}/" in p]).mean(0)
            for g in GENRES
            if g != genre
        ]
        d_own = np.linalg.norm(where[rec["path"]] - own)
        assert all(d_own < np.linalg.norm(where[rec["path"]] - o) for o in others)


def test_figure_has_points_hover_and_query_marker(fitted, tmp_path):
    index, atlas, centres = fitted
    q = centres[1] / np.linalg.norm(centres[1])
    xy = place(index, atlas, q)[0]
    fig = atlas_figure(index, atlas, color_by="genre", queries=[("smooth jazz", xy)])
    tracks = [t for t in fig.data if not t.name.startswith("query")]
    assert sorted(t.name for t in tracks) == sorted(f"{g} ({PER})" for g in GENRES)
    assert sum(len(t.x) for t in tracks) == len(GENRES) * PER
    hover = [h for t in tracks for h in t.hovertext]
    assert any("Song 0 &lt;rock&gt;" in h and "Artist 0" in h and "genre: rock" in h for h in hover)
    (query,) = [t for t in fig.data if t.name == "query: smooth jazz"]
    assert (query.x[0], query.y[0]) == pytest.approx((float(xy[0]), float(xy[1])))
    assert query.marker.symbol == "star"
    by_artist = atlas_figure(index, atlas, color_by="artist")
    assert sorted(t.name for t in by_artist.data) == sorted(f"Artist {g} ({PER})" for g in range(4))

    html = write_html(fig, tmp_path / "map.html").read_text()
    assert "smooth jazz" in html and "Artist 0" in html
    assert re.findall(r"<script[^>]*\bsrc=", html) == []  # no CDN: plotly.js is inline
    assert len(html) > 1_000_000


def test_a_damaged_atlas_cache_is_recomputed(tmp_path):
    from ttmrpp.search.atlas import load_atlas

    for damage in (b"", b"PK\x03\x04 not really a zip", b"\x93NUMPY garbage"):
        (tmp_path / "atlas.npz").write_bytes(damage)
        assert load_atlas(tmp_path / "atlas.npz") is None

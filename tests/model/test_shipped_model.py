"""The shipped checkpoint (ttmrpp/pretrained/ttmrpp-cpu): small, self-describing, and it really retrieves
music of the embedded world it never saw (a freshly rendered catalog with another seed)."""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np
import pytest

import ttmrpp
from ttmrpp.assets import shipped_model_dir
from ttmrpp.search.index import MusicIndex
from ttmrpp.world.catalog import CatalogConfig, build_catalog

ASSET = shipped_model_dir()


@pytest.fixture(scope="module")
def shipped():
    return ttmrpp.load_model()  # the default is the shipped model


@pytest.fixture(scope="module")
def indexed(shipped, tmp_path_factory):
    cfg = CatalogConfig(seed=7, tracks=48, benchmark_tracks=0, seconds=8.0)
    manifest = build_catalog(tmp_path_factory.mktemp("catalog"), cfg, workers=0, progress=False)
    index = MusicIndex.create(shipped)
    report = index.update(shipped, manifest, progress=False)
    assert not report.failures
    by_genre = defaultdict(list)
    for t in index.tracks:
        by_genre[t["tags"]["genre"][0]].append(t["path"])
    return index, {g: paths for g, paths in by_genre.items() if len(paths) >= 3}


def test_shipped_model_is_small_and_self_describing():
    size = sum(f.stat().st_size for f in ASSET.rglob("*") if f.is_file())
    assert size <= 60 * 2**20
    config = json.loads((ASSET / "config.json").read_text())
    assert config["name"] == "ttmrpp-cpu"
    provenance = json.loads((ASSET / "provenance.json").read_text())
    assert "train.table2" in provenance["command"]
    assert provenance["text_sources"] == "tag,caption,meta,sim"


def test_genre_queries_find_their_genre(shipped, indexed):
    index, by_genre = indexed
    assert len(by_genre) >= 4
    precisions = {}
    for genre, paths in by_genre.items():
        hits = index.search(shipped, text=f"{genre} music", k=3)
        precisions[genre] = np.mean([h.track["path"] in paths for h in hits])
    # An untrained model gets about len(paths) / len(index) here (roughly 0.1).
    assert np.mean(list(precisions.values())) >= 0.5, precisions


def test_query_by_audio_returns_that_track_first(shipped, indexed):
    index, _ = indexed
    for track in index.tracks[:5]:
        assert index.search(shipped, audio=track["path"], k=1)[0].track["path"] == track["path"]


@pytest.mark.slow  # one UMAP fit
def test_text_query_lands_near_its_tracks_on_the_map(shipped, indexed):
    from ttmrpp.search.atlas import get_atlas, place

    index, by_genre = indexed
    atlas = get_atlas(index)
    ratio = {}  # mean map distance to the genre's tracks / median distance to all tracks
    for genre, paths in by_genre.items():
        xy = place(index, atlas, shipped.encode_text([f"{genre} music"]).detach().numpy())[0]
        dist = np.linalg.norm(atlas.coords - xy, axis=1)
        ratio[genre] = float(dist[np.isin(atlas.paths, paths)].mean() / np.median(dist))
    # Nearer its tracks than the median, for all genres but at most one: the model retrained
    # on music world v4 puts "blues music" at 1.11x the median distance from the 48-track
    # catalog's blues tracks on this map (the other 8 genres: 0.11-0.56).
    assert sum(r >= 1 for r in ratio.values()) <= 1, ratio
    # The untrained audio tower also places some queries well (0.61 on average here).
    assert np.mean(list(ratio.values())) < 0.5, ratio

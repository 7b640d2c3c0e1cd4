"""The atlas: a 2-D UMAP map of a collection's audio embeddings, cached with the index, with
queries placed into it, drawn as a plotly figure.

    atlas = get_atlas(index)                       # fits once, then reads `atlas.npz`
    xy = place(index, atlas, index.query_vector(model, "calm piano"))
    fig = atlas_figure(index, atlas, color_by="genre", queries=[("calm piano", xy[0])])
    write_html(fig, "map.html")                    # plotly.js inline: works offline

Queries are placed at the similarity-weighted mean of their nearest tracks' coordinates. This
is how umap's own `transform` starts a new point before refining it; `transform` itself needs
the fitted UMAP object (its kNN graph and numba code) to be kept and reloaded, which costs
more than the refinement is worth for a marker on a map. New tracks after an incremental
update are placed the same way until they make up `REFIT_FRACTION` of the collection.
"""

from __future__ import annotations

import os
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ttmrpp.fileio import atomic_write

ATLAS_NAME = "atlas.npz"
REFIT_FRACTION = 0.2  # refit the map once this share of tracks was placed, not fitted
PLACE_NEIGHBOURS = 10
MAX_COLOURS = 12  # tag values with their own colour; the rest are "other"


@dataclass
class Atlas:
    paths: list[str]  # track paths, as in the index
    coords: np.ndarray  # [n, 2] float32
    version: int  # the index version the map matches
    fitted: int  # how many tracks the UMAP fit saw (the rest were placed)

    def lookup(self) -> dict[str, np.ndarray]:
        return dict(zip(self.paths, self.coords))


def fit_umap(vectors: np.ndarray, seed: int = 42, n_neighbors: int = 15) -> np.ndarray:
    """UMAP (cosine) of [n, d] vectors -> [n, 2]. Tiny collections fall back to PCA."""
    n = len(vectors)
    if n < 8:  # UMAP's spectral layout needs more points than neighbours
        from sklearn.decomposition import PCA

        if n < 3:
            return np.column_stack([np.arange(n), np.zeros(n)]).astype(np.float32)
        return PCA(n_components=2, random_state=seed).fit_transform(vectors).astype(np.float32)
    import umap

    reducer = umap.UMAP(
        n_components=2,
        n_neighbors=min(n_neighbors, n - 1),
        min_dist=0.1,
        metric="cosine",
        random_state=seed,
        n_jobs=1,  # random_state makes it single-threaded anyway; say so to silence the warning
        init="spectral" if n > 50 else "random",
    )
    return reducer.fit_transform(vectors).astype(np.float32)


def place_by_neighbours(scores: np.ndarray, neighbour_coords: np.ndarray) -> np.ndarray:
    """One point's coordinates from its neighbours' [k, 2] and cosine similarities [k]:
    weights exp(-(d - d_min) / mean(d - d_min)) on cosine distances d, as UMAP weighs
    memberships (the nearest neighbour has weight 1)."""
    d = 1.0 - np.asarray(scores, dtype=np.float64)
    gap = d - d.min()
    sigma = gap.mean() if gap.mean() > 1e-9 else 1.0
    w = np.exp(-gap / sigma)
    return (w[:, None] * neighbour_coords).sum(0) / w.sum()


def place(
    index,
    atlas: Atlas,
    vectors: np.ndarray,
    k: int = PLACE_NEIGHBOURS,
    on_map: np.ndarray | None = None,
) -> np.ndarray:
    """Map positions [q, 2] for query embeddings [q, dim] (or one [dim]), from their nearest
    tracks among those on the map (exact search). `on_map`: the embeddings of `atlas.paths`
    when the caller has them (default: looked up in `index`)."""
    from ttmrpp.search.backends.hnsw import exact_topk

    vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    if on_map is None:
        on_map = index.vectors_for(atlas.paths)  # [n, dim]
    out = np.zeros((len(vectors), 2), dtype=np.float32)
    for start in range(0, len(vectors), 256):
        ids, scores = exact_topk(on_map, vectors[start : start + 256], k)
        for j, (row, sc) in enumerate(zip(ids, scores)):
            out[start + j] = place_by_neighbours(sc, atlas.coords[row])
    return out


def get_atlas(index, folder: str | os.PathLike | None = None, refit: bool = False) -> Atlas:
    """The index's atlas: read from `folder/atlas.npz` (the index's folder by default) when it
    matches, updated by placing new tracks when few changed, else fitted anew and cached."""
    folder = Path(folder) if folder is not None else getattr(index, "folder", None)
    cached = None if refit or folder is None else load_atlas(folder / ATLAS_NAME)
    tracks, vectors, version = index.tracks_and_embeddings()  # one consistent view
    paths = [t["path"] for t in tracks]
    if cached is not None and cached.version == version and cached.paths == paths:
        return cached
    atlas = None
    if cached is not None:
        old = cached.lookup()
        known = np.array([p in old for p in paths], dtype=bool)
        placed = (len(cached.paths) - cached.fitted) + int((~known).sum())
        enough = known.sum() >= min(PLACE_NEIGHBOURS, len(paths))
        if enough and placed <= REFIT_FRACTION * len(paths):
            coords = np.zeros((len(paths), 2), dtype=np.float32)
            coords[known] = np.stack([old[p] for p, kn in zip(paths, known) if kn])
            base = Atlas([p for p, kn in zip(paths, known) if kn], coords[known], -1, 0)
            if (~known).any():
                coords[~known] = place(index, base, vectors[~known], on_map=vectors[known])
            fitted = min(cached.fitted, int(known.sum()))
            atlas = Atlas(paths, coords, version, fitted)
    if atlas is None:
        atlas = Atlas(paths, fit_umap(vectors), version, len(paths))
    if folder is not None and Path(folder).is_dir():
        save_atlas(atlas, Path(folder) / ATLAS_NAME)
    return atlas


def save_atlas(atlas: Atlas, path: Path) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez(
                f,
                paths=np.array(atlas.paths, dtype=str),
                coords=atlas.coords,
                version=atlas.version,
                fitted=atlas.fitted,
            )

    atomic_write(path, write)


def load_atlas(path: Path) -> Atlas | None:
    if not Path(path).is_file():
        return None
    try:
        with np.load(path) as z:
            return Atlas(
                [str(p) for p in z["paths"]], z["coords"], int(z["version"]), int(z["fitted"])
            )
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None  # a damaged cache is recomputed


def colour_value(track: dict[str, Any], key: str) -> str:
    """The value a track is coloured by: its first tag in category `key`, else its field."""
    tags = track.get("tags") or {}
    value = tags.get(key, track.get(key))
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    return str(value) if value not in (None, "") else "unknown"


def hover_text(track: dict[str, Any]) -> str:
    title = track.get("title") or Path(track["path"]).stem
    lines = [f"<b>{_esc(title)}</b>"]
    by = " · ".join(_esc(str(track[k])) for k in ("artist", "album") if track.get(k))
    if by:
        lines.append(by)
    for cat, values in (track.get("tags") or {}).items():
        if values:
            vals = values if isinstance(values, list) else [values]
            lines.append(f"{_esc(cat)}: {_esc(', '.join(map(str, vals)))}")
    if track.get("duration"):
        m, s = divmod(int(round(float(track["duration"]))), 60)
        lines.append(f"{m}:{s:02d}")
    return "<br>".join(lines)


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def atlas_figure(
    index,
    atlas: Atlas,
    color_by: str = "genre",
    queries: list[tuple[str, np.ndarray]] = (),
    title: str | None = None,
):
    """A plotly figure: one trace per colour value (the `MAX_COLOURS` commonest, then
    "other"), hover text with each track's metadata, a star per query."""
    import plotly.graph_objects as go

    where = atlas.lookup()
    tracks = [t for t in index.tracks if t["path"] in where]
    values = [colour_value(t, color_by) for t in tracks]
    common = [v for v, _ in Counter(values).most_common() if v != "unknown"][:MAX_COLOURS]
    groups: dict[str, list[int]] = {}
    for i, v in enumerate(values):
        groups.setdefault(
            v if v in common else ("unknown" if v == "unknown" else "other"), []
        ).append(i)
    scatter = go.Scattergl if len(tracks) > 5000 else go.Scatter
    fig = go.Figure()
    for name in [*common, "other", "unknown"]:
        members = groups.get(name)
        if not members:
            continue
        xy = np.stack([where[tracks[i]["path"]] for i in members])
        fig.add_trace(
            scatter(
                x=xy[:, 0],
                y=xy[:, 1],
                mode="markers",
                name=f"{name} ({len(members)})",
                hovertext=[hover_text(tracks[i]) for i in members],
                hoverinfo="text",
                customdata=[tracks[i]["path"] for i in members],
                marker={"size": 6 if len(tracks) < 2000 else 4, "opacity": 0.8},
            )
        )
    for label, xy in queries:
        fig.add_trace(
            go.Scatter(
                x=[float(xy[0])],
                y=[float(xy[1])],
                mode="markers+text",
                name=f"query: {label}",
                text=[label],
                textposition="top center",
                hovertext=[f"query: {_esc(label)}"],
                hoverinfo="text",
                marker={"symbol": "star", "size": 18, "color": "black", "line": {"width": 1}},
            )
        )
    fig.update_layout(
        title=title or f"{len(tracks)} tracks, coloured by {color_by}",
        xaxis={"visible": False},
        yaxis={"visible": False, "scaleanchor": "x"},
        legend={"itemsizing": "constant"},
        template="plotly_white",
        hoverlabel={"align": "left"},
    )
    return fig


def write_html(fig, path: str | os.PathLike) -> Path:
    """A self-contained HTML page (plotly.js inline, no CDN: opens offline), written atomically."""
    return atomic_write(
        path, lambda tmp: fig.write_html(str(tmp), include_plotlyjs=True, full_html=True)
    )

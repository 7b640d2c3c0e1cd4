"""The atlas: the collection's 2-D map, cached with the index, and its figure."""

from __future__ import annotations

import html

import numpy as np

from ttmrpp.app.services.common import QueryError, Services, credit_line


def atlas_points(services: Services, progress: bool = False):
    """The collection's 2-D map (`ttmrpp.search.atlas.Atlas`), fitted once and cached with the index."""
    from ttmrpp.search.atlas import get_atlas

    index = services.index
    with services._atlas_lock:
        if services._atlas is None or services._atlas_version != index.version:
            folder = (
                services.index_dir if services.index_dir and services.index_dir.is_dir() else None
            )
            services._atlas = get_atlas(index, folder)
            services._atlas_version = index.version
        return services._atlas


def atlas_figure(
    services: Services,
    color_by: str = "genre",
    query_vector: np.ndarray | None = None,
    query_label: str = "query",
):
    """A plotly figure of the map coloured by a tag category, with the query marked (if any);
    hovering a track shows its metadata, licence and credit."""
    from ttmrpp.search.atlas import atlas_figure as draw
    from ttmrpp.search.atlas import place

    if not len(services.index):
        raise QueryError("The collection is empty: index some music first (Collection tab).")
    atlas = atlas_points(services)
    queries = []
    if query_vector is not None:
        q = np.asarray(query_vector, dtype=np.float32).reshape(-1)
        if q.shape != (services.index.dim,):
            raise QueryError(f"A query vector needs {services.index.dim} values, not {q.size}.")
        queries.append((query_label, place(services.index, atlas, q)[0]))
    fig = draw(services.index, atlas, color_by=color_by or "genre", queries=queries)
    add_credits(fig, services)
    return fig


def add_credits(fig, services: Services) -> None:
    """Append each track's licence and credit to its hover text (attribution wherever a track
    is shown; the points carry their track's path in `customdata`)."""
    by_path = {t["path"]: t for t in services.index.tracks}
    for trace in fig.data:
        if trace.customdata is None or trace.hovertext is None:
            continue
        texts = []
        for text, path in zip(trace.hovertext, trace.customdata, strict=True):
            credit = credit_line(by_path.get(path) or {})
            texts.append(
                f"{text}<br>licence: {html.escape(credit, quote=False)}" if credit else text
            )
        trace.hovertext = texts


def tag_categories(services: Services) -> list[str]:
    """Tag categories present in the collection (genre, instrument, mood, ...), sorted."""
    cats = {c for t in services.index.tracks for c in (t.get("tags") or {})}
    return sorted(cats)

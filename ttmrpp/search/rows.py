"""The rows a search may return: the live rows as a mask, and the rows left by filters and
exclusions (cached per index version). These functions expect the caller to hold the index's
lock."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np

from ttmrpp.search.sources import matches

if TYPE_CHECKING:
    from ttmrpp.search.index import MusicIndex


def live_mask(index: MusicIndex, rows: np.ndarray | None = None) -> np.ndarray | None:
    """Bool mask over the index's rows, true at `rows` (default: the live rows, cached per
    version); None when that is every row."""
    if rows is None:
        if len(index) == len(index.records):
            return None
        key = (index.version, len(index.records))
        if index._live_cache[0] != key:
            index._live_cache = (key, live_mask(index, index.alive_rows))
        return index._live_cache[1]
    mask = np.zeros(len(index.records), dtype=bool)
    mask[rows] = True
    return mask


def candidate_rows(
    index: MusicIndex, filters: dict[str, Any] | None, exclude: set[str] | None
) -> np.ndarray | None:
    """Live rows whose records match `filters`, less the paths in `exclude`, ascending; None
    when neither is given (every live row). The last filter's rows are cached per version."""
    if not filters and not exclude:
        return None
    key = (index.version, json.dumps(filters or {}, sort_keys=True, default=list))
    rows = index._filter_cache.get(key)
    if rows is None:
        rows = np.array(
            [r for r in index.alive_rows if matches(index.records[r], filters or {})],
            dtype=np.int64,
        )
        index._filter_cache = {key: rows}
    if exclude:
        drop = {index._by_path[p] for p in exclude if p in index._by_path}
        rows = np.array([r for r in rows if r not in drop], dtype=np.int64)
    return rows

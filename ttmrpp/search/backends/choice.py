"""Which search a collection gets, and keeping it calibrated: exact below `EXACT_LIMIT`
tracks, the compressed scan from `SCAN_LIMIT`, and in between whichever of HNSW and the scan
answers faster here at the calibrated recall (or the method pinned by `index.method`).

These functions work on a `MusicIndex`'s rows and backends under its lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ttmrpp.search.backends.hnsw import EXACT_LIMIT, build_hnsw, calibration_queries, tune_ef

if TYPE_CHECKING:
    from ttmrpp.search.index import MusicIndex

# From this many tracks on, a compressed full scan (`sign_scan`) replaces the HNSW graph: it
# builds in seconds where the graph takes tens of minutes on a small machine, and its latency
# does not depend on how clustered the embeddings are (about 0.8 ms at a million on 2 cores).
# A scanned collection goes back to HNSW only below 80% of this, so it does not flip-flop.
SCAN_LIMIT = 250_000
COMPACT_FRACTION = 0.2  # rebuild once this fraction of rows are deleted


def maintain(index: MusicIndex, force_tune: bool = False) -> None:
    """Compact deleted rows; choose between exact search, HNSW and the scan; recalibrate
    `ef` or the scan's survivor count."""
    dead = len(index.records) - len(index)
    if len(index) < EXACT_LIMIT:
        index._hnsw = index._scan = None
        index.ef = index.calibrated_recall = index.scan_candidates = None
        index.method_timings = None
        if dead:
            compact(index)
        return
    want = wanted_method(index)
    if (
        index.search_method == "exact"
        or dead > COMPACT_FRACTION * len(index.records)
        or want not in ("auto", index.search_method)
    ):
        compact(index)
        build(index, want)
    elif force_tune:
        tune(index)


def wanted_method(index: MusicIndex) -> str:
    """ "hnsw", "scan", or "auto" (build both, keep the faster at the calibrated recall)."""
    from ttmrpp.search.backends.sign_scan import (
        MAX_DIM,  # numba: imported only where large collections need it
    )

    if index.dim > MAX_DIM:
        return "hnsw"
    if index.method != "auto":
        return index.method
    limit = SCAN_LIMIT * (0.8 if index._scan is not None else 1.0)
    return "scan" if len(index) >= limit else "auto"


def build(index: MusicIndex, want: str) -> None:
    if want in ("hnsw", "auto"):
        index._hnsw = build_hnsw(
            index.vectors,
            m=index.hnsw_params["M"],
            ef_construction=index.hnsw_params["ef_construction"],
        )
    if want in ("scan", "auto"):
        from ttmrpp.search.backends.sign_scan import SignScan

        index._scan = SignScan(index.dim)
        index._scan.add(index.vectors)
    recall = tune(index)
    index.method_timings = None
    if index._hnsw is not None and index._scan is not None:
        # both reach the recall target; keep the one that answers faster on this machine
        # and this collection (a graph wins on clustered embeddings, the scan on
        # structureless ones)
        queries = calibration_queries(index.vectors[index.alive_rows], 100, seed=1)
        hnsw_ms = median_ms(lambda q: index._hnsw.knn_query(q[None], k=10), queries)
        scan_ms = median_ms(
            lambda q: index._scan.search(q, 10, index.scan_candidates, index.vectors), queries
        )
        index.method_timings = {"hnsw_ms": round(hnsw_ms, 4), "scan_ms": round(scan_ms, 4)}
        if scan_ms < hnsw_ms:
            index._hnsw, index.ef = None, None
        else:
            index._scan, index.scan_candidates = None, None
        index.calibrated_recall = recall[index.search_method]


def rebuild_hnsw(index: MusicIndex) -> None:
    """A new graph over the live rows (labelled by row) and a fresh calibration: what a
    loaded index gets when its `hnsw.bin` was damaged."""
    rows = index.alive_rows
    index._hnsw = build_hnsw(
        index.vectors[rows],
        ids=rows,
        m=index.hnsw_params["M"],
        ef_construction=index.hnsw_params["ef_construction"],
        capacity=len(index.records),
    )
    tune(index)


def tune(index: MusicIndex) -> dict[str, float]:
    """Calibrate `ef` and/or the survivor count; returns each method's calibrated recall."""
    rows = index.alive_rows
    recall: dict[str, float] = {}
    index.ef = index.scan_candidates = None
    if index._hnsw is not None:
        index.ef, recall["hnsw"] = tune_ef(index._hnsw, index.vectors[rows], labels=rows)
    if index._scan is not None:
        from ttmrpp.search.backends.sign_scan import tune_candidates

        index.scan_candidates, recall["scan"] = tune_candidates(
            index._scan, index.vectors, rows, allowed=index._live_mask()
        )
    index.calibrated_recall = recall.get(index.search_method)
    return recall


def compact(index: MusicIndex) -> None:
    rows = index.alive_rows
    index.records = [index.records[r] for r in rows]
    index.vectors = np.ascontiguousarray(index.vectors[rows])
    index._by_path = {rec["path"]: i for i, rec in enumerate(index.records)}
    index._alive = None
    index._hnsw = index._scan = None


def median_ms(fn: Callable[[np.ndarray], Any], queries: np.ndarray) -> float:
    """Median wall time of fn(q) over the queries, after one warm-up call."""
    fn(queries[0])
    times = []
    for q in queries:
        t0 = time.perf_counter()
        fn(q)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1e3

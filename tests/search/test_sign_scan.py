"""SignScan: the compressed full scan used for large collections (ttmrpp.search.backends.sign_scan)."""

from __future__ import annotations

import numpy as np
import pytest

from ttmrpp.search.backends.hnsw import exact_topk, recall_at_k
from ttmrpp.search.backends.sign_scan import SignScan, tune_candidates


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    return unit(rng.standard_normal((20_000, 128))), unit(rng.standard_normal((50, 128)))


def search_all(scan, vectors, queries, k, candidates, allowed=None):
    return [scan.search(q, k, candidates, vectors, allowed) for q in queries]


def test_every_survivor_gives_the_exact_top_k(data):
    x, queries = data
    scan = SignScan(128)
    scan.add(x[:12_000])
    scan.add(x[12_000:])  # codes are appended in row order
    truth, true_scores = exact_topk(x, queries, 10)
    results = search_all(scan, x, queries, 10, len(x))
    found = np.array([r[0] for r in results])
    assert recall_at_k(found, truth) >= 0.99
    # scores are exact inner products, best first
    rows, scores = results[0]
    assert scores == pytest.approx(x[rows] @ queries[0], abs=1e-5)
    assert list(scores) == sorted(scores, reverse=True)


def test_calibrated_candidates_reach_the_target_on_fresh_queries(data):
    x, queries = data
    scan = SignScan(128)
    scan.add(x)
    candidates, cal_recall = tune_candidates(scan, x, target=0.98)
    assert cal_recall >= 0.98 and candidates < len(x)
    truth, _ = exact_topk(x, queries, 10)
    found = np.array([r[0] for r in search_all(scan, x, queries, 10, candidates)])
    assert recall_at_k(found, truth) >= 0.95
    # a survivor count far below the calibrated one loses neighbours: the scan really prunes
    few = np.array([r[0][:10] for r in search_all(scan, x, queries, 10, 20)], dtype=object)
    assert np.mean([len(set(f) & set(t)) / 10 for f, t in zip(few, truth)]) < 0.8


def test_allowed_mask_is_honoured(data):
    x, queries = data
    scan = SignScan(128)
    scan.add(x)
    allowed = np.zeros(len(x), bool)
    allowed[::3] = True
    rows = np.flatnonzero(allowed)
    truth = rows[exact_topk(x[rows], queries, 10)[0]]
    results = search_all(scan, x, queries, 10, len(rows), allowed)
    assert all(allowed[r[0]].all() for r in results)
    assert recall_at_k(np.array([r[0] for r in results]), truth) >= 0.99
    assert len(scan.search(queries[0], 10, 100, x, np.zeros(len(x), bool))[0]) == 0


def test_small_dimensions_large_k_and_empty():
    rng = np.random.default_rng(3)
    x = unit(rng.standard_normal((3000, 32)))
    scan = SignScan(32)
    assert len(scan.search(x[0], 5, 100, x)[0]) == 0  # nothing indexed yet
    scan.add(x)
    rows, scores = scan.search(x[17], 60, len(x), x)
    truth, _ = exact_topk(x, x[17][None], 60)
    assert rows[0] == 17 and scores[0] == pytest.approx(1.0, abs=1e-5)
    assert len(set(rows) & set(truth[0])) >= 57
    with pytest.raises(ValueError, match="up to 128"):
        SignScan(256)


def test_concurrent_searches_match_serial_ones(data):
    import threading

    x, queries = data
    scan = SignScan(128)
    scan.add(x)
    serial = [scan.search(q, 10, 2000, x)[0].tolist() for q in queries]
    got: dict[int, list[int]] = {}

    def work(start: int) -> None:
        for i in range(start, len(queries), 2):
            got[i] = scan.search(queries[i], 10, 2000, x)[0].tolist()

    threads = [threading.Thread(target=work, args=(s,)) for s in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [got[i] for i in range(len(queries))] == serial

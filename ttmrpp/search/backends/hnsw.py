"""Nearest-neighbour search over unit vectors: exact (numpy) or HNSW (hnswlib, cosine).

`VectorIndex` hides which one runs: collections smaller than `EXACT_LIMIT` are searched
exactly (a matrix product is both faster and exact there); larger ones get an HNSW graph whose
query-time `ef` is calibrated on the collection itself for recall@10 >= `TARGET_RECALL`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

EXACT_LIMIT = 8192  # below this many items exact search is used
HNSW_M = 48  # graph degree: ~1 KB per 128-d item; embedding time dwarfs build time
HNSW_EF_CONSTRUCTION = 200
TARGET_RECALL = 0.99  # recall@10 the calibrated ef aims for
EF_LADDER = (64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096)


def exact_topk(data: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact cosine top-k for unit vectors: (ids [Q, k], scores [Q, k]), best first."""
    k = min(k, len(data))
    if k == 0:
        return np.zeros((len(queries), 0), np.int64), np.zeros((len(queries), 0), np.float32)
    sims = queries @ data.T  # [Q, N]
    if k < sims.shape[1]:
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    else:
        part = np.tile(np.arange(sims.shape[1]), (len(queries), 1))
    part_s = np.take_along_axis(sims, part, axis=1)
    order = np.argsort(-part_s, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(part_s, order, axis=1)


def exact_topk_batched(data: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact top-k ids for many queries, a block at a time (~256 MB of scores per block)."""
    batch = max(1, 2**26 // max(len(data), 1))
    return np.concatenate(
        [exact_topk(data, queries[i : i + batch], k)[0] for i in range(0, len(queries), batch)]
    )


def recall_at_k(found: np.ndarray | list[np.ndarray], truth: np.ndarray) -> float:
    """Mean fraction of the true top-k found, over queries (`found` may be ragged: a search
    that returns fewer than k ids counts the missing ones as misses)."""
    k = truth.shape[1]
    return float(np.mean([len(set(f[:k]) & set(t)) / k for f, t in zip(found, truth)]))


def build_hnsw(
    data: np.ndarray,
    ids: np.ndarray | None = None,
    m: int = HNSW_M,
    ef_construction: int = HNSW_EF_CONSTRUCTION,
    num_threads: int = -1,
    capacity: int | None = None,
):
    """An hnswlib cosine index over `data` [N, D] labelled by `ids` (row numbers by default)."""
    import hnswlib

    index = hnswlib.Index(space="cosine", dim=data.shape[1])
    index.init_index(
        max_elements=max(capacity or 0, len(data), 1),
        M=m,
        ef_construction=ef_construction,
        random_seed=100,
        allow_replace_deleted=True,
    )
    if len(data):
        labels = np.arange(len(data)) if ids is None else ids
        index.add_items(data, labels, num_threads=num_threads)
    return index


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)).astype(np.float32)


def calibration_queries(data: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Queries harder than real ones: the midpoint of two random stored vectors pushed 45
    degrees off in a random direction. They lie near the data without being items (an item
    trivially finds itself) and, like text queries across the modality gap, match nothing
    closely."""
    rng = np.random.default_rng(seed)
    mid = _unit(data[rng.integers(0, len(data), n)] + data[rng.integers(0, len(data), n)])
    noise = _unit(rng.standard_normal(mid.shape).astype(np.float32))
    noise = _unit(noise - (noise * mid).sum(-1, keepdims=True) * mid)  # orthogonal to mid
    return _unit(mid + noise)


def tune_ef(
    index,
    data: np.ndarray,
    labels: np.ndarray | None = None,
    queries: np.ndarray | None = None,
    k: int = 10,
    target: float = TARGET_RECALL,
) -> tuple[int, float]:
    """The smallest `ef` on `EF_LADDER` whose recall@k against exact search reaches `target`.

    `data` [N, D] holds the live vectors, labelled in `index` by `labels` (row numbers by
    default). The chosen ef is set on `index`. Returns (ef, recall).
    """
    labels = np.arange(len(data)) if labels is None else np.asarray(labels)
    if queries is None:
        queries = calibration_queries(data, min(200, len(data)))
    k = min(k, len(data))
    truth = labels[exact_topk_batched(data, queries, k)]
    ef, rec = EF_LADDER[-1], 0.0
    for ef in EF_LADDER:
        index.set_ef(max(ef, k))
        found, _ = index.knn_query(queries, k=k)
        rec = recall_at_k(found, truth)
        if rec >= target:
            break
    index.set_ef(max(ef, k))
    return ef, rec


def rss_mb() -> float:
    """Current resident memory of this process in MB (Linux), or NaN elsewhere."""
    try:
        with open(f"/proc/{os.getpid()}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def load_hnsw(path: str | os.PathLike, dim: int, max_elements: int = 0):
    import hnswlib

    index = hnswlib.Index(space="cosine", dim=dim)
    index.load_index(str(Path(path)), max_elements=max_elements, allow_replace_deleted=True)
    return index

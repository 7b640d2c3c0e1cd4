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
    """Load an hnswlib file. hnswlib trusts the file: damaged bytes can crash the process, so
    only pass a file whose checksum was verified or that `hnsw_file_problem` accepted."""
    import hnswlib

    index = hnswlib.Index(space="cosine", dim=dim)
    index.load_index(str(Path(path)), max_elements=max_elements, allow_replace_deleted=True)
    return index


# hnswlib's file header (hnswalg.h, saveIndex), little-endian, 96 bytes
_HNSW_HEADER = np.dtype(
    [
        ("offset_level0", "<u8"),
        ("max_elements", "<u8"),
        ("count", "<u8"),
        ("size_per_element", "<u8"),
        ("label_offset", "<u8"),
        ("offset_data", "<u8"),
        ("max_level", "<i4"),
        ("enterpoint", "<u4"),
        ("max_m", "<u8"),
        ("max_m0", "<u8"),
        ("m", "<u8"),
        ("mult", "<f8"),
        ("ef_construction", "<u8"),
    ]
)


class _GraphProblem(Exception):
    """What is wrong with a graph file: raised by the checks, returned by `hnsw_file_problem`."""


def hnsw_file_problem(
    path: str | os.PathLike,
    dim: int,
    records: list,
    vectors: np.ndarray,
    m: int | None = None,
) -> str | None:
    """Check an hnswlib cosine graph file (labels = rows of `records`) before hnswlib reads
    it: what is wrong with it, or None. For files without a recorded checksum.

    Everything hnswlib follows blindly is checked: the header against the layout `dim` and
    `m` imply, every neighbour id and list length at every level (an id out of range or a
    neighbour without that level sends a search outside the graph's memory), the entry
    point, each element's label and deleted flag against `records`, and each live element's
    stored vector against `vectors` (so a damaged vector cannot rank wrongly either).
    """
    raw = np.fromfile(path, dtype=np.uint8)
    try:
        h = _checked_header(raw, dim, len(records), m)
        n, gm = int(h["count"]), int(h["m"])
        end0 = _check_level0(raw, n, gm, dim, records, vectors)
        levels, lists = _upper_levels(raw, end0, n, gm)
        top, entry = int(h["max_level"]), int(h["enterpoint"])
        if n and (entry >= n or levels[entry] != top or levels.max() != top):
            raise _GraphProblem("bad entry point or top level")
        _check_upper_links(lists, levels, n, gm)
    except _GraphProblem as problem:
        return str(problem)
    return None


def _checked_header(raw: np.ndarray, dim: int, rows: int, m: int | None) -> np.void:
    """The file's header, if it fits a `dim`-d graph of at most `rows` items built with `m`
    (any M when None)."""
    if raw.size < _HNSW_HEADER.itemsize:
        raise _GraphProblem(f"{raw.size} bytes, shorter than the header")
    h = raw[: _HNSW_HEADER.itemsize].view(_HNSW_HEADER)[0]
    n, gm = int(h["count"]), int(h["m"])
    links0 = 4 + 8 * gm  # count + 2M neighbour ids at level 0
    expected = {
        "offset_level0": 0,
        "m": gm if m is None else m,
        "max_m": gm,
        "max_m0": 2 * gm,
        "offset_data": links0,
        "label_offset": links0 + 4 * dim,
        "size_per_element": links0 + 4 * dim + 8,  # links, vector, label
    }
    wrong = [k for k, v in expected.items() if int(h[k]) != v]
    if not 2 <= gm <= 4096 or wrong or n > rows:
        raise _GraphProblem(
            f"header does not match a {dim}-d graph of at most {rows} items ({wrong})"
        )
    if not abs(float(h["mult"]) * np.log(gm) - 1.0) < 1e-9 or int(h["ef_construction"]) > 1 << 20:
        raise _GraphProblem("header holds impossible build parameters")
    return h


def _check_level0(
    raw: np.ndarray, n: int, gm: int, dim: int, records: list, vectors: np.ndarray
) -> int:
    """Check the level-0 block of `n` items (neighbour lists, flags, labels, stored vectors);
    returns the offset where it ends."""
    links0 = 4 + 8 * gm
    per_element = links0 + 4 * dim + 8
    end0 = _HNSW_HEADER.itemsize + n * per_element
    if raw.size < end0:
        raise _GraphProblem(f"{raw.size} bytes, too short for {n} items")
    level0 = raw[_HNSW_HEADER.itemsize : end0].reshape(n, per_element)
    head = np.ascontiguousarray(level0[:, :4]).view("<u4")[:, 0]
    count, flags = head & 0xFFFF, (head >> 16) & 0xFF
    ids = np.ascontiguousarray(level0[:, 4:links0]).view("<u4")
    used = np.arange(2 * gm)[None, :] < count[:, None]
    if (count > 2 * gm).any() or (flags > 1).any() or (ids[used] >= n).any():
        raise _GraphProblem("a level-0 neighbour list is out of range")
    labels = np.ascontiguousarray(level0[:, links0 + 4 * dim :]).view("<u8")[:, 0]
    stored = np.ascontiguousarray(level0[:, links0 : links0 + 4 * dim]).view("<f4")
    _check_items(labels, flags, stored, records, vectors)
    return end0


def _check_items(
    labels: np.ndarray, flags: np.ndarray, stored: np.ndarray, records: list, vectors: np.ndarray
) -> None:
    """Each item's label is a distinct row, the live items are the live `records`, and each
    live item's stored vector is its row of `vectors`."""
    rows = len(records)
    if (labels >= rows).any() or len(np.unique(labels)) != len(labels):
        raise _GraphProblem("labels are not distinct rows")
    live = np.fromiter((r is not None for r in records), bool, rows)
    kept = labels[flags == 0]
    if not np.array_equal(np.sort(kept), np.flatnonzero(live)):
        raise _GraphProblem("the graph's live items are not the index's live tracks")
    diff = np.abs(stored[flags == 0] - vectors[kept])
    if not (diff <= 1e-5).all():  # NaN fails too
        raise _GraphProblem("a stored vector differs from embeddings.npy")


def _upper_levels(
    raw: np.ndarray, start: int, n: int, gm: int
) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Read the variable-length upper-level lists that follow level 0, one per item: each
    item's top level, and its lists [levels, 4 + 4M bytes] for the items that have any."""
    upper = 4 + 4 * gm  # count + M neighbour ids per upper level
    levels, lists, pos, buf = np.zeros(n, np.int64), {}, start, memoryview(raw)
    for i in range(n):
        if pos + 4 > raw.size:
            raise _GraphProblem("truncated upper levels")
        size = int.from_bytes(buf[pos : pos + 4], "little")
        pos += 4
        if size:
            if size % upper or pos + size > raw.size:
                raise _GraphProblem(f"item {i}: bad upper-level list size {size}")
            levels[i] = size // upper
            lists[i] = raw[pos : pos + size].reshape(-1, upper)
            pos += size
    if pos != raw.size:
        raise _GraphProblem(f"{raw.size - pos} unexpected bytes at the end")
    return levels, lists


def _check_upper_links(lists: dict[int, np.ndarray], levels: np.ndarray, n: int, gm: int) -> None:
    """Every upper-level list holds at most M ids, each of an item that has that level."""
    for i, block in lists.items():
        cnt = np.ascontiguousarray(block[:, :4]).view("<u4")[:, 0] & 0xFFFF
        nb = np.ascontiguousarray(block[:, 4:]).view("<u4")
        use = np.arange(gm)[None, :] < cnt[:, None]
        lvl = np.broadcast_to(np.arange(1, len(block) + 1)[:, None], nb.shape)
        if (cnt > gm).any() or (nb[use] >= n).any() or (levels[nb[use]] < lvl[use]).any():
            raise _GraphProblem(f"item {i}: an upper-level neighbour list is out of range")

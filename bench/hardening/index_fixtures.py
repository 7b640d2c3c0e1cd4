"""Random indexes for the index hardening probes (`bench/hardening/index.py`): unit vectors,
track records, and an index of a few thousand tracks searched by a chosen method."""

from __future__ import annotations

import numpy as np

import ttmrpp.search.backends.choice as choice
from ttmrpp.search.index import MusicIndex

DIM = 128


def unit_vectors(n: int, seed: int, dim: int = DIM) -> np.ndarray:
    """`n` random unit vectors [n, dim], the same for the same seed."""
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def records(start: int, n: int, **fields) -> list[dict]:
    """Records of tracks `start` .. `start + n - 1` (virtual paths, genre "a" or "b")."""
    return [
        {"id": f"t{i}", "path": f"/virtual/{i}.wav", "size": 1, "mtime": 1, "genre": "ab"[i % 2]}
        | fields
        for i in range(start, start + n)
    ]


def make_index(n: int, method: str, seed: int = 0, **fields) -> MusicIndex:
    """An index of `n` random tracks searched by `method` (the limits lowered so that a few
    thousand tracks get the graph or the scan)."""
    choice.EXACT_LIMIT = 1000 if method != "exact" else 8192
    index = MusicIndex("fingerprint", DIM)
    index.method = method if method != "exact" else "auto"
    index.add_embeddings(records(0, n, **fields), unit_vectors(n, seed))
    assert index.search_method == method, (index.search_method, method)
    return index

"""Saving and loading a `MusicIndex`: its state as plain data (`IndexSnapshot`) and back.

The folder layout, the atomic save, the checksums and the checks on load live in
`ttmrpp.search.store`; these functions move an index's state into and out of it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ttmrpp.search.store import IndexSnapshot, load_index, save_index

if TYPE_CHECKING:
    from ttmrpp.search.index import MusicIndex


def save_folder(index: MusicIndex, folder: str | os.PathLike, model=None) -> Path:
    """`MusicIndex.save`: write `index` (and `model`, if given) to `folder` atomically, under
    the index's read lock; the folder it was written to becomes `index.folder`."""
    if model is not None:
        index.check_model(model)
    with index._lock.read():
        folder = save_index(index.snapshot(), folder, model)
        index.folder = folder
    return folder


def snapshot_of(index: MusicIndex) -> IndexSnapshot:
    """The index as plain data, sharing its arrays (the caller holds `index._lock.read()`)."""
    meta: dict[str, Any] = {
        "model_fingerprint": index.fingerprint,
        "model_spec": index.model_spec,
        "dim": index.dim,
        "tracks": len(index._by_path),
        "rows": len(index.records),
        "version": index.version,
        "source": index.source,
        "search": index.search_method,
        "ef": index.ef,
        "scan_candidates": index.scan_candidates,
        "method": index.method,
        "method_timings": index.method_timings,
        "calibrated_recall": index.calibrated_recall,
        "hnsw_params": index.hnsw_params,
        "failures": index.failures,
    }
    carry = [index.folder] if index.folder is not None else []
    return IndexSnapshot(meta, index.records, index.vectors, index._hnsw, carry)


def load_folder(cls: type[MusicIndex], folder: str | os.PathLike) -> MusicIndex:
    """`MusicIndex.load`: an index of class `cls` read from `folder` (verified by
    `ttmrpp.search.store.load_index`), with `folder` as its `folder`."""
    folder = Path(folder).expanduser().resolve()
    index = cls.from_snapshot(load_index(folder))
    index.folder = folder
    return index


def index_from_snapshot(cls: type[MusicIndex], snap: IndexSnapshot) -> MusicIndex:
    """`MusicIndex.from_snapshot`: an index of class `cls` over a snapshot's data."""
    meta = snap.meta
    index = cls(meta["model_fingerprint"], meta["dim"], meta.get("model_spec"))
    index.records, index.vectors = snap.records, snap.vectors
    index._by_path = {r["path"]: i for i, r in enumerate(index.records) if r is not None}
    index.failures = meta.get("failures", {})
    index.source = meta.get("source")
    index.version = meta.get("version", 0)
    index.hnsw_params = meta.get("hnsw_params", index.hnsw_params)
    index.calibrated_recall = meta.get("calibrated_recall")
    index.method = meta.get("method", "auto")
    index.method_timings = meta.get("method_timings")
    index.repaired = list(snap.repaired)
    _restore_backend(index, snap)
    return index


def _restore_backend(index: MusicIndex, snap: IndexSnapshot) -> None:
    """Attach the snapshot's HNSW graph, or rebuild the graph (damaged or missing `hnsw.bin`)
    or the scan's codes from the vectors, as the saved search method needs."""
    meta = snap.meta
    if snap.hnsw is not None:
        index._hnsw = snap.hnsw
        index.ef = int(meta["ef"])
        index._hnsw.set_ef(index.ef)  # ef is not stored in the hnswlib file
    elif meta.get("search") == "hnsw" and index._by_path:  # damaged or missing hnsw.bin
        from ttmrpp.search.backends.choice import rebuild_hnsw

        rebuild_hnsw(index)
    elif meta.get("search") == "scan":
        from ttmrpp.search.backends.sign_scan import SignScan

        index._scan = SignScan(index.dim)  # codes are rebuilt from the vectors (seconds)
        index._scan.add(index.vectors)
        index.scan_candidates = int(meta["scan_candidates"])

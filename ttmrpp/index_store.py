"""An index folder on disk: atomic saves (write beside, then swap) and loading.

Layout: `index.json` (format, model fingerprint, settings, failures; written last),
`tracks.jsonl` (one record per row; `null` for a deleted row), `embeddings.npy` [rows, dim]
float32, `hnsw.bin` (only for HNSW-searched collections; a scanned collection's codes are
rebuilt from the embeddings on load), and caches carried from save to
save (`atlas.npz`, `model/` when the index carries its own model).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ttmrpp.ann import load_hnsw

if TYPE_CHECKING:
    from ttmrpp.index import MusicIndex

FORMAT_VERSION = 1
META_NAME = "index.json"
TRACKS_NAME = "tracks.jsonl"
VECTORS_NAME = "embeddings.npy"
HNSW_NAME = "hnsw.bin"
MODEL_DIR = "model"
CACHE_NAMES = ("atlas.npz", MODEL_DIR)  # carried over from the previous save when not rewritten


def save_index(index: MusicIndex, folder: str | os.PathLike, model=None) -> Path:
    """`MusicIndex.save`: write everything to a temporary folder beside `folder`, fsync, move
    the old folder aside, move the new one in, delete the old one. A crash while writing
    leaves the old folder untouched; one between the two renames is undone by `_recover`."""
    folder = Path(folder).expanduser().resolve()
    if folder.exists() and any(folder.iterdir()) and not (folder / META_NAME).is_file():
        raise FileExistsError(f"{folder}: exists and is not an index folder; not replacing it")
    folder.parent.mkdir(parents=True, exist_ok=True)
    _recover(folder)
    for stale in folder.parent.glob(f".{folder.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = folder.parent / f".{folder.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        with index._lock:
            _write(index, tmp, folder, model)
        old = None
        if folder.exists():
            old = folder.parent / f".{folder.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(folder, old)
        os.replace(tmp, folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        index.folder = folder
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def _write(index: MusicIndex, tmp: Path, previous: Path, model) -> None:
    np.save(tmp / VECTORS_NAME, index.vectors)
    with open(tmp / TRACKS_NAME, "w", encoding="utf-8") as f:
        for rec in index.records:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    index._write_hnsw(tmp)
    if model is not None:
        index.check_model(model)
        model.save_pretrained(tmp / MODEL_DIR)
    for name in CACHE_NAMES:  # from the folder being replaced, else where we came from
        for base in (previous, index.folder):
            if base is not None and (base / name).exists() and not (tmp / name).exists():
                _link_or_copy(base / name, tmp / name)
    meta = {
        "format": FORMAT_VERSION,
        "model_fingerprint": index.fingerprint,
        "model_spec": index.model_spec,
        "dim": index.dim,
        "tracks": len(index),
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
        "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    # Written last: a folder without it is not an index.
    (tmp / META_NAME).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    for p in tmp.iterdir():
        if p.is_file():
            with open(p, "rb") as f:
                os.fsync(f.fileno())


def load_index(cls: type[MusicIndex], folder: str | os.PathLike) -> MusicIndex:
    """`MusicIndex.load`: read a folder written by `save_index`."""
    folder = Path(folder).expanduser().resolve()
    _recover(folder)
    meta_path = folder / META_NAME
    if not meta_path.is_file():
        raise FileNotFoundError(f"{folder}: not an index folder (no {META_NAME})")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT_VERSION:
        raise ValueError(f"{folder}: index format {meta.get('format')} is not supported")
    index = cls(meta["model_fingerprint"], meta["dim"], meta.get("model_spec"))
    with open(folder / TRACKS_NAME, encoding="utf-8") as f:
        index.records = [json.loads(line) for line in f if line.strip()]
    index.vectors = np.load(folder / VECTORS_NAME)
    if index.vectors.shape != (len(index.records), index.dim):
        raise ValueError(
            f"{folder}: {VECTORS_NAME} is {index.vectors.shape}, expected "
            f"({len(index.records)}, {index.dim}); the index is damaged, rebuild it"
        )
    index._by_path = {r["path"]: i for i, r in enumerate(index.records) if r is not None}
    index.failures = meta.get("failures", {})
    index.source = meta.get("source")
    index.folder = folder
    index.version = meta.get("version", 0)
    index.hnsw_params = meta.get("hnsw_params", index.hnsw_params)
    index.calibrated_recall = meta.get("calibrated_recall")
    index.method = meta.get("method", "auto")
    index.method_timings = meta.get("method_timings")
    if meta.get("search") == "hnsw":
        index._hnsw = load_hnsw(folder / HNSW_NAME, index.dim, len(index.records))
        index.ef = int(meta["ef"])
        index._hnsw.set_ef(index.ef)  # ef is not stored in the hnswlib file
    elif meta.get("search") == "scan":
        from ttmrpp.scan import SignScan

        index._scan = SignScan(index.dim)  # codes are rebuilt from the vectors (seconds)
        index._scan.add(index.vectors)
        index.scan_candidates = int(meta["scan_candidates"])
    return index


def _recover(folder: Path) -> None:
    """If a save died between its two renames, put the previous index back."""
    if folder.exists():
        return
    olds = sorted(folder.parent.glob(f".{folder.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if olds and (olds[-1] / META_NAME).is_file():
        os.replace(olds[-1], folder)


def _link_or_copy(src: Path, dst: Path) -> None:
    if src.is_dir():
        shutil.copytree(src, dst, copy_function=_link_or_copy_file)
    else:
        _link_or_copy_file(src, dst)


def _link_or_copy_file(src, dst) -> None:
    try:
        os.link(src, dst)  # same file system: instant, and the old folder is dropped anyway
    except OSError:
        shutil.copy2(src, dst)

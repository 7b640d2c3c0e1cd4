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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ttmrpp.search.backends.hnsw import load_hnsw

FORMAT_VERSION = 1
META_NAME = "index.json"
TRACKS_NAME = "tracks.jsonl"
VECTORS_NAME = "embeddings.npy"
HNSW_NAME = "hnsw.bin"
MODEL_DIR = "model"
CACHE_NAMES = ("atlas.npz", MODEL_DIR)  # carried over from the previous save when not rewritten


@dataclass
class IndexSnapshot:
    """Everything an index folder holds, as plain data: what `MusicIndex` hands to `save`
    and gets back from `load`."""

    meta: dict[str, Any]  # the fields of index.json (format and saved_at are added on save)
    records: list[dict[str, Any] | None]  # row -> track record; None = deleted row
    vectors: np.ndarray  # [rows, dim] float32, unit norm
    hnsw: Any = None  # an hnswlib graph over the rows, when the collection is HNSW-searched
    carry_from: list[Path] = field(default_factory=list)  # folders whose caches to carry over


def save_index(snapshot: IndexSnapshot, folder: str | os.PathLike, model=None) -> Path:
    """Write the snapshot to a temporary folder beside `folder`, fsync, move the old folder
    aside, move the new one in, delete the old one. A crash while writing leaves the old
    folder untouched; one between the two renames is undone by `_recover`.

    Args:
        model: also save this model into the folder (`model/`).
    """
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
        _write(snapshot, tmp, folder, model)
        old = None
        if folder.exists():
            old = folder.parent / f".{folder.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(folder, old)
        os.replace(tmp, folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def _write(snapshot: IndexSnapshot, tmp: Path, previous: Path, model) -> None:
    np.save(tmp / VECTORS_NAME, snapshot.vectors)
    with open(tmp / TRACKS_NAME, "w", encoding="utf-8") as f:
        for rec in snapshot.records:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    _write_hnsw(snapshot, tmp)
    if model is not None:
        model.save_pretrained(tmp / MODEL_DIR)
    for name in CACHE_NAMES:  # from the folder being replaced, else where we came from
        for base in (previous, *snapshot.carry_from):
            if base is not None and (base / name).exists() and not (tmp / name).exists():
                _link_or_copy(base / name, tmp / name)
    meta = {
        "format": FORMAT_VERSION,
        **snapshot.meta,
        "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    # Written last: a folder without it is not an index.
    (tmp / META_NAME).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    for p in tmp.iterdir():
        if p.is_file():
            with open(p, "rb") as f:
                os.fsync(f.fileno())


def _write_hnsw(snapshot: IndexSnapshot, tmp: Path) -> None:
    if snapshot.hnsw is not None:
        snapshot.hnsw.save_index(str(tmp / HNSW_NAME))


def load_index(folder: str | os.PathLike) -> IndexSnapshot:
    """Read a folder written by `save_index` (the HNSW graph loaded when it has one)."""
    folder = Path(folder).expanduser().resolve()
    _recover(folder)
    meta_path = folder / META_NAME
    if not meta_path.is_file():
        raise FileNotFoundError(f"{folder}: not an index folder (no {META_NAME})")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT_VERSION:
        raise ValueError(f"{folder}: index format {meta.get('format')} is not supported")
    with open(folder / TRACKS_NAME, encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    vectors = np.load(folder / VECTORS_NAME)
    if vectors.shape != (len(records), meta["dim"]):
        raise ValueError(
            f"{folder}: {VECTORS_NAME} is {vectors.shape}, expected "
            f"({len(records)}, {meta['dim']}); the index is damaged, rebuild it"
        )
    hnsw = None
    if meta.get("search") == "hnsw":
        hnsw = load_hnsw(folder / HNSW_NAME, meta["dim"], len(records))
    return IndexSnapshot(meta, records, vectors, hnsw)


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

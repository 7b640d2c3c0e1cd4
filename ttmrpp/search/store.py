"""An index folder on disk: atomic, serialized, fsynced saves and verified loading.

Layout: `index.json` (format, model fingerprint, settings, failures, and the size and sha256
of each data file; written last), `tracks.jsonl` (one record per row; `null` for a deleted
row), `embeddings.npy` [rows, dim] float32, `hnsw.bin` (only for HNSW-searched collections; a
scanned collection's codes are rebuilt from the embeddings on load), and caches carried from
save to save (`atlas.npz`, `model/` when the index carries its own model).

Saves: one at a time per folder, across threads and processes (`flock` on `.{name}.lock`
beside the folder). Everything is written to `.{name}.tmp-*` beside the folder, each file and
folder fsynced, the old folder renamed to `.{name}.old-*`, the new one renamed into place, the
parent fsynced, the old one deleted. Loads hold the lock shared, so they never read a folder
half swapped.

Damage: `index.json` carries a sha256 of its own content and of each data file. A damaged
`hnsw.bin` is never handed to hnswlib (damaged bytes can crash it); the graph is rebuilt from
the embeddings instead (`IndexSnapshot.repaired`). Damage anywhere else raises
`IndexDamagedError` naming the file. Indexes saved before checksums existed load after
structural checks (a legacy `hnsw.bin` is parsed and checked before hnswlib sees it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ttmrpp.fileio import file_sha256, fsync_dir, fsync_tree
from ttmrpp.search.backends.hnsw import hnsw_file_problem, load_hnsw
from ttmrpp.search.locks import folder_lock

log = logging.getLogger(__name__)

FORMAT_VERSION = 1  # checksums are optional fields, so older readers still load new indexes
META_NAME = "index.json"
TRACKS_NAME = "tracks.jsonl"
VECTORS_NAME = "embeddings.npy"
HNSW_NAME = "hnsw.bin"
MODEL_DIR = "model"
CACHE_NAMES = ("atlas.npz", MODEL_DIR)  # carried over from the previous save when not rewritten
CHECKED_NAMES = (TRACKS_NAME, VECTORS_NAME, HNSW_NAME)  # their sha256 is kept in index.json
NORM_TOLERANCE = 1e-3  # a stored embedding's norm is 1 (or 0) within this


class IndexDamagedError(ValueError):
    """A file of an index folder is damaged (checksum mismatch, truncated, unreadable).

    `path` is the damaged file. The index must be rebuilt (or restored from a backup)."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}; the index is damaged, rebuild it")
        self.path, self.problem = Path(path), problem

    def __reduce__(self):  # picklable (e.g. raised in a worker process)
        return type(self), (self.path, self.problem)


@dataclass
class IndexSnapshot:
    """Everything an index folder holds, as plain data: what `MusicIndex` hands to `save`
    and gets back from `load`."""

    meta: dict[str, Any]  # the fields of index.json (format, checksums, saved_at added on save)
    records: list[dict[str, Any] | None]  # row -> track record; None = deleted row
    vectors: np.ndarray  # [rows, dim] float32, unit norm
    hnsw: Any = None  # an hnswlib graph over the rows, when the collection is HNSW-searched
    carry_from: list[Path] = field(default_factory=list)  # folders whose caches to carry over
    repaired: list[str] = field(default_factory=list)  # files found damaged; to be rebuilt


# -- saving ---------------------------------------------------------------------------------
def save_index(snapshot: IndexSnapshot, folder: str | os.PathLike, model=None) -> Path:
    """Write the snapshot to a temporary folder beside `folder`, fsync, move the old folder
    aside, move the new one in, fsync the parent, delete the old one. Saves of one folder
    wait for each other (the lock file). A crash while writing leaves the old folder
    untouched; one between the two renames is undone by `_recover` on the next load or save.

    Args:
        model: also save this model into the folder (`model/`).
    """
    folder = Path(folder).expanduser().resolve()
    folder.parent.mkdir(parents=True, exist_ok=True)
    with folder_lock(folder, exclusive=True):
        _recover(folder)
        if folder.exists() and any(folder.iterdir()) and not (folder / META_NAME).is_file():
            raise FileExistsError(f"{folder}: exists and is not an index folder; not replacing it")
        tmp = folder.parent / f".{folder.name}.tmp-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            _write(snapshot, tmp, folder, model)
            fsync_tree(tmp)
            old = None
            if folder.exists():
                old = folder.parent / f".{folder.name}.old-{uuid.uuid4().hex[:8]}"
                os.replace(folder, old)
            try:
                os.replace(tmp, folder)
            except BaseException:
                if old is not None:
                    os.replace(old, folder)  # put the previous index back
                raise
            fsync_dir(folder.parent)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
            fsync_dir(folder.parent)
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
    own = ("format", "saved_at", "files", "meta_sha256")  # what this function writes
    meta = {
        "format": FORMAT_VERSION,
        **{k: v for k, v in snapshot.meta.items() if k not in own},
        "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "files": {
            name: {"size": (tmp / name).stat().st_size, "sha256": file_sha256(tmp / name)}
            for name in CHECKED_NAMES
            if (tmp / name).is_file()
        },
    }
    meta["meta_sha256"] = _metafile_sha256(meta)
    # Written last: a folder without it is not an index.
    (tmp / META_NAME).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")


def _write_hnsw(snapshot: IndexSnapshot, tmp: Path) -> None:
    if snapshot.hnsw is not None:
        snapshot.hnsw.save_index(str(tmp / HNSW_NAME))


def _recover(folder: Path) -> None:
    """Undo what a crashed save left (call with the exclusive lock held): if the folder is
    missing but a complete previous index was moved aside, put it back; delete leftover
    temporary and old folders."""
    parent, name = folder.parent, folder.name
    olds = sorted(parent.glob(f".{name}.old-*"), key=lambda p: p.stat().st_mtime)
    leftovers = olds + list(parent.glob(f".{name}.tmp-*"))
    if not leftovers:
        return
    if not folder.exists():
        complete = [p for p in olds if (p / META_NAME).is_file()]
        if complete:
            os.replace(complete[-1], folder)
            leftovers.remove(complete[-1])
            log.warning("%s: restored the previous index after an interrupted save", folder)
    for stale in leftovers:
        shutil.rmtree(stale, ignore_errors=True)
    fsync_dir(parent)


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


# -- loading --------------------------------------------------------------------------------
def load_index(folder: str | os.PathLike) -> IndexSnapshot:
    """Read and verify a folder written by `save_index` (the HNSW graph loaded, or rebuilt
    by the caller when `repaired` names `hnsw.bin`).

    Raises:
        FileNotFoundError: not an index folder.
        IndexDamagedError: a damaged `index.json`, `tracks.jsonl` or `embeddings.npy`.
    """
    folder = Path(folder).expanduser().resolve()
    with folder_lock(folder, exclusive=False, required=False) as lock:
        if lock.held and not (folder / META_NAME).is_file():
            lock.make_exclusive()
            _recover(folder)
        return _read(folder)


def _read(folder: Path) -> IndexSnapshot:
    meta_path = folder / META_NAME
    if not meta_path.is_file():
        raise FileNotFoundError(f"{folder}: not an index folder (no {META_NAME})")
    meta = _read_meta(meta_path)
    files = meta.get("files")  # None: saved before checksums existed
    if files is not None:
        wanted = [TRACKS_NAME, VECTORS_NAME] + ([HNSW_NAME] if meta["search"] == "hnsw" else [])
        for name in wanted:
            entry = files.get(name)
            if not (isinstance(entry, dict) and {"size", "sha256"} <= entry.keys()):
                raise IndexDamagedError(meta_path, f"no checksum recorded for {name}")
    records = _read_tracks(folder / TRACKS_NAME, files)
    vectors = _read_vectors(folder / VECTORS_NAME, files, records, meta["dim"])
    hnsw, repaired = None, []
    if meta["search"] == "hnsw":
        hnsw = _read_hnsw(folder / HNSW_NAME, files, meta, records, vectors)
        if hnsw is None:
            repaired.append(HNSW_NAME)
    return IndexSnapshot(meta, records, vectors, hnsw, repaired=repaired)


def _metafile_sha256(meta: dict[str, Any]) -> str:
    """sha256 of index.json's content (all fields but this one), independent of formatting."""
    body = {k: v for k, v in meta.items() if k != "meta_sha256"}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexDamagedError(path, f"not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise IndexDamagedError(path, "not a JSON object")
    if "meta_sha256" in meta:
        if meta["meta_sha256"] != _metafile_sha256(meta):
            raise IndexDamagedError(path, "checksum mismatch")
    elif "files" in meta:
        raise IndexDamagedError(path, "its checksum is missing")
    if meta.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path}: index format {meta.get('format')!r} is not supported")
    problems = [
        key
        for key, ok in (
            ("dim", isinstance(meta.get("dim"), int) and meta["dim"] > 0),
            ("search", meta.get("search") in ("exact", "hnsw", "scan")),
            ("model_fingerprint", isinstance(meta.get("model_fingerprint"), str)),
        )
        if not ok
    ]
    if problems:
        raise IndexDamagedError(path, f"bad or missing {', '.join(problems)}")
    return meta


def _checksum_problem(path: Path, files: dict[str, Any] | None, data: bytes | None = None):
    """Why `path` does not match its recorded size and sha256 (None if it does, or if the
    index has no checksums)."""
    if files is None:
        return None
    want = files[path.name]
    size = len(data) if data is not None else path.stat().st_size
    if size != want["size"]:
        return f"{size} bytes where {want['size']} were saved"
    got = hashlib.sha256(data).hexdigest() if data is not None else file_sha256(path)
    return None if got == want["sha256"] else "checksum mismatch"


def _read_tracks(path: Path, files) -> list[dict[str, Any] | None]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise IndexDamagedError(path, "missing") from None
    problem = _checksum_problem(path, files, data)
    if problem:
        raise IndexDamagedError(path, problem)
    records = []
    try:
        lines = data.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise IndexDamagedError(path, f"not UTF-8 text ({exc})") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise IndexDamagedError(path, f"line {n}: invalid JSON ({exc.msg})") from None
        if rec is not None and not (isinstance(rec, dict) and isinstance(rec.get("path"), str)):
            raise IndexDamagedError(path, f"line {n}: not a track record")
        records.append(rec)
    paths = [r["path"] for r in records if r is not None]
    if len(set(paths)) != len(paths):
        raise IndexDamagedError(path, "a track path is listed twice")
    return records


def _read_vectors(path: Path, files, records, dim: int) -> np.ndarray:
    if not path.is_file():
        raise IndexDamagedError(path, "missing")
    problem = _checksum_problem(path, files)
    if problem:
        raise IndexDamagedError(path, problem)
    try:
        vectors = np.load(path, allow_pickle=False)
    except Exception as exc:  # EOFError when empty, ValueError or SyntaxError for a bad header
        why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise IndexDamagedError(path, f"not a readable .npy array ({why})") from None
    if vectors.dtype != np.float32 or vectors.shape != (len(records), dim):
        raise IndexDamagedError(
            path,
            f"holds {vectors.dtype} {vectors.shape}, expected float32 ({len(records)}, {dim}) "
            f"for {len(records)} rows of {TRACKS_NAME}",
        )
    live = np.fromiter((r is not None for r in records), bool, len(records))
    with np.errstate(all="ignore"):
        norms = np.linalg.norm(vectors[live], axis=1)
    bad = ~(np.abs(norms - 1.0) <= NORM_TOLERANCE) & (norms != 0)
    if bad.any():
        row = int(np.flatnonzero(live)[np.argmax(bad)])
        raise IndexDamagedError(path, f"row {row} is not a unit vector (norm {norms[bad][0]})")
    return vectors


def _read_hnsw(path: Path, files, meta, records, vectors):
    """The HNSW graph, or None (logged) when `hnsw.bin` is missing or damaged: a graph whose
    bytes were not verified is never handed to hnswlib."""
    if not path.is_file():
        problem = "missing"
    elif files is not None:
        problem = _checksum_problem(path, files)
    else:  # saved before checksums: parse the file and check it against the embeddings
        params = meta.get("hnsw_params") or {}
        problem = hnsw_file_problem(path, meta["dim"], records, vectors, params.get("M"))
    if problem is None:
        try:
            return load_hnsw(path, meta["dim"], len(records))
        except (RuntimeError, ValueError, MemoryError) as exc:
            problem = f"hnswlib cannot load it ({exc})"
    log.warning("%s: %s; rebuilding the HNSW graph from %s", path, problem, VECTORS_NAME)
    return None

"""Crash-safe file writes: write to a temporary file beside the target, fsync it, rename it
into place, fsync the folder (so the rename itself survives a power cut)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp_path)` and move the result onto `path` only when it succeeded.

    A crash or Ctrl-C part-way leaves the previous file untouched. The new file is fsynced
    before the rename and its folder after it, so once this returns the file survives a power
    cut.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        os.chmod(tmp_path, path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask())
        fsync_file(tmp_path)
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return path


def atomic_write_dir(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp_dir)` and swap the folder in for `path` only when it succeeded.

    The previous folder is renamed to `.{name}.old` while the new one is renamed into place,
    then deleted; a crash part-way leaves either it or the new folder whole. Every file and
    folder written is fsynced before the renames, and the parent folder after them.
    """
    import shutil

    path = Path(path)
    tmp, old = path.with_name(f".{path.name}.tmp"), path.with_name(f".{path.name}.old")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        write(tmp)
        fsync_tree(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    if path.exists():
        os.replace(path, old)
    os.replace(tmp, path)
    fsync_dir(path.parent)
    shutil.rmtree(old, ignore_errors=True)
    return path


def fsync_file(path: str | os.PathLike) -> None:
    """Flush a file's data and metadata to the disk."""
    fd = os.open(path, os.O_RDWR if os.name == "nt" else os.O_RDONLY)  # Windows needs write
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: str | os.PathLike) -> None:
    """Flush a folder's entries (names created, renamed or removed in it) to the disk.

    A no-op on Windows, where a folder cannot be opened to fsync it."""
    if os.name == "nt":  # pragma: no cover - not on POSIX
        return
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: str | os.PathLike) -> None:
    """fsync every file under `root`, then every folder, deepest first, `root` last."""
    for dirpath, _dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames:
            p = os.path.join(dirpath, name)
            if not os.path.islink(p):
                fsync_file(p)
        fsync_dir(dirpath)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    return atomic_write(path, lambda p: p.write_bytes(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def atomic_write_jsonl(path: str | os.PathLike, records: Iterable[dict[str, Any]]) -> Path:
    """Write one JSON object per line (a manifest), atomically."""
    return atomic_write_text(
        path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    )


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line of a JSONL file.

    Raises:
        ValueError: naming `path:line`, for invalid JSON or a line that is not an object.
    """
    path = Path(path)
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: invalid JSON ({exc.msg})") from None
            if not isinstance(obj, dict):
                raise ValueError(f"{path}:{n}: a line must be a JSON object")
            yield n, obj


def read_jsonl(path: str | os.PathLike) -> list[dict[str, Any]]:
    """All objects of a JSONL file (see `iter_jsonl` for the errors)."""
    return [obj for _, obj in iter_jsonl(path)]


def file_sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes (read in 1 MiB blocks)."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_plain_state(path: str | os.PathLike, what: str, advice: str, map_location="cpu"):
    """A torch file holding tensors and plain data only (torch's `weights_only`): a file with
    any other pickled object is refused, never run, so a run folder from elsewhere cannot
    execute code here.

    Args:
        what: what the file should be, for the message ("training state").
        advice: what the user can do, appended to the message.

    Raises:
        ValueError: naming the file, for pickled objects or a damaged or foreign file.
    """
    import pickle
    import re

    import torch

    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        objects = f" ({found.group(1)})" if found else ""
        raise ValueError(
            f"{path}: refused: it holds pickled objects{objects}, not only tensors and plain "
            f"data, and loading it could run code; {advice}"
        ) from None
    except Exception as exc:  # torch raises several types for damaged or foreign files
        reason = f"{type(exc).__name__}: {str(exc).split('. ')[0]}"
        raise ValueError(
            f"{path}: not a readable {what}: damaged, or not written by this script "
            f"({reason}); {advice}"
        ) from None

"""Visitors' uploads: stored once by content, and searched for their visitor only.

`UploadStore` keeps uploaded files as `<upload folder>/<sha256>/<name>`: two different files
with one name are both kept, and the same bytes uploaded twice (by anyone, under any name) are
stored once. `VisitorUploads` is one visitor's collection (held in their Gradio session): a
small index searched together with the shared one for that visitor, and what the visitor has
used of their limits. When the session ends its files are deleted, unless another visitor
holds them or they joined the shared collection.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from ttmrpp.app.services.common import QueryError, Services

log = logging.getLogger(__name__)

_SHA = re.compile(r"[0-9a-f]{64}")
_NAME_CHARS = re.compile(r"[^\w.\-+ ()\[\],&'!]")


def safe_name(name: str) -> str:
    """A file name to store an upload under: no folders, no odd characters, not too long."""
    name = _NAME_CHARS.sub("_", Path(str(name)).name).strip(" .") or "upload"
    stem, suffix = os.path.splitext(name)
    return (stem[:100] or "upload") + suffix.lower()[:10]


class UploadStore:
    """Uploaded files on disk by content, with the visitors holding each one.

    Args:
        folder: where the files live (created).
        max_bytes: bytes all stored uploads may take together.
        shared: returns the paths in the shared collection (kept however long).
    """

    def __init__(self, folder: Path, max_bytes: int, shared: Callable[[], set[str]]) -> None:
        self.folder = Path(os.path.realpath(folder))
        self.max_bytes = max_bytes
        self._shared = shared
        self._holders: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.bytes = self._sweep()

    def _sweep(self) -> int:
        """Delete what visitors of an earlier run left (files not in the shared collection);
        returns the bytes kept. Only `<sha256>/<name>` entries are touched."""
        keep, total = self._shared(), 0
        for folder in self.folder.iterdir():
            if not (folder.is_dir() and _SHA.fullmatch(folder.name)):
                continue
            for f in folder.iterdir():
                if f.is_file() and str(f) in keep:
                    total += f.stat().st_size
                else:
                    _unlink(f)
            _rmdir(folder)
        return total

    def put(self, src: str | os.PathLike, name: str, digest: str, hold: bool) -> tuple[str, bool]:
        """Store `src` (whose sha256 is `digest`) as `name`, or find the copy already stored.

        Returns (the stored file's path, whether it was written now); with `hold` the caller
        holds it until `release`. Raises QueryError when the space for uploads is full."""
        if not _SHA.fullmatch(digest):
            raise ValueError(f"not a sha256 digest: {digest!r}")
        with self._lock:
            folder = self.folder / digest
            found = _stored_file(folder)
            new = found is None
            if new:
                size = Path(src).stat().st_size
                if self.bytes + size > self.max_bytes:
                    raise QueryError("The server's space for uploads is full; try again later.")
                folder.mkdir(parents=True, exist_ok=True)
                found = folder / safe_name(name)
                fd, part = tempfile.mkstemp(dir=folder, prefix=".part-")
                os.close(fd)
                try:
                    shutil.copyfile(src, part)
                    os.replace(part, found)
                except BaseException:
                    _unlink(Path(part))
                    raise
                self.bytes += size
            if hold:
                self._holders[str(found)] += 1
            return str(found), new

    def release(self, paths: list[str]) -> None:
        """The caller no longer holds `paths`: delete those nobody holds and not shared."""
        with self._lock:
            shared = None
            for path in paths:
                self._holders[path] -= 1
                if self._holders[path] > 0:
                    continue
                del self._holders[path]
                shared = self._shared() if shared is None else shared
                if path not in shared:
                    self._delete(Path(path))

    def forget(self, path: str) -> None:
        """Delete a file written by `put` that nobody holds (e.g. it was not audio)."""
        with self._lock:
            if not self._holders.get(path) and path not in self._shared():
                self._delete(Path(path))

    def _delete(self, path: Path) -> None:
        if path.parent.parent != self.folder:  # only our own `<sha256>/<name>` files
            return
        try:
            size = path.stat().st_size
        except OSError:
            return
        _unlink(path)
        _rmdir(path.parent)
        self.bytes = max(0, self.bytes - size)


def upload_store(services: Services) -> UploadStore:
    """The services' upload store, made on first use (in a temp folder without `upload_dir`)."""
    with services._lock:
        if services._store is None:
            if services.upload_dir is None:
                services.upload_dir = Path(tempfile.mkdtemp(prefix="ttmrpp-uploads-"))
            index = services.index
            services._store = UploadStore(
                services.upload_dir,
                services.limits.stored_bytes,
                lambda: {t["path"] for t in index.tracks},
            )
        return services._store


class VisitorUploads:
    """One visitor's uploads, kept in their session: searched with the shared collection for
    this visitor only; counts what the visitor has added (checked against `Limits`).

    Call `close` when the session ends (the app's session state does)."""

    def __init__(self, services: Services) -> None:
        from ttmrpp.search.index import MusicIndex

        self.index = MusicIndex.create(services.model, services.index.model_spec)
        self.files = 0
        self.seconds = 0.0
        self.bytes = 0
        self.held: list[str] = []  # stored files this visitor holds
        self._store = upload_store(services)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.index)

    def paths(self) -> set[str]:
        return {t["path"] for t in self.index.tracks}

    def hold(self, path: str) -> None:
        """Note a stored file this visitor holds (`UploadStore.put` with `hold`)."""
        with self._lock:
            self.held.append(path)

    def drop(self, path: str) -> None:
        """Give back one hold on a stored file that did not join this collection."""
        with self._lock:
            if path not in self.held:
                return
            self.held.remove(path)
        self._store.release([path])

    def count(self, seconds: float, size: int) -> None:
        """Count one file added by this visitor against their limits."""
        with self._lock:
            self.files += 1
            self.seconds += seconds
            self.bytes += size

    def close(self) -> None:
        """Forget this visitor's tracks and let the store delete files nobody else holds."""
        with self._lock:
            held, self.held = self.held, []
        self.index.remove_paths([t["path"] for t in self.index.tracks])
        self._store.release(held)
        log.info("session uploads closed: %d file(s) released", len(held))


def close_uploads(value) -> None:
    """The session state's delete callback: close the visitor's uploads, if any."""
    if isinstance(value, VisitorUploads):
        value.close()


def indexed(index, path: str) -> bool:
    """Whether `path` is a live track of `index`."""
    try:
        index.vectors_for([path])
    except KeyError:
        return False
    return True


def _stored_file(folder: Path) -> Path | None:
    if not folder.is_dir():
        return None
    return next((f for f in sorted(folder.iterdir()) if not f.name.startswith(".")), None)


def _unlink(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("could not delete %s: %s", path, exc)


def _rmdir(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass

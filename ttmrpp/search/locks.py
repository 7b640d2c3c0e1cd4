"""The two locks of the search engine: a readers-writer lock inside a `MusicIndex` (many
searches at once, changes alone) and a lock file beside an index folder (one save at a time,
across threads and processes).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


class ReadWriteLock:
    """Many readers at once or one writer, reentrant in the ways the index needs.

    - `read()` may be entered by any number of threads together; `write()` by one thread,
      while no other thread reads.
    - A thread that holds `write()` may enter `read()` and `write()` again; one that holds
      `read()` may enter `read()` again. Upgrading (`write()` while holding only `read()`)
      raises `RuntimeError` rather than deadlock.
    - Phase-fair: once a writer waits, threads that do not already read wait for it, so a
      stream of searches cannot starve an update; when a writer finishes, the readers that
      were waiting go in before the next writer, so a stream of changes cannot starve the
      searches either.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers: dict[int, int] = {}  # thread id -> read depth
        self._writer: int | None = None
        self._write_depth = 0
        self._writers_waiting = 0
        self._readers_waiting = 0
        self._admit = 0  # readers let in ahead of waiting writers (those waiting at a release)

    @contextlib.contextmanager
    def read(self) -> Iterator[None]:
        self.acquire_read()
        try:
            yield
        finally:
            self.release_read()

    @contextlib.contextmanager
    def write(self) -> Iterator[None]:
        self.acquire_write()
        try:
            yield
        finally:
            self.release_write()

    def acquire_read(self) -> None:
        me = threading.get_ident()
        with self._cond:
            if self._writer != me and me not in self._readers:
                self._readers_waiting += 1
                try:
                    while self._writer is not None or (self._writers_waiting and not self._admit):
                        self._cond.wait()
                except BaseException:  # interrupted: give up its place, wake a waiting writer
                    self._readers_waiting -= 1
                    self._admit = min(self._admit, self._readers_waiting)
                    self._cond.notify_all()
                    raise
                self._readers_waiting -= 1
                self._admit = min(self._admit, self._readers_waiting)  # one let in is used
            self._readers[me] = self._readers.get(me, 0) + 1

    def release_read(self) -> None:
        me = threading.get_ident()
        with self._cond:
            depth = self._readers[me] - 1
            if depth:
                self._readers[me] = depth
            else:
                del self._readers[me]
                if not self._readers:
                    self._cond.notify_all()

    def acquire_write(self) -> None:
        me = threading.get_ident()
        with self._cond:
            if self._writer == me:
                self._write_depth += 1
                return
            if me in self._readers:
                raise RuntimeError("a thread holding the read lock cannot take the write lock")
            self._writers_waiting += 1
            try:
                while self._writer is not None or self._readers or self._admit:
                    self._cond.wait()
            finally:
                self._writers_waiting -= 1
            self._writer, self._write_depth = me, 1

    def release_write(self) -> None:
        with self._cond:
            if self._writer != threading.get_ident():
                raise RuntimeError("the write lock is not held by this thread")
            self._write_depth -= 1
            if not self._write_depth:
                self._writer = None
                self._admit = self._readers_waiting
                self._cond.notify_all()


def lock_path(folder: Path) -> Path:
    """The lock file of an index folder: `.{name}.lock` beside it (kept; never deleted, since
    deleting a lock file others may hold open would let two savers in)."""
    return folder.parent / f".{folder.name}.lock"


@contextlib.contextmanager
def folder_lock(
    folder: Path, exclusive: bool = True, required: bool = True
) -> Iterator[FolderLock]:
    """Hold the lock file of `folder` (`flock`, exclusive or shared) for the block.

    Each call opens its own file description, so threads of one process exclude each other
    as processes do. With `required=False` a lock file that cannot be created (a read-only
    folder, where nobody can be saving) is skipped.
    """
    lock = FolderLock(folder)
    try:
        lock.acquire(exclusive)
    except OSError:
        if required:
            raise
        lock = FolderLock(folder)  # not held: nobody can write here either
    try:
        yield lock
    finally:
        lock.release()


class FolderLock:
    """`flock` on `lock_path(folder)`; on systems without fcntl, a lock within the process."""

    _local_locks: dict[str, threading.Lock] = {}
    _local_guard = threading.Lock()

    def __init__(self, folder: Path) -> None:
        self.path = lock_path(folder)
        self._fd: int | None = None
        self._local: threading.Lock | None = None
        self.exclusive = False

    @property
    def held(self) -> bool:
        return self._fd is not None or self._local is not None

    def acquire(self, exclusive: bool = True) -> None:
        if fcntl is None:  # pragma: no cover - Windows: threads only
            with self._local_guard:
                lock = self._local_locks.setdefault(str(self.path), threading.Lock())
            lock.acquire()
            self._local, self.exclusive = lock, True
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        except BaseException:
            os.close(fd)
            raise
        self._fd, self.exclusive = fd, exclusive

    def make_exclusive(self) -> None:
        """Turn a shared lock into an exclusive one (not atomically: another may go first)."""
        if self._fd is not None and not self.exclusive:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            self.exclusive = True

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the only descriptor of the description drops the flock
        if self._local is not None:
            lock, self._local = self._local, None
            lock.release()

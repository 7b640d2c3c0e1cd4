"""The collection: what is loaded, and adding uploaded files or a server folder to it."""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ttmrpp.app.services.atlas import tag_categories
from ttmrpp.app.services.common import (
    INDEX_BATCH_FILES,
    Limits,
    Progress,
    QueryError,
    Services,
    audio_duration,
    file_size,
    megabytes,
    scrub_paths,
    short_reason,
    shorten,
)
from ttmrpp.app.services.uploads import UploadStore, VisitorUploads
from ttmrpp.model.audio import AUDIO_EXTENSIONS, MAX_SECONDS
from ttmrpp.search.sources import as_list

log = logging.getLogger(__name__)


def collection_info(services: Services, session: VisitorUploads | None = None) -> dict[str, Any]:
    """What is loaded: model, collection, counts of tracks, artists, albums and tags, the real
    recordings by Debian package, and how uploads and folders are handled here (no server
    paths: this is shown to visitors)."""
    tracks = services.index.tracks
    packages = Counter(t["package"] for t in tracks if t.get("package"))
    cfg = services.model.config
    tag_counts = {
        cat: len({v for t in tracks for v in as_list((t.get("tags") or {}).get(cat))})
        for cat in tag_categories(services)
    }
    return {
        "model": cfg.name,
        "model_spec": scrub_paths(services.model_spec),
        "model_note": services.model_note,
        "embed_dim": cfg.embed_dim,
        "collection": services.collection_name,
        "tracks": len(tracks),
        "artists": len({t["artist"] for t in tracks if t.get("artist")}),
        "albums": len({(t.get("artist"), t["album"]) for t in tracks if t.get("album")}),
        "hours": round(sum(float(t.get("duration") or 0) for t in tracks) / 3600, 2),
        "tags": tag_counts,
        "real_tracks": sum(packages.values()),
        "real_packages": dict(sorted(packages.items())),
        "failed_files": len(services.index.failures),
        "search": {"hnsw": "HNSW", "scan": "compressed scan"}.get(
            services.index.search_method, "exact"
        ),
        "saved": services.index_dir is not None,
        "uploads": "shared" if services.shared_uploads else "private",
        "your_uploads": len(session) if session is not None else 0,
        "folder_indexing": bool(services.allowed_roots),
    }


@dataclass
class IndexReport:
    """What an indexing run did."""

    added: list[str]
    failed: list[tuple[str, str]]  # (file name, reason)
    skipped: int  # files already in the index, unchanged
    ignored: int  # not audio by extension
    tracks: int  # tracks in the shared index afterwards
    seconds: float
    yours: int | None = None  # the visitor's own uploaded tracks, when uploads are private

    def summary(self) -> str:
        where = (
            "The collection now has"
            if self.yours is None
            else f"Your uploads ({self.yours} tracks) are searched for you only, alongside"
        )
        text = (
            f"Indexed {len(self.added)} new file(s) in {self.seconds:.1f} s; "
            f"{len(self.failed)} failed, {self.skipped} already indexed"
            + (f", {self.ignored} not audio (ignored)" if self.ignored else "")
            + f". {where} {self.tracks} tracks"
            + (" shared by everyone." if self.yours is not None else ".")
        )
        if self.failed:
            text += "\nFailed files:\n" + "\n".join(f"- {n}: {r}" for n, r in self.failed)
        return text


class _Upload(NamedTuple):
    """An uploaded file stored and admitted for embedding."""

    name: str  # the file's own name
    stored: str  # where the store keeps it
    seconds: float  # duration from the header
    size: int  # bytes
    new: bool  # the store had no copy of it before


def index_uploaded_files(
    services: Services,
    paths: Sequence[str | os.PathLike] | None,
    progress: Progress | None = None,
    session: VisitorUploads | None = None,
) -> IndexReport:
    """Store uploaded files by content and index them: into the visitor's own collection
    (`session`), or into the shared one when `services.shared_uploads`.

    Limits (`services.limits`) are checked before anything is decoded: files per request
    (the whole request is refused), then size, header duration and the visitor's totals per
    file (that file is listed as failed). Every file is tried; the ones that cannot be decoded
    are listed in the report.

    Raises:
        QueryError: no files, or too many in one request.
        ValueError: uploads are private but no `session` was given.
    """
    from ttmrpp.app.services.uploads import upload_store

    files = _upload_request(services, paths, session)
    store = upload_store(services)
    t0 = time.perf_counter()
    accepted, failed, skipped = _store_uploads(services, store, files, session)
    items = [(u.name, u.stored, {"duration": round(u.seconds, 3)}) for u in accepted]
    # The header said each file is short enough; the decoder holds it to that while decoding.
    max_seconds = services.limits.upload_seconds + 1.0
    added, fails, records, vectors = _embed(services, items, progress, max_seconds)
    failed += fails
    _settle_uploads(accepted, {r["path"] for r in records}, store, session)
    if records:
        _add_uploads(services, session, records, vectors)
    if progress:
        progress(len(items), len(items), "done")
    yours = None if services.shared_uploads else len(session)
    seconds = time.perf_counter() - t0
    return IndexReport(added, failed, skipped, 0, len(services.index), seconds, yours)


def _upload_request(
    services: Services,
    paths: Sequence[str | os.PathLike] | None,
    session: VisitorUploads | None,
) -> list[Path]:
    """The request's files, after the checks that refuse the whole request: a session where
    uploads are private, at least one file, at most `limits.upload_files`."""
    limits = services.limits
    if session is None and not services.shared_uploads:
        raise ValueError("uploads are private to a session here: pass the visitor's session")
    files = [Path(str(p)) for p in (paths or []) if p]
    if not files:
        raise QueryError("No files: choose one or more audio files to upload.")
    if len(files) > limits.upload_files:
        raise QueryError(
            f"{len(files)} files in one upload; at most {limits.upload_files} at a time."
        )
    return files


def _store_uploads(
    services: Services, store: UploadStore, files: list[Path], session: VisitorUploads | None
) -> tuple[list[_Upload], list[tuple[str, str]], int]:
    """Check each file against the limits and store it by content hash.

    Returns (files new to the target collection, (name, reason) refused, files skipped as
    already there); the session holds every file stored for it, skipped ones included."""
    from ttmrpp.fileio import file_sha256

    limits = services.limits
    failed: list[tuple[str, str]] = []
    accepted: list[_Upload] = []
    skipped = 0
    target = services.index if services.shared_uploads else session.index
    known = {t["path"] for t in target.tracks}
    used = (session.files, session.seconds, session.bytes) if session else (0, 0.0, 0)
    for p in files:
        name = shorten(p.name, 80)
        try:
            size, seconds = _admit(p, limits, used)
            stored, new = store.put(p, p.name, file_sha256(p), hold=session is not None)
        except QueryError as exc:
            failed.append((name, _reason(exc, name)))
            continue
        if session is not None:
            session.hold(stored)
        if stored in known or stored in (u.stored for u in accepted):
            skipped += 1
            continue
        used = (used[0] + 1, used[1] + seconds, used[2] + size)
        accepted.append(_Upload(p.name, stored, seconds, size, new))
    return accepted, failed, skipped


def _admit(p: Path, limits: Limits, used: tuple[int, float, int]) -> tuple[int, float]:
    """(bytes, seconds) of one uploaded file within the limits, given what the visitor has
    used (files, seconds, bytes); else a QueryError saying which limit it is over."""
    files_used, seconds_used, bytes_used = used
    size = file_size(p, limits.file_bytes)
    if p.suffix.lower() not in AUDIO_EXTENSIONS:
        raise QueryError(f"not an audio file ({p.suffix.lower() or 'no extension'})")
    seconds = audio_duration(p)
    if seconds is None:
        raise QueryError("not an audio file we can read")
    if seconds > limits.upload_seconds:
        raise QueryError(
            f"{seconds / 60:.1f} minutes long; uploads can be at most "
            f"{limits.upload_seconds / 60:.0f} minutes"
        )
    if files_used + 1 > limits.session_files:
        raise QueryError(f"over this visit's limit of {limits.session_files} files")
    if seconds_used + seconds > limits.session_seconds:
        raise QueryError(f"over this visit's limit of {limits.session_seconds / 60:.0f} minutes")
    if bytes_used + size > limits.session_bytes:
        raise QueryError(f"over this visit's limit of {megabytes(limits.session_bytes)}")
    return size, seconds


def _settle_uploads(
    accepted: list[_Upload], ok: set[str], store: UploadStore, session: VisitorUploads | None
) -> None:
    """Count the embedded files against the visitor's limits; give back the others (the
    session's hold, or in the shared store a copy that was new)."""
    for upload in accepted:
        if upload.stored in ok:
            if session is not None:
                session.count(upload.seconds, upload.size)
        elif session is not None:
            session.drop(upload.stored)
        elif upload.new:
            store.forget(upload.stored)


def _add_uploads(
    services: Services,
    session: VisitorUploads | None,
    records: list[dict[str, Any]],
    vectors: list[np.ndarray],
) -> None:
    """Add embedded uploads to the shared collection (saved, when it has a folder) or to the
    visitor's own."""
    if services.shared_uploads:
        with services._update_lock:
            services.index.add_embeddings(records, np.stack(vectors))
            if services.index_dir is not None:
                services.index.save(services.index_dir)
    else:
        session.index.add_embeddings(records, np.stack(vectors))


def _reason(exc: QueryError, name: str) -> str:
    """A per-file refusal without the file's name repeated (the report names the file)."""
    text = str(exc)
    for prefix in (f"The audio file {name} is ", f"The file {name} is "):
        if text.startswith(prefix):
            return text[len(prefix) :].rstrip(".")
    return text


def index_folder(
    services: Services, folder: str | os.PathLike | None, progress: Progress | None = None
) -> IndexReport:
    """Add the audio files under a server folder (recursively) to the shared index.

    Only folders inside `services.allowed_roots` may be indexed (none: folder indexing is
    off). The path is resolved first (symbolic links, `..`); a path outside the roots, a
    missing one and a file all get the same message, so replies do not tell what exists.
    """
    from ttmrpp.search.sources import scan_folder

    roots = [Path(os.path.realpath(r)) for r in services.allowed_roots]
    if not roots:
        raise QueryError("Indexing folders on the server is turned off here; upload files instead.")
    text = folder if isinstance(folder, str) else str(folder or "")
    text = text.strip()
    if not text:
        raise QueryError("No folder: type the path of a folder on the server.")
    root = inside_roots(text, roots)
    if root is None or not root.is_dir():
        raise QueryError(NOT_ALLOWED)
    try:
        records, ignored = scan_folder(root)
    except OSError as exc:
        log.warning("scanning %s failed: %s", root, exc)
        raise QueryError(NOT_ALLOWED) from None
    # A link inside a root may point out of it: only files that resolve inside are indexed.
    paths = [q for q in (inside_roots(r["path"], roots) for r in records) if q is not None]
    ignored += len(records) - len(paths)
    return _index_paths(services, paths, progress, ignored)


NOT_ALLOWED = "That path is not inside the folders this server allows (or is not a folder)."
MAX_PATH_CHARS = 4096


def inside_roots(path: str | os.PathLike, roots: Sequence[Path]) -> Path | None:
    """`path` resolved (symbolic links, `..`, `~`) when it lies inside one of `roots`
    (resolved folders), else None."""
    text = str(path)
    if len(text) > MAX_PATH_CHARS or "\x00" in text:
        return None
    try:
        resolved = Path(os.path.realpath(Path(text).expanduser()))
    except (OSError, RuntimeError, ValueError):
        return None
    return resolved if any(resolved.is_relative_to(r) for r in roots) else None


def _index_paths(
    services: Services, paths: list[Path], progress: Progress | None, ignored: int
) -> IndexReport:
    from ttmrpp.search.sources import file_state

    t0 = time.perf_counter()
    index = services.index
    known = {t["path"]: (t.get("size"), t.get("mtime")) for t in index.tracks}
    todo, skipped = [], 0
    for p in paths:
        path = str(p)
        state = file_state(path)
        if state is not None and known.get(path) == state:
            skipped += 1
        else:
            todo.append((Path(path).name, path, {}))
    with services._update_lock:
        added, failed, records, vectors = _embed(services, todo, progress)
        if progress:
            progress(len(todo), len(todo), "saving")
        if records:
            index.add_embeddings(records, np.stack(vectors))
            if services.index_dir is not None:
                index.save(services.index_dir)
    return IndexReport(added, failed, skipped, ignored, len(index), time.perf_counter() - t0)


def _embed(
    services: Services,
    items: list[tuple[str, str, dict[str, Any]]],
    progress: Progress | None,
    max_seconds: float = MAX_SECONDS,
) -> tuple[list[str], list[tuple[str, str]], list[dict[str, Any]], list[np.ndarray]]:
    """Embed files given as (name shown, path, extra record fields), a few at a time.

    Returns (names added, (name, reason) failed, records, vectors)."""
    from ttmrpp.model.embed import embed_audio_files
    from ttmrpp.search.sources import enrich, file_state

    added: list[str] = []
    failed: list[tuple[str, str]] = []
    records, vectors = [], []
    total = len(items)
    for start in range(0, total, INDEX_BATCH_FILES):
        group = items[start : start + INDEX_BATCH_FILES]
        if progress:
            progress(start, total, shorten(group[0][0], 60))
        paths = [p for _, p, _ in group]
        vecs, fails = embed_audio_files(
            services.model, paths, progress=False, max_seconds=max_seconds
        )
        reasons = dict(fails)
        it = iter(vecs)
        for name, path, extra in group:
            shown = shorten(name, 80)
            if path in reasons:
                why = short_reason(reasons[path], path)
                if Path(path).suffix.lower() not in AUDIO_EXTENSIONS:
                    why = f"not an audio file ({why})"
                failed.append((shown, why))
                continue
            state = file_state(path) or (None, None)
            rec = {"id": name, "path": path, "size": state[0], "mtime": state[1], **extra}
            records.append(enrich(rec))
            vectors.append(next(it).numpy())
            added.append(shown)
    return added, failed, records, vectors

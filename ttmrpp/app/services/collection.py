"""The collection: what is loaded, and adding uploaded files or a server folder to it."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ttmrpp.app.services.atlas import tag_categories
from ttmrpp.app.services.common import (
    INDEX_BATCH_FILES,
    Progress,
    QueryError,
    Services,
    short_reason,
)
from ttmrpp.model.audio import AUDIO_EXTENSIONS
from ttmrpp.search.sources import as_list


def collection_info(services: Services) -> dict[str, Any]:
    """What is loaded: model, collection, counts of tracks, artists, albums and tags."""
    tracks = services.index.tracks
    cfg = services.model.config
    tag_counts = {
        cat: len({v for t in tracks for v in as_list((t.get("tags") or {}).get(cat))})
        for cat in tag_categories(services)
    }
    return {
        "model": cfg.name,
        "model_spec": services.model_spec,
        "model_note": services.model_note,
        "embed_dim": cfg.embed_dim,
        "collection": services.collection_name,
        "tracks": len(tracks),
        "artists": len({t["artist"] for t in tracks if t.get("artist")}),
        "albums": len({(t.get("artist"), t["album"]) for t in tracks if t.get("album")}),
        "hours": round(sum(float(t.get("duration") or 0) for t in tracks) / 3600, 2),
        "tags": tag_counts,
        "failed_files": len(services.index.failures),
        "search": {"hnsw": "HNSW", "scan": "compressed scan"}.get(
            services.index.search_method, "exact"
        ),
        "index_dir": str(services.index_dir) if services.index_dir else None,
    }


@dataclass
class IndexReport:
    """What an indexing run did."""

    added: list[str]
    failed: list[tuple[str, str]]  # (file name, reason)
    skipped: int  # files already in the index, unchanged
    ignored: int  # not audio by extension
    tracks: int  # tracks in the index afterwards
    seconds: float

    def summary(self) -> str:
        text = (
            f"Indexed {len(self.added)} new file(s) in {self.seconds:.1f} s; "
            f"{len(self.failed)} failed, {self.skipped} already indexed"
            + (f", {self.ignored} not audio (ignored)" if self.ignored else "")
            + f". The collection now has {self.tracks} tracks."
        )
        if self.failed:
            text += "\nFailed files:\n" + "\n".join(f"- {n}: {r}" for n, r in self.failed)
        return text


def index_uploaded_files(
    services: Services, paths: Sequence[str | os.PathLike] | None, progress: Progress | None = None
) -> IndexReport:
    """Copy uploaded files into the upload folder and add them to the index.

    Every file is tried; the ones that cannot be decoded are listed in the report.
    """
    paths = [Path(p) for p in (paths or [])]
    if not paths:
        raise QueryError("No files: choose one or more audio files to upload.")
    dest = services.upload_dir
    if dest is None:
        import tempfile

        dest = services.upload_dir = Path(tempfile.mkdtemp(prefix="ttmrpp-uploads-"))
    dest.mkdir(parents=True, exist_ok=True)
    kept = []
    for p in paths:
        if not p.is_file():
            continue
        target = dest / p.name
        if target.exists() and target.stat().st_size != p.stat().st_size:
            target = dest / f"{p.stem}-{int(time.time() * 1000) % 10**8}{p.suffix}"
        if not target.exists():
            shutil.copyfile(p, target)
        kept.append(target)
    return _index_paths(services, kept, progress, ignored=0)


def index_folder(
    services: Services, folder: str | os.PathLike | None, progress: Progress | None = None
) -> IndexReport:
    """Add the audio files under a server-side folder (recursively) to the index."""
    from ttmrpp.search.sources import scan_folder

    if not services.folder_indexing:
        raise QueryError(
            "Indexing folders on the server is turned off here (a public Space); "
            "upload files instead."
        )
    if not folder or not str(folder).strip():
        raise QueryError("No folder: type the path of a folder on the server.")
    root = Path(str(folder).strip()).expanduser()
    if not root.is_dir():
        raise QueryError(f"{root} is not a folder on the server.")
    records, ignored = scan_folder(root)
    return _index_paths(services, [Path(r["path"]) for r in records], progress, ignored)


def _index_paths(
    services: Services, paths: list[Path], progress: Progress | None, ignored: int
) -> IndexReport:
    from ttmrpp.model.embed import embed_audio_files
    from ttmrpp.search.sources import enrich, file_state

    t0 = time.perf_counter()
    index = services.index
    known = {t["path"]: (t.get("size"), t.get("mtime")) for t in index.tracks}
    todo, skipped = [], 0
    for p in paths:
        path = str(p.resolve())
        state = file_state(path)
        if state is not None and known.get(path) == state:
            skipped += 1
        else:
            todo.append((path, state))
    not_audio = [(p, s) for p, s in todo if Path(p).suffix.lower() not in AUDIO_EXTENSIONS]
    added: list[str] = []
    failed: list[tuple[str, str]] = []
    records, vectors = [], []
    total = len(todo)
    with services._update_lock:
        for start in range(0, total, INDEX_BATCH_FILES):
            group = todo[start : start + INDEX_BATCH_FILES]
            if progress:
                progress(start, total, Path(group[0][0]).name)
            vecs, fails = embed_audio_files(services.model, [p for p, _ in group], progress=False)
            reasons = dict(fails)
            it = iter(vecs)
            for path, state in group:
                name = Path(path).name
                if path in reasons:
                    why = short_reason(reasons[path], path)
                    if (path, state) in not_audio:
                        why = f"not an audio file ({why})"
                    failed.append((name, why))
                    continue
                rec = {"id": name, "path": path, "size": state[0], "mtime": state[1]}
                records.append(enrich(rec))
                vectors.append(next(it).numpy())
                added.append(name)
        if progress:
            progress(total, total, "saving")
        if records:
            index.add_embeddings(records, np.stack(vectors))
            if services.index_dir is not None:
                index.save(services.index_dir)
    return IndexReport(added, failed, skipped, ignored, len(index), time.perf_counter() - t0)

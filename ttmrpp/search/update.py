"""Bringing an index in line with a folder or manifest: plan what changed, drop what left,
embed what is new in small groups (searches see new tracks early; a checkpoint can save)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm.auto import tqdm

from ttmrpp.search.results import UpdateReport
from ttmrpp.search.sources import enrich, manifest_tracks, scan_folder

if TYPE_CHECKING:
    from ttmrpp.search.index import MusicIndex


def update_index(
    index: MusicIndex,
    model,
    source: str | os.PathLike,
    batch_size: int = 16,
    progress: bool = True,
    group_size: int = 16,
    checkpoint: Callable[[MusicIndex], None] | None = None,
) -> UpdateReport:
    """`MusicIndex.update`: new and changed files (by path + size + mtime) are embedded,
    deleted ones dropped, files that failed before and have not changed are not retried."""
    index.check_model(model)
    source = Path(source).expanduser()
    report = UpdateReport()
    if source.is_dir():
        incoming, report.ignored_files = scan_folder(source)
    elif source.is_file():
        incoming = manifest_tracks(source)
    else:
        raise FileNotFoundError(f"{source}: no such folder or manifest")

    with index._update_lock:  # one update at a time
        with index._lock.write():  # rows planned here are used before anyone renumbers them
            to_embed, keep, failures = _plan(index, incoming, source, report)
            _apply_removals(index, keep, failures, source, report)
        _embed_groups(index, model, to_embed, report, batch_size, progress, group_size, checkpoint)
        with index._lock.write():
            index._maintain(force_tune=bool(report.touched))
    return report


def _plan(index: MusicIndex, incoming, source: Path, report: UpdateReport):
    """Sort the source's tracks into unchanged (kept by row), known failures and to-embed
    (under the index's write lock)."""
    to_embed, keep, failures, seen = [], {}, {}, set()
    for rec in incoming:
        path = rec["path"]
        if path in seen:
            report.failures.append((path, f"{path}: listed twice in {source}"))
            continue
        seen.add(path)
        state = (rec["size"], rec["mtime"])
        if rec["size"] is None:
            failures[path] = {"reason": f"{path}: no such file", "size": None}
            report.failures.append((path, failures[path]["reason"]))
            continue
        row = index._by_path.get(path)
        old = index.records[row] if row is not None else None
        if old is not None and (old["size"], old["mtime"]) == state:
            keep[row] = rec
            continue
        prev = index.failures.get(path)
        if prev and (prev.get("size"), prev.get("mtime")) == state:
            failures[path] = prev
            report.known_failures += 1
            continue
        to_embed.append(rec)
        (report.changed if old is not None else report.added).append(path)
    return to_embed, keep, failures


def _apply_removals(index: MusicIndex, keep, failures, source: Path, report: UpdateReport):
    """Drop tracks the source no longer lists; refresh the kept ones' metadata (under the
    index's write lock, in the same hold as `_plan`)."""
    changed = set(report.changed)
    gone = [p for p, row in index._by_path.items() if row not in keep and p not in changed]
    report.removed = gone
    index._remove([index._by_path[p] for p in gone])
    for row, rec in keep.items():
        merged = merge_metadata(index.records[row], rec)
        if merged != index.records[row]:
            index.records[row] = merged  # replaced, not changed: `tracks` shares records
            report.metadata_updated += 1
    report.unchanged = len(keep)
    index.failures = failures
    index.source = str(source.resolve())
    if gone or report.metadata_updated:
        index._changed()


def _embed_groups(index, model, to_embed, report, batch_size, progress, group_size, checkpoint):
    """Embed in small groups, each added as soon as it is done: searches see new tracks
    early and `checkpoint` can save, so an interrupted first index keeps its work."""
    from ttmrpp.model.embed import embed_audio_files

    changed = set(report.changed)
    bar = tqdm(total=len(to_embed), desc="embedding", unit="file", disable=not progress)
    for start in range(0, len(to_embed), group_size):
        group = to_embed[start : start + group_size]
        vecs, failed = embed_audio_files(
            model, [r["path"] for r in group], batch_size=batch_size, progress=False
        )
        reasons = dict(failed)
        ok = [enrich(r) for r in group if r["path"] not in reasons]
        with index._lock.write():
            index._remove([index._by_path[r["path"]] for r in group if r["path"] in index._by_path])
            index._append(ok, vecs.numpy().astype(np.float32))
            for rec in group:
                path = rec["path"]
                if path not in reasons:
                    continue
                index.failures[path] = {
                    "reason": reasons[path], "size": rec["size"], "mtime": rec["mtime"]
                }  # fmt: skip
                report.failures.append((path, reasons[path]))
                if path in changed:  # was indexed, now unreadable: it leaves the index
                    report.changed.remove(path)
                    report.removed.append(path)
                else:
                    report.added.remove(path)
            index._changed()
            index._maintain()
        report.embedded += len(group)
        bar.update(len(group))
        if checkpoint is not None:
            checkpoint(index)
    bar.close()


def merge_metadata(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """A source's fresh record, keeping what was read from the file's tags before."""
    merged = dict(new)
    for key in ("title", "artist", "album", "duration"):
        if merged.get(key) in (None, "") and old.get(key) not in (None, ""):
            merged[key] = old[key]
    return merged

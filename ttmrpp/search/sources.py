"""A music collection on disk: a folder scanned recursively or a JSONL manifest, as track records.

A record is a plain dict: `id`, `path` (absolute), `size`, `mtime` (what change detection
compares), and what is known about the track: `title`/`artist`/`album` (manifest fields, else
the file's own tags read with mutagen), `duration`, `tags` ({category: [values]}) and any other
manifest fields (`bpm`, `key`, `split`, ...).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ttmrpp.data.records import read_manifest
from ttmrpp.model.audio import AUDIO_EXTENSIONS

TAG_FIELDS = ("title", "artist", "album")


def file_state(path: str | os.PathLike) -> tuple[int, int] | None:
    """(size in bytes, mtime in ns) of a file, or None if it is gone."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def scan_folder(root: str | os.PathLike) -> tuple[list[dict[str, Any]], int]:
    """Audio files under `root` (recursively, by extension, case-insensitive), sorted by path.

    Returns (records with `id` = path relative to root, number of other files ignored).
    """
    root = Path(root).resolve()
    if not root.is_dir():
        raise NotADirectoryError(f"{root}: not a folder")
    records, ignored = [], 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            if path.suffix.lower() not in AUDIO_EXTENSIONS:
                ignored += 1
                continue
            state = file_state(path)
            if state is None:
                continue
            records.append(
                {
                    "id": path.relative_to(root).as_posix(),
                    "path": str(path),
                    "size": state[0],
                    "mtime": state[1],
                }
            )
    records.sort(key=lambda r: r["path"])
    return records, ignored


def manifest_tracks(manifest: str | os.PathLike) -> list[dict[str, Any]]:
    """Tracks of a JSONL manifest in the shared format (`audio` relative to its folder).

    Missing files are kept with `size`/`mtime` of None so the caller can report them.

    Raises:
        ValueError: naming the line, for invalid JSON, a missing `audio` field or a repeated id.
    """
    manifest = Path(manifest).resolve()
    records, seen = [], set()
    for n, entry in enumerate(read_manifest(manifest), 1):
        if not entry.get("audio"):
            raise ValueError(f"{manifest}: record {n} needs an 'audio' path")
        path = (manifest.parent / entry["audio"]).resolve()
        rec = {k: v for k, v in entry.items() if k != "audio"}
        rec["id"] = str(entry.get("id") or entry["audio"])
        if rec["id"] in seen:
            raise ValueError(f"{manifest}: record {n} repeats id {rec['id']!r}")
        seen.add(rec["id"])
        state = file_state(path)
        rec.update(path=str(path), size=state and state[0], mtime=state and state[1])
        records.append(rec)
    return records


def read_file_tags(path: str | os.PathLike) -> dict[str, Any]:
    """Title/artist/album and duration from a file's own tags (mutagen); {} when unreadable."""
    import mutagen

    try:
        f = mutagen.File(str(path), easy=True)
    except Exception:  # mutagen raises many types for files it cannot parse
        return {}
    if f is None:
        return {}
    out: dict[str, Any] = {}
    tags = f.tags or {}
    for key in TAG_FIELDS:
        try:
            value = tags.get(key)
        except Exception:
            value = None
        if value:
            text = str(value[0] if isinstance(value, list) else value).strip()
            if text:
                out[key] = text
    length = getattr(getattr(f, "info", None), "length", None)
    if length:
        out["duration"] = round(float(length), 3)
    return out


def enrich(record: dict[str, Any]) -> dict[str, Any]:
    """Fill title/artist/album/duration from the file's tags where the record lacks them."""
    missing = [k for k in (*TAG_FIELDS, "duration") if record.get(k) in (None, "")]
    if missing:
        found = read_file_tags(record["path"])
        if "duration" in missing and "duration" not in found:
            found.update(_soundfile_duration(record["path"]))
        for key in missing:
            if key in found:
                record[key] = found[key]
    if not record.get("title"):
        record["title"] = Path(record["path"]).stem
    return record


def _soundfile_duration(path: str) -> dict[str, float]:
    try:
        import soundfile as sf

        info = sf.info(path)
        return {"duration": round(info.frames / info.samplerate, 3)} if info.samplerate else {}
    except Exception:
        return {}


def matches(record: dict[str, Any], filters: dict[str, str | Iterable[str]]) -> bool:
    """Whether a record passes every filter (case-insensitive; a list value means any of).

    A key names a tag category (`genre=rock`), a record field (`artist=...`, `split=test`),
    or `tag` for a value in any category.
    """
    for key, wanted in filters.items():
        wanted = {wanted.lower()} if isinstance(wanted, str) else {w.lower() for w in wanted}
        tags = record.get("tags") or {}
        if key == "tag":
            have = {str(v).lower() for vs in tags.values() for v in as_list(vs)}
        elif key in tags:
            have = {str(v).lower() for v in as_list(tags[key])}
        else:
            have = {str(v).lower() for v in as_list(record.get(key))}
        if not have & wanted:
            return False
    return True


def as_list(value) -> list:
    """A field value as a list (None: [], a scalar: [it])."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple | set) else [value]


def parse_filters(items: Iterable[str]) -> dict[str, list[str]]:
    """`["genre=rock", "genre=jazz", "artist=X"]` -> {"genre": ["rock", "jazz"], ...}."""
    out: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"filter {item!r}: expected key=value, e.g. genre=rock")
        out.setdefault(key.strip(), []).append(value.strip())
    return out

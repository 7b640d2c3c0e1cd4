"""One track record, the JSONL manifest line every part of ttmrpp reads and writes.

A manifest is one JSON object per line. Our catalog, the training mixture, the index and
the pseudo-captioner all read it through `read_manifest`, which also maps the field names
of the paper's enriched datasets (`tag_list`, `artist_name`, `release`, `sim_artist_text`)
onto ours. Records stay plain dicts (a `TypedDict`), so fields we do not know travel through
unchanged and a record written back keeps its order.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypedDict

from ttmrpp.fileio import iter_jsonl


class TrackRecord(TypedDict, total=False):
    id: str  # unique track id within its manifest
    audio: str  # audio file, relative to the manifest's folder or absolute
    split: str  # "train", "test", ... (the benchmark is the "test" split)
    tags: dict[str, list[str]]  # tags by category: genre, instrument, mood, tempo, tag
    title: str | None  # track title (metadata text and queries)
    artist: str | None  # artist name
    album: str | None  # album or release
    similar_artists: list[str]  # names of similar artists (the paper's sim text)
    pseudo_caption: str  # an LLM caption written from the tags
    pseudo_caption_raw: str  # the generator's text before the faithfulness filter
    captions: list[str]  # reference captions (benchmark split)
    duration: float  # seconds
    bpm: float  # tempo, where known
    key: str  # musical key, e.g. "C major", where known


# The paper's enriched-dataset JSONL names some fields differently.
def _map_paper_fields(rec: dict[str, Any]) -> dict[str, Any]:
    if "tag_list" in rec and "tags" not in rec:
        rec["tags"] = {"tag": list(rec.pop("tag_list"))}
    if "artist_name" in rec and "artist" not in rec:
        rec["artist"] = rec.pop("artist_name")
    if "release" in rec and "album" not in rec:
        rec["album"] = rec.pop("release")
    if isinstance(rec.get("sim_artist_text"), str) and "similar_artists" not in rec:
        rec["similar_artists"] = [a for a in rec.pop("sim_artist_text").split("[SEP]") if a]
    return rec


def read_manifest(path: str | os.PathLike, resolve_audio: bool = False) -> list[TrackRecord]:
    """The records of a JSONL manifest (ours or the paper's enriched datasets).

    Args:
        resolve_audio: make relative `audio` paths absolute against the manifest's folder.

    Raises:
        FileNotFoundError: no such manifest.
        ValueError: naming `path:line`, for invalid JSON or a line that is not an object.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"manifest not found: {path}")
    records: list[TrackRecord] = []
    for _, rec in iter_jsonl(path):
        if resolve_audio and rec.get("audio") and not Path(rec["audio"]).is_absolute():
            rec["audio"] = str(path.parent / rec["audio"])
        records.append(_map_paper_fields(rec))  # type: ignore[arg-type]
    return records


def record_tags(record: TrackRecord | dict[str, Any]) -> list[str]:
    """A record's tags over all categories (category order, case-insensitive duplicates
    removed)."""
    tags = record.get("tags") or {}
    flat = (
        [t for values in tags.values() for t in (values or [])]
        if isinstance(tags, dict)
        else list(tags)
    )
    seen: set[str] = set()
    out = []
    for t in flat:
        t = str(t).strip()
        if t and t.lower() not in seen:
            seen.add(t.lower())
            out.append(t)
    return out

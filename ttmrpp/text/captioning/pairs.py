"""Tag → caption training pairs: MusicCaps-style CSV or instruction/input/output JSONL.

The validation part is chosen by a hash of each row's key (the MusicCaps `ytid`), so it is the
same whatever the file order or size, and a row is never in both parts.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CaptionPair:
    """One tag list with its human caption."""

    key: str  # stable id used for the validation split (MusicCaps `ytid`)
    tags: tuple[str, ...]
    caption: str
    instruction: str | None = None  # JSONL rows may bring their own instruction


def _tags_from(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(t).strip() for t in value if str(t).strip())
    text = str(value or "").strip()
    if text.startswith("["):
        try:
            parsed = ast.literal_eval(text)
        except (ValueError, SyntaxError) as e:
            raise ValueError(
                f"{where}: aspect list is not a Python/JSON list: {text[:80]!r}"
            ) from e
        return _tags_from(list(parsed), where)
    return tuple(t.strip() for t in text.split(",") if t.strip())


def read_caption_pairs(path: str | Path) -> list[CaptionPair]:
    """Read pairs from a MusicCaps CSV (`ytid`, `aspect_list`, `caption`) or a JSONL file.

    JSONL rows hold `input` (tags, comma-separated or a list) and `output` (caption), with an
    optional `instruction` and an optional `id`/`ytid` key. Rows with no tags or no caption
    are skipped.

    Raises:
        ValueError: a missing column, a bad line, or no usable rows.
    """
    path = Path(path)
    pairs: list[CaptionPair] = []
    if path.suffix.lower() in {".jsonl", ".json"}:
        with path.open(encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as e:
                    raise ValueError(f"{path}:{n}: not JSON ({e.msg})") from e
                if "input" not in row or "output" not in row:
                    raise ValueError(f"{path}:{n}: a JSONL row needs 'input' and 'output' fields")
                tags = _tags_from(row["input"], f"{path}:{n}")
                key = str(row.get("ytid") or row.get("id") or f"{path.name}:{n}")
                caption = str(row["output"]).strip()
                if tags and caption:
                    pairs.append(CaptionPair(key, tags, caption, row.get("instruction") or None))
    else:
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            missing = {"ytid", "aspect_list", "caption"} - set(reader.fieldnames or [])
            if missing:
                raise ValueError(f"{path}: missing CSV column(s) {sorted(missing)}")
            for n, row in enumerate(reader, 2):
                tags = _tags_from(row["aspect_list"], f"{path}:{n}")
                caption = (row["caption"] or "").strip()
                if tags and caption:
                    pairs.append(CaptionPair(row["ytid"], tags, caption))
    if not pairs:
        raise ValueError(f"{path}: no usable tag/caption rows")
    return pairs


def is_validation(key: str, fraction: float, salt: str = "ttmrpp-caption-valid") -> bool:
    """Whether `key` falls in the held-out part (a stable hash, ~`fraction` of keys)."""
    digest = hashlib.sha1(f"{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def split_pairs(
    pairs: Sequence[CaptionPair], valid_fraction: float = 0.05
) -> tuple[list[CaptionPair], list[CaptionPair]]:
    """Split into (train, valid) by key; all rows sharing a key land on the same side."""
    if not 0.0 <= valid_fraction < 1.0:
        raise ValueError(f"valid_fraction must be in [0, 1), got {valid_fraction}")
    train = [p for p in pairs if not is_validation(p.key, valid_fraction)]
    valid = [p for p in pairs if is_validation(p.key, valid_fraction)]
    return train, valid

"""Pseudo-captioning a manifest: an LLM caption for every record, resumable and batched.

    counts = pseudo_caption_manifest(Path("manifest.jsonl"), Path("captioned.jsonl"), captioner)

Progress is appended to `OUT.partial.jsonl` batch by batch, so an interrupted run resumes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ttmrpp.data.records import read_manifest, record_tags
from ttmrpp.fileio import atomic_write_jsonl


def _read_partial(path: Path, records: list[dict[str, Any]]) -> dict[int, str]:
    """Captions already made by an interrupted run (index → caption), checked against ids."""
    done: dict[int, str] = {}
    if not path.is_file():
        return done
    with path.open(encoding="utf-8") as f:
        for line in f:
            try:
                e = json.loads(line)
                i = int(e["index"])
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                continue  # a line cut short by the interruption
            if 0 <= i < len(records) and records[i].get("id") == e.get("id"):
                done[i] = str(e["pseudo_caption"])
    return done


def pseudo_caption_manifest(
    manifest: Path,
    out: Path,
    captioner: Any,
    batch_size: int = 8,
    keep_existing: bool = False,
    faithful: bool = False,
    constrained: bool = False,
) -> dict[str, Any]:
    """Fill `pseudo_caption` for every record of `manifest` and write `out` atomically.

    Progress goes to `out.partial.jsonl` batch by batch (flushed), so a re-run resumes.
    `faithful` keeps only the sentences that name the record's own tags
    (`ttmrpp.text.captioning.filter`); the generated text stays in `pseudo_caption_raw`.

    Returns:
        counts: records, generated (this run), resumed, kept, untagged (left without caption),
        and with `faithful` the filter's counts under "faithful".
    """
    from tqdm import tqdm

    if batch_size < 1:
        raise ValueError(f"batch size must be ≥ 1, got {batch_size}")
    records = read_manifest(manifest)
    if constrained:  # steer decoding by the manifest's tag vocabulary (`constraint.py`)
        if not hasattr(captioner, "constrain_vocabulary"):
            raise ValueError("--constrained needs an LLM captioner (base or lora)")
        captioner.constrain_vocabulary = sorted({t for r in records for t in record_tags(r)})
    partial = out.with_name(out.name + ".partial.jsonl")
    done = _read_partial(partial, records)
    counts = {
        "records": len(records),
        "generated": 0,
        "resumed": len(done),
        "kept": 0,
        "untagged": 0,
    }
    todo: list[int] = []
    for i, rec in enumerate(records):
        if i in done:
            continue
        if keep_existing and rec.get("pseudo_caption"):
            counts["kept"] += 1
        elif not record_tags(rec):
            counts["untagged"] += 1
        else:
            todo.append(i)
    out.parent.mkdir(parents=True, exist_ok=True)
    with (
        partial.open("a", encoding="utf-8") as log,
        tqdm(total=len(todo), desc="pseudo-caption", unit="rec") as bar,
    ):
        for k in range(0, len(todo), batch_size):
            idx = todo[k : k + batch_size]
            captions = captioner.generate_batch([record_tags(records[i]) for i in idx])
            for i, c in zip(idx, captions, strict=True):
                done[i] = c
                log.write(
                    json.dumps({"index": i, "id": records[i].get("id"), "pseudo_caption": c}) + "\n"
                )
            log.flush()
            os.fsync(log.fileno())
            counts["generated"] += len(idx)
            bar.update(len(idx))
    for i in done:  # a new caption replaces any earlier generator text
        records[i] = {k: v for k, v in records[i].items() if k != "pseudo_caption_raw"}
        records[i]["pseudo_caption"] = done[i]
    if faithful:
        from ttmrpp.text.captioning.filter import filter_records

        counts["faithful"] = filter_records(records)
    atomic_write_jsonl(out, records)
    partial.unlink(missing_ok=True)
    return counts

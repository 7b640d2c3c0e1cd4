"""`ttmrpp caption` (tags → one caption) and `ttmrpp pseudo-caption` (fill a manifest)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from ttmrpp.fileio import atomic_write_jsonl, read_jsonl

GENERATORS = ("template", "base", "lora")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "caption",
        help="write a caption for a comma-separated tag list",
        description="Write a one-paragraph music caption from tags, e.g. "
        '`ttmrpp caption "rock, electric guitar, energetic"`.',
    )
    p.add_argument("tags", help='comma-separated tags, e.g. "rock, electric guitar, energetic"')
    p.add_argument(
        "--generator",
        choices=(*GENERATORS, "all"),
        default="lora",
        help="template, base LLM, LLM + LoRA adapter (default), or all side by side",
    )
    p.add_argument(
        "--reference",
        default=None,
        help="a human caption; with --generator all, BERTScore against it is shown",
    )
    p.add_argument("--stream", action="store_true", help="print text as it is generated")
    _model_flags(p)
    p.set_defaults(func=run_caption)

    q = subparsers.add_parser(
        "pseudo-caption",
        help="fill `pseudo_caption` for every record of a manifest from its tags",
        description="Generate a caption for every manifest record from its tags (all categories "
        "flattened) and write a new manifest. Batched; re-running after an interruption "
        "continues where it stopped (progress is kept in OUT.partial.jsonl); no record is "
        "dropped; the output is written atomically.",
    )
    q.add_argument("manifest", type=Path, help="input manifest (JSONL)")
    q.add_argument("--out", type=Path, required=True, help="output manifest (JSONL)")
    q.add_argument("--generator", choices=GENERATORS, default="lora", help="caption generator")
    q.add_argument("--batch-size", type=int, default=8, help="tag lists per generation batch")
    q.add_argument(
        "--keep-existing",
        action="store_true",
        help="keep records' existing pseudo_caption instead of regenerating it",
    )
    q.add_argument(
        "--faithful",
        action="store_true",
        help="keep only caption sentences that name the record's own tags and no other tag "
        "(the generated text stays in pseudo_caption_raw)",
    )
    q.add_argument(
        "--constrained",
        action="store_true",
        help="steer decoding: never name a tag of the manifest's vocabulary that the record "
        "lacks, and favour naming each of its own tags (LLM generators)",
    )
    _model_flags(q)
    q.set_defaults(func=run_pseudo_caption)


def _model_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        default=None,
        help="causal LM hub id or folder (default: offline SmolLM2-135M-Instruct)",
    )
    p.add_argument(
        "--adapter",
        type=Path,
        default=None,
        help="LoRA adapter folder (default: the shipped assets/captioner-lora)",
    )
    p.add_argument("--max-new-tokens", type=int, default=None, help="generation length cap")


def _make(args: argparse.Namespace, generator: str) -> Any:
    from ttmrpp.captioner import LLMCaptioner, load_captioner

    cap = load_captioner(generator, model=args.model, adapter=args.adapter)
    if isinstance(cap, LLMCaptioner) and args.max_new_tokens:
        cap.settings.max_new_tokens = args.max_new_tokens
    return cap


def run_caption(args: argparse.Namespace) -> int:
    from ttmrpp.captioner import DEFAULT_ADAPTER, clean_caption, parse_tags

    tags = parse_tags(args.tags)
    if not tags:
        print('error: empty tag list; give tags like "rock, electric guitar"', file=sys.stderr)
        return 2
    if args.generator == "all":
        from ttmrpp.caption_compare import build_captioners, compare_captioners

        caps = build_captioners(args.model, args.adapter or DEFAULT_ADAPTER)
        for cap in caps.values():
            if args.max_new_tokens and hasattr(cap, "settings"):
                cap.settings.max_new_tokens = args.max_new_tokens
        print(json.dumps(compare_captioners(tags, args.reference, caps), indent=2))
        return 0
    cap = _make(args, args.generator)
    if args.stream:
        pieces = []
        for piece in cap.stream(tags):
            pieces.append(piece)
            print(piece, end="", flush=True)
        print()
        if clean_caption("".join(pieces)) != "".join(pieces).strip():
            print(f"(cleaned) {clean_caption(''.join(pieces))}")
        return 0
    print(cap.generate(tags))
    return 0


# ------------------------------------------------------------------------- pseudo-caption
def record_tags(record: dict[str, Any]) -> list[str]:
    """A record's tags flattened over all categories (category order, duplicates removed)."""
    tags = record.get("tags") or {}
    if isinstance(tags, dict):
        flat = [t for values in tags.values() for t in (values or [])]
    else:
        flat = list(tags)
    seen: set[str] = set()
    out = []
    for t in flat:
        t = str(t).strip()
        if t and t.lower() not in seen:
            seen.add(t.lower())
            out.append(t)
    return out


def _read_manifest(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise FileNotFoundError(f"manifest not found: {path}")
    return read_jsonl(path)


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
    (`ttmrpp.caption_filter`); the generated text stays in `pseudo_caption_raw`.

    Returns:
        counts: records, generated (this run), resumed, kept, untagged (left without caption),
        and with `faithful` the filter's counts under "faithful".
    """
    from tqdm import tqdm

    if batch_size < 1:
        raise ValueError(f"batch size must be ≥ 1, got {batch_size}")
    records = _read_manifest(manifest)
    if constrained:  # steer decoding by the manifest's tag vocabulary (`tag_constraint.py`)
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
        from ttmrpp.caption_filter import filter_records

        counts["faithful"] = filter_records(records)
    atomic_write_jsonl(out, records)
    partial.unlink(missing_ok=True)
    return counts


def run_pseudo_caption(args: argparse.Namespace) -> int:
    try:
        records = _read_manifest(args.manifest)  # fail on a bad manifest before loading a model
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    del records
    cap = _make(args, args.generator)
    counts = pseudo_caption_manifest(
        args.manifest,
        args.out,
        cap,
        args.batch_size,
        args.keep_existing,
        args.faithful,
        args.constrained,
    )
    print(json.dumps({"out": str(args.out), **counts}))
    if counts["untagged"]:
        print(
            f"warning: {counts['untagged']} record(s) have no tags and were copied without "
            "a pseudo_caption",
            file=sys.stderr,
        )
    return 0

"""`ttmrpp caption` (tags → one caption) and `ttmrpp pseudo-caption` (fill a manifest)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

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
        help="LoRA adapter folder (default: the shipped captioner-lora)",
    )
    p.add_argument("--max-new-tokens", type=int, default=None, help="generation length cap")


def _make(args: argparse.Namespace, generator: str) -> Any:
    from ttmrpp.text.captioning.generators import LLMCaptioner, load_captioner

    cap = load_captioner(generator, model=args.model, adapter=args.adapter)
    if isinstance(cap, LLMCaptioner) and args.max_new_tokens:
        cap.settings.max_new_tokens = args.max_new_tokens
    return cap


def run_caption(args: argparse.Namespace) -> int:
    from ttmrpp.text.captioning.generators import DEFAULT_ADAPTER, clean_caption, parse_tags

    tags = parse_tags(args.tags)
    if not tags:
        print('error: empty tag list; give tags like "rock, electric guitar"', file=sys.stderr)
        return 2
    if args.generator == "all":
        from ttmrpp.text.captioning.compare import build_captioners, compare_captioners

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


def run_pseudo_caption(args: argparse.Namespace) -> int:
    from ttmrpp.data.records import read_manifest
    from ttmrpp.text.captioning.pseudo import pseudo_caption_manifest

    try:
        read_manifest(args.manifest)  # fail on a bad manifest before loading a model
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
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

"""`ttmrpp tag` (batch auto-tagging of a folder) and `ttmrpp compare-taggers` (HTML report)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    from ttmrpp.taggers import DATASETS, TAGGER_NAMES

    p = subparsers.add_parser(
        "tag",
        help="tag every audio file in a folder with published auto-taggers",
        description=(
            "Run auto-tagging models over a folder (any audio format, recursive) and write "
            "results_<dataset>_<model>_<YYYYMMDD>.{csv,json} into --out: each file's top-K tags "
            "with probabilities. Models with today's results there are skipped unless --force."
        ),
    )
    p.add_argument("folder", type=Path, help="folder of audio files")
    p.add_argument(
        "--dataset", choices=DATASETS, default="jamendo", help="tag vocabulary / weights"
    )
    p.add_argument(
        "--models",
        default="fcn,musicnn",
        help=f"comma-separated models, or 'all' ({','.join(TAGGER_NAMES)})",
    )
    p.add_argument("--top-k", type=int, default=5, help="tags kept per file")
    p.add_argument("--out", type=Path, default=Path("tag-results"), help="results folder")
    p.add_argument(
        "--weights-dir",
        type=Path,
        default=None,
        help="local weights laid out as <dataset>/<model>/best_model.pth (else cache / download)",
    )
    p.add_argument("--force", action="store_true", help="rerun models that have today's results")
    p.add_argument("--offline", action="store_true", help="never download weights")
    p.add_argument("--max-chunks", type=int, default=16, help="chunks averaged per track")
    p.add_argument(
        "--caption",
        nargs="?",
        const="lora",
        default=None,
        choices=("template", "base", "lora"),
        metavar="GENERATOR",
        help="also write a caption per file from its top-K tags (a `caption` field / column); "
        "GENERATOR is template, base or lora (default lora: the shipped LoRA captioner)",
    )
    p.set_defaults(func=run_tag)

    c = subparsers.add_parser(
        "compare-taggers",
        help="compare tagger results: agreement, tag frequencies, confidence (HTML)",
        description=(
            "Read results_*.json written by `ttmrpp tag` and write a self-contained HTML report "
            "with the pairwise top-K Jaccard agreement matrix, tag frequency charts and "
            "confidence statistics per model; prints the numbers as JSON."
        ),
    )
    c.add_argument("results_dir", type=Path, help="folder with results_*.json")
    c.add_argument(
        "--out", type=Path, default=None, help="report path (default RESULTS_DIR/report.html)"
    )
    c.add_argument("--dataset", choices=DATASETS, default=None, help="only this dataset's results")
    c.add_argument(
        "--date", default=None, help="only results of this day (YYYYMMDD; default latest)"
    )
    c.set_defaults(func=run_compare)


def _parse_models(spec: str) -> list[str]:
    from ttmrpp.taggers import TAGGER_NAMES

    names = (
        list(TAGGER_NAMES)
        if spec.strip() == "all"
        else [m.strip() for m in spec.split(",") if m.strip()]
    )
    unknown = [m for m in names if m not in TAGGER_NAMES]
    if unknown or not names:
        raise ValueError(
            f"unknown model(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(TAGGER_NAMES)}"
        )
    return list(dict.fromkeys(names))


def run_tag(args: argparse.Namespace) -> int:
    from ttmrpp.taggers.batch import tag_folder

    try:
        models = _parse_models(args.models)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.top_k < 1:
        print("error: --top-k must be at least 1", file=sys.stderr)
        return 2
    if not args.folder.is_dir():
        print(f"error: {args.folder} is not a folder", file=sys.stderr)
        return 2
    captioner = None
    if args.caption:
        from ttmrpp.text.captioning.generators import load_captioner

        try:
            captioner = load_captioner(args.caption)
        except Exception as exc:  # no LLM package / adapter: say so before tagging anything
            print(f"error: cannot load the {args.caption} captioner: {exc}", file=sys.stderr)
            return 2
    report = tag_folder(
        args.folder,
        args.out,
        models,
        dataset=args.dataset,
        top_k=args.top_k,
        weights_dir=args.weights_dir,
        force=args.force,
        download=not args.offline,
        max_chunks=args.max_chunks,
        captioner=captioner,
    )
    for name in report.skipped:
        print(f"{name}: today's results already in {args.out}, skipped (use --force to rerun)")
    for name, paths in report.written.items():
        print(f"{name}: wrote {paths[0]} and {paths[1]}")
    for name, err in report.model_errors.items():
        print(f"{name}: not run: {err}", file=sys.stderr)
    if report.failures:
        print(
            f"{len(report.failures)} of {report.n_files} files could not be tagged:",
            file=sys.stderr,
        )
        for file, err in report.failures.items():
            print(f"  {file}: {err}", file=sys.stderr)
    if report.n_files == 0:
        print(f"no audio files found in {args.folder}", file=sys.stderr)
    return 1 if report.model_errors else 0


def run_compare(args: argparse.Namespace) -> int:
    from ttmrpp.taggers.batch import read_results
    from ttmrpp.taggers.compare import summarize, write_report

    if not args.results_dir.is_dir():
        print(f"error: {args.results_dir} is not a folder", file=sys.stderr)
        return 2
    try:
        runs = read_results(args.results_dir, dataset=args.dataset, date=args.date)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not runs:
        print(f"error: no results_*.json in {args.results_dir}", file=sys.stderr)
        return 2
    out = args.out or args.results_dir / "report.html"
    write_report(runs, out)
    summary = summarize(runs)
    summary.pop("tag_frequencies")
    print(json.dumps({"report": str(out), **summary}, indent=2))
    return 0

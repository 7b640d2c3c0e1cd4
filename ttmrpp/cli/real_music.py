"""`ttmrpp real-music`: the real-recordings benchmark from Debian packages (held-out packages)."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "real-music",
        help="build the real-music benchmark from Debian packages (labels, licences, credits)",
        description="Fetch the held-out packages' .deb files with apt-get download (reused when "
        "already in --debs), extract their music without installing anything, and write "
        "OUT/manifest.jsonl with documented labels, titles, artists, licences and credits. "
        "Score a model on it with `ttmrpp evaluate MODEL --manifest OUT/manifest.jsonl "
        "--protocol labels`.",
    )
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--debs", type=Path, help="folder of .deb files (default OUT/debs)")
    p.add_argument(
        "--set",
        choices=("benchmark", "training"),
        default="benchmark",
        help="benchmark: the held-out packages (split 'test'); training: all the others "
        "(split 'train'), never the benchmark's",
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ttmrpp.data.debian_music import build_manifest
    from ttmrpp.data.debian_packages import BENCHMARK, TRAINING
    from ttmrpp.data.records import read_manifest

    try:
        packages, split = (BENCHMARK, "test") if args.set == "benchmark" else (TRAINING, "train")
        manifest = build_manifest(
            args.out, packages, args.debs, split=split, progress=not args.no_progress
        )
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    records = read_manifest(manifest)
    labels = Counter(v for r in records for vs in r["tags"].values() for v in vs)
    summary = {
        "manifest": str(manifest),
        "tracks": len(records),
        "minutes": round(sum(r["duration"] for r in records) / 60, 1),
        "packages": dict(Counter(r["package"] for r in records)),
        "labels": dict(labels.most_common()),
    }
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0

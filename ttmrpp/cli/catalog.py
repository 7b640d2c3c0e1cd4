"""`ttmrpp build-catalog`: write the seeded demo catalog and held-out benchmark split."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "build-catalog",
        help="build the seeded demo catalog + held-out benchmark (rendered music with labels)",
        description="Render the seeded music catalog: audio (Ogg Opus), MIDI, manifest.jsonl with "
        "tags/bpm/key/artist metadata, and artists.json with the similarity graph. Safe to "
        "interrupt and rerun: finished tracks are kept.",
    )
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--seed", type=int, default=0, help="catalog seed (default 0)")
    p.add_argument("--tracks", type=int, default=600, help="demo tracks, train+valid (default 600)")
    p.add_argument(
        "--benchmark-tracks",
        type=int,
        default=1000,
        help="held-out test tracks (default 1000: the benchmark `ttmrpp evaluate` uses)",
    )
    p.add_argument(
        "--seconds", type=float, default=20.0, help="music per track in seconds (default 20)"
    )
    p.add_argument(
        "--sample-rate", type=int, default=22050, help="render rate in Hz (default 22050)"
    )
    p.add_argument(
        "--bitrate", type=int, default=20000, help="Opus bitrate in bit/s (default 20000)"
    )
    p.add_argument("--workers", type=int, default=0, help="render processes (default: all cores)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ttmrpp.data.records import read_manifest
    from ttmrpp.world.catalog import CatalogConfig, build_catalog

    for name in ("tracks", "benchmark_tracks", "workers"):
        if getattr(args, name) < 0:
            raise SystemExit(f"--{name.replace('_', '-')} must be >= 0")
    if args.seconds <= 0 or args.sample_rate < 8000:
        raise SystemExit("--seconds must be > 0 and --sample-rate >= 8000")
    cfg = CatalogConfig(
        seed=args.seed,
        tracks=args.tracks,
        benchmark_tracks=args.benchmark_tracks,
        seconds=args.seconds,
        sample_rate=args.sample_rate,
        bitrate=args.bitrate,
    )
    try:
        manifest = build_catalog(args.out, cfg, workers=args.workers, progress=not args.no_progress)
    except ValueError as err:
        raise SystemExit(str(err)) from None
    recs = read_manifest(manifest)
    splits = {s: sum(r["split"] == s for r in recs) for s in ("train", "valid", "test")}
    print(json.dumps({"manifest": str(manifest), "tracks": len(recs), **splits}))
    return 0

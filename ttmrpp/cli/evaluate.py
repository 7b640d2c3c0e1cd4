"""`ttmrpp evaluate CHECKPOINT`: the paper's Table-2 row for one model, printed as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="Table-2 metrics of a model on the held-out benchmark split (JSON)",
        description="Caption, tag, metadata, track-similarity and artist-similarity retrieval "
        "on a benchmark manifest. Without --manifest the music world's default benchmark "
        "(seed 0, 1,000 held-out tracks) is built once into the cache folder.",
    )
    add_arguments(p)
    p.set_defaults(func=run)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "checkpoint",
        nargs="?",
        help="model folder, hub id, the authors' .pth file, an architecture name (an "
        "untrained network), or 'chance' (the paper's Random row: random rankings); "
        "default: the shipped trained model",
    )
    p.add_argument("--manifest", type=Path, help="benchmark JSONL manifest (default: built)")
    p.add_argument("--split", default="test", help="records of this split ('' for all)")
    p.add_argument(
        "--protocol",
        choices=("table2", "labels"),
        default="table2",
        help="table2: the paper's protocols; labels: per-label ROC-AUC by category and "
        "metadata retrieval (e.g. the real-music benchmark of `ttmrpp real-music`)",
    )
    p.add_argument(
        "--official-config",
        default="ttmrpp-paper",
        help="architecture of an authors' .pth checkpoint (default ttmrpp-paper)",
    )
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--triplets", type=int, default=500)
    p.add_argument(
        "--seed", type=int, default=0, help="seed of an untrained model's weights or of chance"
    )
    p.add_argument("--draws", type=int, default=200, help="random rankings averaged for 'chance'")
    p.add_argument("--out", type=Path, help="also write the JSON here")


def results_for(args: argparse.Namespace) -> dict:
    """Evaluate as the arguments say, print the JSON and write it to `--out` if given."""
    from ttmrpp.eval.benchmark import evaluate_model
    from ttmrpp.fileio import atomic_write_text

    results = evaluate_model(
        args.checkpoint, args.manifest, args.split, official_config=args.official_config,
        batch_size=args.batch_size, triplets=args.triplets, seed=args.seed, draws=args.draws,
        protocol=args.protocol,
    )  # fmt: skip
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        atomic_write_text(args.out, text + "\n")
    return results


def run(args: argparse.Namespace) -> int:
    import ttmrpp

    try:
        results_for(args)
    except (ttmrpp.CheckpointError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0

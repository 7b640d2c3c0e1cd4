"""`ttmrpp evaluate CHECKPOINT`: the paper's Table-2 row for one model, printed as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

CHECKPOINT_SUFFIXES = (".pth", ".pt", ".ckpt", ".bin")
CHANCE = "chance"  # the paper's Random row: the expected score of random rankings


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
        help="model folder, hub id, the authors' .pth file, an architecture name (an "
        "untrained network), or 'chance' (the paper's Random row: random rankings)",
    )
    p.add_argument("--manifest", type=Path, help="benchmark JSONL manifest (default: built)")
    p.add_argument("--split", default="test", help="records of this split ('' for all)")
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


def load_any(spec: str, official_config: str = "ttmrpp-paper", seed: int = 0):
    """`resolve_model`'s specs (folder, hub id, architecture) plus an authors' checkpoint file;
    an unknown name is an error rather than a config lookup."""
    import torch

    import ttmrpp
    from ttmrpp.commands.encode import resolve_model

    path = Path(spec)
    if path.is_file():
        if path.suffix not in CHECKPOINT_SUFFIXES:
            raise ttmrpp.CheckpointError(
                f"{spec}: expected a model folder or a {'/'.join(CHECKPOINT_SUFFIXES)} checkpoint"
            )
        return ttmrpp.load_official_checkpoint(path, config=official_config)
    is_model = path.is_dir() or spec.count("/") == 1
    if not is_model and spec not in ttmrpp.list_configs() and not spec.endswith(".json"):
        raise FileNotFoundError(f"{spec}: no such model folder, checkpoint file or architecture")
    torch.manual_seed(seed)  # the weights of an untrained architecture
    return resolve_model(spec)


def default_benchmark() -> Path:
    """The default catalog's manifest (600 demo + 1000 benchmark tracks), built once and
    rebuilt when the music world's version changes (it is our cache)."""
    from ttmrpp.collection.catalog import CatalogConfig, build_catalog
    from ttmrpp.demo import cache_dir

    return build_catalog(
        cache_dir() / "benchmark-seed0", CatalogConfig(), workers=0, replace_other=True
    )


def results_for(args: argparse.Namespace) -> dict:
    """Load the model and the benchmark, evaluate, print and optionally save the JSON."""
    from ttmrpp.data import read_jsonl_manifest
    from ttmrpp.evaluation import chance, evaluate, known_artists
    from ttmrpp.fileio import atomic_write_text, file_sha256

    is_chance = args.checkpoint == CHANCE
    model = None if is_chance else load_any(args.checkpoint, args.official_config, args.seed)
    manifest = args.manifest or default_benchmark()
    everything = read_jsonl_manifest(manifest)
    records = [r for r in everything if not args.split or r.get("split") == args.split]
    if not records:
        raise ValueError(f"{manifest}: no records for split {args.split!r}")
    known = known_artists(everything, args.split) if args.split else None
    if is_chance:
        scores = chance(records, known or None, args.triplets, args.draws, args.seed)
    else:
        scores = evaluate(model, records, known or None, args.batch_size, args.triplets)
    results = {
        "model": args.checkpoint,
        "manifest": str(manifest),
        "benchmark_sha256": file_sha256(manifest),
        **scores,
    }
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

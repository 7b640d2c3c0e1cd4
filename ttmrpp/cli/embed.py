"""`ttmrpp embed`: whole-track audio embeddings (or text embeddings) to a .npy file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

MODEL_HELP = (
    "model folder, hub id, authors' .pth or architecture name (default: the shipped trained model)"
)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    import ttmrpp
    from ttmrpp.fileio import atomic_write

    model = ttmrpp.load_model(args.model)
    if args.text:
        texts = [t for t in args.inputs if t.strip()]
        if not texts:
            print("error: empty query text", file=sys.stderr)
            return 2
        embs = model.encode_text(texts).detach().numpy()
        failures = []
    else:
        tensor, failures = ttmrpp.embed_audio_files(model, args.inputs, batch_size=args.batch_size)
        embs = tensor.numpy()
    atomic_write(args.out, lambda p: np.save(p.open("wb"), embs))
    for _path, reason in failures:
        print(f"skipped: {reason}", file=sys.stderr)
    print(f"wrote {embs.shape[0]} x {embs.shape[1]} embeddings to {args.out}")
    return 1 if failures and len(embs) == 0 else 0


def register(subparsers) -> None:
    p = subparsers.add_parser("embed", help="embed audio files (or texts with --text) to .npy")
    p.add_argument("inputs", nargs="+", help="audio files, or texts with --text")
    p.add_argument("--text", action="store_true", help="inputs are texts, not audio files")
    p.add_argument("--model", help=MODEL_HELP)
    p.add_argument("--out", type=Path, default=Path("embeddings.npy"), help="output .npy")
    p.add_argument("--batch-size", type=int, default=16, help="clips per forward pass")
    p.set_defaults(func=run)

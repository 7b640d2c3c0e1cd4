"""Copy a trained model folder for shipping, optionally with float16 weights (half the size).

python -m train.export_model runs/table2/runs/tag+caption+meta+sim-s0/model assets/ttmrpp-cpu --fp16
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch

import ttmrpp
from ttmrpp.fileio import atomic_write_dir


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", type=Path, help="trained model folder")
    p.add_argument("out", type=Path, help="destination folder (replaced atomically)")
    p.add_argument("--fp16", action="store_true", help="store float16 weights")
    p.add_argument("--provenance", type=Path, help="JSON file copied in as provenance.json")
    args = p.parse_args(argv)
    model = ttmrpp.load_model(args.model)

    def write(tmp: Path) -> None:
        model.save_pretrained(tmp, dtype=torch.float16 if args.fp16 else None)
        if args.provenance:
            shutil.copy(args.provenance, tmp / "provenance.json")

    atomic_write_dir(args.out, write)
    size = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file())
    info = {"out": str(args.out), "bytes": size, "fp16": args.fp16}
    print(json.dumps(info))
    return info


if __name__ == "__main__":
    main()

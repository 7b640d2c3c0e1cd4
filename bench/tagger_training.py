"""Train taggers with `train/train_tagger.py` and score them on a held-out catalog; prints JSON.

For each architecture in `--models`: train on `--train-manifest` (its train split; its valid
split picks the best epoch), then score the best model whole-track (chunk averaging) on the
`test` split of `--test-manifest` with macro ROC-AUC and PR-AUC over the tags that have
positives and negatives there. Reports train time (optimisation steps only), evaluation time
and wall time (decoding, the per-epoch validation and the test scoring included).

Extra arguments after `--` go to `train_tagger.py` unchanged (e.g. `-- --lr 3e-3`).

Example (the embedded world: train catalog for training, the benchmark catalog's test split
held out):
    python bench/tagger_training.py --models musicnn --epochs 3 --threads 1 \
        --train-manifest world/train/manifest.jsonl --test-manifest world/bench/manifest.jsonl \
        --out runs/tagger-world
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, list[str]]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--train-manifest", type=Path, required=True, help="catalog trained on")
    p.add_argument("--test-manifest", type=Path, required=True, help="its 'test' split is scored")
    p.add_argument("--models", default="musicnn", help="comma-separated architectures")
    p.add_argument("--out", type=Path, required=True, help="one run folder per model in here")
    p.add_argument("--epochs", type=int, default=3, help="passes over the training tracks")
    p.add_argument("--batch-size", type=int, default=16, help="chunks per step")
    p.add_argument("--eval-chunks", type=int, default=8, help="chunks averaged per eval track")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument(
        "--cache-dir", type=Path, default=None, help="decoded audio (default OUT/audio-16k)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = p.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    return args, extra


def _child_cpu() -> float:
    """CPU seconds of finished child processes (the training run)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def train_and_score(args: argparse.Namespace, model: str, extra: list[str]) -> dict:
    """Train one architecture and return its row of the table."""
    from ttmrpp.taggers import build_model, count_parameters

    argv = [sys.executable, "-m", "train.train_tagger","--manifest", str(args.train_manifest), "--model", model,
            "--out", str(args.out / model), "--test-manifest", str(args.test_manifest),
            "--epochs", str(args.epochs), "--batch-size", str(args.batch_size),
            "--eval-chunks", str(args.eval_chunks),
            "--cache-dir", str(args.cache_dir or args.out / "audio-16k"), "--device", "cpu",
            *(["--threads", str(args.threads)] if args.threads else []),
            *(["--quiet"] if args.quiet else []), *extra]  # fmt: skip
    t0, cpu0 = time.perf_counter(), _child_cpu()
    subprocess.run(argv, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    metrics = json.loads((args.out / model / "metrics.json").read_text())
    wall, cpu = time.perf_counter() - t0, _child_cpu() - cpu0
    history = metrics["history"]
    return {
        "model": model,
        "parameters": count_parameters(build_model(model, n_class=metrics["n_tags"])),
        "n_tags": metrics["n_tags"],
        "tracks": metrics["tracks"],
        "epochs": metrics["epochs"],
        "steps": metrics["steps"],
        "best_epoch": metrics["best_epoch"],
        "test_roc_auc": metrics["test"]["roc_auc"],
        "test_pr_auc": metrics["test"]["pr_auc"],
        "test_tags_scored": metrics["test"]["tags_scored"],
        "valid_roc_auc": metrics["valid"]["roc_auc"],
        "valid_pr_auc": metrics["valid"]["pr_auc"],
        "train_seconds": metrics["train_seconds"],
        "valid_eval_seconds": round(sum(h["eval_seconds"] for h in history), 1),
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
        "history": [{k: h.get(k) for k in ("epoch", "loss", "roc_auc", "pr_auc")} for h in history],
        "run": str(args.out / model),
    }


def main(argv: list[str] | None = None) -> int:
    from ttmrpp.fileio import atomic_write_json
    from ttmrpp.taggers import TAGGER_NAMES

    args, extra = parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in TAGGER_NAMES]
    if unknown or not models:
        print(f"error: unknown model(s) {unknown}; choose from {TAGGER_NAMES}", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    out = {
        "command": " ".join(["python", "bench/tagger_training.py", *(argv or sys.argv[1:])]),
        "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "nice": os.nice(0), "load_avg_1m_start": round(os.getloadavg()[0], 2),
                    "python": platform.python_version(), "torch": torch.__version__},
        "train_manifest": str(args.train_manifest),
        "test_manifest": str(args.test_manifest),
        "results": [],
    }  # fmt: skip
    for model in models:
        out["results"].append(train_and_score(args, model, extra))
        atomic_write_json(args.out / "bench.json", out)  # after each model: partial results
    out["machine"]["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    atomic_write_json(args.out / "bench.json", out)
    table = [{k: r[k] for k in ("model", "test_roc_auc", "test_pr_auc", "train_seconds",
                                "wall_seconds", "steps", "best_epoch")} for r in out["results"]]  # fmt: skip
    print(json.dumps(out | {"table": table}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

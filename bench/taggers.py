"""Tagger zoo benchmarks; prints JSON.

1. Throughput: whole-track tagging (decode + 16 kHz resample + chunk-averaged inference) of
   `--files` generated `--seconds`-long 44.1 kHz stereo files, files per second per model.
   Models without published weights at hand are timed with random weights (`"weights":
   "random init"`); speed does not depend on the values.
2. With `--manifest` and `--runs`: the ROC-AUC / PR-AUC table of taggers trained with
   `train/train_tagger.py` (each run folder holds best_model.pth + tagger.json), scored
   whole-track on the manifest's test split.

Examples:
    python bench/taggers.py --weights-dir ../shared/models/sota-music-tagging --models all
    python bench/taggers.py --skip-speed --manifest world/manifest.jsonl --runs runs/*
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from ttmrpp.taggers import DATASETS

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--models", default="fcn,musicnn,crnn", help="comma-separated, or 'all'")
    p.add_argument("--dataset", choices=DATASETS, default="jamendo", help="published vocabulary")
    p.add_argument(
        "--weights-dir", type=Path, default=None, help="<dataset>/<model>/best_model.pth"
    )
    p.add_argument("--files", type=int, default=10, help="generated files to tag per model")
    p.add_argument("--seconds", type=float, default=30.0, help="length of each generated file")
    p.add_argument("--skip-speed", action="store_true", help="only the trained-tagger table")
    p.add_argument("--manifest", type=Path, default=None, help="JSONL manifest (test split scored)")
    p.add_argument(
        "--runs", type=Path, nargs="*", default=[], help="train_tagger.py output folders"
    )
    p.add_argument("--eval-chunks", type=int, default=16, help="chunks averaged per test track")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    return p.parse_args(argv)


def _make_files(folder: Path, n: int, seconds: float) -> list[Path]:
    """Deterministic music-like stereo 44.1 kHz FLAC files (decaying harmonic notes + noise)."""
    import soundfile as sf

    sr = 44100
    paths = []
    for k in range(n):
        rng = np.random.default_rng(k)
        t = np.arange(int(seconds * sr)) / sr
        wave = 0.01 * rng.standard_normal(t.size)
        for start in np.arange(0, seconds, 0.25):
            f0 = 110 * 2 ** (rng.integers(0, 24) / 12)
            seg = (t >= start) & (t < start + 0.5)
            tt = t[seg] - start
            wave[seg] += sum(
                0.2 / h * np.exp(-4 * tt) * np.sin(2 * np.pi * f0 * h * tt) for h in (1, 2, 3)
            )
        wave = 0.8 * wave / np.abs(wave).max()
        path = folder / f"bench_{k:03d}.flac"
        sf.write(path, np.stack([wave, 0.9 * wave], axis=1).astype(np.float32), sr)
        paths.append(path)
    return paths


def speed(args: argparse.Namespace, names: list[str]) -> list[dict]:
    from ttmrpp.taggers import Tagger, TaggerWeightsError, build_model, load_tagger, vocabulary

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        files = _make_files(Path(tmp), args.files, args.seconds)
        for name in names:
            try:
                tagger = load_tagger(
                    name, args.dataset, weights_dir=args.weights_dir, download=False
                )
                source = str(tagger.weights)
            except TaggerWeightsError:
                torch.manual_seed(0)
                model = build_model(name, dataset=args.dataset).eval()
                tagger = Tagger(name, args.dataset, model, vocabulary(args.dataset))
                source = "random init"
            tagger.predict_file(files[0])  # warm-up (allocator, oneDNN kernels)
            t0 = time.perf_counter()
            for f in files:
                tagger.predict_file(f)
            dt = time.perf_counter() - t0
            rows.append({
                "model": name,
                "weights": source,
                "files": len(files),
                "seconds_per_file": round(dt / len(files), 3),
                "files_per_second": round(len(files) / dt, 3),
                "realtime_factor": round(args.seconds * len(files) / dt, 1),
                "chunks_per_file": len(tagger.chunk_starts(int(args.seconds * 16000))),
            })  # fmt: skip
            print(json.dumps(rows[-1]), file=sys.stderr)
    return rows


def trained_table(args: argparse.Namespace) -> list[dict]:
    from ttmrpp.taggers import load_tagger
    from ttmrpp.taggers.labels import auc_scores, labels_for, read_tagger_tracks
    from ttmrpp.taggers.tagger import META_FILE

    tracks = [t for t in read_tagger_tracks(args.manifest) if t["split"] == "test"]
    if not tracks:
        raise SystemExit(f"{args.manifest}: no tracks with split 'test'")
    from ttmrpp.taggers import load_audio_16k

    waves = {t["id"]: load_audio_16k(t["audio_path"]) for t in tracks}
    rows = []
    for run in args.runs:
        meta = json.loads((run / META_FILE).read_text("utf-8"))
        tagger = load_tagger(meta["model"], checkpoint=run)
        labels = np.stack([labels_for(t, tagger.tags, meta["dataset"]) for t in tracks])
        probs = np.stack(
            [tagger.predict_waveform(waves[t["id"]], max_chunks=args.eval_chunks) for t in tracks]
        )
        scores = auc_scores(labels, probs)
        rows.append({"run": str(run), "model": meta["model"], "vocab": meta["dataset"],
                     "n_tags": len(tagger.tags), "test_tracks": len(tracks),
                     "best_epoch": meta.get("best_epoch"), **scores})  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    from ttmrpp.taggers import TAGGER_NAMES

    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    names = list(TAGGER_NAMES) if args.models == "all" else args.models.split(",")
    out = {
        "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "load_avg_1m": round(os.getloadavg()[0], 2), "python": platform.python_version(),
                    "torch": torch.__version__},
    }  # fmt: skip
    if not args.skip_speed:
        out["speed"] = speed(args, names)
    if args.manifest and args.runs:
        out["trained"] = trained_table(args)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

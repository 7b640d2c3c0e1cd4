"""Reproduce our Table 2: every row of the text-source ablation, trained and evaluated here.

    python -m train.table2 --out runs/table2

Steps (each is skipped when its output exists, so an interrupted run resumes):
1. the benchmark: the default catalog (seed 0) whose 1,000 `test` tracks are held out;
2. the training catalog: seed 1, its `train` split (same artists, other tracks, no held-out
   artist), pseudo-captioned from its tags by the shipped LoRA captioner, as in the paper,
   decoding under the tag constraint (`ttmrpp.text.captioning.constraint`: no tag the track lacks, each
   own tag favoured). Other caption sources, for comparison: `--captions raw` (the
   captioner's free text), `--captions faithful` (only its sentences that name the track's own
   tags, `ttmrpp.text.captioning.filter`), and `--adapter DIR` (another LoRA adapter). The caption
   rows' folders and tables of such a variant carry its `--variant` suffix (by default the
   `--captions` value);
3. for each row and seed: `train.train_ttmrpp` with `--text-sources ROW`, then the evaluation;
   the `untrained` row evaluates untrained networks, and the `chance` row is the paper's
   `Random` row: the expected score of random rankings (`ttmrpp evaluate chance`);
4. `table.md` and `results.json`: mean, min and max over seeds of every cell, and whether
   each trend of the paper holds by more than the seed-to-seed spread.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ttmrpp.fileio import file_sha256

ROWS = ["tag", "tag,caption", "tag,caption,meta", "tag,caption,meta,sim"]
ROW_NAMES = {
    "chance": "random (chance)",
    "random": "untrained network",
    "tag": "tag",
    "tag,caption": "+ caption",
    "tag,caption,meta": "+ metadata",
    "tag,caption,meta,sim": "+ similar artists",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True, help="work folder (resumable)")
    p.add_argument("--config", default="ttmrpp-cpu", help="architecture")
    p.add_argument("--rows", default=";".join(ROWS), help="';'-separated text-source rows")
    p.add_argument("--seeds", default="0,1", help="comma-separated training seeds")
    p.add_argument("--train-tracks", type=int, default=1000, help="training catalog size")
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--max-text-tokens", type=int, default=64)
    p.add_argument("--text-trainable-layers", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--clip-seconds", type=float, default=5.0, help="training crop length")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--text-lr", type=float, default=1e-4)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument(
        "--parallel", type=int, default=2, help="seeds trained at once (one thread each)"
    )
    p.add_argument(
        "--captions",
        choices=["faithful", "raw", "constrained"],
        default="constrained",
        help="captions decoded under the tag constraint (constrained: never another tag of the "
        "vocabulary, each own tag favoured; ttmrpp/tag_constraint.py); the captioner's free "
        "text (raw); or only its sentences that name the track's own tags (faithful)",
    )
    p.add_argument("--adapter", type=Path, help="captioner LoRA adapter (default: the shipped one)")
    p.add_argument(
        "--variant",
        help="suffix of the caption rows' runs and tables for a non-default caption source",
    )
    p.add_argument("--prep-only", action="store_true", help="stop after building the data")
    args = p.parse_args(argv)
    if args.variant is None:
        args.variant = "" if args.captions == "constrained" else args.captions
    if args.adapter and not args.variant:
        p.error("--adapter needs --variant NAME (its runs must not mix with the default's)")
    return args


def prepare(
    out: Path,
    train_tracks: int,
    captions: str = "constrained",
    adapter: Path | None = None,
    variant: str = "",
) -> tuple[Path, Path]:
    """Benchmark manifest and pseudo-captioned training manifest (built once)."""
    from ttmrpp.data.records import read_manifest
    from ttmrpp.fileio import atomic_write_jsonl, read_jsonl
    from ttmrpp.text.captioning.pseudo import pseudo_caption_manifest
    from ttmrpp.world.catalog import CatalogConfig, build_catalog

    bench = build_catalog(out / "world" / "bench", CatalogConfig(), workers=0)
    cfg = CatalogConfig(seed=1, tracks=train_tracks, benchmark_tracks=0)
    manifest = build_catalog(out / "world" / "train", cfg, workers=0)
    constrained = captions == "constrained"
    parts = ["train-captioned"] + ([variant] if adapter else []) + ["constrained"] * constrained
    captioned = manifest.with_name("-".join(parts) + ".jsonl")
    split_records = [r for r in read_jsonl(manifest) if r.get("split") == "train"]
    carry_over_captions(captioned, split_records)
    if not captioned.is_file():
        split = manifest.with_name("train-split.jsonl")
        atomic_write_jsonl(split, split_records)
        from ttmrpp.text.captioning.generators import load_captioner

        captioner = load_captioner("lora", adapter=adapter)
        counts = pseudo_caption_manifest(
            split, captioned, captioner, batch_size=16, keep_existing=True, constrained=constrained
        )
        print(json.dumps({"pseudo_caption": counts}), flush=True)
    if captions == "faithful":
        faithful = captioned.with_name(captioned.stem + "-faithful.jsonl")
        if not faithful.is_file():
            from ttmrpp.text.captioning.filter import filter_records

            records = read_jsonl(captioned)
            counts = filter_records(records)
            atomic_write_jsonl(faithful, records)
            print(json.dumps({"faithful_captions": counts}), flush=True)
        captioned = faithful
    read_manifest(captioned)  # fail early on a damaged file
    return bench, captioned


def carry_over_captions(captioned: Path, records: list[dict]) -> bool:
    """Retire a captioned manifest made from other records, carrying its captions over.

    When the catalog changes (another music-world version), each pseudo-caption whose track id
    and tags are unchanged is copied onto `records` (so only new tracks need the captioner);
    the old file moves to `*-stale.jsonl` and its faithful filtering is deleted. Returns
    whether the file was stale.
    """
    from ttmrpp.fileio import read_jsonl

    if not captioned.is_file():
        return False
    old_records = read_jsonl(captioned)
    derived = ("pseudo_caption", "pseudo_caption_raw")

    def strip(r: dict) -> dict:
        return {k: v for k, v in r.items() if k not in derived}

    if len(old_records) == len(records) and all(
        strip(a) == strip(b) for a, b in zip(old_records, records)
    ):
        return False
    old = {(r["id"], json.dumps(r.get("tags"), sort_keys=True)): r for r in old_records}
    for r in records:
        prev = old.get((r["id"], json.dumps(r.get("tags"), sort_keys=True)))
        if prev and prev.get("pseudo_caption"):
            r["pseudo_caption"] = prev["pseudo_caption"]
    stale = captioned.with_name(captioned.stem + "-stale.jsonl")
    captioned.replace(stale)
    captioned.with_name(captioned.stem + "-faithful.jsonl").unlink(missing_ok=True)
    print(json.dumps({"stale_captions_moved_to": str(stale)}), flush=True)
    return True


def run_logged(cmd: list[str], log: Path, threads: int = 0) -> None:
    """Run a step, its output appended to `log`; `threads` caps its CPU threads (0: all)."""
    print("+", " ".join(cmd), flush=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads)) if threads else None
    with log.open("a") as f:
        subprocess.run(cmd, check=True, stdout=f, stderr=subprocess.STDOUT, env=env)


def train_and_evaluate(args, row: str, seed: int, bench: Path, train_manifest: Path) -> dict:
    variant = args.variant and "caption" in row.split(",")
    name = f"{row.replace(',', '+')}{'-' + args.variant if variant else ''}-s{seed}"
    run_dir = args.out / "runs" / name
    result = run_dir / "eval.json"
    bench_digest = file_sha256(bench)
    if result.is_file() and json.loads(result.read_text()).get("benchmark_sha256") != bench_digest:
        result.replace(run_dir / "eval-stale.json")  # evaluated on another benchmark
    if not result.is_file():
        run_dir.mkdir(parents=True, exist_ok=True)
        if row == "chance":
            model = "chance"  # random rankings: `ttmrpp evaluate chance`
        elif row == "random":
            model = args.config
        else:
            model = str(run_dir / "model")
            check_training_data(run_dir, train_manifest)
            if not (run_dir / "model" / "config.json").is_file():
                flags = {
                    "--config": args.config,
                    "--data": train_manifest,
                    "--text-sources": row,
                    "--steps": args.steps,
                    "--batch-size": args.batch_size,
                    "--clip-seconds": args.clip_seconds,
                    "--lr": args.lr,
                    "--text-lr": args.text_lr,
                    "--warmup": args.warmup,
                    "--max-text-tokens": args.max_text_tokens,
                    "--text-trainable-layers": args.text_trainable_layers,
                    "--threads": args.threads,
                    "--seed": seed,
                    "--out": run_dir,
                }
                cmd = [sys.executable, "-m", "train.train_ttmrpp"]
                for flag, value in flags.items():
                    cmd += [flag, str(value)]
                run_logged(cmd, run_dir / "train.log", args.threads)
        run_logged(
            [
                sys.executable,
                "-m",
                "ttmrpp",
                "evaluate",
                model,
                "--manifest",
                str(bench),
                "--seed",
                str(seed),
                "--out",
                str(result),
            ],  # fmt: skip
            run_dir / "eval.log",
            args.threads,
        )
    return json.loads(result.read_text())


def check_training_data(run_dir: Path, train_manifest: Path) -> None:
    """Record which training manifest a run trains on; refuse to reuse it with another one.

    Run folders are named by row, seed and caption variant; this stamp (`training_data.json`)
    catches a folder left by a run on other captions (for example after the default caption
    source changed), which would otherwise be evaluated and tabled as if it were this row.
    """
    from ttmrpp.fileio import atomic_write_json

    stamp = run_dir / "training_data.json"
    digest = file_sha256(train_manifest)
    if stamp.is_file():
        recorded = json.loads(stamp.read_text())
        if recorded["sha256"] != digest:
            raise SystemExit(
                f"{run_dir} was trained on {recorded['path']} (sha256 {recorded['sha256'][:12]}), "
                f"not on {train_manifest} (sha256 {digest[:12]}): move it aside or use --variant"
            )
    elif not (run_dir / "model" / "config.json").is_file():  # about to train: stamp it
        atomic_write_json(stamp, {"path": str(train_manifest), "sha256": digest})


# (from row, to row, cells the paper says the added text source should raise)
TRENDS = [
    ("tag", "tag,caption", ["caption R@10"]),
    ("tag,caption", "tag,caption,meta", ["track triplet acc", "metadata R@10"]),
    ("tag,caption,meta", "tag,caption,meta,sim", ["artist nDCG@200"]),
]


def summarize(results: dict[str, list[dict]]) -> tuple[dict, str]:
    """Mean, min and max over seeds of every headline cell, the trend checks, and markdown."""
    import numpy as np

    cells: dict[str, dict] = {}
    for row, runs in results.items():
        cells[row] = {}
        for key in runs[0]["row"]:
            values = [r["row"][key] for r in runs if r["row"][key] is not None]
            if values:
                cells[row][key] = {
                    "mean": float(np.mean(values)),
                    "min": float(np.min(values)),
                    "max": float(np.max(values)),
                    "values": values,
                }
    keys = list(next(iter(cells.values())))
    lines = ["| text sources | " + " | ".join(keys) + " |", "|---|" + "---:|" * len(keys)]
    for row, row_cells in cells.items():
        fmt = []
        for k in keys:
            c = row_cells.get(k)
            if c is None:
                fmt.append("–")
            elif len(c["values"]) == 1:
                fmt.append(f"{c['mean']:.3g}")
            else:
                fmt.append(f"{c['mean']:.3g} <sub>[{c['min']:.3g}, {c['max']:.3g}]</sub>")
        lines.append(f"| {ROW_NAMES.get(row, row)} | " + " | ".join(fmt) + " |")
    trends = []
    for before, after, keys_up in TRENDS:
        if before not in cells or after not in cells:
            continue
        for k in keys_up:
            a, b = cells[before].get(k), cells[after].get(k)
            if a is None or b is None:
                continue
            spread = max(a["max"] - a["min"], b["max"] - b["min"])
            delta = b["mean"] - a["mean"]
            trends.append(
                {
                    "from": before,
                    "to": after,
                    "cell": k,
                    "delta": delta,
                    "seed_spread": spread,
                    "holds": bool(delta > spread),
                    "separated": bool(b["min"] > a["max"]),
                }
            )
    lines += [
        "",
        "| change | cell | Δ mean | seed spread | holds (Δ > spread) |",
        "|---|---|---:|---:|---|",
    ]
    for t in trends:
        lines.append(
            f"| {ROW_NAMES[t['from']]} → {ROW_NAMES[t['to']]} | {t['cell']} | "
            f"{t['delta']:+.3g} | {t['seed_spread']:.3g} | {'yes' if t['holds'] else 'no'} |"
        )
    return {"cells": cells, "trends": trends}, "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    from ttmrpp.fileio import atomic_write_text

    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    bench, train_manifest = prepare(
        args.out, args.train_tracks, args.captions, args.adapter, args.variant
    )
    if args.prep_only:
        return {}
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = ["random"] + [r for r in args.rows.split(";") if r]
    # On a small CPU, two one-thread runs side by side beat one two-thread run.
    args.threads = 1 if args.parallel > 1 else 0
    # Chance does not depend on a training seed: it is evaluated once.
    results = {"chance": [train_and_evaluate(args, "chance", 0, bench, train_manifest)]}
    with ThreadPoolExecutor(max(1, args.parallel)) as pool:
        results |= {
            row: list(
                pool.map(
                    lambda s, r=row: train_and_evaluate(args, r, s, bench, train_manifest), seeds
                )
            )
            for row in rows
        }
    summary, table = summarize(results)
    suffix = f"-{args.variant}" if args.variant else ""
    atomic_write_text(args.out / f"results{suffix}.json", json.dumps(summary, indent=2) + "\n")
    atomic_write_text(args.out / f"table{suffix}.md", table)
    print(table)
    return summary


if __name__ == "__main__":
    main()

"""Train any of the eight tagger-zoo architectures on a JSONL manifest (BCE, published lengths).

The manifest is the project's shared format (one track per line: "audio" relative to the
manifest, "split" train/valid/test, "tags" {"genre": [...], "instrument": [...], ...}). Tags are
mapped onto a vocabulary: `--vocab manifest` uses the manifest's own `category---tag` labels
(the most frequent `--max-tags` with at least `--min-count` training tracks); `--vocab jamendo`
(or mtat, msd) maps them onto a published vocabulary, so a published checkpoint can be
fine-tuned with `--init-weights`.

Training crops one random chunk of the architecture's published input length per track and
step; evaluation is whole-track (chunk averaging, as `Tagger.predict_waveform`) and reports
macro ROC-AUC and PR-AUC (scikit-learn) over tags with positives and negatives in the split.

Output folder: `best_model.pth` (a plain state dict in the published layout, loadable with
`load_tagger(name, checkpoint=OUT)`), `tagger.json` (model, vocabulary, metrics),
`metrics.json`, and `last.pt` (optimizer state, for `--resume`). Every file is written
atomically. Decoded 16 kHz audio is cached as .npy in `--cache-dir`.

Example:
    python train/train_tagger.py --manifest world/manifest.jsonl --model musicnn \
        --out runs/musicnn-world --epochs 30
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from ttmrpp.fileio import atomic_write, atomic_write_json
from ttmrpp.taggers import ARCHITECTURES, TAGGER_NAMES, Tagger, build_model
from ttmrpp.taggers.crops import CropDataset, cached_audio
from ttmrpp.taggers.labels import auc_scores, flat_tags, labels_for, read_tagger_tracks
from ttmrpp.taggers.tagger import META_FILE, WEIGHTS_FILE, load_state_dict_strict
from ttmrpp.taggers.training_checkpoint import LAST_FILE, load_last, save_last


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--manifest", type=Path, required=True, help="JSONL manifest with tags and splits"
    )
    p.add_argument("--model", choices=TAGGER_NAMES, required=True, help="architecture")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument(
        "--vocab",
        default="manifest",
        choices=["manifest", "jamendo", "mtat", "msd"],
        help="label vocabulary: the manifest's own tags or a published one",
    )
    p.add_argument(
        "--max-tags", type=int, default=50, help="manifest vocabulary size (most frequent)"
    )
    p.add_argument(
        "--min-count", type=int, default=3, help="fewest training tracks per manifest tag"
    )
    p.add_argument("--epochs", type=int, default=30, help="passes over the training tracks")
    p.add_argument(
        "--crops-per-track",
        type=int,
        default=1,
        help="random chunks per track and epoch (more steps per epoch on small sets)",
    )
    p.add_argument("--batch-size", type=int, default=16, help="chunks per step (published: 16)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument("--weight-decay", type=float, default=1e-4, help="Adam weight decay")
    p.add_argument("--eval-chunks", type=int, default=16, help="chunks averaged per track in eval")
    p.add_argument(
        "--test-manifest",
        type=Path,
        default=None,
        help="score the best model on this manifest's 'test' split instead of --manifest's "
        "(e.g. a separate benchmark catalog)",
    )
    p.add_argument(
        "--init-weights",
        type=Path,
        default=None,
        help="start from this state dict (must fit the vocabulary size)",
    )
    p.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="decoded 16 kHz audio cache (default OUT/audio-16k)",
    )
    p.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--seed", type=int, default=0, help="seed for init, crops and order")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p.parse_args(argv)  # fmt: skip


# ------------------------------------------------------------------------------------ data
def build_vocabulary(tracks: list[dict], args: argparse.Namespace) -> list[str]:
    """The label list, in output order."""
    if args.vocab != "manifest":
        from ttmrpp.taggers import vocabulary

        return vocabulary(args.vocab)
    counts = Counter(
        t for tr in tracks if tr["split"] == "train" for t in set(flat_tags(tr["tags"]))
    )
    kept = [t for t, c in counts.most_common() if c >= args.min_count][: args.max_tags]
    if not kept:
        raise ValueError("no manifest tag reaches --min-count in the training split")
    return sorted(kept)


# ------------------------------------------------------------------------------------ eval
def evaluate(tagger: Tagger, files: list[Path], labels: np.ndarray, chunks: int) -> dict:
    """Whole-track predictions of every file, scored against `labels`."""
    if not files:
        return {}
    tagger.model.eval()
    probs = np.stack([tagger.predict_waveform(np.load(f), max_chunks=chunks) for f in files])
    return auc_scores(labels, probs) | {"tracks": len(files)}


# ------------------------------------------------------------------------------------ main
@dataclass
class Splits:
    """The tracks of each split ("train", "valid", "test"), their cached audio and labels."""

    tags: list[str]  # the vocabulary, in output order
    tracks: dict[str, list[dict]]
    files: dict[str, list[Path]]
    labels: dict[str, np.ndarray | None]
    coverage: float  # share of training tracks with at least one tag of the vocabulary


def split_tracks(args: argparse.Namespace, tracks: list[dict]) -> tuple[dict, dict]:
    """Tracks by split, and the audio cache folder of each split.

    Without a 'valid' split every 10th training track is held out for model selection; with
    --test-manifest the test split is that manifest's (its audio cached in a folder of its own).
    """
    cache_dir = args.cache_dir or args.out / "audio-16k"
    by_split: dict[str, list[dict]] = {"train": [], "valid": [], "test": []}
    for tr in tracks:
        by_split.setdefault(tr["split"], []).append(tr)
    if not by_split["train"]:
        raise ValueError(f"{args.manifest}: no tracks with split 'train'")
    if not by_split["valid"]:  # hold out every 10th training track for model selection
        by_split["valid"] = by_split["train"][::10]
        by_split["train"] = [t for i, t in enumerate(by_split["train"]) if i % 10]
    split_cache = {split: cache_dir for split in by_split}
    if args.test_manifest:
        by_split["test"] = [
            t for t in read_tagger_tracks(args.test_manifest) if t["split"] == "test"
        ]
        if not by_split["test"]:
            raise ValueError(f"{args.test_manifest}: no tracks with split 'test'")
        # Another catalog may reuse ids: its audio is cached in a folder of its own.
        digest = hashlib.sha1(str(args.test_manifest.resolve()).encode()).hexdigest()[:8]
        split_cache["test"] = cache_dir / f"test-{digest}"
    return by_split, split_cache


def prepare_data(args: argparse.Namespace) -> Splits:
    """Read the manifest, build the vocabulary, split, decode (cached) and label every track."""
    tracks = read_tagger_tracks(args.manifest)
    tags = build_vocabulary(tracks, args)
    by_split, split_cache = split_tracks(args, tracks)
    files, labels = {}, {}
    for split in ("train", "valid", "test"):
        rows = by_split[split]
        files[split] = [
            cached_audio(t, split_cache[split])
            for t in tqdm(rows, desc=f"decode {split}", unit="track", disable=args.quiet)
        ]
        labels[split] = np.stack([labels_for(t, tags, args.vocab) for t in rows]) if rows else None
    coverage = float((labels["train"].sum(1) > 0).mean())
    if coverage == 0:
        raise ValueError(f"no training track has a tag in the {args.vocab} vocabulary")
    return Splits(tags, by_split, files, labels, coverage)


RESUME_ADVICE = "remove it, or run without --resume to start over"


def resume_training(
    args: argparse.Namespace, model: nn.Module, optimizer, tags: list[str], device
) -> tuple[int, float, list[dict]]:
    """With --resume and OUT/last.pt: load model and optimizer state from it and return its
    (epoch, best score, history); else a fresh start."""
    last_path = args.out / LAST_FILE
    if not (args.resume and last_path.is_file()):
        return 0, -math.inf, []
    return load_last(last_path, model, optimizer, tags, args.model, device, RESUME_ADVICE)


def make_loader(data: CropDataset, args: argparse.Namespace) -> DataLoader:
    """Shuffled batches of random crops (seeded); a set smaller than a batch is one batch."""
    return DataLoader(
        data,
        batch_size=min(args.batch_size, len(data)),
        shuffle=True,
        drop_last=len(data) > args.batch_size,
        num_workers=args.workers,
        generator=torch.Generator().manual_seed(args.seed),
    )


def train_epoch(model: nn.Module, loader: DataLoader, optimizer, device, desc: str, quiet: bool):
    """One pass of BCE steps over the loader; returns the step losses."""
    model.train()
    loss_fn = nn.BCELoss()
    losses = []
    for x, y in tqdm(loader, desc=desc, disable=quiet):
        out = model(x.to(device))
        loss = loss_fn(out, y.to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def run_epochs(
    args: argparse.Namespace,
    data: Splits,
    tagger: Tagger,
    optimizer,
    meta: dict,
    start: tuple[int, float, list[dict]],
) -> list[dict]:
    """Epochs from `start` (epoch, best score, history) to --epochs: train, score the valid
    split, keep the best weights (and their tagger.json) and the resumable last.pt."""
    start_epoch, best, history = start
    model, device = tagger.model, torch.device(args.device)
    crops = CropDataset(data.files["train"], data.labels["train"],
                        ARCHITECTURES[args.model].input_length, args.seed, args.crops_per_track)  # fmt: skip
    loader = make_loader(crops, args)
    args.out.mkdir(parents=True, exist_ok=True)
    for epoch in range(start_epoch, args.epochs):
        crops.epoch = epoch
        t0 = time.time()
        desc = f"epoch {epoch + 1}/{args.epochs}"
        losses = train_epoch(model, loader, optimizer, device, desc, args.quiet)
        t1 = time.time()
        valid = evaluate(tagger, data.files["valid"], data.labels["valid"], args.eval_chunks)
        score = valid.get("roc_auc")
        score = -float(np.mean(losses)) if score is None else score  # no usable valid split
        history.append({"epoch": epoch + 1, "loss": float(np.mean(losses)), "steps": len(loader),
                        "seconds": round(t1 - t0, 2), "eval_seconds": round(time.time() - t1, 2),
                        **valid})  # fmt: skip
        if not args.quiet:
            print(json.dumps(history[-1]), file=sys.stderr)
        if score > best:
            best = score
            atomic_write(args.out / WEIGHTS_FILE, lambda p: torch.save(model.state_dict(), p))
            atomic_write_json(
                args.out / META_FILE, meta | {"best_epoch": epoch + 1, "valid": valid}
            )
        save_last(
            args.out / LAST_FILE,
            model,
            optimizer,
            epoch=epoch + 1,
            best=best,
            history=history,
            tags=data.tags,
            model_name=args.model,
            run_args=vars(args),
        )
    return history


def final_metrics(
    args: argparse.Namespace, data: Splits, tagger: Tagger, meta: dict, history: list[dict]
) -> dict:
    """Score the best weights on the valid and test splits; write metrics.json and the final
    tagger.json."""
    load_state_dict_strict(tagger.model, args.out / WEIGHTS_FILE)
    metrics = {
        "model": args.model,
        "vocab": args.vocab,
        "n_tags": len(data.tags),
        "tracks": {k: len(v) for k, v in data.tracks.items()},
        "test_manifest": str(args.test_manifest or args.manifest),
        "steps": sum(h.get("steps", 0) for h in history),
        "train_seconds": round(sum(h["seconds"] for h in history), 1),  # optimisation only
        "label_coverage": round(data.coverage, 4),
        "epochs": args.epochs,
        "best_epoch": json.loads((args.out / META_FILE).read_text())["best_epoch"],
        "valid": evaluate(tagger, data.files["valid"], data.labels["valid"], args.eval_chunks),
        "test": evaluate(tagger, data.files["test"], data.labels["test"], args.eval_chunks),
        "history": history,
    }
    atomic_write_json(args.out / "metrics.json", metrics)
    atomic_write_json(
        args.out / META_FILE, meta | {k: metrics[k] for k in ("best_epoch", "valid", "test")}
    )
    return metrics


def train(args: argparse.Namespace) -> dict:
    """Train, checkpoint, evaluate; returns the metrics written to OUT/metrics.json."""
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    data = prepare_data(args)
    device = torch.device(args.device)
    model = build_model(args.model, n_class=len(data.tags), dataset=args.vocab).to(device)
    if args.init_weights:
        load_state_dict_strict(model, args.init_weights)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    start = resume_training(args, model, optimizer, data.tags, device)
    tagger = Tagger(name=args.model, dataset=args.vocab, model=model, tags=data.tags)
    meta = {"model": args.model, "dataset": args.vocab, "tags": data.tags,
            "input_length": ARCHITECTURES[args.model].input_length,
            "manifest": str(args.manifest)}  # fmt: skip
    history = run_epochs(args, data, tagger, optimizer, meta, start)
    return final_metrics(args, data, tagger, meta, history)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        metrics = train(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = {k: v for k, v in metrics.items() if k != "history"}
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

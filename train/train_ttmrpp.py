"""Contrastive training of the TTMR++ dual encoder on enriched text (paper §3).

Single process (CPU):
    python -m train.train_ttmrpp --config ttmrpp-cpu --data world --steps 2000 --out runs/cpu
Several processes (negatives gathered across all of them):
    accelerate launch --num_processes 2 -m train.train_ttmrpp --config ttmrpp-tiny ...

`--data` takes one or more sources, each `SPEC[@WEIGHT]`: `world` (the music world's streaming
generator), a JSONL manifest, a MusicCaps CSV or an MTG-Jamendo TSV (audio under --audio-dir).
`--text-sources` selects the ablation: tag | tag,caption | tag,caption,meta | tag,caption,meta,sim.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

import ttmrpp
from ttmrpp.data.mixture import (
    GeneratorSource,
    ManifestSource,
    Mixture,
    read_jamendo_tsv,
    read_musiccaps_csv,
)
from ttmrpp.data.records import read_manifest
from ttmrpp.fileio import atomic_write_dir, atomic_write_json, load_plain_state
from ttmrpp.model.loss import gather_features, infonce_loss
from ttmrpp.text.kg_text import TEXT_SOURCES, training_text

CHECKPOINT = "checkpoint"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="ttmrpp-cpu", help="architecture name or JSON path")
    p.add_argument("--init-from", help="start from this model folder instead of a new model")
    p.add_argument("--data", nargs="+", default=["world"], help="sources: SPEC[@WEIGHT] ...")
    p.add_argument("--audio-dir", help="audio folder for MusicCaps CSV / Jamendo TSV sources")
    p.add_argument("--text-sources", default="tag,caption,meta,sim", help="comma-separated")
    p.add_argument("--steps", type=int, default=1000, help="optimizer steps")
    p.add_argument("--batch-size", type=int, default=32, help="pairs per process and step")
    p.add_argument("--lr", type=float, default=5e-4, help="peak learning rate (audio side)")
    p.add_argument("--text-lr", type=float, default=5e-5, help="peak learning rate, text tower")
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument(
        "--max-text-tokens", type=int, help="cut training texts here (default: the config's)"
    )
    p.add_argument(
        "--text-trainable-layers",
        type=int,
        help="fine-tune only the top N transformer layers of the text tower (default: all); "
        "the embeddings and lower layers stay frozen, which saves most of the text backward",
    )
    p.add_argument("--warmup", type=int, default=100, help="linear warm-up steps")
    p.add_argument("--min-lr-ratio", type=float, default=0.01, help="cosine floor / peak")
    p.add_argument("--clip-seconds", type=float, help="override the config's clip length")
    p.add_argument(
        "--audio-cache-gb", type=float, default=4.0, help="decoded manifest audio kept in memory"
    )
    p.add_argument("--out", type=Path, required=True, help="run folder")
    p.add_argument("--save-every", type=int, default=200, help="checkpoint interval (steps)")
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    p.add_argument("--no-resume", action="store_true", help="ignore an existing checkpoint")
    args = p.parse_args(argv)
    args.text_sources = [s.strip() for s in args.text_sources.split(",") if s.strip()]
    unknown = set(args.text_sources) - set(TEXT_SOURCES)
    if unknown or not args.text_sources:
        p.error(f"--text-sources: choose from {TEXT_SOURCES}, got {args.text_sources}")
    return args


def build_sources(args, sample_rate: int, clip_seconds: float, seed: int) -> Mixture:
    sources = []
    for i, spec in enumerate(args.data):
        name, _, weight = spec.partition("@")
        weight = float(weight) if weight else 1.0
        s = seed * 1000 + i
        if name == "world":
            from ttmrpp.world.stream import iter_tracks

            def make(sd, _sr=sample_rate, _sec=clip_seconds):
                return iter_tracks(seed=sd, split="train", seconds=_sec, sample_rate=_sr)

            source = GeneratorSource(make, seed=s)
        else:
            path = Path(name)
            if path.suffix == ".jsonl":
                records = read_manifest(path, resolve_audio=True)
            elif path.suffix == ".csv":
                records = read_musiccaps_csv(path, args.audio_dir)
            elif path.suffix == ".tsv":
                records = read_jamendo_tsv(path, args.audio_dir)
            else:
                raise SystemExit(f"--data {spec}: expected world, .jsonl, .csv or .tsv")
            source = ManifestSource(
                records,
                sample_rate,
                clip_seconds,
                seed=s,
                cache_bytes=int(args.audio_cache_gb * 2**30),
            )
        sources.append((source, weight))
    return Mixture(sources, seed=seed)


def batches(mixture: Mixture, batch_size: int, text_sources, seed: int):
    rng = random.Random(seed)
    it = iter(mixture)
    while True:
        items = [next(it) for _ in range(batch_size)]
        audio = torch.from_numpy(np.stack([w for w, _ in items]))
        texts = [training_text(rec, rng, text_sources) for _, rec in items]
        yield audio, texts


def freeze_text_layers(model, trainable: int) -> int:
    """Freeze the text tower's embeddings and all but its top `trainable` layers.

    Returns the number of frozen parameter tensors.
    """
    layer_of = {}
    for name, _ in model.text_encoder.named_parameters():
        m = re.search(r"\blayers?\.(\d+)\.", name)
        layer_of[name] = int(m.group(1)) if m else None
    n_layers = 1 + max((i for i in layer_of.values() if i is not None), default=-1)
    first_trained = max(0, n_layers - trainable)
    frozen = 0
    for name, p in model.text_encoder.named_parameters():
        layer = layer_of[name]
        keep = layer is not None and layer >= first_trained
        if not keep and (layer is not None or "embed" in name):
            p.requires_grad_(False)
            frozen += 1
    return frozen


def save_checkpoint(out: Path, model, optimizer, scheduler, step: int, args) -> None:
    """Whole checkpoint folder written beside the old one, then swapped in."""

    def write(tmp: Path) -> None:
        model.save_pretrained(tmp)
        torch.save(
            {
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "step": step,
            },
            tmp / "training_state.pt",
        )
        atomic_write_json(tmp / "run_args.json", {k: str(v) for k, v in vars(args).items()})

    atomic_write_dir(out / CHECKPOINT, write)


def find_checkpoint(out: Path) -> Path | None:
    for candidate in (out / CHECKPOINT, out / f".{CHECKPOINT}.old"):
        if (candidate / "training_state.pt").is_file():
            return candidate
    return None


@dataclass
class Training:
    """What one training step needs: the prepared model (and the unwrapped one), optimizer and
    scheduler, and the accelerator that runs them."""

    accelerator: Any
    model: Any  # as prepared by the accelerator (possibly wrapped for several processes)
    unwrapped: Any
    optimizer: Any
    scheduler: Any


def initial_model(args: argparse.Namespace, resume: Path | None):
    """The checkpoint's model when resuming, else --init-from, else a new --config model; in
    training mode, with the text tower's lower layers frozen if asked."""
    if resume is not None:
        try:
            model = ttmrpp.load_model(resume)
        except (ValueError, OSError) as exc:  # CheckpointError names the damaged file
            raise SystemExit(f"cannot resume from {resume}: {exc}") from None
    elif args.init_from:
        model = ttmrpp.load_model(args.init_from)
    else:
        model = ttmrpp.create_model(args.config)
    model.train()
    if args.text_trainable_layers is not None:
        freeze_text_layers(model, args.text_trainable_layers)
    return model


def make_optimizer(model, args: argparse.Namespace):
    """AdamW with the text tower's own learning rate; warm-up then cosine to the floor."""
    from transformers import get_cosine_with_min_lr_schedule_with_warmup

    text_params = [
        p for n, p in model.named_parameters() if n.startswith("text_encoder.") and p.requires_grad
    ]
    other = [p for n, p in model.named_parameters() if not n.startswith("text_encoder.")]
    optimizer = torch.optim.AdamW(
        [{"params": other, "lr": args.lr}, {"params": text_params, "lr": args.text_lr}],
        weight_decay=args.weight_decay,
    )
    scheduler = get_cosine_with_min_lr_schedule_with_warmup(
        optimizer, args.warmup, args.steps, min_lr_rate=args.min_lr_ratio
    )
    return optimizer, scheduler


def read_training_state(path: Path) -> dict:
    """training_state.pt as tensors and plain data only (torch's `weights_only`): a file that
    holds any other pickled object is refused, never run, so a run folder from elsewhere cannot
    execute code here. Any problem exits with a message naming the file."""
    advice = "move it away, or pass --no-resume to start over"
    try:
        state = load_plain_state(path, "training state", advice)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    missing = {"optimizer", "scheduler", "step"} - set(state if isinstance(state, dict) else ())
    if missing:
        raise SystemExit(f"{path}: not a training state (no {', '.join(sorted(missing))})")
    return state


def restore_training_state(resume: Path, optimizer, scheduler) -> int:
    """Optimizer and scheduler state from a checkpoint folder; returns its step."""
    path = resume / "training_state.pt"
    state = read_training_state(path)
    try:
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        return int(state["step"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise SystemExit(f"{path}: does not fit this model's optimizer ({exc!r})") from None


def training_batches(args: argparse.Namespace, cfg, rank: int, step: int):
    """This process's stream of (audio, texts) batches."""
    # Each process draws its own part of the global batch; resuming continues with fresh data.
    data_seed = args.seed + 7919 * rank + 104729 * step
    mixture = build_sources(args, cfg.sample_rate, args.clip_seconds or cfg.clip_seconds, data_seed)
    return batches(mixture, args.batch_size, args.text_sources, data_seed)


def train_step(t: Training, audio: torch.Tensor, texts: list[str], max_text_tokens):
    """One optimizer step; returns the loss and the global batch size (all processes)."""
    tokens = t.unwrapped.tokenize(texts, max_length=max_text_tokens)
    out = t.model(audio.to(t.accelerator.device), tokens)
    global_batch = len(gather_features(out["audio_features"].detach()))
    loss = infonce_loss(**out)
    t.optimizer.zero_grad(set_to_none=True)
    t.accelerator.backward(loss)
    t.accelerator.clip_grad_norm_(t.model.parameters(), 1.0)
    t.optimizer.step()
    t.scheduler.step()
    with torch.no_grad():  # the scale is clamped at 100 in the loss; keep the parameter there too
        t.unwrapped.logit_scale.clamp_(max=math.log(100.0))
    return loss, global_batch


def train_loop(args: argparse.Namespace, t: Training, stream, step: int) -> tuple[int, list[dict]]:
    """Steps until --steps, logging to OUT/log.jsonl and checkpointing every --save-every;
    returns the last step and the logged entries."""
    from tqdm.auto import tqdm

    args.out.mkdir(parents=True, exist_ok=True)
    log_path = args.out / "log.jsonl"
    main_process = t.accelerator.is_main_process
    bar = tqdm(total=args.steps, initial=step, desc="train", disable=not main_process)
    history = []
    t0 = time.time()
    while step < args.steps:
        audio, texts = next(stream)
        loss, global_batch = train_step(t, audio, texts, args.max_text_tokens)
        step += 1
        if not math.isfinite(loss.item()):
            raise FloatingPointError(f"loss is {loss.item()} at step {step}")
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.3f}")
        if main_process and (step % args.log_every == 0 or step == args.steps):
            entry = {
                "step": step,
                "loss": round(loss.item(), 5),
                "logit_scale": round(float(t.unwrapped.logit_scale.detach().exp()), 3),
                "lr": t.scheduler.get_last_lr()[0],
                "global_batch": global_batch,
                "processes": t.accelerator.num_processes,
                "elapsed_s": round(time.time() - t0, 1),
            }
            history.append(entry)
            with log_path.open("a") as f:
                f.write(json.dumps(entry) + "\n")
        if step % args.save_every == 0 or step == args.steps:
            t.accelerator.wait_for_everyone()
            if main_process:
                save_checkpoint(args.out, t.unwrapped, t.optimizer, t.scheduler, step, args)
    bar.close()
    return step, history


def main(argv: list[str] | None = None) -> dict:
    from accelerate import Accelerator

    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    torch.manual_seed(args.seed)  # the same initial weights on every process

    resume = None if args.no_resume else find_checkpoint(args.out)
    model = initial_model(args, resume)
    optimizer, scheduler = make_optimizer(model, args)
    step = 0 if resume is None else restore_training_state(resume, optimizer, scheduler)
    unwrapped = model
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)
    t = Training(accelerator, model, unwrapped, optimizer, scheduler)

    stream = training_batches(args, unwrapped.config, accelerator.process_index, step)
    step, history = train_loop(args, t, stream, step)
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        unwrapped.eval()
        atomic_write_dir(args.out / "model", unwrapped.save_pretrained)
    accelerator.end_training()
    return {"step": step, "history": history}


if __name__ == "__main__":
    main()

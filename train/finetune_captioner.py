"""LoRA fine-tuning of a causal LM for tag → caption (TTMR++ §3.1), with peft + accelerate.

Trains on MusicCaps-style CSV (aspect_list → caption) or instruction/input/output JSONL. A part
of the rows chosen by key (`ytid`) is held out for validation and never trained on. Only the
adapter is saved (peft format: adapter_config.json + adapter_model.safetensors), next to
run_args.json and a loss log. Re-running the same command resumes from the last checkpoint;
`--steps` may then differ (the cosine schedule is re-stretched; a value equal to the
checkpoint's step just writes the adapter from it). `history` in run_args.json records this.

Example (the shipped adapter, see docs/captioner.md):
    python train/finetune_captioner.py --data ../shared/data/musiccaps/musiccaps-train.csv \
        --output-dir assets/captioner-lora --checkpoint-dir /tmp/captioner-ckpt --steps 300
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from ttmrpp.text.captioning.finetune_checkpoint import (
    CheckpointError,
    find_checkpoint,
    load_checkpoint,
    read_run_args,
    save_adapter,
    save_checkpoint,
)
from ttmrpp.text.captioning.finetune_examples import batch_indices, collate, encode_pair, eval_loss
from ttmrpp.text.captioning.generators import load_causal_lm
from ttmrpp.text.captioning.pairs import CaptionPair, read_caption_pairs, split_pairs

# Arguments that must match for a checkpoint to be resumed. `--steps` may change: the cosine
# schedule is then re-stretched from the resumed step to the new end (recorded in `history`).
RESUME_KEYS = (
    "data",
    "model",
    "gguf_file",
    "valid_fraction",
    "seed",
    "batch_size",
    "lora_r",
    "lora_alpha",
    "target_modules",
    "max_length",
    "lr",
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", required=True, help="MusicCaps-style CSV or instruction JSONL")
    p.add_argument("--output-dir", required=True, help="where the adapter + run_args.json go")
    p.add_argument(
        "--checkpoint-dir",
        default=None,
        help="resumable training state (default: OUTPUT_DIR/checkpoint)",
    )
    p.add_argument(
        "--model",
        default=None,
        help="base causal LM: hub id or folder (default: SmolLM2-135M-Instruct GGUF)",
    )
    p.add_argument("--gguf-file", default=None, help="GGUF file name inside --model, if any")
    p.add_argument(
        "--valid-fraction",
        type=float,
        default=0.05,
        help="share of keys (ytid) held out for validation, never trained on",
    )
    p.add_argument("--steps", type=int, default=300, help="optimizer steps")
    p.add_argument("--batch-size", type=int, default=8, help="rows per step")
    p.add_argument("--lr", type=float, default=3e-4, help="peak learning rate (cosine decay)")
    p.add_argument("--warmup-steps", type=int, default=10, help="linear warm-up steps")
    p.add_argument("--weight-decay", type=float, default=0.0, help="AdamW weight decay")
    p.add_argument("--lora-r", type=int, default=16, help="LoRA rank")
    p.add_argument("--lora-alpha", type=int, default=32, help="LoRA scaling alpha")
    p.add_argument("--lora-dropout", type=float, default=0.05, help="dropout on LoRA inputs")
    p.add_argument(
        "--target-modules",
        default="q_proj,k_proj,v_proj,o_proj",
        help="comma-separated module names that get LoRA",
    )
    p.add_argument("--max-length", type=int, default=256, help="tokens per training row")
    p.add_argument("--max-train-rows", type=int, default=None, help="use only the first N rows")
    p.add_argument("--eval-rows", type=int, default=64, help="validation rows for the eval loss")
    p.add_argument("--eval-every", type=int, default=0, help="eval every N steps (0: at the end)")
    p.add_argument("--save-every", type=int, default=25, help="checkpoint every N steps")
    p.add_argument("--seed", type=int, default=0, help="seed for LoRA init and data order")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument(
        "--keep-checkpoint",
        action="store_true",
        help="keep the checkpoint folder after a finished run",
    )
    return p.parse_args(argv)


# ------------------------------------------------------------------------------------- main
@dataclass
class Examples:
    """Encoded training rows and held-out validation rows, with the tokenizer's pad id."""

    train: list[dict[str, list[int]]]
    valid: list[dict[str, list[int]]]
    pad_id: int


@dataclass
class Training:
    """What one optimizer step needs (model and optimizer as prepared by the accelerator)."""

    accelerator: Any
    model: Any
    optimizer: Any
    scheduler: Any
    trainable: list[torch.nn.Parameter]


@dataclass
class LossTrace:
    """The first and last step loss of this run, and the last ten."""

    first: float | None = None
    last: float | None = None
    recent: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.first = value if self.first is None else self.first
        self.last = value
        self.recent = (self.recent + [value])[-10:]

    @property
    def mean10(self) -> float | None:
        return sum(self.recent) / len(self.recent) if self.recent else None


def output_dirs(args: argparse.Namespace) -> tuple[Path, Path]:
    """The adapter folder and the checkpoint folder (default OUTPUT_DIR/checkpoint)."""
    out_dir = Path(args.output_dir)
    ckpt_dir = Path(args.checkpoint_dir) if args.checkpoint_dir else out_dir / "checkpoint"
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt_dir.parent.mkdir(parents=True, exist_ok=True)
    return out_dir, ckpt_dir


def read_pairs(args: argparse.Namespace) -> tuple[list[CaptionPair], list[CaptionPair]]:
    """Training and held-out validation pairs (split by key)."""
    pairs = read_caption_pairs(args.data)
    train_pairs, valid_pairs = split_pairs(pairs, args.valid_fraction)
    if args.max_train_rows:
        train_pairs = train_pairs[: args.max_train_rows]
    if not train_pairs:
        raise SystemExit(f"{args.data}: no training rows left after the validation split")
    print(f"rows: {len(train_pairs)} train, {len(valid_pairs)} held-out validation (by key)")
    return train_pairs, valid_pairs


def lora_model(base: Any, args: argparse.Namespace) -> Any:
    """The base model wrapped with fresh LoRA adapters on --target-modules."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=args.lora_r,
        lora_alpha=args.lora_alpha,
        lora_dropout=args.lora_dropout,
        target_modules=[m.strip() for m in args.target_modules.split(",") if m.strip()],
        task_type="CAUSAL_LM",
    )
    return get_peft_model(base, config)


def make_optimizer(model: Any, args: argparse.Namespace) -> tuple[list, Any, Any]:
    """The trainable (LoRA) parameters, AdamW over them, and the warm-up + cosine schedule."""
    from transformers import get_cosine_schedule_with_warmup

    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=args.weight_decay)
    scheduler = get_cosine_schedule_with_warmup(optimizer, args.warmup_steps, args.steps)
    return trainable, optimizer, scheduler


CHECKPOINT_ADVICE = "delete it, or use another --checkpoint-dir"


def resume_checkpoint(
    found: Path,
    args: argparse.Namespace,
    run_args: dict[str, Any],
    model: Any,
    optimizer: Any,
    scheduler: Any,
) -> tuple[int, list[dict[str, int]]]:
    """Load adapter, optimizer, scheduler and RNG state from a checkpoint made with the same
    arguments; returns its step and the run's (re)start history so far."""
    try:
        saved = read_run_args(found)
        diff = {
            k: (saved.get(k), run_args.get(k))
            for k in RESUME_KEYS
            if saved.get(k) != run_args.get(k)
        }
        if diff:
            raise SystemExit(
                f"checkpoint {found} was made with other arguments {diff}; "
                "use another --checkpoint-dir or delete it"
            )
        start = load_checkpoint(found, model, optimizer, scheduler, CHECKPOINT_ADVICE)
    except CheckpointError as exc:
        raise SystemExit(str(exc)) from None
    if start > args.steps:
        raise SystemExit(f"checkpoint {found} is at step {start}; --steps must be ≥ {start}")
    history = saved.get("history") or [{"from_step": 0, "steps": saved["steps"]}]
    print(f"resuming from {found} at step {start}/{args.steps}")
    return start, history


def open_log(out_dir: Path, start: int):
    """OUTPUT_DIR/train_log.jsonl for appending, keeping the entries up to the resumed step."""
    log_path = out_dir / "train_log.jsonl"
    if log_path.exists():  # keep the entries up to the resumed step
        kept = [
            e
            for e in log_path.read_text(encoding="utf-8").splitlines()
            if e.strip() and json.loads(e).get("step", 0) <= start
        ]
        log_path.write_text("".join(e + "\n" for e in kept), encoding="utf-8")
    return log_path.open("a", encoding="utf-8")


def train_step(t: Training, rows: list[dict[str, list[int]]], pad_id: int) -> float:
    """One optimizer step on a batch of rows; returns its loss."""
    batch = {k: v.to(t.accelerator.device) for k, v in collate(rows, pad_id).items()}
    loss = t.model(**batch).loss
    t.accelerator.backward(loss)
    t.accelerator.clip_grad_norm_(t.trainable, 1.0)
    t.optimizer.step()
    t.scheduler.step()
    t.optimizer.zero_grad(set_to_none=True)
    return float(loss.detach())


def train_loop(
    args: argparse.Namespace,
    t: Training,
    ex: Examples,
    start: int,
    log_dir: Path,
    ckpt_dir: Path,
    run_args: dict[str, Any],
) -> LossTrace:
    """Steps `start`..--steps: log each, eval every --eval-every, checkpoint every --save-every
    (not at the end: the adapter is written then)."""
    trace = LossTrace()
    bar = tqdm(total=args.steps, initial=start, desc="lora", unit="step")
    with open_log(log_dir, start) as log:
        for step in range(start, args.steps):
            indices = batch_indices(step, args.batch_size, len(ex.train), args.seed)
            value = train_step(t, [ex.train[i] for i in indices], ex.pad_id)
            trace.add(value)
            entry: dict[str, Any] = {
                "step": step + 1,
                "loss": round(value, 4),
                "lr": t.scheduler.get_last_lr()[0],
                "time": round(time.time(), 1),
            }
            if args.eval_every and (step + 1) % args.eval_every == 0 and ex.valid:
                valid_loss = eval_loss(t.model, ex.valid, ex.pad_id, args.batch_size)
                entry["valid_loss"] = round(valid_loss, 4)
            log.write(json.dumps(entry) + "\n")
            log.flush()
            bar.set_postfix(loss=f"{value:.3f}", avg10=f"{trace.mean10:.3f}")
            bar.update(1)
            if (step + 1) % args.save_every == 0 and step + 1 < args.steps:
                model = t.accelerator.unwrap_model(t.model)
                save_checkpoint(ckpt_dir, model, t.optimizer, t.scheduler, step + 1, run_args)
        bar.close()
    return trace


def _atomic_write_json(path: Path, obj: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train; returns a summary (also written to OUTPUT_DIR/run_args.json)."""
    from accelerate import Accelerator

    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    out_dir, ckpt_dir = output_dirs(args)
    started = time.time()
    train_pairs, valid_pairs = read_pairs(args)

    torch.manual_seed(args.seed)
    base, tok = load_causal_lm(args.model, args.gguf_file)
    ex = Examples(
        train=[encode_pair(tok, p, args.max_length) for p in train_pairs],
        valid=[encode_pair(tok, p, args.max_length) for p in valid_pairs[: args.eval_rows]],
        pad_id=tok.pad_token_id,
    )
    model = lora_model(base, args)
    trainable, optimizer, scheduler = make_optimizer(model, args)

    run_args = {k: v for k, v in vars(args).items()}
    found = find_checkpoint(ckpt_dir)
    start, history = 0, []  # per (re)start: first step and the --steps total
    if found is not None:
        start, history = resume_checkpoint(found, args, run_args, model, optimizer, scheduler)
    initial_valid_loss = None
    if start == 0 and ex.valid:
        initial_valid_loss = eval_loss(model, ex.valid, ex.pad_id, args.batch_size)
        print(f"held-out loss before training: {initial_valid_loss:.4f}")

    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    model, optimizer = accelerator.prepare(model, optimizer)
    model.train()
    run_args["history"] = [*history, {"from_step": start, "steps": args.steps}]
    t = Training(accelerator, model, optimizer, scheduler, trainable)
    trace = train_loop(args, t, ex, start, out_dir, ckpt_dir, run_args)

    model = accelerator.unwrap_model(model)
    valid_loss = eval_loss(model, ex.valid, ex.pad_id, args.batch_size) if ex.valid else math.nan
    save_adapter(model, out_dir)
    summary = {
        **run_args,
        "train_rows": len(train_pairs),
        "valid_rows": len(valid_pairs),
        "trainable_params": sum(p.numel() for p in trainable),
        "first_loss": trace.first,
        "last_loss": trace.last,
        "last10_loss": trace.mean10,
        "initial_valid_loss": initial_valid_loss,
        "valid_loss": valid_loss,
        "resumed_from_step": start,
        "seconds_this_run": round(time.time() - started, 1),
        "torch": torch.__version__,
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, {torch.get_num_threads()} threads",
    }
    _atomic_write_json(out_dir / "run_args.json", summary)
    if not args.keep_checkpoint:
        shutil.rmtree(ckpt_dir, ignore_errors=True)
    keys = ("first_loss", "last10_loss", "initial_valid_loss", "valid_loss")
    print(json.dumps({k: summary[k] for k in keys}))
    return summary


if __name__ == "__main__":
    main()

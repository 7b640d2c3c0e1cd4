"""LoRA fine-tuning on disk: the resumable checkpoint folder (peft adapter, optimizer, scheduler
and torch RNG state, run arguments), written beside and swapped in whole and read back as
tensors and plain data only; and the finished adapter's files, each swapped in."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch

from ttmrpp.fileio import load_plain_state

STATE_FILE = "trainer_state.pt"
ADAPTER_FILE = "adapter_model.safetensors"
RUN_ARGS_FILE = "run_args.json"
STATE_KEYS = ("step", "optimizer", "scheduler", "torch_rng")


class CheckpointError(ValueError):
    """A checkpoint that cannot be resumed; the message names the file and the reason."""


def save_checkpoint(
    ckpt: Path, model: Any, optimizer: Any, scheduler: Any, step: int, run_args: dict[str, Any]
) -> None:
    """Adapter + optimizer/scheduler/RNG state + run args, written beside and then swapped in."""
    tmp, old = ckpt.with_name(ckpt.name + ".tmp"), ckpt.with_name(ckpt.name + ".old")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    state = {
        "step": step,
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "torch_rng": torch.get_rng_state(),
    }
    torch.save(state, tmp / STATE_FILE)
    (tmp / RUN_ARGS_FILE).write_text(json.dumps(run_args, indent=2, sort_keys=True))
    if ckpt.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(ckpt, old)
    os.replace(tmp, ckpt)
    shutil.rmtree(old, ignore_errors=True)


def find_checkpoint(ckpt: Path) -> Path | None:
    """The checkpoint folder to resume from, if any."""
    for c in (ckpt, ckpt.with_name(ckpt.name + ".old")):  # .old survives a crash mid-swap
        if (c / STATE_FILE).is_file() and (c / ADAPTER_FILE).is_file():
            return c
    return None


def read_run_args(found: Path) -> dict[str, Any]:
    """The run arguments a checkpoint was made with (at least `steps`)."""
    args_path = found / RUN_ARGS_FILE
    try:
        saved = json.loads(args_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{args_path}: unreadable run arguments ({exc})") from None
    if not isinstance(saved, dict) or "steps" not in saved:
        raise CheckpointError(f"{args_path}: not the run arguments of this script (no steps)")
    return saved


def read_trainer_state(path: Path, advice: str) -> dict[str, Any]:
    """trainer_state.pt as tensors and plain data only (torch's `weights_only`; the RNG state is
    a tensor): a file that holds any other pickled object is refused, never run, so a checkpoint
    from elsewhere cannot execute code here. Any problem raises CheckpointError naming the file,
    its message ending with `advice` where the file itself is unusable."""
    try:
        state = load_plain_state(path, "trainer state", advice)
    except ValueError as exc:
        raise CheckpointError(str(exc)) from None
    missing = [k for k in STATE_KEYS if not isinstance(state, dict) or k not in state]
    if missing:
        raise CheckpointError(f"{path}: not a trainer state (no {', '.join(missing)})")
    return state


def load_checkpoint(found: Path, model: Any, optimizer: Any, scheduler: Any, advice: str) -> int:
    """Load adapter, optimizer, scheduler and RNG state from a checkpoint folder; returns its
    step. Raises CheckpointError naming the file (see `read_trainer_state` for `advice`)."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    path = found / STATE_FILE
    state = read_trainer_state(path, advice)
    try:
        set_peft_model_state_dict(model, load_file(found / ADAPTER_FILE))
    except Exception as exc:  # safetensors raises its own error type for a damaged file
        adapter = found / ADAPTER_FILE
        raise CheckpointError(f"{adapter}: unreadable or not this adapter ({exc})") from None
    try:
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        return int(state["step"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: does not fit this adapter's optimizer ({exc!r})") from None


def save_adapter(model: Any, out_dir: Path) -> None:
    """The peft adapter files into `out_dir`, each swapped in (peft's model card left out)."""
    tmp = out_dir / ".adapter.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    for f in tmp.iterdir():
        if f.name == "README.md":  # peft's empty model-card template; run_args.json says more
            f.unlink()
            continue
        os.replace(f, out_dir / f.name)
    tmp.rmdir()

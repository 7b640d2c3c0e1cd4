"""A tagger training run's resumable state (`last.pt`): model and optimizer state, epoch, best
score, history, vocabulary and architecture, written atomically and read back as tensors and
plain data only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from ttmrpp.fileio import atomic_write, load_plain_state

LAST_FILE = "last.pt"
LAST_KEYS = ("model", "optimizer", "epoch", "best", "history", "tags", "model_name")


def save_last(
    path: Path,
    model: nn.Module,
    optimizer,
    epoch: int,
    best: float,
    history: list[dict],
    tags: list[str],
    model_name: str,
    run_args: dict[str, Any],
) -> None:
    """Everything a resumed run needs to continue after `epoch` (`run_args` kept as strings)."""
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "epoch": epoch, "best": best, "history": history, "tags": tags,
             "model_name": model_name, "args": {k: str(v) for k, v in run_args.items()}}  # fmt: skip
    atomic_write(path, lambda p, s=state: torch.save(s, p))


def read_last(path: Path, device, advice: str) -> dict:
    """last.pt as tensors and plain data only (torch's `weights_only`): a file that holds any
    other pickled object is refused, never run, so a run folder from elsewhere cannot execute
    code here. Raises ValueError naming the file, its message ending with `advice` where the
    file itself is unusable."""
    state = load_plain_state(path, "training checkpoint", advice, map_location=device)
    missing = [k for k in LAST_KEYS if not isinstance(state, dict) or k not in state]
    if missing:
        raise ValueError(f"{path}: not a training checkpoint (no {', '.join(missing)})")
    return state


def load_last(
    path: Path,
    model: nn.Module,
    optimizer,
    tags: list[str],
    model_name: str,
    device,
    advice: str,
) -> tuple[int, float, list[dict]]:
    """Load model and optimizer state from `path`, made with the same architecture and
    vocabulary; returns its (epoch, best score, history). Raises ValueError naming the file."""
    state = read_last(path, device, advice)
    if state["tags"] != tags or state["model_name"] != model_name:
        raise ValueError(f"{path} was trained with another model or vocabulary")
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(f"{path}: does not fit the {model_name} model ({exc!r})") from None
    return state["epoch"], state["best"], state["history"]

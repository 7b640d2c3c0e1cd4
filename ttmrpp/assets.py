"""Where the shipped files live: the trained model, the LoRA captioner adapter, the cache.

The trained model and the adapter travel inside the package (`ttmrpp/pretrained/`), so a
wheel carries them. `TTMRPP_ASSETS` names another folder with the same layout
(`ttmrpp-cpu/`, `captioner-lora/`); `TTMRPP_CACHE` the cache folder (default
`~/.cache/ttmrpp`).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGED = Path(__file__).resolve().parent / "pretrained"
MODEL_NAME = "ttmrpp-cpu"  # the shipped trained model's folder
ADAPTER_NAME = "captioner-lora"  # the shipped LoRA captioner's folder


def assets_dir() -> Path:
    """`TTMRPP_ASSETS`, or the folder packaged with ttmrpp."""
    override = os.environ.get("TTMRPP_ASSETS")
    return Path(override).expanduser() if override else PACKAGED


def shipped_model_dir() -> Path:
    """The shipped trained model's folder (it may be missing in a stripped install)."""
    return assets_dir() / MODEL_NAME


def has_shipped_model() -> bool:
    """Whether the shipped trained model is installed."""
    folder = shipped_model_dir()
    return (folder / "model.safetensors").is_file() and (folder / "config.json").is_file()


def captioner_adapter_dir() -> Path:
    """The shipped LoRA adapter of the caption LLM."""
    return assets_dir() / ADAPTER_NAME


def cache_dir() -> Path:
    """`TTMRPP_CACHE`, or `~/.cache/ttmrpp`: rebuildable data (demo catalog, index, atlas)."""
    return Path(os.environ.get("TTMRPP_CACHE") or "~/.cache/ttmrpp").expanduser()

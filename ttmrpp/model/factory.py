"""The one model factory: a name, folder, hub id or checkpoint file in, a ready model out.

ttmrpp.load_model()                     # the shipped trained model (the default)
ttmrpp.load_model("runs/cpu/model")     # a folder written by `save_pretrained`
ttmrpp.load_model("user/ttmrpp-model")  # a Hugging Face hub repo (downloads only then)
ttmrpp.load_model("ttmrpp_resnet_roberta.pth")  # the authors' published checkpoint
ttmrpp.load_model("ttmrpp-tiny")        # an architecture: seeded, untrained (warns)
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch

from ttmrpp.assets import has_shipped_model, shipped_model_dir
from ttmrpp.model.config import ModelConfig, get_config, list_configs
from ttmrpp.model.dual_encoder import TTMRPP

DEFAULT = "default"  # the spec (also stored in an index) that names the shipped trained model
CHECKPOINT_SUFFIXES = (".pth", ".pt", ".ckpt", ".bin")


class UntrainedModelWarning(UserWarning):
    """An architecture name was loaded: its audio tower has random weights."""


def create_model(config_name: str | ModelConfig, pretrained_text: bool | None = None) -> TTMRPP:
    """A new, untrained model of an architecture (`ttmrpp-paper`, `ttmrpp-cpu`, `ttmrpp-tiny`).

    Args:
        config_name: architecture name, JSON path or a `ModelConfig`.
        pretrained_text: override whether the text tower starts from pretrained weights
            (the config's `text_pretrained` by default; `ttmrpp-cpu` uses the packaged MiniLM).
    """
    config = config_name if isinstance(config_name, ModelConfig) else get_config(config_name)
    if pretrained_text is not None:
        config.text_pretrained = pretrained_text
    return TTMRPP(config).eval()


def is_architecture(spec: str | os.PathLike) -> bool:
    """Whether `spec` names a shipped architecture or a config JSON (not a folder or file)."""
    spec = str(spec)
    if Path(spec).is_dir():
        return False
    return spec in list_configs() or (spec.endswith(".json") and Path(spec).is_file())


def is_hub_id(spec: str | os.PathLike) -> bool:
    """`owner/name` that is not a local path."""
    spec = str(spec)
    return spec.count("/") == 1 and not Path(spec).exists() and not spec.startswith((".", "/"))


def load_model(
    spec: str | os.PathLike | None = None,
    device: str | torch.device = "cpu",
    *,
    official_config: str = "ttmrpp-paper",
    seed: int = 0,
) -> TTMRPP:
    """Load a TTMR++ model from any of the forms users name one by.

    Args:
        spec: None or "default" (the shipped trained model), a model folder, a hub id, an
            authors' checkpoint file (`.pth`), or an architecture name / config JSON (a new
            model seeded with `seed`, with an `UntrainedModelWarning`).
        device: where the model is put.
        official_config: the architecture of an authors' checkpoint file.
        seed: the torch seed of an untrained architecture's weights.

    Raises:
        FileNotFoundError: nothing of that name (or the shipped model is not installed).
        CheckpointError: it exists but cannot be loaded.
    """
    if spec is None or (str(spec) == DEFAULT and not Path(DEFAULT).exists()):
        folder = shipped_model_dir()
        if not has_shipped_model():
            raise FileNotFoundError(
                f"the shipped trained model is not installed at {folder} "
                "(set TTMRPP_ASSETS, or name a model folder, hub id or architecture)"
            )
        return TTMRPP.from_pretrained(folder, device)
    path = Path(spec).expanduser()
    if path.is_dir():
        return TTMRPP.from_pretrained(path, device)
    if path.is_file() and path.suffix != ".json":
        return _load_checkpoint_file(path, official_config, device)
    if is_architecture(spec):
        warnings.warn(
            f"{spec} is an architecture, not a trained model: its audio tower has random "
            f"weights (seed {seed}), so rankings are not meaningful",
            UntrainedModelWarning,
            stacklevel=2,
        )
        torch.manual_seed(seed)
        return create_model(str(spec)).to(device)
    if is_hub_id(spec):
        return TTMRPP.from_pretrained(str(spec), device)
    raise FileNotFoundError(
        f"{spec}: no such model folder, checkpoint file, hub id or architecture "
        f"(architectures: {', '.join(list_configs())})"
    )


def _load_checkpoint_file(path: Path, official_config: str, device) -> TTMRPP:
    from ttmrpp.model.dual_encoder import CheckpointError
    from ttmrpp.model.foreign import load_official_checkpoint

    if path.suffix not in CHECKPOINT_SUFFIXES:
        raise CheckpointError(
            f"{path}: expected a model folder or a {'/'.join(CHECKPOINT_SUFFIXES)} checkpoint"
        )
    return load_official_checkpoint(path, config=official_config, device=device)


def spec_for_index(spec: str | os.PathLike | None) -> str:
    """How an index records the model that built it: `DEFAULT`, an absolute folder, or the
    spec as given (hub id, architecture, checkpoint file)."""
    if spec is None or str(spec) == DEFAULT:
        return DEFAULT
    path = Path(spec).expanduser()
    return str(path.resolve()) if path.exists() else str(spec)

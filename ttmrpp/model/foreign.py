"""Foreign checkpoint layouts mapped onto ours: the authors' published `.pth`, DDP/compile prefixes."""

from __future__ import annotations

import os
from collections.abc import Mapping

import torch

from ttmrpp.model.config import get_config
from ttmrpp.model.dual_encoder import TTMRPP, CheckpointError

# Keys in the authors' file that our model does not hold: a duplicate of `logit_scale` kept by
# their loss module, and a buffer older transformers versions saved.
DROPPED_OFFICIAL_KEYS = ("loss_fct.logit_scale", "text_encoder.embeddings.position_ids")
_PREFIXES = ("module.", "_orig_mod.")


def clean_state_dict(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Strip `module.` (DDP) and `_orig_mod.` (torch.compile) prefixes; drop unused keys."""
    out = {}
    for key, value in state.items():
        changed = True
        while changed:
            changed = False
            for prefix in _PREFIXES:
                if key.startswith(prefix):
                    key, changed = key[len(prefix) :], True
        if key in DROPPED_OFFICIAL_KEYS:
            continue
        out[key] = value
    return out


def load_official_checkpoint(
    path: str | os.PathLike, config: str = "ttmrpp-paper", device: str = "cpu"
) -> TTMRPP:
    """Load the authors' published checkpoint (`ttmrpp_resnet_roberta.pth`).

    The file is `{"epoch", "state_dict", "optimizer"}`; the mapped state dict is loaded
    strictly, so any missing or unexpected key is an error. The roberta-base tokenizer is
    fetched from the hub on first `encode_text` (it is not part of the file).
    """
    try:
        ckpt = torch.load(str(path), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as e:  # pickle/zip errors of a damaged or foreign file
        raise CheckpointError(f"{path}: not a readable torch checkpoint ({e})") from e
    state = ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{path}: not a TTMR++ checkpoint (no state_dict)")
    model = TTMRPP(get_config(config))
    try:
        model.load_state_dict(clean_state_dict(state), strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"{path}: does not match the {config} architecture ({e})") from e
    return model.to(device).eval()

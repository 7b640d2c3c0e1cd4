"""The TTMR++ dual encoder: audio tower, text tower, projections into a 128-d joint space."""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ttmrpp.fileio import atomic_write, atomic_write_json
from ttmrpp.model.audio import LogMelFrontEnd
from ttmrpp.model.audio_encoder import ModifiedResNet
from ttmrpp.model.config import ModelConfig
from ttmrpp.model.text_encoder import build_text_encoder, first_token_features, load_tokenizer

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
TOKENIZER_DIR = "tokenizer"


class CheckpointError(ValueError):
    """A model folder or checkpoint file that exists but cannot be loaded."""


class TTMRPP(nn.Module):
    """Music-text dual encoder with the published TTMR++ state-dict layout.

    `encode_audio` / `encode_text` return [N, embed_dim] vectors, L2-normalised by default.
    `forward(audio, text)` returns the loss's arguments as a dict.
    """

    def __init__(self, config: ModelConfig, tokenizer=None) -> None:
        super().__init__()
        self.config = config
        front_end = LogMelFrontEnd(
            config.sample_rate, config.n_fft, config.hop_length, config.n_mels, config.mel_clamp
        )
        self.audio_encoder = ModifiedResNet(
            tuple(config.layers), config.width, config.heads, config.audio_dim, front_end
        )
        self.text_encoder, text_config = build_text_encoder(
            config.text_model, config.text_config, config.text_pretrained
        )
        # From here on the architecture is fully described by the config (offline rebuilds).
        config.text_config = _portable_text_config(text_config)
        config.text_pretrained = False
        text_dim = self.text_encoder.config.hidden_size
        self.audio_projector = nn.Sequential(
            nn.LayerNorm(config.audio_dim),
            nn.Linear(config.audio_dim, config.embed_dim, bias=False),
        )
        self.text_projector = nn.Sequential(
            nn.LayerNorm(text_dim), nn.Linear(text_dim, config.embed_dim, bias=False)
        )
        # float64 [1], as in the published checkpoint.
        init = torch.tensor([math.log(1.0 / config.temperature)], dtype=torch.float64)
        self.logit_scale = nn.Parameter(init)
        self._tokenizer = tokenizer

    # -- text ---------------------------------------------------------------------------
    @property
    def tokenizer(self):
        if self._tokenizer is None:
            self._tokenizer = load_tokenizer(self.config.text_model)
        return self._tokenizer

    @property
    def device(self) -> torch.device:
        return self.logit_scale.device

    def tokenize(self, texts: list[str], max_length: int | None = None) -> dict[str, torch.Tensor]:
        """Token ids and mask, padded to the longest text, cut at `max_length` tokens
        (default: the config's)."""
        if isinstance(texts, str):
            texts = [texts]
        batch = self.tokenizer(
            list(texts),
            padding="longest",
            truncation=True,
            max_length=max_length or self.config.max_length,
            return_tensors="pt",
        )
        return {k: batch[k].to(self.device) for k in ("input_ids", "attention_mask")}

    def text_features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        h = first_token_features(self.text_encoder, input_ids, attention_mask)  # [B, text_dim]
        return self.text_projector(h)  # [B, embed_dim]

    def encode_text(self, texts: list[str], normalize: bool = True) -> torch.Tensor:
        """Texts -> [N, embed_dim]."""
        if isinstance(texts, str):
            texts = [texts]
        if len(texts) == 0:
            return torch.zeros(0, self.config.embed_dim, device=self.device)
        z = self.text_features(**self.tokenize(texts))
        return F.normalize(z, dim=-1) if normalize else z

    # -- audio --------------------------------------------------------------------------
    def encode_audio(self, audio: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        """Waveforms [B, T] at `config.sample_rate` (any T, ideally one clip) -> [B, embed_dim].

        For whole tracks of any length use `embed_waveform` / `ttmrpp.embed_audio_files`.
        """
        if audio.dim() == 1:
            audio = audio[None]
        z = self.audio_projector(self.audio_encoder(audio.to(self.device)))
        return F.normalize(z, dim=-1) if normalize else z

    def forward(self, audio: torch.Tensor, text: list[str] | dict[str, torch.Tensor]) -> dict:
        tokens = self.tokenize(text) if not isinstance(text, dict) else text
        return {
            "audio_features": self.encode_audio(audio, normalize=False),
            "text_features": self.text_features(**tokens),
            "logit_scale": self.logit_scale,
        }

    # -- persistence --------------------------------------------------------------------
    def save_pretrained(
        self, directory: str | os.PathLike, dtype: torch.dtype | None = None
    ) -> Path:
        """Write `model.safetensors`, `config.json` and the tokenizer; each file atomically.

        Args:
            dtype: store the float32 weights in this dtype (e.g. torch.float16 halves the
                file); `from_pretrained` always returns the model in its own dtypes.
        """
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = {
            k: (v.to(dtype) if dtype is not None and v.dtype == torch.float32 else v)
            .detach()
            .cpu()
            .contiguous()
            for k, v in self.state_dict().items()
        }
        atomic_write(directory / WEIGHTS_NAME, lambda p: save_file(state, str(p)))
        try:
            tokenizer = self.tokenizer
        except OSError:  # e.g. roberta-base offline: the config still names it
            tokenizer = None
        if tokenizer is not None:
            tmp = directory / f".{TOKENIZER_DIR}.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            tokenizer.save_pretrained(str(tmp))
            shutil.rmtree(directory / TOKENIZER_DIR, ignore_errors=True)
            os.replace(tmp, directory / TOKENIZER_DIR)
        atomic_write_json(directory / CONFIG_NAME, self.config.to_dict())
        return directory

    @classmethod
    def from_pretrained(
        cls, path_or_hub_id: str | os.PathLike, device: str | torch.device = "cpu"
    ) -> TTMRPP:
        """Load what `save_pretrained` wrote: a folder, or a Hugging Face hub repo with it.

        Raises:
            FileNotFoundError: neither a folder with both files nor a hub id.
            CheckpointError: the folder's config or weights are damaged or do not match.
        """
        from safetensors.torch import load_file

        path = Path(path_or_hub_id)
        if not path.is_dir():
            if path.exists() or str(path_or_hub_id).count("/") != 1:
                raise FileNotFoundError(f"{path_or_hub_id}: not a model folder or a hub id")
            from huggingface_hub import snapshot_download

            path = Path(snapshot_download(str(path_or_hub_id)))
        for name in (WEIGHTS_NAME, CONFIG_NAME):
            if not (path / name).is_file():
                raise FileNotFoundError(f"{path}: missing {name}")
        try:
            config = ModelConfig.from_dict(json.loads((path / CONFIG_NAME).read_text()))
        except (ValueError, TypeError, KeyError) as e:
            raise CheckpointError(f"{path / CONFIG_NAME}: not a valid model config ({e})") from e
        config.text_pretrained = False
        tokenizer = None
        if (path / TOKENIZER_DIR).is_dir():
            tokenizer = load_tokenizer(path / TOKENIZER_DIR)
        model = cls(config, tokenizer=tokenizer)
        try:
            state = load_file(str(path / WEIGHTS_NAME))
        except Exception as e:  # safetensors raises its own SafetensorError for a damaged file
            raise CheckpointError(f"{path / WEIGHTS_NAME}: corrupt or truncated ({e})") from e
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as e:
            raise CheckpointError(
                f"{path}: the weights do not match the architecture in {CONFIG_NAME} ({e})"
            ) from e
        return model.to(device).eval()


def _portable_text_config(d: dict) -> dict:
    """Keep the HF config values that define the architecture (drop run-time fields)."""
    drop = {
        "architectures",
        "transformers_version",
        "_name_or_path",
        "torch_dtype",
        "dtype",
        "id2label",
        "label2id",
        "output_attentions",
        "output_hidden_states",
        "return_dict",
        "use_cache",
        "tie_word_embeddings",
    }
    return {k: v for k, v in d.items() if k not in drop and not k.startswith("_")}


def parameter_count(module: nn.Module) -> int:
    return int(sum(np.prod(p.shape) for p in module.parameters()))

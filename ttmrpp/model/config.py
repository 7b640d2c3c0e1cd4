"""Model architectures as small JSON files in `configs/`, loaded into a dataclass."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


@dataclass
class ModelConfig:
    name: str  # architecture name, e.g. "ttmrpp-paper"
    sample_rate: int = 22050  # audio rate the model expects
    clip_seconds: float = 10.0  # training clip length; whole tracks are cut into such chunks
    n_fft: int = 1024  # STFT size
    hop_length: int = 220  # STFT hop in samples (10 ms at 22.05 kHz)
    n_mels: int = 128  # mel bands
    layers: list[int] = field(default_factory=lambda: [3, 4, 6, 3])  # bottlenecks per stage
    width: int = 64  # ResNet stem width; feature dim is 32 * width
    heads: int = 8  # attention-pooling heads
    audio_dim: int = 768  # attention-pool output size
    text_model: str = "roberta-base"  # tokenizer/weights source: hub id, path or "builtin:..."
    text_pretrained: bool = False  # load the text encoder's pretrained weights at creation
    text_config: dict[str, Any] | None = None  # HF config values: builds the encoder offline
    max_length: int = 128  # text tokens kept
    embed_dim: int = 128  # joint embedding size
    temperature: float = 0.1  # initial softmax temperature (logit scale = 1 / temperature)
    mel_clamp: str = "clip"  # "clip": per-clip dynamic-range clamp; "batch": the authors'

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown model config fields: {sorted(unknown)}")
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_configs() -> list[str]:
    """Names of the architectures shipped with the package."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.json"))


def get_config(name_or_path: str | Path) -> ModelConfig:
    """A shipped architecture by name, or a JSON file by path."""
    path = Path(name_or_path)
    if not path.suffix == ".json":
        path = CONFIG_DIR / f"{name_or_path}.json"
    if not path.is_file():
        raise ValueError(f"unknown model config {name_or_path!r}; available: {list_configs()}")
    return ModelConfig.from_dict(json.loads(path.read_text()))

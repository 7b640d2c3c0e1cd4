"""Load a published (or our own) tagger and tag whole tracks by chunk averaging."""

from __future__ import annotations

import json
import math
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ttmrpp.fileio import atomic_write
from ttmrpp.model.audio import load_audio, resample
from ttmrpp.taggers.architectures import ARCHITECTURES, build_model
from ttmrpp.taggers.frontend import SAMPLE_RATE
from ttmrpp.taggers.vocab import DATASETS, vocabulary

UPSTREAM_URL = (
    "https://raw.githubusercontent.com/minzwon/sota-music-tagging-models/master/"
    "models/{dataset}/{model}/best_model.pth"
)
WEIGHTS_FILE = "best_model.pth"  # upstream layout: <weights_dir>/<dataset>/<model>/best_model.pth
META_FILE = "tagger.json"  # written by train/train_tagger.py beside its checkpoints
DEFAULT_CHUNKS = 16  # the reference evaluation averages 16 chunks per track


class TaggerWeightsError(RuntimeError):
    """Weights are missing, cannot be fetched, or do not fit the architecture."""


def default_cache_dir() -> Path:
    """Where fetched upstream weights are kept: $TTMRPP_CACHE/taggers or ~/.cache/ttmrpp/taggers."""
    root = os.environ.get("TTMRPP_CACHE") or Path.home() / ".cache" / "ttmrpp"
    return Path(root) / "taggers"


def _fetch(url: str, dest: Path, timeout: float = 60.0) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            while chunk := resp.read(1 << 20):
                out.write(chunk)
        torch.load(tmp, map_location="cpu", weights_only=True)  # refuse HTML error pages etc.

    atomic_write(dest, write)


def resolve_weights(
    name: str, dataset: str, weights_dir: Path | None = None, download: bool = True
) -> Path:
    """Path of `<dataset>/<name>/best_model.pth`: in `weights_dir`, else the cache, else fetched.

    Fetching uses `UPSTREAM_URL`, or the template in $TTMRPP_TAGGER_URL (a mirror, with
    `{dataset}` and `{model}` fields); the file goes into `weights_dir` when given, else the cache.

    Raises:
        TaggerWeightsError: the file is absent and cannot be downloaded (offline, or not
            published upstream); the message names the paths looked at and the URL.
    """
    rel = Path(dataset) / name / WEIGHTS_FILE
    candidates = ([Path(weights_dir) / rel] if weights_dir else []) + [default_cache_dir() / rel]
    for path in candidates:
        if path.is_file():
            return path
    template = os.environ.get("TTMRPP_TAGGER_URL") or UPSTREAM_URL  # a mirror, if any
    url = template.format(dataset=dataset, model=name)
    looked = ", ".join(str(p) for p in candidates)
    if not download:
        raise TaggerWeightsError(f"no weights for {dataset}/{name}: looked in {looked}")
    dest = candidates[0]
    try:
        _fetch(url, dest)
    except Exception as exc:  # network errors, HTTP errors, or a file that is not a state dict
        raise TaggerWeightsError(
            f"no weights for {dataset}/{name}: looked in {looked}, and fetching {url} failed "
            f"({exc}). Download it where you have internet and pass its folder as weights_dir "
            f"(layout <weights_dir>/{rel})."
        ) from exc
    return dest


def load_state_dict_strict(model: nn.Module, path: Path) -> None:
    """Load a plain state dict (as `torch.save(model.state_dict())`) with `strict=True`."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt files
        raise TaggerWeightsError(f"cannot read tagger weights {path}: {exc}") from exc
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]  # a training checkpoint of ours
    state = {k.removeprefix("module.").removeprefix("_orig_mod."): v for k, v in state.items()}
    own = model.state_dict()
    for key, value in state.items():
        # Old torchaudio built the mel filterbank lazily and saved it empty; upstream's eval
        # script then used a fresh one. Ours is computed the same way (see frontend.py).
        if key.endswith("mel_scale.fb") and value.numel() == 0 and key in own:
            state[key] = own[key]
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise TaggerWeightsError(
            f"{path} does not fit {type(model).__name__}: {exc}".strip()
        ) from exc
    flush_subnormals(model)


@torch.no_grad()
def flush_subnormals(model: nn.Module) -> int:
    """Set subnormal weights to zero; returns how many were changed.

    The published checkpoints hold ~10-40 % subnormal floats in some conv layers (filters that
    died in training). They change no output (each is below 1.2e-38) but make CPU convolutions
    30-100x slower, as x86 handles subnormal arithmetic in microcode.
    """
    changed = 0
    for t in list(model.parameters()) + list(model.buffers()):
        if t.is_floating_point():
            mask = (t != 0) & (t.abs() < torch.finfo(t.dtype).tiny)
            changed += int(mask.sum())
            t.masked_fill_(mask, 0.0)
    return changed


def _mono(wave: np.ndarray) -> np.ndarray:
    x = np.asarray(wave, dtype=np.float32)
    if x.ndim == 2:  # (channels, samples) or (samples, channels): average the short axis
        x = x.mean(axis=0 if x.shape[0] <= x.shape[1] else 1)
    if x.ndim != 1:
        raise ValueError(f"expected a mono waveform (1-D array), got shape {np.shape(wave)}")
    if x.size == 0:
        raise ValueError("empty waveform: nothing to tag")
    if not np.isfinite(x).all():
        raise ValueError("waveform contains NaN or infinite samples")
    return x


def load_audio_16k(path: str | Path) -> np.ndarray:
    """Decode any audio file to float32 mono at 16 kHz (`ttmrpp.model.audio.load_audio`).

    Raises:
        AudioDecodeError: the file cannot be decoded or holds no samples.
    """
    return load_audio(path, sample_rate=SAMPLE_RATE)


@dataclass
class Tagger:
    """A loaded tagging model with its vocabulary; outputs are probabilities (no extra sigmoid)."""

    name: str  # architecture key, e.g. "fcn"
    dataset: str  # vocabulary the weights were trained on ("jamendo", "mtat", "msd" or custom)
    model: nn.Module  # in eval mode
    tags: list[str]  # output i is the probability of tags[i]
    weights: Path | None = None  # where the weights came from

    @property
    def input_length(self) -> int:
        """Samples per chunk at 16 kHz."""
        return ARCHITECTURES[self.name].input_length

    def chunk_starts(self, n_samples: int, max_chunks: int = DEFAULT_CHUNKS) -> np.ndarray:
        """Evenly spaced chunk offsets covering the track: ceil(n / L) chunks, at most max_chunks."""
        length = self.input_length
        n = max(1, min(max_chunks, math.ceil(n_samples / length)))
        return np.linspace(0, max(0, n_samples - length), n).round().astype(np.int64)

    @torch.inference_mode()
    def predict_waveform(
        self,
        wave: np.ndarray,
        sample_rate: int = SAMPLE_RATE,
        max_chunks: int = DEFAULT_CHUNKS,
        batch_size: int = 16,
        pad: str = "repeat",
    ) -> np.ndarray:
        """Whole-track tag probabilities, shape (n_tags,).

        The mean of the model's outputs over up to `max_chunks` evenly spaced chunks of its
        input length. Audio shorter than one chunk is padded to it: by repeating it (`pad=
        "repeat"`, the default: a 10 s rock clip zero-padded to FCN's 29 s is mostly silence
        and loses `genre---rock`) or with zeros (`pad="zero"`).
        """
        if pad not in ("repeat", "zero"):
            raise ValueError(f"pad must be 'repeat' or 'zero', not {pad!r}")
        x = _mono(wave)
        x = resample(x, sample_rate, SAMPLE_RATE)
        length = self.input_length
        if x.size < length:
            x = np.resize(x, length) if pad == "repeat" else np.pad(x, (0, length - x.size))
        chunks = np.stack([x[s : s + length] for s in self.chunk_starts(x.size, max_chunks)])
        device = next(self.model.parameters()).device
        outs = []
        for i in range(0, len(chunks), batch_size):
            batch = torch.from_numpy(chunks[i : i + batch_size]).to(device)
            outs.append(self.model(batch).float().cpu())
        return torch.cat(outs).mean(dim=0).numpy()

    def predict_file(self, path: str | Path, max_chunks: int = DEFAULT_CHUNKS) -> np.ndarray:
        """Decode `path` (any format; mono, 16 kHz) and return whole-track probabilities."""
        return self.predict_waveform(load_audio_16k(path), max_chunks=max_chunks)

    def top_k(self, probs: np.ndarray, k: int = 5) -> list[tuple[str, float]]:
        """The k most probable tags as (tag, probability), most probable first."""
        order = np.argsort(-np.asarray(probs), kind="stable")[:k]
        return [(self.tags[i], float(probs[i])) for i in order]


def load_tagger(
    name: str,
    dataset: str = "jamendo",
    weights_dir: Path | str | None = None,
    checkpoint: Path | str | None = None,
    download: bool = True,
    device: str | torch.device = "cpu",
) -> Tagger:
    """Build architecture `name` and load its weights strictly.

    Args:
        name: one of `TAGGER_NAMES`.
        dataset: "jamendo", "mtat" or "msd" (the published vocabularies).
        weights_dir: folder laid out as `<dataset>/<name>/best_model.pth` (upstream's `models/`).
            Without a file there, the cache is tried, then upstream is fetched when online.
        checkpoint: a `best_model.pth` file, or a folder written by `train/train_tagger.py`
            (its `tagger.json` supplies the vocabulary); overrides `weights_dir`.
        download: allow fetching from upstream.
        device: where the model runs.

    Raises:
        TaggerWeightsError: weights missing/unfetchable or not matching the architecture.
    """
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown tagger {name!r}; choose from {', '.join(ARCHITECTURES)}")
    tags: list[str] | None = None
    if checkpoint is not None:
        path = Path(checkpoint)
        if path.is_dir():
            meta_path = path / META_FILE
            if meta_path.is_file():
                meta = json.loads(meta_path.read_text("utf-8"))
                if meta.get("model", name) != name:
                    raise TaggerWeightsError(
                        f"{path} holds a {meta['model']!r} tagger, not {name!r}"
                    )
                tags = list(meta["tags"])
                dataset = meta.get("dataset", dataset)
            path = path / WEIGHTS_FILE
        if not path.is_file():
            raise TaggerWeightsError(f"tagger checkpoint {path} not found")
    else:
        if dataset not in DATASETS:
            raise ValueError(f"unknown dataset {dataset!r}; choose from {', '.join(DATASETS)}")
        path = resolve_weights(name, dataset, Path(weights_dir) if weights_dir else None, download)
    if tags is None:
        tags = vocabulary(dataset)
    model = build_model(name, n_class=len(tags), dataset=dataset)
    load_state_dict_strict(model, path)
    model.eval().to(device)
    return Tagger(name=name, dataset=dataset, model=model, tags=tags, weights=path)

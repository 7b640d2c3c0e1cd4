"""Generated audio and a tiny model, shared by the benchmarks and the tests: a deterministic
toy song, toy songs written as audio files, and `ttmrpp-tiny` with random weights whose audio
embeddings nevertheless differ."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

SR = 22050


def music_like(seconds: float, sr: int = 22050, seed: int = 0) -> np.ndarray:
    """Real-looking audio: decaying harmonic notes over noise bursts (a deterministic toy song)."""

    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    out = 0.01 * rng.standard_normal(n)
    beat = int(0.25 * sr)
    for i, start in enumerate(range(0, n, beat)):
        f0 = 110.0 * 2 ** (rng.integers(0, 24) / 12)
        seg = slice(start, min(n, start + 2 * beat))
        tt = t[seg] - t[start]
        env = np.exp(-4 * tt)
        for h in range(1, 5):
            out[seg] += 0.2 / h * env * np.sin(2 * np.pi * f0 * h * tt)
        if i % 2 == 0:
            out[start : start + 800] += 0.3 * rng.standard_normal(len(out[start : start + 800]))
    return (0.8 * out / np.abs(out).max()).astype(np.float32)


@cache  # one per seed per process; callers do not change the model
def discriminative_tiny_model(seed: int = 0):
    """`ttmrpp-tiny` with random weights whose BatchNorm statistics are set from a few clips.

    Fresh random weights shrink the signal through the ResNet until every track embeds to
    the same vector (cosine 1.0000); one training-mode pass over varied audio sets the
    running statistics so that different audio gives different embeddings, as a trained
    model's does. No weights are learned.
    """
    import torch

    import ttmrpp

    torch.manual_seed(seed)
    model = ttmrpp.create_model("ttmrpp-tiny")
    n = int(model.config.clip_seconds * model.config.sample_rate)
    clips = np.stack([music_like(model.config.clip_seconds, SR, 1000 + s)[:n] for s in range(8)])
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None  # cumulative average over the pass
    model.train()
    with torch.no_grad():
        model.encode_audio(torch.from_numpy(clips))
    return model.eval()


def write_track(path: Path, seed: int, seconds: float = 2.0, tags: dict | None = None) -> Path:
    """A toy song as WAV/FLAC/OGG (by suffix), with optional title/artist/album tags."""
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}[path.suffix]
    sf.write(str(path), music_like(seconds, SR, seed), SR, format=fmt)
    if tags:
        import mutagen

        f = mutagen.File(str(path), easy=True)
        for key, value in tags.items():
            f[key] = value
        f.save()
    return path

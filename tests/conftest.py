"""Shared fixtures: paths to ../shared (skipping when absent) and small generated audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The development data folder beside the checkout; tests that need it skip without it."""
    if not SHARED.is_dir():
        pytest.skip(
            f"../shared not found at {SHARED} (development data; not needed by the product)"
        )
    return SHARED


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


@pytest.fixture(scope="session")
def tiny_model():
    import ttmrpp

    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    return ttmrpp.create_model("ttmrpp-tiny")

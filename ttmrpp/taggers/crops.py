"""Tagger training input: each track decoded once to 16 kHz mono and cached as .npy, and one
random chunk of the architecture's input length per track (and crop) and epoch."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ttmrpp.fileio import atomic_write
from ttmrpp.taggers.tagger import load_audio_16k


def cached_audio(track: dict, cache_dir: Path) -> Path:
    """Decode once to float32 16 kHz mono .npy (atomic), then reuse."""
    path = cache_dir / f"{track['id']}.npy"
    if not path.is_file():
        wave = load_audio_16k(track["audio_path"])

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as f:  # a file object: np.save would add ".npy" to a name
                np.save(f, wave)

        atomic_write(path, write)
    return path


class CropDataset(Dataset):
    """One random chunk of `length` samples per track (repeated when the track is shorter)."""

    def __init__(
        self, files: list[Path], labels: np.ndarray, length: int, seed: int, crops: int = 1
    ):
        self.files, self.labels, self.length, self.seed = files, labels, length, seed
        self.crops = crops  # random chunks per track and epoch
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.files) * self.crops

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        i = index % len(self.files)
        wave = np.load(self.files[i], mmap_mode="r")
        rng = random.Random(hash((self.seed, self.epoch, index)))
        if len(wave) <= self.length:  # repeated to fill, as Tagger.predict_waveform does
            chunk = np.resize(np.asarray(wave, dtype=np.float32), self.length)
        else:
            start = rng.randrange(len(wave) - self.length + 1)
            chunk = np.array(wave[start : start + self.length], dtype=np.float32)
        return torch.from_numpy(chunk), torch.from_numpy(self.labels[i])

"""16 kHz front ends of the tagger zoo, written with `torch.stft`.

The published checkpoints were saved from models built on `torchaudio.transforms`; torchaudio is
not a dependency here, so these modules reproduce its computation and, above all, its state-dict
layout (`spec.spectrogram.window`, `spec.mel_scale.fb`, `hstft.spec.window`, `hstft.bw_Q`) so that
the published weights load with `strict=True`.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

SAMPLE_RATE = 16000  # every model in the zoo runs on 16 kHz mono audio
N_FFT = 512
HOP_LENGTH = 256  # torchaudio's default: win_length // 2


def _hz_to_mel_htk(hz: float | np.ndarray) -> float | np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def _mel_to_hz_htk(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(
    n_freqs: int, f_min: float, f_max: float, n_mels: int, sample_rate: int
) -> torch.Tensor:
    """Triangular HTK mel filters without area normalisation, shape (n_freqs, n_mels).

    The same matrix as `torchaudio.functional.melscale_fbanks(..., norm=None, mel_scale="htk")`
    (the published checkpoints store it as `spec.mel_scale.fb`); written here because torchaudio
    is not installed and librosa's version differs in the frequency grid.
    """
    all_freqs = np.linspace(0, sample_rate // 2, n_freqs)
    m_pts = np.linspace(_hz_to_mel_htk(f_min), _hz_to_mel_htk(f_max), n_mels + 2)
    f_pts = _mel_to_hz_htk(m_pts)
    f_diff = f_pts[1:] - f_pts[:-1]  # (n_mels + 1,)
    slopes = f_pts[None, :] - all_freqs[:, None]  # (n_freqs, n_mels + 2)
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    fb = np.maximum(0.0, np.minimum(down, up))
    return torch.from_numpy(fb.astype(np.float32))


class Spectrogram(nn.Module):
    """Power spectrogram (|STFT|^2, Hann window, centred, reflect padding); buffer `window`."""

    def __init__(self, n_fft: int = N_FFT, hop_length: int | None = None) -> None:
        super().__init__()
        self.n_fft = n_fft
        self.hop_length = hop_length or n_fft // 2
        self.register_buffer("window", torch.hann_window(n_fft))

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        # wave: (batch, samples) -> (batch, n_fft // 2 + 1, frames)
        spec = torch.stft(
            wave,
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            win_length=self.n_fft,
            window=self.window,
            center=True,
            pad_mode="reflect",
            normalized=False,
            onesided=True,
            return_complex=True,
        )
        return spec.abs().pow(2.0)


class MelScale(nn.Module):
    """Project a linear spectrogram onto mel bands with the stored filterbank `fb`."""

    def __init__(self, n_mels: int, sample_rate: int, f_min: float, f_max: float, n_stft: int):
        super().__init__()
        self.register_buffer("fb", mel_filterbank(n_stft, f_min, f_max, n_mels, sample_rate))

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        # spec: (batch, freq, frames) -> (batch, n_mels, frames)
        return torch.matmul(spec.transpose(-1, -2), self.fb).transpose(-1, -2)


class MelSpectrogram(nn.Module):
    """torchaudio-compatible `MelSpectrogram` (power 2, HTK, no norm); keys `spectrogram.window`,
    `mel_scale.fb`."""

    def __init__(
        self,
        sample_rate: int = SAMPLE_RATE,
        n_fft: int = N_FFT,
        f_min: float = 0.0,
        f_max: float = 8000.0,
        n_mels: int = 96,
    ) -> None:
        super().__init__()
        self.spectrogram = Spectrogram(n_fft)
        self.mel_scale = MelScale(n_mels, sample_rate, f_min, f_max, n_fft // 2 + 1)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.mel_scale(self.spectrogram(wave))


def amplitude_to_db(power: torch.Tensor) -> torch.Tensor:
    """`torchaudio.transforms.AmplitudeToDB()` defaults: 10·log10(max(x, 1e-10)), ref 1, no top_db."""
    return 10.0 * torch.log10(torch.clamp(power, min=1e-10))


def _note_to_midi(name: str) -> int:
    names = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
    return 12 * (int(name[1:]) + 1) + names[name[0]]


def harmonic_centre_frequencies(
    sample_rate: int = SAMPLE_RATE, n_harmonic: int = 6, semitone_scale: int = 2
) -> tuple[np.ndarray, int]:
    """Centre frequencies of the Harmonic CNN filterbank and the number of pitch bins per harmonic.

    Pitch bins run from C1 to the note nearest to sample_rate / (2 · n_harmonic), spaced
    1/semitone_scale semitones apart, as in upstream's `initialize_filterbank` (which rounds
    through librosa's note names; rounding the MIDI number gives the same note).
    """
    low_midi = _note_to_midi("C1")
    high_hz = sample_rate / (2 * n_harmonic)
    high_midi = int(round(12 * (math.log2(high_hz) - math.log2(440.0)) + 69))
    level = (high_midi - low_midi) * semitone_scale
    midi = np.linspace(low_midi, high_midi, level + 1)
    hz = 440.0 * (2.0 ** ((midi[:-1] - 69.0) / 12.0))
    harmonic_hz = np.concatenate([hz * (i + 1) for i in range(n_harmonic)])
    return harmonic_hz, level


class HarmonicSTFT(nn.Module):
    """Learnable harmonic triangular filterbank on a power STFT (Won et al. 2020).

    State: `spec.window` (Hann) and the learnable bandwidth factor `bw_Q`; output
    (batch, n_harmonic, level, frames) in dB.
    """

    def __init__(
        self,
        sample_rate: int = SAMPLE_RATE,
        n_fft: int = N_FFT,
        n_harmonic: int = 6,
        semitone_scale: int = 2,
        bw_q: float = 1.0,
    ) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self.n_harmonic = n_harmonic
        self.bw_alpha = 0.1079
        self.bw_beta = 24.7
        self.spec = Spectrogram(n_fft)
        harmonic_hz, self.level = harmonic_centre_frequencies(
            sample_rate, n_harmonic, semitone_scale
        )
        self.register_buffer("f0", torch.tensor(harmonic_hz, dtype=torch.float32), persistent=False)
        self.register_buffer(
            "fft_bins",
            torch.linspace(0, sample_rate // 2, n_fft // 2 + 1),
            persistent=False,
        )
        self.bw_Q = nn.Parameter(torch.tensor([bw_q], dtype=torch.float32))

    def harmonic_fb(self) -> torch.Tensor:
        """Filterbank (n_freqs, n_harmonic · level) for the current bandwidth factor."""
        bw = ((self.bw_alpha * self.f0 + self.bw_beta) / self.bw_Q).unsqueeze(0)
        f0 = self.f0.unsqueeze(0)
        bins = self.fft_bins.unsqueeze(1)
        up = bins * (2 / bw) + 1 - (2 * f0 / bw)
        down = bins * (-2 / bw) + 1 + (2 * f0 / bw)
        return torch.clamp(torch.minimum(down, up), min=0.0)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        spec = self.spec(wave)  # (batch, freq, frames)
        hspec = torch.matmul(spec.transpose(1, 2), self.harmonic_fb()).transpose(1, 2)
        b, _, frames = hspec.shape
        hspec = hspec.reshape(b, self.n_harmonic, self.level, frames)
        return amplitude_to_db(hspec)

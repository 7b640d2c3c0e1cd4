"""The TTMR++ audio front end: level normalisation, chunking and the log-mel spectrogram.

File decoding lives in `ttmrpp.model.decode`; its public names are importable from here too.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ttmrpp.model.decode import (
    AUDIO_EXTENSIONS,
    BLOCK_SAMPLES,
    MAX_CHANNELS,
    MAX_SECONDS,
    MAX_SOURCE_RATE,
    MIN_SOURCE_RATE,
    SAMPLE_RATE,
    SHORTFALL,
    WORK_CHANNELS,
    WORK_RATE,
    AudioDecodeError,
    load_audio,
    resample,
)

__all__ = [
    "AUDIO_EXTENSIONS",
    "BLOCK_SAMPLES",
    "CLIP_SECONDS",
    "MAX_CHANNELS",
    "MAX_SECONDS",
    "MAX_SOURCE_RATE",
    "MIN_SECONDS",
    "MIN_SOURCE_RATE",
    "SAMPLE_RATE",
    "SHORTFALL",
    "WORK_CHANNELS",
    "WORK_RATE",
    "AudioDecodeError",
    "LogMelFrontEnd",
    "chunk_waveform",
    "load_audio",
    "resample",
    "rescale_minmax",
    "slaney_mel_filters",
]

CLIP_SECONDS = 10.0  # the model's training clip length
MIN_SECONDS = 0.5  # shortest audio we embed


def rescale_minmax(wav: np.ndarray) -> np.ndarray:
    """The authors' level normalisation: min-max rescale to [-1, 1] and round-trip via int16.

    Their training data was stored this way, so the published weights expect it. A constant
    (e.g. silent) signal would divide 0/0; it maps to zeros instead.
    """
    lo, hi = float(wav.min()), float(wav.max())
    if hi - lo < 1e-12:
        return np.zeros_like(wav, dtype=np.float32)
    # In place (one extra copy of the track, not five), and the same numbers as
    # `((wav - lo) / (hi - lo) * 2 - 1) * 32767 -> int16 -> / 32767`, since a float32
    # division of an int16 by 32767 rounds exactly as the float64 one cast to float32.
    x = np.subtract(wav, lo)
    x /= hi - lo
    x *= 2.0
    x -= 1.0
    x *= 32767.0
    q = x.astype(np.int16)
    del x
    return np.divide(q, np.float32(32767.0), dtype=np.float32)


def chunk_waveform(
    wav: np.ndarray, sample_rate: int = SAMPLE_RATE, seconds: float = CLIP_SECONDS
) -> np.ndarray:
    """Split a track into model-length chunks, [n_chunks, seconds * sample_rate].

    Clips shorter than one chunk are repeated to fill it (silence padding would dominate a
    short clip's embedding). Longer tracks are cut into consecutive chunks; a leftover tail
    gets one more chunk aligned to the end of the track, so no audio is thrown away.
    """
    n = int(round(seconds * sample_rate))
    if len(wav) < int(MIN_SECONDS * sample_rate):
        raise AudioDecodeError(
            f"audio is {len(wav) / sample_rate:.2f} s long; at least {MIN_SECONDS} s is needed"
        )
    if len(wav) <= n:
        reps = -(-n // len(wav))
        return np.ascontiguousarray(np.tile(wav, reps)[None, :n], dtype=np.float32)
    starts = list(range(0, len(wav) - n + 1, n))
    if starts[-1] + n < len(wav):
        starts.append(len(wav) - n)
    return np.stack([wav[s : s + n] for s in starts]).astype(np.float32, copy=False)


def slaney_mel_filters(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """[n_mels, n_fft // 2 + 1] Slaney-normalised mel filterbank, equal to
    `librosa.filters.mel(sr, n_fft, n_mels)` (defaults); computed with transformers' audio
    utilities so librosa is not needed at run time."""
    from transformers.audio_utils import mel_filter_bank

    fb = mel_filter_bank(
        num_frequency_bins=n_fft // 2 + 1,
        num_mel_filters=n_mels,
        min_frequency=0.0,
        max_frequency=sample_rate / 2,
        sampling_rate=sample_rate,
        norm="slaney",
        mel_scale="slaney",
    )
    return np.ascontiguousarray(fb.T, dtype=np.float32)


class LogMelFrontEnd(nn.Module):
    """The TTMR++ (Whisper-style) log-mel spectrogram, with no learnable parameters.

    `torch.stft` (periodic Hann, centred, reflect padding), last frame dropped, power, Slaney
    mel filterbank, log10 with a 1e-10 floor, a dynamic-range clamp at max - 8, then
    (x + 4) / 4. `clamp="clip"` takes the max per clip (an embedding never depends on the rest
    of the batch); `clamp="batch"` reproduces the authors' batch-global max.
    """

    def __init__(
        self,
        sample_rate: int = SAMPLE_RATE,
        n_fft: int = 1024,
        hop_length: int = 220,
        n_mels: int = 128,
        clamp: str = "clip",
    ) -> None:
        super().__init__()
        if clamp not in ("clip", "batch"):
            raise ValueError(f"clamp must be 'clip' or 'batch', not {clamp!r}")
        self.n_fft, self.hop_length, self.clamp = n_fft, hop_length, clamp
        # Buffers are not persistent: the published checkpoint has no front-end keys.
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        filters = torch.from_numpy(slaney_mel_filters(sample_rate, n_fft, n_mels))
        self.register_buffer("mel_filters", filters, persistent=False)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        # wav: [B, T] -> [B, n_mels, T // hop + 1 - 1]
        stft = torch.stft(
            wav.float(),
            self.n_fft,
            self.hop_length,
            window=self.window,
            center=True,
            pad_mode="reflect",
            return_complex=True,
        )
        power = stft[..., :-1].abs() ** 2
        log_spec = torch.clamp(self.mel_filters @ power, min=1e-10).log10()
        if self.clamp == "batch":
            peak = log_spec.max()
        else:
            peak = log_spec.amax(dim=(-2, -1), keepdim=True)
        log_spec = torch.maximum(log_spec, peak - 8.0)
        return (log_spec + 4.0) / 4.0

"""Audio decoding, resampling, chunking and the TTMR++ log-mel front end."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import torch
from torch import nn

SAMPLE_RATE = 22050  # the model's rate (TTMR++ release config)
CLIP_SECONDS = 10.0  # the model's training clip length
MIN_SECONDS = 0.5  # shortest audio we embed
AUDIO_EXTENSIONS = (
    ".wav",
    ".flac",
    ".ogg",
    ".oga",
    ".opus",
    ".mp3",
    ".m4a",
    ".aac",
    ".aiff",
    ".aif",
)


class AudioDecodeError(Exception):
    """An audio file could not be decoded; the message names the file and the reason."""


_DATA_CHUNK = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)


def _check_wav_complete(path: Path, log: str) -> None:
    """libsndfile quietly shortens a cut-off WAV to what is there; its header log still tells."""
    m = _DATA_CHUNK.search(log)
    if m:
        declared, present = int(m.group(1)), int(m.group(2))
        # Streaming writers leave 0 or 0xFFFFFFFF as the size: those files are not truncated.
        if present < declared < 0xFFFFFF00:
            raise AudioDecodeError(
                f"{path}: truncated file (data chunk declares {declared} bytes, {present} present)"
            )


def _decode_soundfile(path: Path) -> tuple[np.ndarray, int]:
    import soundfile as sf

    info = sf.info(str(path), verbose=True)
    if info.format in ("WAV", "WAVEX", "RF64"):
        _check_wav_complete(path, info.extra_info)
    with sf.SoundFile(str(path)) as f:
        expected = f.frames
        data = f.read(dtype="float32", always_2d=True)
        sr = f.samplerate
    # libsndfile returns what it could read from a cut-off file without raising; a
    # header that promises more frames than the stream holds means the file is truncated.
    if expected > 0 and len(data) < expected:
        raise AudioDecodeError(
            f"{path}: truncated file (header promises {expected} frames, decoded {len(data)})"
        )
    return data.mean(axis=1), sr


def _decode_av(path: Path) -> tuple[np.ndarray, int]:
    """FFmpeg (via PyAV) for what libsndfile cannot read, e.g. m4a/aac."""
    import av

    with av.open(str(path)) as container:
        stream = next((s for s in container.streams if s.type == "audio"), None)
        if stream is None:
            raise AudioDecodeError(f"{path}: no audio stream")
        sr = stream.codec_context.sample_rate
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sr)
        chunks = []
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    wav = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    return wav.astype(np.float32), sr


def load_audio(path: str | os.PathLike, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Decode an audio file to a mono float32 waveform at `sample_rate`.

    Tries libsndfile (wav, flac, ogg/vorbis, opus, mp3) first, then FFmpeg through PyAV.

    Raises:
        AudioDecodeError: naming the file, for missing, empty, undecodable, truncated or
            zero-length audio.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioDecodeError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise AudioDecodeError(f"{path}: empty file")
    errors = []
    wav = sr = None
    for decode in (_decode_soundfile, _decode_av):
        try:
            wav, sr = decode(path)
            break
        except AudioDecodeError:
            raise
        except Exception as exc:  # decoders raise many types; all mean "cannot read this"
            errors.append(f"{decode.__name__.removeprefix('_decode_')}: {exc}")
    if wav is None:
        raise AudioDecodeError(f"{path}: cannot decode audio ({'; '.join(errors)})")
    if wav.size == 0:
        raise AudioDecodeError(f"{path}: no audio samples")
    if not np.all(np.isfinite(wav)):
        raise AudioDecodeError(f"{path}: audio contains NaN or infinite samples")
    return resample(wav, sr, sample_rate)


def resample(wav: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """High-quality resampling with soxr (a no-op when the rates match)."""
    if orig_sr == target_sr:
        return np.ascontiguousarray(wav, dtype=np.float32)
    import soxr

    return soxr.resample(wav.astype(np.float32), orig_sr, target_sr, quality="HQ").astype(
        np.float32
    )


def rescale_minmax(wav: np.ndarray) -> np.ndarray:
    """The authors' level normalisation: min-max rescale to [-1, 1] and round-trip via int16.

    Their training data was stored this way, so the published weights expect it. A constant
    (e.g. silent) signal would divide 0/0; it maps to zeros instead.
    """
    lo, hi = float(wav.min()), float(wav.max())
    if hi - lo < 1e-12:
        return np.zeros_like(wav, dtype=np.float32)
    x = (wav - lo) / (hi - lo) * 2.0 - 1.0
    return ((x * 32767.0).astype(np.int16) / 32767.0).astype(np.float32)


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
        return np.tile(wav, reps)[None, :n].astype(np.float32)
    starts = list(range(0, len(wav) - n + 1, n))
    if starts[-1] + n < len(wav):
        starts.append(len(wav) - n)
    return np.stack([wav[s : s + n] for s in starts]).astype(np.float32)


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

"""Audio file decoding to a mono float32 waveform: header limits checked before the body is
decoded, then block by block with the limits enforced as it comes, downmixed and resampled."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

SAMPLE_RATE = 22050  # the model's rate (TTMR++ release config), `load_audio`'s default
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


MAX_SECONDS = 3600.0  # longest audio `load_audio` decodes by default (whole tracks)
# Source sample rates outside this range are refused. No music is stored below 4 kHz (the
# lowest rate in real use is 8 kHz telephony), and a tiny declared rate is the cheapest
# memory bomb there is: 5,000 frames declared at 1 Hz are 110 M samples at 22.05 kHz. 768 kHz
# is the highest rate real converters run at (16 x 48 kHz); higher is not audio from a device.
MIN_SOURCE_RATE = 4_000
MAX_SOURCE_RATE = 768_000
MAX_CHANNELS = 64  # 7.1.4 is 12, 4th-order ambisonics 25; libsndfile's own ceiling is 1024
# Decoding work is bounded too: a file may hold at most `max_seconds` of 48 kHz stereo worth
# of source samples (frames x channels), so higher rates or more channels must be shorter
# (96 kHz stereo: half as long; 8 channels at 384 kHz: 1/32).
WORK_RATE = 48_000
WORK_CHANNELS = 2
# A stream may end up to this fraction short of the length its header promises: Vorbis and
# Opus granule positions, encoder padding and MP3 length estimates routinely disagree with
# what decodes by a few frames. A file cut off earlier than that is refused as truncated.
SHORTFALL = 0.10
BLOCK_SAMPLES = 1 << 18  # source samples (frames x channels) decoded at a time: 1 MiB float32
_UNKNOWN_FRAMES = 1 << 62  # libsndfile reports an unknown length as SF_COUNT_MAX

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


def _span(seconds: float) -> str:
    """A duration for people: 42.0 s, 12.5 min, 2.1 h."""
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _limit(max_seconds: float) -> str:
    return f"{max_seconds:g} s" if max_seconds < 120 else f"{max_seconds / 60:g} min"


def _check_header(
    path: Path, sr: int, channels: int, frames: int | None, max_seconds: float
) -> None:
    """Refuse, before any of the body is decoded, what a header says is out of bounds.

    `frames` is None when the header does not tell the length (decoding then enforces it).
    """
    if not MIN_SOURCE_RATE <= sr <= MAX_SOURCE_RATE:
        raise AudioDecodeError(
            f"{path}: sample rate {sr} Hz is outside the accepted "
            f"{MIN_SOURCE_RATE}..{MAX_SOURCE_RATE} Hz"
        )
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioDecodeError(f"{path}: {channels} channels; 1 to {MAX_CHANNELS} are accepted")
    if frames is None:
        return
    seconds = frames / sr
    if seconds > max_seconds:
        raise AudioDecodeError(
            f"{path}: too long ({_span(seconds)}; the limit is {_limit(max_seconds)})"
        )
    if frames * channels > _work_budget(max_seconds):
        raise AudioDecodeError(_too_much(path, sr, channels, seconds, max_seconds))


def _work_budget(max_seconds: float) -> int:
    return int(max_seconds * WORK_RATE * WORK_CHANNELS)


def _too_much(path: Path, sr: int, channels: int, seconds: float, max_seconds: float) -> str:
    return (
        f"{path}: too much audio to decode ({channels} channels at {sr} Hz for "
        f"{_span(seconds)}; the limit is {_limit(max_seconds)} of 48 kHz stereo)"
    )


class _Output:
    """The resampled waveform, collected in one array allocated from the header's length.

    Pages of the array that are never written cost no memory, so an overstated length is
    free; audio beyond the allocation (a stream longer than its header) is kept in pieces and
    joined at the end.
    """

    def __init__(self, capacity: int) -> None:
        self._buf = np.empty(max(0, capacity), dtype=np.float32)
        self._n = 0
        self._extra: list[np.ndarray] = []

    def append(self, x: np.ndarray) -> None:
        k = min(len(self._buf) - self._n, len(x))
        self._buf[self._n : self._n + k] = x[:k]
        self._n += k
        if k < len(x):
            self._extra.append(x[k:])

    def result(self) -> np.ndarray:
        if self._extra:
            return np.concatenate([self._buf[: self._n], *self._extra])
        if self._n < 0.9 * len(self._buf):  # do not hand back a much larger allocation
            return self._buf[: self._n].copy()
        return self._buf[: self._n]


class _Sink:
    """Mono blocks at the source rate in; enforces the limits as they come, resamples them
    with one soxr stream (the same numbers as resampling the whole track at once), keeps
    the output."""

    def __init__(
        self,
        path: Path,
        sr: int,
        target_sr: int,
        max_seconds: float,
        expected_frames: int | None,
    ) -> None:
        self.path, self.sr, self.target_sr, self.max_seconds = path, sr, target_sr, max_seconds
        self.frames = 0  # source frames decoded
        self.work = 0  # source samples decoded (frames x channels)
        self._max_frames = int(max_seconds * sr)
        self._budget = _work_budget(max_seconds)
        self._stream = None
        if sr != target_sr:
            import soxr

            self._stream = soxr.ResampleStream(sr, target_sr, 1, dtype="float32", quality="HQ")
        capacity = 0
        if expected_frames is not None:
            capacity = int(round(expected_frames * target_sr / sr)) + target_sr
        self._out = _Output(capacity)

    def consume(self, frames: int, channels: int) -> None:
        """Count decoded source audio; refuse once it passes a limit (a header can lie)."""
        self.frames += frames
        self.work += frames * channels
        if self.frames > self._max_frames:
            raise AudioDecodeError(
                f"{self.path}: too long (decoding passed the limit of {_limit(self.max_seconds)})"
            )
        if self.work > self._budget:
            raise AudioDecodeError(
                _too_much(self.path, self.sr, channels, self.frames / self.sr, self.max_seconds)
            )

    def push(self, mono: np.ndarray) -> None:
        if not np.all(np.isfinite(mono)):
            raise AudioDecodeError(f"{self.path}: audio contains NaN or infinite samples")
        if self._stream is not None:
            mono = self._stream.resample_chunk(mono, last=False)
        self._out.append(mono)

    def finish(self) -> np.ndarray:
        if self.frames == 0:
            raise AudioDecodeError(f"{self.path}: no audio samples")
        if self._stream is not None:
            self._out.append(self._stream.resample_chunk(np.zeros(0, np.float32), last=True))
            self._stream = None
        return self._out.result()


def _decode_soundfile(path: Path, target_sr: int, max_seconds: float) -> np.ndarray:
    import soundfile as sf
    from soundfile import _ffi, _snd

    info = sf.info(str(path), verbose=True)
    if info.format in ("WAV", "WAVEX", "RF64"):
        _check_wav_complete(path, info.extra_info)
    with sf.SoundFile(str(path)) as f:
        sr, channels = f.samplerate, f.channels
        promised = f.frames if 0 < f.frames < _UNKNOWN_FRAMES else None
        _check_header(path, sr, channels, promised, max_seconds)
        sink = _Sink(path, sr, target_sr, max_seconds, promised)
        block = np.empty((max(1024, BLOCK_SAMPLES // channels), channels), dtype=np.float32)
        ptr = _ffi.cast("float *", block.ctypes.data)
        while True:
            # libsndfile directly: SoundFile.read seeks after every read, and that seek
            # fails at the real end of a stream shorter than its header says (FLAC).
            n = _snd.sf_readf_float(f._file, ptr, len(block))
            if n <= 0:
                break
            sink.consume(n, channels)
            sink.push(block[:n].mean(axis=1))
        if _snd.sf_error(f._file):
            err = _ffi.string(_snd.sf_strerror(f._file)).decode("utf-8", "replace")
            raise RuntimeError(err)
    # libsndfile returns what it could read from a cut-off file without raising; a stream
    # far shorter than its header promises is a truncated file. A little short is normal.
    if promised is not None and sink.frames < promised * (1 - SHORTFALL):
        raise AudioDecodeError(
            f"{path}: truncated file (header promises {promised} frames, decoded {sink.frames})"
        )
    return sink.finish()


def _layout_channels(layout) -> int:
    """A PyAV channel layout's channel count (`nb_channels` appeared in PyAV 13)."""
    return getattr(layout, "nb_channels", None) or len(layout.channels)


def _decode_av(path: Path, target_sr: int, max_seconds: float) -> np.ndarray:
    """FFmpeg (via PyAV) for what libsndfile cannot read, e.g. m4a/aac; frame by frame."""
    import av

    with av.open(str(path)) as container:
        stream = next((s for s in container.streams if s.type == "audio"), None)
        if stream is None:
            raise AudioDecodeError(f"{path}: no audio stream")
        sr = stream.codec_context.sample_rate
        channels = _layout_channels(stream.codec_context.layout)
        seconds = None
        if stream.duration and stream.time_base:
            seconds = float(stream.duration * stream.time_base)
        elif container.duration:
            seconds = container.duration / 1_000_000
        promised = int(seconds * sr) if seconds else None
        _check_header(path, sr, channels, promised, max_seconds)
        sink = _Sink(path, sr, target_sr, max_seconds, promised)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sr)
        for frame in container.decode(stream):
            sink.consume(frame.samples, _layout_channels(frame.layout))
            for out in resampler.resample(frame):
                sink.push(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            sink.push(out.to_ndarray().reshape(-1))
    return sink.finish()


def load_audio(
    path: str | os.PathLike,
    sample_rate: int = SAMPLE_RATE,
    *,
    max_seconds: float = MAX_SECONDS,
) -> np.ndarray:
    """Decode an audio file to a mono float32 waveform at `sample_rate`.

    Tries libsndfile (wav, flac, ogg/vorbis, opus, mp3) first, then FFmpeg through PyAV.
    The header is checked before the body is decoded: a source rate of
    `MIN_SOURCE_RATE`..`MAX_SOURCE_RATE` Hz, at most `MAX_CHANNELS` channels, at most
    `max_seconds` long, and at most `max_seconds` of 48 kHz stereo worth of samples
    (frames x channels). The body is then decoded block by block, each block downmixed and
    resampled as it comes, and decoding stops as soon as the audio passes those limits
    whatever the header said. Peak memory is therefore the output (at most
    `max_seconds * sample_rate` float32 samples; twice that while joining when the header
    does not tell the length) plus one block of `BLOCK_SAMPLES` source samples, whatever the
    source's rate, channel count or length. A stream a little shorter or longer than its
    header promises is accepted (up to `SHORTFALL` short).

    Args:
        path: the audio file.
        sample_rate: the rate of the returned waveform.
        max_seconds: the longest audio accepted (`MAX_SECONDS`, an hour, by default); an
            app taking queries passes its own, shorter limit.

    Raises:
        AudioDecodeError: naming the file, for missing, empty, undecodable, truncated,
            zero-length or out-of-limits audio.
    """
    if max_seconds <= 0:
        raise ValueError(f"max_seconds must be positive, not {max_seconds}")
    path = Path(path)
    if not path.is_file():
        raise AudioDecodeError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise AudioDecodeError(f"{path}: empty file")
    errors = []
    for decode in (_decode_soundfile, _decode_av):
        try:
            return decode(path, sample_rate, max_seconds)
        except AudioDecodeError:
            raise
        except Exception as exc:  # decoders raise many types; all mean "cannot read this"
            errors.append(f"{decode.__name__.removeprefix('_decode_')}: {exc}")
    raise AudioDecodeError(f"{path}: cannot decode audio ({'; '.join(errors)})")


def resample(wav: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """High-quality resampling with soxr (a no-op when the rates match)."""
    if orig_sr == target_sr:
        return np.ascontiguousarray(wav, dtype=np.float32)
    import soxr

    return soxr.resample(wav.astype(np.float32), orig_sr, target_sr, quality="HQ").astype(
        np.float32
    )

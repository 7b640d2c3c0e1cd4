"""Crafted audio files for the decoder's hardening tests, and a probe that decodes one in a
child process and reports its peak memory.

Memory bombs (headers that make a few KB decode to gigabytes), a long real track, files whose
header promises more or fewer frames than the stream holds; all written with soundfile and,
where a header has to lie, patched byte by byte (Ogg page CRCs recomputed).
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[2]


def write_rate_bomb_wav(path: Path, frames: int = 5_000, sample_rate: int = 1) -> Path:
    """A 10 KB 16-bit mono WAV declaring 1 Hz: 5,000 s of audio, 110 M samples at 22.05 kHz."""
    noise = 0.1 * np.random.default_rng(0).standard_normal(frames)
    sf.write(str(path), noise.astype(np.float32), sample_rate, subtype="PCM_16")
    return path


def write_silent_flac(
    path: Path, seconds: float = 120.0, sample_rate: int = 384_000, channels: int = 8
) -> Path:
    """A real FLAC of silence, written a second at a time: by default 2 minutes at 384 kHz in
    8 channels, about 1.4 MB on disk and 1.5 GB as float32."""
    block = np.zeros((sample_rate, channels), dtype=np.int16)
    with sf.SoundFile(str(path), "w", sample_rate, channels, format="FLAC", subtype="PCM_16") as f:
        whole, rest = divmod(int(round(seconds * sample_rate)), sample_rate)
        for _ in range(whole):
            f.write(block)
        f.write(block[:rest])
    return path


def write_long_flac(
    path: Path, seconds: float = 600.0, sample_rate: int = 44_100, channels: int = 2
) -> Path:
    """A long track (by default 10 minutes of 44.1 kHz stereo): a tone that changes every
    10 s over a little noise, written 10 s at a time so the writer never holds the track."""
    rng = np.random.default_rng(0)
    step = 10 * sample_rate
    t = np.arange(step) / sample_rate
    total = int(round(seconds * sample_rate))
    with sf.SoundFile(str(path), "w", sample_rate, channels, format="FLAC", subtype="PCM_16") as f:
        for i, start in enumerate(range(0, total, step)):
            n = min(step, total - start)
            tone = 0.3 * np.sin(2 * np.pi * (220.0 + 20.0 * (i % 24)) * t[:n])
            gains = np.linspace(1.0, 0.5, channels)
            block = tone[:, None] * gains + 0.01 * rng.standard_normal((n, channels))
            f.write((block * 32767).astype(np.int16))
    return path


def _ogg_crc_table() -> list[int]:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else r << 1
        table.append(r & 0xFFFFFFFF)
    return table


_CRC_TABLE = _ogg_crc_table()


def ogg_crc(page: bytes) -> int:
    """The Ogg page checksum: CRC-32, polynomial 0x04C11DB7, no reflection, initial 0,
    computed over the page with its checksum field zeroed."""
    crc = 0
    for byte in page:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC_TABLE[((crc >> 24) & 0xFF) ^ byte]
    return crc


def ogg_pages(data: bytes) -> list[tuple[int, int]]:
    """(offset, length) of every page of an Ogg file."""
    pages, i = [], 0
    while i < len(data):
        if data[i : i + 4] != b"OggS":
            raise ValueError(f"no Ogg page at byte {i}")
        segments = data[i + 26]
        lacing = data[i + 27 : i + 27 + segments]
        length = 27 + segments + sum(lacing)
        pages.append((i, length))
        i += length
    return pages


def overstate_ogg_length(path: Path, extra: int) -> tuple[int, int]:
    """Raise the final page's granule position by `extra` (in the codec's granule units: the
    sample rate for Vorbis, 48 kHz for Opus) and fix its CRC, so the header promises more
    than the stream holds. Returns the (old, new) granule positions."""
    data = bytearray(Path(path).read_bytes())
    offset, length = ogg_pages(bytes(data))[-1]
    (granule,) = struct.unpack_from("<q", data, offset + 6)
    struct.pack_into("<q", data, offset + 6, granule + extra)
    data[offset + 22 : offset + 26] = b"\0\0\0\0"
    struct.pack_into("<I", data, offset + 22, ogg_crc(bytes(data[offset : offset + length])))
    Path(path).write_bytes(bytes(data))
    return granule, granule + extra


def write_overstated_ogg(
    path: Path, subtype: str = "VORBIS", seconds: float = 3.0, extra: int = 3_000
) -> Path:
    """A real Ogg Vorbis or Opus stereo file (music-like tones) whose final granule position
    promises `extra` more frames than the stream holds, as some real game soundtracks do."""
    sr = 48_000 if subtype == "OPUS" else 44_100
    t = np.arange(int(seconds * sr)) / sr
    tone = 0.3 * np.sin(2 * np.pi * 440 * t) * np.exp(-((t % 0.5) * 4))
    stereo = np.stack([tone, 0.5 * tone], axis=1).astype(np.float32)
    sf.write(str(path), stereo, sr, format="OGG", subtype=subtype)
    overstate_ogg_length(path, extra)
    return path


def set_flac_total_samples(path: Path, total: int) -> None:
    """Rewrite STREAMINFO's 36-bit total-samples field (0 means "unknown" in FLAC)."""
    data = bytearray(Path(path).read_bytes())
    if data[:4] != b"fLaC" or data[4] & 0x7F != 0:
        raise ValueError(f"{path}: not a FLAC file starting with STREAMINFO")
    # STREAMINFO starts at byte 8; its bytes 10..17 pack rate(20) channels(3) bits(5) total(36).
    (packed,) = struct.unpack_from(">Q", data, 18)
    mask = (1 << 36) - 1
    struct.pack_into(">Q", data, 18, (packed & ~mask) | (total & mask))
    Path(path).write_bytes(bytes(data))


_CHILD = r"""
import json, sys, time

args = json.loads(sys.argv[1])


def status_mb(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise KeyError(key)


import av, numpy, soundfile, soxr  # noqa: F401,E401  (loaded before the baseline)
from ttmrpp.model.audio import AudioDecodeError, load_audio

kw = {} if args["max_seconds"] is None else {"max_seconds": args["max_seconds"]}
if args["embed"]:
    import torch
    import ttmrpp
    from ttmrpp.model.embed import embed_audio_files

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = ttmrpp.create_model("ttmrpp-tiny")

    def run():
        embs, failures = embed_audio_files(model, [args["path"]], progress=False, num_workers=1)
        if failures:
            raise AudioDecodeError(failures[0][1])
        return int(embs.shape[0])
else:
    def run():
        return int(len(load_audio(args["path"], args["sample_rate"], **kw)))

try:  # reset the high-water mark to the current size (Linux >= 4.0)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = status_mb("VmRSS")
except OSError:
    base = status_mb("VmHWM")
start = time.perf_counter()
try:
    out, accepted, message = run(), True, ""
except AudioDecodeError as exc:
    out, accepted, message = None, False, str(exc)
seconds = time.perf_counter() - start
print(json.dumps({
    "accepted": accepted,
    "message": message,
    "output": out,
    "rss_growth_mb": round(status_mb("VmHWM") - base, 1),
    "seconds": round(seconds, 3),
}))
"""


def probe_in_child(
    path: Path,
    *,
    sample_rate: int = 22_050,
    max_seconds: float | None = None,
    embed: bool = False,
    timeout: float = 300.0,
) -> dict:
    """Decode (or, with `embed`, embed with the tiny model) one file in a fresh Python process.

    Returns {accepted, message, output (samples decoded, or embeddings made), rss_growth_mb
    (peak resident memory during the call over the resident memory before it), seconds}.
    """
    args = {
        "path": str(path),
        "sample_rate": sample_rate,
        "max_seconds": max_seconds,
        "embed": embed,
    }
    pythonpath = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=pythonpath)
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(args)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"probe of {path} failed ({proc.returncode}):\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])

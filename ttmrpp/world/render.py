"""Render MIDI with a General MIDI soundfont (tinysoundfont) and a light, varied production chain."""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pretty_midi
from scipy import fft as sp_fft
from scipy import signal

DRUM_CHANNEL = 9
# Optional Debian soundfonts (fluid-soundfont-gm, musescore-general-soundfont-small).
EXTRA_SOUNDFONTS = (
    Path("/usr/share/sounds/sf3/MuseScore_General_Lite.sf3"),
    Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
)


def default_soundfont() -> Path:
    """TimGM6mb, the small GM soundfont that ships inside the pretty_midi package."""
    return Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"


def available_soundfonts() -> list[Path]:
    """TimGM6mb plus any optional Debian GM soundfonts installed on this machine."""
    return [default_soundfont()] + [p for p in EXTRA_SOUNDFONTS if p.is_file()]


@lru_cache(maxsize=4)
def _synth(path: str, sample_rate: int):
    """One synthesizer per (soundfont, rate) and process: loading a soundfont costs ~15 ms."""
    import tinysoundfont

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"soundfont not found: {p}")
    synth = tinysoundfont.Synth(samplerate=sample_rate, gain=-6.0)
    sfid = synth.sfload(p.read_bytes())
    return synth, sfid


def _reset(synth) -> None:
    """Silence every voice and reset every controller, so each render starts from scratch."""
    for ch in range(16):
        synth.sounds_off(ch)
        synth.control_change(ch, 121, 0)  # reset all controllers
        synth.pitchbend(ch, 8192)
    synth.generate_simple(4096)  # "sounds off" is a quick release, not a cut: let it finish


@dataclass(frozen=True)
class Production:
    """A light mix/master chain: reverb send, tilt EQ, bus compression and output level."""

    reverb_wet: float = 0.15  # reverb return level relative to the dry mix
    reverb_seconds: float = 1.2  # RT60 of the synthetic room
    low_gain_db: float = 0.0  # shelf below ~200 Hz
    high_gain_db: float = 0.0  # shelf above ~4 kHz
    level_db: float = -16.0  # output RMS level in dBFS
    compress: float = 0.5  # 0 = none, 1 = heavy bus compression

    @classmethod
    def random(cls, rng: random.Random, genre_name: str = "") -> Production:
        """Vary the production a little per track; roomy for orchestral/ambient, dry for hip hop."""
        wet = {
            "orchestral": 0.32,
            "ambient": 0.38,
            "jazz": 0.16,
            "hip hop": 0.07,
            "funk": 0.08,
            "metal": 0.1,
            "techno": 0.12,
        }.get(genre_name, 0.15)
        rt = {"orchestral": 2.2, "ambient": 2.8, "waltz": 1.8}.get(genre_name, 1.2)
        comp = {"orchestral": 0.15, "ambient": 0.1, "jazz": 0.25, "bossa nova": 0.25}.get(
            genre_name, 0.6
        )
        return cls(
            reverb_wet=wet * rng.uniform(0.6, 1.4),
            reverb_seconds=rt * rng.uniform(0.7, 1.3),
            low_gain_db=rng.uniform(-2.0, 3.0),
            high_gain_db=rng.uniform(-3.0, 2.5),
            level_db=rng.uniform(-19.0, -14.0),
            compress=comp * rng.uniform(0.6, 1.3),
        )


# Parts that go through a guitar amp model (drive) on their own bus, as a real rig would.
AMP_PARTS = {"overdriven guitar": 4.0, "distorted guitar": 7.0}


def synthesize(
    pm: pretty_midi.PrettyMIDI,
    sample_rate: int,
    seconds: float | None = None,
    soundfont: Path | None = None,
    tail: float = 1.5,
) -> np.ndarray:
    """Render `pm` with tinysoundfont into a mono float32 array (no master production).

    Guitars named in `AMP_PARTS` are rendered on a separate bus through an amp model.

    Args:
        seconds: exact output length; default: the end of the last note plus `tail`.
    """
    synth, sfid = _synth(str(soundfont or default_soundfont()), int(sample_rate))
    total = int(round((seconds if seconds is not None else pm.get_end_time() + tail) * sample_rate))
    buses: dict[float, list[pretty_midi.Instrument]] = {}
    for inst in pm.instruments:
        if inst.notes:
            buses.setdefault(0.0 if inst.is_drum else AMP_PARTS.get(inst.name, 0.0), []).append(
                inst
            )
    out = np.zeros(total, dtype=np.float32)
    for drive in sorted(buses):
        x = _render_bus(synth, sfid, buses[drive], sample_rate, total)
        out += _amp(x, sample_rate, drive) if drive else x
    return out


def _render_bus(synth, sfid: int, instruments: list, sample_rate: int, total: int) -> np.ndarray:
    _reset(synth)
    events: list[tuple[int, int, int, int, int]] = []  # sample, order (off before on), ch, key, vel
    ch = 0
    for inst in instruments:
        if inst.is_drum:
            channel = DRUM_CHANNEL
            synth.program_select(channel, sfid, 128, inst.program, is_drums=True)
        else:
            if ch == DRUM_CHANNEL:
                ch += 1
            if ch > 15:
                raise ValueError(
                    "more than 15 melodic parts cannot be rendered on 16 MIDI channels"
                )
            channel = ch
            ch += 1
            synth.program_select(channel, sfid, 0, inst.program)
        for cc in inst.control_changes:
            if cc.time <= 0:
                synth.control_change(channel, cc.number, cc.value)
        for n in inst.notes:
            events.append((int(n.start * sample_rate), 1, channel, n.pitch, n.velocity))
            events.append((int(n.end * sample_rate), 0, channel, n.pitch, 0))
    events.sort()
    buf = memoryview(bytearray(total * 8))  # interleaved stereo float32
    pos = 0
    for at, on, channel, key, vel in events:
        at = min(at, total)
        if at > pos:
            synth.generate_simple(at - pos, buffer=buf[pos * 8 : at * 8])
            pos = at
        if at >= total:
            break
        if on:
            synth.noteon(channel, key, vel)
        else:
            synth.noteoff(channel, key)
    if pos < total:
        synth.generate_simple(total - pos, buffer=buf[pos * 8 : total * 8])
    stereo = np.frombuffer(buf, dtype=np.float32)
    return (stereo[0::2] + stereo[1::2]) * np.float32(0.5)


def _amp(x: np.ndarray, sample_rate: int, drive: float) -> np.ndarray:
    """Guitar amp model: tighten the lows, drive a soft clipper, then a 4x12-like cabinet band."""
    rms = float(np.sqrt(np.mean(x**2)))
    if rms == 0:
        return x
    pre = signal.butter(2, 150, "highpass", fs=sample_rate, output="sos")
    y = np.tanh(drive * signal.sosfilt(pre, x) / (3 * rms))
    cab = signal.butter(
        3, [90, min(4800, 0.45 * sample_rate)], "bandpass", fs=sample_rate, output="sos"
    )
    y = signal.sosfilt(cab, y)
    return (y * (rms / (np.sqrt(np.mean(y**2)) + 1e-12))).astype(np.float32)


def _room_impulse(rng: np.random.Generator, sample_rate: int, rt60: float) -> np.ndarray:
    n = int(sample_rate * min(rt60, 2.0))  # the tail beyond 2 s is inaudible under the mix
    t = np.arange(n) / sample_rate
    ir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    sos = signal.butter(2, min(0.45 * sample_rate, 5000), "lowpass", fs=sample_rate, output="sos")
    ir = signal.sosfilt(sos, ir)
    pre = int(0.02 * sample_rate)
    ir = np.concatenate([np.zeros(pre), ir])
    return (ir / np.sqrt(np.sum(ir**2) + 1e-12)).astype(np.float32)


def produce(x: np.ndarray, sample_rate: int, prod: Production, seed: int) -> np.ndarray:
    """Apply the production chain to a dry mono mix; deterministic for a given seed.

    Reverb and EQ are applied together in one FFT pass (linear-phase tilt EQ), then a
    feed-forward RMS compressor, output level and a soft limiter.
    """
    x = np.asarray(x, dtype=np.float32)
    if not np.any(x):
        return x
    rng = np.random.default_rng(seed)
    ir = _room_impulse(rng, sample_rate, prod.reverb_seconds)
    n = len(x) + len(ir)
    n = sp_fft.next_fast_len(n, real=True)
    f = np.fft.rfftfreq(n, 1.0 / sample_rate)
    low = 1.0 / np.sqrt(1.0 + (f / 200.0) ** 4)  # 2nd-order Butterworth magnitudes
    high = 1.0 / np.sqrt(1.0 + (4000.0 / np.maximum(f, 1e-3)) ** 4)
    eq = (
        1.0
        + (10 ** (prod.low_gain_db / 20) - 1) * low
        + (10 ** (prod.high_gain_db / 20) - 1) * high
    )
    eq = eq.astype(np.float32)
    X = sp_fft.rfft(x, n)  # complex64: float32 in, float32 out
    W = X * sp_fft.rfft(ir, n)
    # Wet level relative to the dry mix by energy (Parseval), so `reverb_wet` means the same
    # for every room.
    e_dry = float(np.vdot(X, X).real)
    e_wet = float(np.vdot(W, W).real)
    wet_gain = np.float32(prod.reverb_wet * np.sqrt(e_dry / (e_wet + 1e-12)))
    W *= wet_gain
    W += X
    W *= eq
    y = sp_fft.irfft(W, n)[: len(x)]
    if prod.compress > 0:
        a = np.exp(-1.0 / (0.03 * sample_rate))  # 30 ms RMS envelope
        env = np.sqrt(signal.lfilter([1 - a], [1, -a], y * y) + 1e-12).astype(np.float32)
        thr = np.sqrt(np.mean(y**2)) * 1.2
        ratio = 1 + 3 * prod.compress
        y = y * np.minimum(1.0, (env / thr) ** (1 / ratio - 1))
    rms = np.sqrt(np.mean(y**2)) + 1e-9
    y = y * (10 ** (prod.level_db / 20) / rms)
    return (np.tanh(y * 1.1) / 1.1).astype(np.float32)  # soft limiter keeps peaks under 0 dBFS

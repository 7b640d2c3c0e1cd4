"""Rendering with tinysoundfont (TimGM6mb from pretty_midi, offline): the right length, rate and
pitch, silence where nothing plays, repeatable renders; the production chain's level and limits."""

from __future__ import annotations

import random

import numpy as np
import pretty_midi
import pytest

from ttmrpp.world.render import (
    Production,
    available_soundfonts,
    default_soundfont,
    produce,
    synthesize,
)

SR = 16000


def _midi(*parts: tuple[int, bool, list[tuple[int, float, float]]]) -> pretty_midi.PrettyMIDI:
    """PrettyMIDI from (program, is_drum, [(pitch, start, end), ...]) parts."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    for program, is_drum, notes in parts:
        inst = pretty_midi.Instrument(program=program, is_drum=is_drum, name="x")
        inst.notes = [pretty_midi.Note(100, p, s, e) for p, s, e in notes]
        pm.instruments.append(inst)
    return pm


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def _peak_hz(x: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / sr)[np.argmax(spec)])


def test_the_shipped_soundfont_is_found_offline():
    sf = default_soundfont()
    assert sf.is_file() and sf.name == "TimGM6mb.sf2"
    assert available_soundfonts()[0] == sf


@pytest.mark.parametrize("program", [0, 73])  # piano, flute
def test_a_note_sounds_at_its_pitch_and_only_while_it_plays(program):
    pm = _midi((program, False, [(69, 0.5, 1.5)]))  # A4
    y = synthesize(pm, SR)
    assert y.dtype == np.float32 and np.isfinite(y).all()
    assert len(y) == round((1.5 + 1.5) * SR)  # the end of the last note plus the tail
    assert _rms(y[: int(0.45 * SR)]) < 1e-4  # silence before the onset
    held = y[int(0.6 * SR) : int(1.4 * SR)]
    assert _rms(held) > 1e-3
    assert _peak_hz(held, SR) == pytest.approx(440.0, rel=0.01)
    assert _rms(y[-int(0.3 * SR) :]) < 0.2 * _rms(held)  # the release dies away


def test_lengths_rates_and_silence():
    pm = _midi((0, False, [(60, 0.0, 0.5), (64, 0.25, 1.0)]))
    for sr, seconds in ((8000, 0.3), (22050, 2.0), (16000, 1.234)):
        y = synthesize(pm, sr, seconds=seconds)
        assert len(y) == round(seconds * sr) and np.isfinite(y).all()
    c5 = _midi((0, False, [(72, 0.0, 1.0)]))
    for sr in (16000, 22050):
        y = synthesize(c5, sr, seconds=1.0)[: int(0.8 * sr)]
        assert _peak_hz(y, sr) == pytest.approx(523.25, rel=0.01)  # the rate is the real rate
    empty = synthesize(_midi(), SR, seconds=1.0)
    assert len(empty) == SR and not empty.any()


def test_renders_repeat_exactly_whatever_was_rendered_before():
    song = _midi((33, False, [(40, 0.0, 0.4), (43, 0.5, 0.9)]), (0, True, [(36, 0.0, 0.1)]))
    first = synthesize(song, SR, seconds=1.0)
    synthesize(_midi((48, False, [(60, 0.0, 3.0)])), SR, seconds=1.0)  # leaves voices ringing
    assert np.array_equal(synthesize(song, SR, seconds=1.0), first)


def test_drums_play_on_the_percussion_channel():
    kick = synthesize(_midi((0, True, [(36, 0.0, 0.2)])), SR, seconds=0.5)
    snare = synthesize(_midi((0, True, [(38, 0.0, 0.2)])), SR, seconds=0.5)
    assert _rms(kick) > 1e-3 and _rms(snare) > 1e-3
    assert not np.allclose(kick, snare)  # keys are drums, not pitches of one instrument


def test_too_many_melodic_parts_are_refused():
    pm = _midi(*[(i, False, [(60, 0.0, 0.1)]) for i in range(16)])
    with pytest.raises(ValueError, match="16 MIDI channels"):
        synthesize(pm, SR, seconds=0.2)


def test_production_is_seeded_levelled_and_limited():
    dry = synthesize(_midi((0, False, [(60, 0.0, 1.0), (67, 0.5, 2.0)])), SR, seconds=2.0)
    for seed in range(4):
        prod = Production.random(random.Random(seed), "pop")
        y = produce(dry, SR, prod, seed)
        assert len(y) == len(dry) and y.dtype == np.float32 and np.isfinite(y).all()
        level = 20 * np.log10(_rms(y))
        assert prod.level_db - 1.5 <= level <= prod.level_db + 0.01  # the limiter only lowers
        assert np.abs(y).max() < 1 / 1.1  # soft limiter: never reaches full scale
        assert np.array_equal(produce(dry, SR, prod, seed), y)
    assert not np.array_equal(produce(dry, SR, prod, 1), produce(dry, SR, prod, 2))  # the room
    silent = np.zeros(SR, dtype=np.float32)
    assert not produce(silent, SR, Production(), 0).any()


def test_productions_suit_the_genre():
    for seed in range(20):
        rng = random.Random(seed)
        room, dry = Production.random(rng, "orchestral"), Production.random(rng, "hip hop")
        assert room.reverb_wet > dry.reverb_wet and room.reverb_seconds > dry.reverb_seconds
        assert room.compress < dry.compress
        for p in (room, dry):
            assert -19 <= p.level_db <= -14 and -2 <= p.low_gain_db <= 3

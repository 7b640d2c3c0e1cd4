"""The grid parts are written on: 16th steps in seconds, swing, humanised notes kept playable,
and strummed chords."""

from __future__ import annotations

import pytest

from tests.helpers.world import exact_spec, part, writer
from ttmrpp.world.parts import low_pitch, strum


def test_straight_grid_is_sixteenth_notes_at_the_tempo():
    w = writer(exact_spec("pop", bpm=120.0))
    assert w.step == pytest.approx(0.125) and w.steps_per_bar == 16
    for bar in range(3):
        for step in range(17):
            assert w.time(bar, step) == pytest.approx((16 * bar + step) * 0.125)
    waltz = writer(exact_spec("waltz", bpm=90.0))
    assert waltz.steps_per_bar == 12 and waltz.time(1, 0) == pytest.approx(2.0)


@pytest.mark.parametrize("genre, unit", [("jazz", 2), ("funk", 1)])  # swung 8ths, swung 16ths
def test_swing_delays_the_off_beat_and_leaves_the_beat(genre, unit):
    sw = 1 / 3
    w = writer(exact_spec(genre, bpm=100.0, swing=sw))
    straight = writer(exact_spec(genre, bpm=100.0))
    for bar in (0, 2):
        for pair in range(16 // (2 * unit)):
            on = pair * 2 * unit
            assert w.time(bar, on) == pytest.approx(straight.time(bar, on))  # the beat holds
            late = w.time(bar, on + unit) - straight.time(bar, on + unit)
            assert late == pytest.approx(sw * unit * w.step)  # triplet feel: 2/3 through
    assert w.time(0, 1.5 * unit) > straight.time(0, 1.5 * unit)


def test_notes_stay_playable_whatever_is_asked():
    spec = exact_spec("pop")
    spec.humanize = 0.05  # wild timing: the first note may be pulled before zero
    w = writer(spec, seed=3)
    p = part("piano")
    for vel in (-40, 64, 500):  # velocity noise has a standard deviation of 5
        w.note(p, 0, 0, 0.01, 60, vel)
    assert [n.velocity for n in p.notes][::2] == [1, 127] and 40 < p.notes[1].velocity < 90
    assert all(n.start >= 0 and n.end > n.start for n in p.notes)
    assert all(n.end - n.start >= 0.03 - 1e-9 for n in p.notes if n.start > 0)  # audible length
    assert all(isinstance(n.pitch, int) for n in p.notes)


def test_low_pitch_is_the_lowest_of_its_class_at_or_above_the_floor():
    for pc in range(12):
        for low in range(20, 60):
            p = low_pitch(pc, low)
            assert p % 12 == pc and low <= p < low + 12


def test_strum_rolls_a_chord_in_the_order_given():
    spec = exact_spec("country")
    w = writer(spec)
    chord = [52, 56, 59, 64, 68]
    guitar = part("acoustic guitar")
    strum(w, guitar, 1, 4, 2, chord, 80, 0.012)
    starts = [n.start for n in guitar.notes]
    assert [n.pitch for n in guitar.notes] == chord
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert all(0.7 * 0.012 - 1e-9 <= g <= 1.3 * 0.012 + 1e-9 for g in gaps)
    assert starts[0] == pytest.approx(w.time(1, 4))
    block = part("piano")
    strum(w, block, 0, 0, 4, chord, 80, 0.0)
    assert len({n.start for n in block.notes}) == 1  # no spread: a struck block chord

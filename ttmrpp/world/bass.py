"""Bass lines: how the bass player of each style plays one bar over its chord.

A style is a function from a `BassBar` (the bar's root, third and fifth in the bass register,
the next chord's root, the grid) to the notes to play; `bass_bar` folds them into the
instrument's range and writes them through the track's `Writer`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import pretty_midi

from ttmrpp.world import instruments as I
from ttmrpp.world.parts import Writer, low_pitch
from ttmrpp.world.theory import Chord, Key

BassNote = tuple[float, float, int, float]  # 16th step, duration in steps, pitch, velocity factor


@dataclass(frozen=True)
class BassBar:
    """The pitches and grid one bar of bass line is built from."""

    root: int  # the chord's root in the bass register
    third: int
    fifth: int  # above the root, or the fourth below where the fifth would leave the range
    next_root: int  # the next chord's root, for approach notes
    inst: I.Instrument
    steps: int  # 16th steps in the bar
    bar: int  # bar index in the track
    rng: random.Random


def bass_bar(
    w: Writer,
    part: pretty_midi.Instrument,
    bar: int,
    chord: Chord,
    nxt: Chord,
    key: Key,
    level: float,
    last: bool,
) -> None:
    """One bar of the genre's bass line over `chord`, leading to `nxt`; `last` holds the root."""
    inst = I.instrument(part.name)
    r = low_pitch(chord.root, max(28, inst.low))
    fifth = r + 7 if r + 7 <= inst.high else r - 5
    third = r + chord.intervals[1]
    nr = low_pitch(nxt.root, max(28, inst.low))
    v = 96 * level
    style = w.g.bass
    spb = w.steps_per_bar
    if last:
        w.note(part, bar, 0, spb, r, v)
        return
    try:
        line = BASS_LINES[style]
    except KeyError:
        raise ValueError(f"unknown bass style {style!r}") from None
    notes = line(BassBar(r, third, fifth, nr, inst, spb, bar, w.rng))
    for st, dur, p, f in notes:
        if st < spb:
            while p > inst.high:
                p -= 12
            while p < inst.low:
                p += 12
            w.note(part, bar, st, dur, p, v * f, offset=0.004)


def _root8(b: BassBar) -> list[BassNote]:
    """Driving eighth notes on the root, a fifth now and then at the end of the bar."""
    notes = [(s, 1.7, b.root, 1.0 if s % 4 == 0 else 0.85) for s in range(0, b.steps, 2)]
    notes[-1] = (b.steps - 2, 1.7, b.fifth if b.rng.random() < 0.4 else b.root, 0.85)
    return notes


def _gallop(b: BassBar) -> list[BassNote]:
    """The metal gallop: an eighth and two sixteenths on every beat."""
    return [
        (s + o, 0.9, b.root, 1.0 if o == 0 else 0.8)
        for s in range(0, b.steps, 4)
        for o in (0, 2, 3)
    ]


def _pop(b: BassBar) -> list[BassNote]:
    """Root, fifth and octave, with a chromatic step into the next chord."""
    r, nr, high = b.root, b.next_root, b.inst.high
    return [
        (0, 3, r, 1.0),
        (6, 1.8, r, 0.8),
        (8, 3, b.fifth if b.rng.random() < 0.5 else r, 0.9),
        (12, 1.8, r + 12 if r + 12 <= high else r, 0.8),
        (14, 1.8, nr + (1 if nr < r else -1), 0.75),
    ]


def _walking(b: BassBar) -> list[BassNote]:
    """Walking quarters: root, two chord tones, an approach note to the next root."""
    r = b.root
    chord_tones = [r, b.third, b.fifth, r + 12 if r + 12 <= b.inst.high else b.third]
    approach = b.next_root + b.rng.choice((-1, 1, -2))
    return [
        (0, 3.6, r, 1.0),
        (4, 3.6, b.rng.choice(chord_tones[1:]), 0.85),
        (8, 3.6, b.rng.choice(chord_tones[1:]), 0.9),
        (12, 3.6, approach, 0.85),
    ]


def _shuffle(b: BassBar) -> list[BassNote]:
    """The boogie-woogie line up and down the sixth and flat seventh."""
    pat = (0, 4, 7, 9, 10, 9, 7, 4)
    return [(s * 2, 1.8, b.root + pat[s], 1.0 if s % 2 == 0 else 0.8) for s in range(8)]


def _bossa(b: BassBar) -> list[BassNote]:
    """Root and fifth in the dotted bossa nova rhythm."""
    r, fifth = b.root, b.fifth
    return [(0, 5, r, 1.0), (6, 1.8, fifth, 0.8), (8, 5, fifth, 0.9), (14, 1.8, r, 0.8)]


def _reggae(b: BassBar) -> list[BassNote]:
    """The one-drop line: it leaves the downbeat empty."""
    r = b.root
    return [
        (2, 1.8, r, 0.95),
        (4, 1.5, r, 0.8),
        (7, 1, b.third, 0.75),
        (8, 3, b.fifth, 0.9),
        (12, 2, r + 12 if r + 12 <= b.inst.high else r, 0.8),
    ]


def _funk(b: BassBar) -> list[BassNote]:
    """Syncopated sixteenths with octave pops and ghost notes."""
    r = b.root
    oct_ = r + 12 if r + 12 <= b.inst.high + 5 else r
    return [
        (0, 1, r, 1.1),
        (3, 0.6, oct_, 0.7),
        (6, 1, r, 0.9),
        (7, 0.5, r, 0.4),
        (10, 1, r + 10, 0.85),
        (11, 0.5, oct_, 0.6),
        (12, 1, r, 0.95),
        (14, 0.6, b.fifth, 0.8),
    ]


def _808(b: BassBar) -> list[BassNote]:
    """Long 808 notes under a hip hop beat."""
    r = b.root
    return [
        (0, 6.5, r, 1.0),
        (7, 2.5, r, 0.85),
        (10, 5.5, r if b.rng.random() < 0.6 else b.fifth, 0.9),
    ]


def _house(b: BassBar) -> list[BassNote]:
    """Off-beat root and octave between the four-on-the-floor kicks."""
    r = b.root
    return [(s, 1.4, r if (s // 4) % 2 == 0 else r + 12, 0.95) for s in (2, 6, 10, 14)]


def _techno(b: BassBar) -> list[BassNote]:
    """Two sixteenths after every kick."""
    return [
        (s, 0.9, b.root, 0.9 if s % 4 == 2 else 0.75) for s in range(b.steps) if s % 4 in (2, 3)
    ]


def _trance(b: BassBar) -> list[BassNote]:
    """The rolling trance bass: every sixteenth but the kick's."""
    return [(s, 0.8, b.root, 0.95 if s % 4 == 2 else 0.8) for s in range(b.steps) if s % 4 != 0]


def _sustain(b: BassBar) -> list[BassNote]:
    """One root held through the bar."""
    return [(0, b.steps - 0.3, b.root, 0.9)]


def _country(b: BassBar) -> list[BassNote]:
    """Root and the fifth below, sometimes walking up to the next chord."""
    r, fifth = b.root, b.fifth
    notes = [(0, 3.5, r, 1.0), (8, 3.5, fifth - 12 if fifth - 12 >= b.inst.low else fifth, 0.9)]
    if b.rng.random() < 0.4:
        notes += [(12, 1.8, r + 2, 0.8), (14, 1.8, r + 4, 0.8)]
    return notes


def _folkbass(b: BassBar) -> list[BassNote]:
    """Root and fifth, a half note each."""
    return [(0, 7, b.root, 1.0), (8, 7, b.fifth, 0.85)]


def _waltz(b: BassBar) -> list[BassNote]:
    """The waltz's downbeat: root and fifth on alternate bars."""
    return [(0, 3.6, b.root if b.bar % 2 == 0 else b.fifth, 1.0)]


def _chip(b: BassBar) -> list[BassNote]:
    """Chiptune octave jumps in eighths."""
    return [(s, 1.5, b.root + (12 if (s // 2) % 2 else 0), 0.9) for s in range(0, b.steps, 2)]


def _disco(b: BassBar) -> list[BassNote]:
    """Disco octaves in eighths, accent on the beat."""
    return [
        (s, 1.4, b.root + (12 if (s // 2) % 2 else 0), 1.0 if s % 4 == 0 else 0.85)
        for s in range(0, b.steps, 2)
    ]


BASS_LINES: dict[str, Callable[[BassBar], list[BassNote]]] = {
    "root8": _root8,
    "gallop": _gallop,
    "pop": _pop,
    "walking": _walking,
    "shuffle": _shuffle,
    "bossa": _bossa,
    "reggae": _reggae,
    "funk": _funk,
    "808": _808,
    "house": _house,
    "techno": _techno,
    "trance": _trance,
    "sustain": _sustain,
    "country": _country,
    "folkbass": _folkbass,
    "waltz": _waltz,
    "chip": _chip,
    "disco": _disco,
}

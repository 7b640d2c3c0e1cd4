"""Accompaniment: how the chord instruments of each style play one bar.

A style is a function of a `CompBar` (the bar, its chord and a voice-led voicing of it, the
loudness); `comp_bar` voices the chord, keeps the voice leading from bar to bar and calls the
style. Pads and second comps take their style from their instrument (`second_style`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import pretty_midi

from ttmrpp.world import instruments as I
from ttmrpp.world.parts import Writer, low_pitch, strum
from ttmrpp.world.theory import Chord, voice_chord

VOICES = {"skank": 3, "chank": 3, "stabs": 3, "strum": 5}  # notes per voicing; 4 otherwise
REGISTER = {"strum": (40, 72), "jazz_comp": (50, 74)}  # (low, high) where a style needs its own


@dataclass(frozen=True)
class CompBar:
    """One bar of accompaniment: where it goes, its chord and voicing, and how loud it is."""

    w: Writer
    part: pretty_midi.Instrument
    bar: int
    chord: Chord
    inst: I.Instrument
    vel: float
    section: str
    voicing: list[int] = field(default_factory=list)  # empty for power chords (they build theirs)

    @property
    def rng(self) -> random.Random:
        return self.w.rng

    @property
    def steps(self) -> int:
        return self.w.steps_per_bar

    def strum(self, step: float, dur: float, pitches: list[int], vel: float, spread: float) -> None:
        strum(self.w, self.part, self.bar, step, dur, pitches, vel, spread)

    def note(self, step: float, dur: float, pitch: int, vel: float) -> None:
        self.w.note(self.part, self.bar, step, dur, pitch, vel)


def comp_bar(
    w: Writer,
    part: pretty_midi.Instrument,
    style: str,
    inst: I.Instrument,
    bar: int,
    chord: Chord,
    level: float,
    last: bool,
    prev: dict[str, list[int]],
    role: str,
    section: str,
) -> None:
    """One bar of `style` over `chord`; `prev` holds each role's last voicing (voice leading)."""
    lo, hi = max(inst.low, 48), min(inst.high, 79)
    v = (84 if role == "comp" else 66) * level
    if style == "pad" and role == "pad":
        v = 58 * level
    if last:
        voicing = voice_chord(chord, lo, hi, prev.get(role), 4)
        spread = 0.012 if "guitar" in inst.name else 0.0
        strum(w, part, bar, 0, w.steps_per_bar, voicing, v, spread)
        return
    if style == "power":
        _power(CompBar(w, part, bar, chord, inst, v, section))
        return
    lo, hi = REGISTER.get(style, (lo, hi))
    voicing = voice_chord(chord, lo, hi, prev.get(role), VOICES.get(style, 4))
    prev[role] = voicing
    try:
        play = COMP_STYLES[style]
    except KeyError:
        raise ValueError(f"unknown comp style {style!r}") from None
    play(CompBar(w, part, bar, chord, inst, v, section, voicing))


def _power(b: CompBar) -> None:
    """Power chords (root, fifth, octave): held in rock choruses, chugged otherwise."""
    r = low_pitch(b.chord.root, 40)
    if r > 47:
        r -= 12
    voicing = [r, r + 7, r + 12]
    genre_name = b.w.g.name
    if b.section in ("chorus", "bridge") and genre_name != "metal":
        for st, dur in ((0, 5.6), (6, 1.8), (8, 7.6)):
            b.strum(st, dur, voicing, b.vel * 1.05, 0.006)
    else:
        step = 1 if genre_name == "metal" and b.section == "verse" else 2
        for st in range(0, b.steps, step):
            b.strum(st, step * 0.55, voicing, b.vel * (1.0 if st % 4 == 0 else 0.85), 0.004)


def _piano_pop(b: CompBar) -> None:
    """Left-hand octaves on the root, right-hand chords in one of a few pop rhythms."""
    v, rng = b.vel, b.rng
    r = low_pitch(b.chord.root, 36)
    b.note(0, 7.5, r, v * 0.9)
    b.note(0, 7.5, r + 12, v * 0.8)
    b.note(8, 7.5, r + 12 if rng.random() < 0.5 else r + 7, v * 0.8)
    hits = rng.choice([(0, 3, 6, 8, 11, 14), (0, 4, 8, 10, 12), (0, 2, 4, 6, 8, 10, 12, 14)])
    upper = b.voicing[1:] if len(b.voicing) > 3 else b.voicing
    for j, st in enumerate(hits):
        nxt = hits[j + 1] if j + 1 < len(hits) else b.steps
        b.strum(st, (nxt - st) * 0.9, upper, v * (1.0 if st % 8 == 0 else 0.82), 0.0)


STRUM_PATTERNS = [  # (16th step, stroke): "D" down, "U" up
    ((0, "D"), (4, "D"), (6, "U"), (10, "U"), (12, "D"), (14, "U")),
    ((0, "D"), (4, "D"), (8, "D"), (10, "U"), (12, "D"), (14, "U")),
    ((0, "D"), (2, "U"), (4, "D"), (6, "U"), (8, "D"), (10, "U"), (12, "D"), (14, "U")),
]
WALTZ_STRUM = ((0, "D"), (4, "D"), (6, "U"), (8, "D"), (10, "U"))


def _strum_guitar(b: CompBar) -> None:
    """A strummed guitar: full down strokes, lighter up strokes on the top strings."""
    pattern = b.rng.choice(STRUM_PATTERNS)
    if b.w.spec.meter == 3:
        pattern = WALTZ_STRUM
    for j, (st, d) in enumerate(pattern):
        nxt = pattern[j + 1][0] if j + 1 < len(pattern) else b.steps
        notes = b.voicing if d == "D" else list(reversed(b.voicing[-3:]))
        down = d == "D"
        b.strum(
            st,
            max(nxt - st, 2) * 1.1,
            notes,
            b.vel * (1.0 if down else 0.75),
            0.014 if down else 0.009,
        )


def _jazz_comp(b: CompBar) -> None:
    """Two or three shell-voicing stabs at free places in the bar."""
    rng = b.rng
    choices = [0, 2, 6, 8, 10, 12, 14][: b.steps // 2 + 1]
    for st in sorted(rng.sample(choices, k=rng.randint(2, 3))):
        b.strum(st, rng.choice((1.5, 2, 3.5)), b.voicing, b.vel * rng.uniform(0.75, 1.0), 0.004)


def _shuffle_comp(b: CompBar) -> None:
    """Blues shuffle: the guitar's fifth-sixth boogie figure, keys on the off-beats."""
    v = b.vel
    if "guitar" in b.inst.name:
        r = low_pitch(b.chord.root, 40)
        for s in range(0, b.steps, 2):
            top = r + (9 if (s // 4) % 2 else 7)
            b.strum(s, 1.6, [r, top], v * (1.0 if s % 4 == 0 else 0.8), 0.005)
    else:
        for s in (2, 6, 10, 14):
            b.strum(s, 1.5, b.voicing, v * 0.9, 0.0)


def _bossa_comp(b: CompBar) -> None:
    """The bossa nova guitar rhythm."""
    for st in (0, 3, 6, 10, 12):
        b.strum(st, 2.2, b.voicing, b.vel * (0.95 if st in (0, 6) else 0.8), 0.01)


def _skank(b: CompBar) -> None:
    """Reggae skank on the off-beats, sometimes doubled."""
    for st in range(4, b.steps, 8):
        b.strum(st, 1.2, b.voicing, b.vel, 0.006)
        if b.rng.random() < 0.3:
            b.strum(st + 2, 0.8, b.voicing, b.vel * 0.6, 0.004)


CHANK = "x.ox.x.ox.oxx.o."  # funk sixteenths: "x" full chord, "o" muted top two notes


def _chank(b: CompBar) -> None:
    """Funk rhythm guitar: short sixteenth chanks."""
    for st, c in enumerate(CHANK[: b.steps]):
        if c != ".":
            notes = b.voicing[-2:] if c == "o" else b.voicing
            b.strum(st, 0.5, notes, b.vel * (0.95 if c == "x" else 0.45), 0.003)


def _keys_loop(b: CompBar) -> None:
    """A hip hop keys loop of three held chords."""
    for st, dur in ((0, 6.5), (7, 2.5), (10, 5.5)):
        b.strum(st, dur, b.voicing, b.vel * 0.85, 0.0)


def _stabs(b: CompBar) -> None:
    """Short club-music chord stabs in one of a few rhythms."""
    hits = b.rng.choice([(2, 6, 10, 14), (0, 3, 6, 10, 12), (2, 5, 10, 13)])
    for st in hits:
        b.strum(st, 1.5, b.voicing, b.vel, 0.0)


def _arp(b: CompBar) -> None:
    """The voicing arpeggiated up and down over two octaves."""
    tones = sorted(b.voicing) + [p + 12 for p in sorted(b.voicing)]
    rate = 1 if b.w.g.name in ("trance", "chiptune") else 2
    for j, st in enumerate(range(0, b.steps, rate)):
        idx = j % (2 * len(tones) - 2)
        idx = idx if idx < len(tones) else 2 * len(tones) - 2 - idx
        b.note(st, rate * 0.8, tones[idx], b.vel * (0.95 if st % 4 == 0 else 0.78))


def _pad(b: CompBar) -> None:
    """The chord held through the bar."""
    b.strum(0, b.steps - 0.2, b.voicing, b.vel * 0.85, 0.0)


def _block(b: CompBar) -> None:
    """Block chords on each half bar."""
    for st in range(0, b.steps, 8):
        b.strum(st, 7.5, b.voicing, b.vel, 0.0)


def _ostinato(b: CompBar) -> None:
    """A root-fifth-octave eighth-note figure over a soft held chord, as film strings play it."""
    v = b.vel
    r = low_pitch(b.chord.root, 48)
    cell = [r, r + 7, r + 12, r + 7]
    for j, st in enumerate(range(0, b.steps, 2)):
        b.note(st, 1.8, cell[j % 4], v * (1.0 if st % 4 == 0 else 0.8))
    b.strum(0, b.steps - 0.2, [p + 12 for p in b.voicing[1:]], v * 0.6, 0.0)


def _oompah(b: CompBar) -> None:
    """The "pah" of oom-pah: chords after the downbeat."""
    for st in range(4, b.steps, 4):
        b.strum(st, 2.5, b.voicing, b.vel * 0.8, 0.0)


def _timpani(b: CompBar) -> None:
    """A timpani root on the downbeat, sometimes a roll into the next bar."""
    v, spb = b.vel, b.steps
    r = low_pitch(b.chord.root, 40)
    b.note(0, 4, r, v * 1.2)
    if b.rng.random() < 0.4:
        for st in range(spb - 4, spb):
            b.note(st, 1, r, v * (0.6 + 0.1 * (st - spb + 4)))


COMP_STYLES: dict[str, Callable[[CompBar], None]] = {
    "piano_pop": _piano_pop,
    "strum": _strum_guitar,
    "jazz_comp": _jazz_comp,
    "shuffle_comp": _shuffle_comp,
    "bossa_comp": _bossa_comp,
    "skank": _skank,
    "chank": _chank,
    "keys_loop": _keys_loop,
    "stabs": _stabs,
    "arp": _arp,
    "pad": _pad,
    "block": _block,
    "ostinato": _ostinato,
    "oompah": _oompah,
    "timpani": _timpani,
}


def second_style(inst_name: str, role: str) -> str:
    """Accompaniment style of a pad or second comp part, from its instrument."""
    if role == "pad":
        return "pad"
    return {"timpani": "timpani", "harp": "arp", "piano": "block", "accordion": "oompah"}.get(
        inst_name, "pad"
    )

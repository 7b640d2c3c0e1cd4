"""How each role plays one bar: bass lines, accompaniment styles and lead melodies.

Every function writes humanised notes through a `Writer`, which knows the tempo, the swing and
the 16th-note grid of the track being composed.
"""

from __future__ import annotations

import random

import pretty_midi

from ttmrpp.world import instruments as I
from ttmrpp.world.genres import Genre, genre
from ttmrpp.world.spec import TrackSpec
from ttmrpp.world.theory import Chord, Key, voice_chord


class Writer:
    """Accumulates humanised notes on the 16th-note grid of a spec."""

    def __init__(self, spec: TrackSpec, rng: random.Random) -> None:
        self.spec, self.rng = spec, rng
        self.step = 60.0 / spec.bpm / 4
        self.steps_per_bar = spec.meter * 4
        self.g: Genre = genre(spec.genre)

    def time(self, bar: int, step: float) -> float:
        """Seconds of a (possibly fractional) 16th step in a bar, with swing applied."""
        sw = self.spec.swing
        unit = 2 if self.g.swing_unit == 8 else 1  # swung subdivision in 16th steps
        base, frac = divmod(step, 2 * unit)
        pos = frac / unit  # 0..2 across one swing pair
        shifted = pos * (1 + sw) if pos <= 1 else (1 + sw) + (pos - 1) * (1 - sw)
        return (bar * self.steps_per_bar + base * 2 * unit + shifted * unit) * self.step

    def note(
        self,
        inst: pretty_midi.Instrument,
        bar: int,
        step: float,
        dur_steps: float,
        pitch: int,
        vel: float,
        jitter: float = 1.0,
        offset: float = 0.0,
    ) -> None:
        t0 = self.time(bar, step) + offset + self.rng.gauss(0, self.spec.humanize * jitter)
        t1 = self.time(bar, step + dur_steps) + offset
        v = int(round(vel + self.rng.gauss(0, 5 if not self.g.machine else 2)))
        inst.notes.append(
            pretty_midi.Note(
                velocity=max(1, min(127, v)),
                pitch=int(pitch),
                start=max(0.0, t0),
                end=max(t0 + 0.03, t1),
            )
        )


def _low(pc: int, low: int) -> int:
    """The lowest pitch of pitch class `pc` at or above `low`."""
    return low + (pc - low) % 12


def bass_bar(
    w: Writer, part, bar: int, chord: Chord, nxt: Chord, key: Key, level: float, last: bool
) -> None:
    inst = I.instrument(part.name)
    r = _low(chord.root, max(28, inst.low))
    fifth = r + 7 if r + 7 <= inst.high else r - 5
    third = r + chord.intervals[1]
    nr = _low(nxt.root, max(28, inst.low))
    v = 96 * level
    style = w.g.bass
    rng = w.rng
    spb = w.steps_per_bar
    if last:
        w.note(part, bar, 0, spb, r, v)
        return
    notes: list[tuple[float, float, int, float]] = []  # step, dur, pitch, velocity factor
    if style == "root8":
        notes = [(s, 1.7, r, 1.0 if s % 4 == 0 else 0.85) for s in range(0, spb, 2)]
        notes[-1] = (spb - 2, 1.7, fifth if rng.random() < 0.4 else r, 0.85)
    elif style == "gallop":
        notes = [
            (s + o, 0.9, r, 1.0 if o == 0 else 0.8) for s in range(0, spb, 4) for o in (0, 2, 3)
        ]
    elif style == "pop":
        notes = [
            (0, 3, r, 1.0),
            (6, 1.8, r, 0.8),
            (8, 3, fifth if rng.random() < 0.5 else r, 0.9),
            (12, 1.8, r + 12 if r + 12 <= inst.high else r, 0.8),
            (14, 1.8, nr + (1 if nr < r else -1), 0.75),
        ]
    elif style == "walking":
        chord_tones = [r, third, fifth, r + 12 if r + 12 <= inst.high else third]
        approach = nr + rng.choice((-1, 1, -2))
        notes = [
            (0, 3.6, r, 1.0),
            (4, 3.6, rng.choice(chord_tones[1:]), 0.85),
            (8, 3.6, rng.choice(chord_tones[1:]), 0.9),
            (12, 3.6, approach, 0.85),
        ]
    elif style == "shuffle":
        pat = (0, 4, 7, 9, 10, 9, 7, 4)
        notes = [(s * 2, 1.8, r + pat[s], 1.0 if s % 2 == 0 else 0.8) for s in range(8)]
    elif style == "bossa":
        notes = [(0, 5, r, 1.0), (6, 1.8, fifth, 0.8), (8, 5, fifth, 0.9), (14, 1.8, r, 0.8)]
    elif style == "reggae":
        notes = [
            (2, 1.8, r, 0.95),
            (4, 1.5, r, 0.8),
            (7, 1, third, 0.75),
            (8, 3, fifth, 0.9),
            (12, 2, r + 12 if r + 12 <= inst.high else r, 0.8),
        ]
    elif style == "funk":
        oct_ = r + 12 if r + 12 <= inst.high + 5 else r
        notes = [
            (0, 1, r, 1.1),
            (3, 0.6, oct_, 0.7),
            (6, 1, r, 0.9),
            (7, 0.5, r, 0.4),
            (10, 1, r + 10, 0.85),
            (11, 0.5, oct_, 0.6),
            (12, 1, r, 0.95),
            (14, 0.6, fifth, 0.8),
        ]
    elif style == "808":
        notes = [
            (0, 6.5, r, 1.0),
            (7, 2.5, r, 0.85),
            (10, 5.5, r if rng.random() < 0.6 else fifth, 0.9),
        ]
    elif style == "house":
        notes = [(s, 1.4, r if (s // 4) % 2 == 0 else r + 12, 0.95) for s in (2, 6, 10, 14)]
    elif style == "techno":
        notes = [(s, 0.9, r, 0.9 if s % 4 == 2 else 0.75) for s in range(spb) if s % 4 in (2, 3)]
    elif style == "trance":
        notes = [(s, 0.8, r, 0.95 if s % 4 == 2 else 0.8) for s in range(spb) if s % 4 != 0]
    elif style == "sustain":
        notes = [(0, spb - 0.3, r, 0.9)]
    elif style == "country":
        notes = [(0, 3.5, r, 1.0), (8, 3.5, fifth - 12 if fifth - 12 >= inst.low else fifth, 0.9)]
        if rng.random() < 0.4:
            notes += [(12, 1.8, r + 2, 0.8), (14, 1.8, r + 4, 0.8)]
    elif style == "folkbass":
        notes = [(0, 7, r, 1.0), (8, 7, fifth, 0.85)]
    elif style == "waltz":
        notes = [(0, 3.6, r if bar % 2 == 0 else fifth, 1.0)]
    elif style == "chip":
        notes = [(s, 1.5, r + (12 if (s // 2) % 2 else 0), 0.9) for s in range(0, spb, 2)]
    elif style == "disco":
        notes = [
            (s, 1.4, r + (12 if (s // 2) % 2 else 0), 1.0 if s % 4 == 0 else 0.85)
            for s in range(0, spb, 2)
        ]
    else:
        raise ValueError(f"unknown bass style {style!r}")
    for st, dur, p, f in notes:
        if st < spb:
            while p > inst.high:
                p -= 12
            while p < inst.low:
                p += 12
            w.note(part, bar, st, dur, p, v * f, offset=0.004)


def comp_bar(
    w: Writer,
    part,
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
    rng = w.rng
    spb = w.steps_per_bar
    lo, hi = max(inst.low, 48), min(inst.high, 79)
    v = (84 if role == "comp" else 66) * level
    if style == "pad" and role == "pad":
        v = 58 * level
    if last:
        voicing = voice_chord(chord, lo, hi, prev.get(role), 4)
        _strum(w, part, bar, 0, spb, voicing, v, 0.012 if "guitar" in inst.name else 0.0)
        return
    if style == "power":
        r = _low(chord.root, 40)
        if r > 47:
            r -= 12
        voicing = [r, r + 7, r + 12]
        if section in ("chorus", "bridge") and w.g.name != "metal":
            for st, dur in ((0, 5.6), (6, 1.8), (8, 7.6)):
                _strum(w, part, bar, st, dur, voicing, v * 1.05, 0.006)
        else:
            step = 1 if w.g.name == "metal" and section == "verse" else 2
            for st in range(0, spb, step):
                _strum(
                    w,
                    part,
                    bar,
                    st,
                    step * 0.55,
                    voicing,
                    v * (1.0 if st % 4 == 0 else 0.85),
                    0.004,
                )
        return
    n_notes = 3 if style in ("skank", "chank", "stabs") else (5 if style == "strum" else 4)
    if style == "strum":
        lo, hi = 40, 72
    if style == "jazz_comp":
        lo, hi = 50, 74
    voicing = voice_chord(chord, lo, hi, prev.get(role), n_notes)
    prev[role] = voicing
    if style == "piano_pop":
        r = _low(chord.root, 36)
        w.note(part, bar, 0, 7.5, r, v * 0.9)
        w.note(part, bar, 0, 7.5, r + 12, v * 0.8)
        w.note(part, bar, 8, 7.5, r + 12 if rng.random() < 0.5 else r + 7, v * 0.8)
        hits = rng.choice([(0, 3, 6, 8, 11, 14), (0, 4, 8, 10, 12), (0, 2, 4, 6, 8, 10, 12, 14)])
        for j, st in enumerate(hits):
            nxt = hits[j + 1] if j + 1 < len(hits) else spb
            _strum(
                w,
                part,
                bar,
                st,
                (nxt - st) * 0.9,
                voicing[1:] if len(voicing) > 3 else voicing,
                v * (1.0 if st % 8 == 0 else 0.82),
                0.0,
            )
    elif style == "strum":
        pattern = rng.choice(
            [
                ((0, "D"), (4, "D"), (6, "U"), (10, "U"), (12, "D"), (14, "U")),
                ((0, "D"), (4, "D"), (8, "D"), (10, "U"), (12, "D"), (14, "U")),
                ((0, "D"), (2, "U"), (4, "D"), (6, "U"), (8, "D"), (10, "U"), (12, "D"), (14, "U")),
            ]
        )
        if w.spec.meter == 3:
            pattern = ((0, "D"), (4, "D"), (6, "U"), (8, "D"), (10, "U"))
        for j, (st, d) in enumerate(pattern):
            nxt = pattern[j + 1][0] if j + 1 < len(pattern) else spb
            notes = voicing if d == "D" else list(reversed(voicing[-3:]))
            _strum(
                w,
                part,
                bar,
                st,
                max(nxt - st, 2) * 1.1,
                notes,
                v * (1.0 if d == "D" else 0.75),
                0.014 if d == "D" else 0.009,
            )
    elif style == "jazz_comp":
        shell = voicing
        choices = [0, 2, 6, 8, 10, 12, 14][: spb // 2 + 1]
        for st in sorted(rng.sample(choices, k=rng.randint(2, 3))):
            _strum(
                w,
                part,
                bar,
                st,
                rng.choice((1.5, 2, 3.5)),
                shell,
                v * rng.uniform(0.75, 1.0),
                0.004,
            )
    elif style == "shuffle_comp":
        if "guitar" in inst.name:
            r = _low(chord.root, 40)
            for s in range(0, spb, 2):
                top = r + (9 if (s // 4) % 2 else 7)
                _strum(w, part, bar, s, 1.6, [r, top], v * (1.0 if s % 4 == 0 else 0.8), 0.005)
        else:
            for s in (2, 6, 10, 14):
                _strum(w, part, bar, s, 1.5, voicing, v * 0.9, 0.0)
    elif style == "bossa_comp":
        for st in (0, 3, 6, 10, 12):
            _strum(w, part, bar, st, 2.2, voicing, v * (0.95 if st in (0, 6) else 0.8), 0.01)
    elif style == "skank":
        for st in range(4, spb, 8):
            _strum(w, part, bar, st, 1.2, voicing, v, 0.006)
            if rng.random() < 0.3:
                _strum(w, part, bar, st + 2, 0.8, voicing, v * 0.6, 0.004)
    elif style == "chank":
        pattern = "x.ox.x.ox.oxx.o."
        for st, c in enumerate(pattern[:spb]):
            if c != ".":
                _strum(
                    w,
                    part,
                    bar,
                    st,
                    0.5,
                    voicing[-2:] if c == "o" else voicing,
                    v * (0.95 if c == "x" else 0.45),
                    0.003,
                )
    elif style == "keys_loop":
        for st, dur in ((0, 6.5), (7, 2.5), (10, 5.5)):
            _strum(w, part, bar, st, dur, voicing, v * 0.85, 0.0)
    elif style == "stabs":
        hits = rng.choice([(2, 6, 10, 14), (0, 3, 6, 10, 12), (2, 5, 10, 13)])
        for st in hits:
            _strum(w, part, bar, st, 1.5, voicing, v, 0.0)
    elif style == "arp":
        tones = sorted(voicing) + [p + 12 for p in sorted(voicing)]
        rate = 1 if w.g.name in ("trance", "chiptune") else 2
        for j, st in enumerate(range(0, spb, rate)):
            idx = j % (2 * len(tones) - 2)
            idx = idx if idx < len(tones) else 2 * len(tones) - 2 - idx
            w.note(part, bar, st, rate * 0.8, tones[idx], v * (0.95 if st % 4 == 0 else 0.78))
    elif style == "pad":
        _strum(w, part, bar, 0, spb - 0.2, voicing, v * 0.85, 0.0)
    elif style == "block":
        for st in range(0, spb, 8):
            _strum(w, part, bar, st, 7.5, voicing, v, 0.0)
    elif style == "ostinato":
        r = _low(chord.root, 48)
        cell = [r, r + 7, r + 12, r + 7]
        for j, st in enumerate(range(0, spb, 2)):
            w.note(part, bar, st, 1.8, cell[j % 4], v * (1.0 if st % 4 == 0 else 0.8))
        _strum(w, part, bar, 0, spb - 0.2, [p + 12 for p in voicing[1:]], v * 0.6, 0.0)
    elif style == "oompah":
        for st in range(4, spb, 4):
            _strum(w, part, bar, st, 2.5, voicing, v * 0.8, 0.0)
    elif style == "timpani":
        r = _low(chord.root, 40)
        w.note(part, bar, 0, 4, r, v * 1.2)
        if rng.random() < 0.4:
            for st in range(spb - 4, spb):
                w.note(part, bar, st, 1, r, v * (0.6 + 0.1 * (st - spb + 4)))
    else:
        raise ValueError(f"unknown comp style {style!r}")


def _strum(
    w: Writer,
    part,
    bar: int,
    step: float,
    dur: float,
    pitches: list[int],
    vel: float,
    spread: float,
) -> None:
    """Play a chord; `spread` seconds between strings, as a strummed guitar rolls its chords."""
    offset = 0.0
    for p in pitches:
        w.note(part, bar, step, dur, p, vel * w.rng.uniform(0.9, 1.0), offset=offset)
        offset += spread * w.rng.uniform(0.7, 1.3)


RHYTHM_CELLS = [  # 16th-step onsets within one beat, and how busy each is
    ((0,), 1),
    ((0, 2), 2),
    ((), 0),
    ((0, 3), 2),
    ((2,), 1),
    ((0, 1, 2), 3),
    ((0, 2, 3), 3),
    ((0, 1, 2, 3), 4),
]


def lead_bar(
    w: Writer,
    part,
    inst: I.Instrument,
    bar: int,
    b: int,
    chord: Chord,
    key: Key,
    level: float,
    last: bool,
    section: str,
    motifs: dict,
) -> None:
    """Melody built from a two-bar motif per section, repeated with variation over its chords."""
    rng = w.rng
    spb = w.steps_per_bar
    centre = min(max((inst.low + inst.high) // 2, 62), 79) + (3 if section == "chorus" else 0)
    v = 92 * level
    if last:
        w.note(part, bar, 0, spb - 1, _nearest(key.tonic, centre), v)
        return
    mkey = f"{section}{b % 2}"
    if mkey not in motifs:
        dens = w.g.lead_density
        cells = []
        for beat in range(w.spec.meter):
            if b % 2 == 1 and beat == w.spec.meter - 1:
                cells.append(())  # breathe at the end of a phrase
                continue
            weights = [max(0.05, 1.0 - abs(busy - dens * 1.3) / 2.5) for _, busy in RHYTHM_CELLS]
            cells.append(rng.choices([c for c, _ in RHYTHM_CELLS], weights=weights)[0])
        onsets = [beat * 4 + o for beat, c in enumerate(cells) for o in c]
        degrees, d = [], rng.choice((0, 2, 4))
        for _ in onsets:
            degrees.append(d)
            d += rng.choice((-1, -1, 1, 1, 2, -2, 0))
            d = max(-3, min(9, d))
        motifs[mkey] = (onsets, degrees)
    onsets, degrees = motifs[mkey]
    shift = 0 if b < 2 else rng.choice((0, 0, 1, -1))
    scale = key.scale_pcs()
    for j, st in enumerate(onsets):
        nxt = onsets[j + 1] if j + 1 < len(onsets) else min(spb, st + 6)
        deg = degrees[j] + shift
        pc = scale[deg % 7]
        p = _nearest(pc, centre + 2 * (deg - 2))
        if st % 8 == 0:  # strong beats land on chord tones
            p = min((_nearest(c, p) for c in chord.pcs), key=lambda q: abs(q - p))
        while p > inst.high:
            p -= 12
        while p < inst.low:
            p += 12
        legato = 0.95 if inst.sustained else 0.7
        w.note(
            part,
            bar,
            st,
            max(0.8, (nxt - st) * legato),
            p,
            v * (1.0 if st % 4 == 0 else 0.85),
            offset=0.006,
        )


def _nearest(pc: int, target: int) -> int:
    """The pitch of class `pc` closest to `target`."""
    base = target - ((target - pc) % 12)
    return base if target - base <= 6 else base + 12


def second_style(inst_name: str, role: str) -> str:
    """Accompaniment style of a pad or second comp part, from its instrument."""
    if role == "pad":
        return "pad"
    return {"timpani": "timpani", "harp": "arp", "piano": "block", "accordion": "oompah"}.get(
        inst_name, "pad"
    )

"""Lead melodies: a two-bar motif per section, repeated with variation over its chords."""

from __future__ import annotations

import pretty_midi

from ttmrpp.world import instruments as I
from ttmrpp.world.parts import Writer
from ttmrpp.world.theory import Chord, Key

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
Motif = tuple[list[int], list[int]]  # onsets (16th steps in the bar), scale degrees


def lead_bar(
    w: Writer,
    part: pretty_midi.Instrument,
    inst: I.Instrument,
    bar: int,
    b: int,
    chord: Chord,
    key: Key,
    level: float,
    last: bool,
    section: str,
    motifs: dict[str, Motif],
) -> None:
    """Bar `b` of a section's melody; `motifs` keeps each section's motif (made on first use)."""
    rng = w.rng
    spb = w.steps_per_bar
    centre = min(max((inst.low + inst.high) // 2, 62), 79) + (3 if section == "chorus" else 0)
    v = 92 * level
    if last:
        w.note(part, bar, 0, spb - 1, _nearest(key.tonic, centre), v)
        return
    mkey = f"{section}{b % 2}"
    if mkey not in motifs:
        motifs[mkey] = _new_motif(w, b)
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


def _new_motif(w: Writer, b: int) -> Motif:
    """A one-bar rhythm from cells as busy as the genre's melodies, on a stepwise degree walk."""
    rng = w.rng
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
    return onsets, degrees


def _nearest(pc: int, target: int) -> int:
    """The pitch of class `pc` closest to `target`."""
    base = target - ((target - pc) % 12)
    return base if target - base <= 6 else base + 12

"""The grid every part is written on: a `Writer` and the helpers the part writers share.

Each role has its own module (bass.py, comping.py, melody.py) whose functions play one bar; they
all write humanised notes through a `Writer`, which knows the tempo, the swing and the 16th-note
grid of the track being composed.
"""

from __future__ import annotations

import random

import pretty_midi

from ttmrpp.world.genres import Genre, genre
from ttmrpp.world.spec import TrackSpec


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


def low_pitch(pc: int, low: int) -> int:
    """The lowest pitch of pitch class `pc` at or above `low`."""
    return low + (pc - low) % 12


def strum(
    w: Writer,
    part: pretty_midi.Instrument,
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

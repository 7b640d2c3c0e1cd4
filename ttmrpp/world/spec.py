"""A track spec: everything the composer needs to write one track, and how to draw one.

`compose` (composer.py) is a pure function of a `TrackSpec`; the part writers (parts.py and the
modules of each role) read its tempo, meter, swing and humanisation.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from ttmrpp.world.genres import GENRES, MINOR_MOODS, genre
from ttmrpp.world.theory import PROGRESSIONS, Key

ROLES = ("bass", "comp", "lead", "pad", "comp2")


@dataclass
class TrackSpec:
    """Everything needed to compose one track; `compose` is a pure function of it."""

    genre: str
    bpm: float
    key: str  # e.g. "E minor"
    mood: str
    parts: dict[str, str]  # role (bass/comp/lead/pad/comp2) -> instrument tag
    drum_kit: str | None  # key of instruments.DRUM_KITS, None: no drums
    sections: list[tuple[str, int]]  # (section name, bars)
    seed: int  # drives every remaining choice (voicings, melody, fills, humanisation)
    swing: float = 0.0
    humanize: float = 0.008  # timing jitter (seconds, standard deviation)
    ending: bool = True  # finish on a held tonic chord
    progression: dict[str, list[int]] = field(default_factory=dict)  # section -> degrees

    @property
    def meter(self) -> int:
        return genre(self.genre).meter

    def bar_seconds(self) -> float:
        return self.meter * 60.0 / self.bpm

    def total_bars(self) -> int:
        return sum(b for _, b in self.sections)


def plan_form(
    rng: random.Random, n_bars: int, ending: bool, start_anywhere: bool
) -> list[tuple[str, int]]:
    """Song-form sections covering `n_bars`: intro, verse/chorus pairs, a bridge, an outro."""
    cycle = ["verse", "chorus", "verse", "chorus", "bridge", "chorus"]
    out: list[tuple[str, int]] = []
    left = n_bars
    if start_anywhere:
        pos = rng.randrange(len(cycle))
    else:
        pos = 0
        intro = 2 if n_bars >= 10 else (1 if n_bars >= 6 else 0)
        if intro:
            out.append(("intro", intro))
            left -= intro
    outro = 2 if ending and n_bars >= 12 else (1 if ending else 0)
    left -= outro
    while left > 0:
        size = min(4 if rng.random() < 0.8 or left < 8 else 8, left)
        out.append((cycle[pos % len(cycle)], size))
        left -= size
        pos += 1
    if outro:
        out.append(("outro", outro))
    return out


def make_spec(
    rng: random.Random,
    genre_name: str | None = None,
    seconds: float = 30.0,
    mood: str | None = None,
    bpm: float | None = None,
    key: str | None = None,
    parts: dict[str, str] | None = None,
    ending: bool = True,
    start_anywhere: bool = False,
) -> TrackSpec:
    """Draw a complete track spec; any argument given is kept as it is."""
    g = genre(genre_name) if genre_name else genre(rng.choice(sorted(GENRES)))
    mood = mood or rng.choice(g.moods)
    if bpm is None:
        lo, hi = g.bpm
        if mood in ("relaxing", "sad", "dreamy", "melancholic", "romantic"):
            hi = lo + (hi - lo) // 2
        elif mood in ("energetic", "aggressive", "uplifting"):
            lo = lo + (hi - lo) // 2
        bpm = float(rng.randint(lo, hi))
    if key is None:
        minor_p = g.minor_prob
        if mood in MINOR_MOODS:
            minor_p = max(minor_p, 0.8) if g.minor_prob > 0 else 0.0
        elif mood in ("happy", "uplifting"):
            minor_p *= 0.4
        key = Key(rng.randrange(12), "minor" if rng.random() < minor_p else "major").name
    if parts is None:
        parts = {"bass": rng.choice(g.bass_instruments), "comp": rng.choice(g.comp_instruments)}
        if g.lead_instruments and rng.random() < g.lead_prob:
            parts["lead"] = rng.choice(g.lead_instruments)
        if g.pad_instruments and rng.random() < 0.6:
            parts["pad"] = rng.choice(g.pad_instruments)
        if g.second_comp and rng.random() < 0.5:
            parts["comp2"] = rng.choice(g.second_comp)
    kit = None
    if g.drums and rng.random() < g.drum_prob:
        kit = rng.choice(g.kits)
    bar = g.meter * 60.0 / bpm
    n_bars = max(1, math.ceil(seconds / bar))
    sections = plan_form(rng, n_bars, ending, start_anywhere)
    k = Key.parse(key)
    families = g.progressions if k.mode == "major" else g.minor_progressions
    progression = {
        name: rng.choice(PROGRESSIONS[rng.choice(families)])
        for name in ("verse", "chorus", "bridge")
    }
    # The intro states the tonic; the outro closes with a perfect cadence (V - I), as songs do.
    progression["intro"] = [0] if rng.random() < 0.6 else progression["verse"]
    progression["outro"] = [4, 0]
    return TrackSpec(
        genre=g.name,
        bpm=bpm,
        key=key,
        mood=mood,
        parts=parts,
        drum_kit=kit,
        sections=sections,
        seed=rng.randrange(2**31),
        swing=g.swing * rng.uniform(0.8, 1.1),
        humanize=0.0015 if g.machine else rng.uniform(0.006, 0.013),
        ending=ending,
        progression=progression,
    )

"""Helpers for the music-world tests: exact track specs (no swing, no timing jitter) and a part's
notes read back bar by bar."""

from __future__ import annotations

import random

import pretty_midi

from ttmrpp.world.parts import Writer
from ttmrpp.world.spec import TrackSpec


def exact_spec(
    genre: str = "pop",
    *,
    bpm: float = 120.0,
    key: str = "C major",
    parts: dict[str, str] | None = None,
    drum_kit: str | None = None,
    sections: list[tuple[str, int]] | None = None,
    ending: bool = False,
    swing: float = 0.0,
    seed: int = 0,
) -> TrackSpec:
    """A spec whose notes land exactly on the grid (humanize 0), so bars can be read back."""
    return TrackSpec(
        genre=genre,
        bpm=bpm,
        key=key,
        mood="happy",
        parts=dict(parts or {"bass": "bass", "comp": "piano"}),
        drum_kit=drum_kit,
        sections=list(sections or [("verse", 4)]),
        seed=seed,
        swing=swing,
        humanize=0.0,
        ending=ending,
        progression={},
    )


def writer(spec: TrackSpec, seed: int = 0) -> Writer:
    return Writer(spec, random.Random(seed))


def part(name: str) -> pretty_midi.Instrument:
    """An empty part named after an instrument tag, as the composer makes them."""
    from ttmrpp.world.instruments import instrument

    return pretty_midi.Instrument(program=instrument(name).program, name=name)


def notes_in_bar(
    inst: pretty_midi.Instrument, spec: TrackSpec, bar: int, late: float = 0.1
) -> list[pretty_midi.Note]:
    """Notes starting in bar `bar` (up to `late` seconds after its end: strum and offsets)."""
    start = bar * spec.bar_seconds()
    return [n for n in inst.notes if start - 1e-9 <= n.start < start + spec.bar_seconds() + late]


def bar_steps(notes: list[pretty_midi.Note], spec: TrackSpec, bar: int) -> list[float]:
    """Onsets of `notes` in 16th steps from the start of bar `bar`."""
    step = 60.0 / spec.bpm / 4
    return [round((n.start - bar * spec.bar_seconds()) / step, 3) for n in notes]

"""One track end to end: artist profile → spec → MIDI → audio → manifest record."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import pretty_midi

from ttmrpp.world.artists import Artist, track_title
from ttmrpp.world.composer import compose
from ttmrpp.world.genres import MINOR_MOODS, genre, tempo_tag
from ttmrpp.world.instruments import instrument_tags
from ttmrpp.world.render import Production, produce, synthesize
from ttmrpp.world.spec import TrackSpec, make_spec
from ttmrpp.world.theory import Key


@dataclass
class Track:
    """A rendered track with everything known about it."""

    audio: np.ndarray  # float32 mono
    sample_rate: int
    midi: pretty_midi.PrettyMIDI
    spec: TrackSpec | None  # None for corpus pieces
    record: dict  # manifest record without id/audio/split (the caller adds those)


def spec_for_artist(
    rng: random.Random,
    artist: Artist | None,
    seconds: float,
    ending: bool,
    genre_name: str | None = None,
) -> TrackSpec:
    """A spec in the artist's style: its genres, tempo range, key preference, moods, palette."""
    if artist is None:
        return make_spec(rng, genre_name, seconds=seconds, ending=ending, start_anywhere=not ending)
    gname = genre_name or (
        artist.genres[0]
        if rng.random() < 0.75 or len(artist.genres) == 1
        else rng.choice(artist.genres[1:])
    )
    g = genre(gname)
    lo, hi = max(g.bpm[0], artist.bpm[0]), min(g.bpm[1], artist.bpm[1])
    bpm = float(rng.randint(lo, hi) if lo <= hi else rng.randint(*g.bpm))
    mood = rng.choice([m for m in artist.moods if m in g.moods] or list(g.moods))
    p_minor = artist.minor if g.minor_prob > 0 else 0.0
    if mood in MINOR_MOODS and g.minor_prob > 0:
        p_minor = max(p_minor, 0.85)  # dark and sad songs are mostly in minor keys
    elif mood in ("happy", "uplifting", "energetic"):
        p_minor *= 0.4
    minor = rng.random() < p_minor
    spec = make_spec(
        rng,
        gname,
        seconds=seconds,
        mood=mood,
        bpm=bpm,
        key=Key(rng.randrange(12), "minor" if minor else "major").name,
        ending=ending,
        start_anywhere=not ending,
    )
    for role, choices in artist.palette.items():
        if role in spec.parts and rng.random() < 0.7:
            options = [c for c in choices if c in _options(g, role)]
            if options:
                spec.parts[role] = rng.choice(options)
    return spec


def _options(g, role: str) -> tuple[str, ...]:
    return {"bass": g.bass_instruments, "comp": g.comp_instruments, "lead": g.lead_instruments}.get(
        role, ()
    )


def audible_instruments(pm: pretty_midi.PrettyMIDI, seconds: float) -> tuple[list[str], str | None]:
    """Instrument tags of parts with notes starting before `seconds`, and the drum kind."""
    names, drums = [], None
    for inst in pm.instruments:
        if not any(n.start < seconds - 0.05 for n in inst.notes):
            continue
        if inst.is_drum:
            drums = "machine" if inst.name == "drum machine" else "acoustic"
        elif inst.name not in names:
            names.append(inst.name)
    return names, drums


def render_spec(
    spec: TrackSpec, sample_rate: int, seconds: float | None, seed: int, soundfont=None
) -> tuple[np.ndarray, pretty_midi.PrettyMIDI]:
    """Compose and render a spec with a production drawn from `seed`."""
    pm = compose(spec)
    dry = synthesize(pm, sample_rate, seconds=seconds, soundfont=soundfont)
    if seconds is not None and len(dry) > int(0.1 * sample_rate):
        fade = int(0.05 * sample_rate)
        dry[-fade:] *= np.linspace(1, 0, fade, dtype=np.float32)
    prod = Production.random(random.Random(seed), spec.genre)
    return produce(dry, sample_rate, prod, seed), pm


def make_track(
    seed: int,
    artist: Artist | None = None,
    genre_name: str | None = None,
    seconds: float = 24.0,
    sample_rate: int = 22050,
    ending: bool = True,
    album: str | None = None,
) -> Track:
    """Generate one track from a seed (deterministic).

    Args:
        seconds: music length; with `ending` the piece finishes on a held tonic chord and the
            audio runs on for the release tail, otherwise the audio is exactly `seconds` long.
    """
    rng = random.Random(seed)
    spec = spec_for_artist(rng, artist, seconds, ending, genre_name)
    audio, pm = render_spec(spec, sample_rate, None if ending else seconds, rng.randrange(2**31))
    duration = len(audio) / sample_rate
    names, drums = audible_instruments(pm, duration)
    g = genre(spec.genre)
    record = {
        "duration": round(duration, 3),
        "tags": {
            "genre": [g.name, *g.extra_tags],
            "instrument": instrument_tags(names, drums),
            "mood": [spec.mood],
            "tempo": [tempo_tag(spec.bpm)],
        },
        "bpm": spec.bpm,
        "key": spec.key,
        "title": track_title(rng),
        "artist": artist.name if artist else None,
        "album": album or (rng.choice(artist.albums) if artist else None),
        "similar_artists": list(artist.similar) if artist else [],
    }
    return Track(audio, sample_rate, pm, spec, record)

"""Real compositions from the music21 corpus, rendered with instruments that suit them.

The composer is the artist and the title is the piece's real title (from the catalogue in
`repertoire.py`). Composer similarity comes from facts: period and genre (see `composer_graph`).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pretty_midi

from ttmrpp.world.artists import link_similar
from ttmrpp.world.genres import tempo_tag
from ttmrpp.world.instruments import instrument, instrument_tags
from ttmrpp.world.render import Production, produce, synthesize
from ttmrpp.world.repertoire import COMPOSERS, ENSEMBLES, PERIOD_ORDER, Composer, Piece
from ttmrpp.world.theory import Key, estimate_key
from ttmrpp.world.track import Track

Notes = tuple[tuple[float, float, int], ...]  # (onset, duration) in quarter notes, MIDI pitch
DEFAULT_BPM = {  # tempo range per ensemble, for scores without a usable metronome mark
    "choir": (66, 88),
    "quartet": (92, 126),
    "keyboard": (100, 130),
    "melody": (100, 132),
}


def composer_graph() -> dict[str, list[str]]:
    """Composer similarity from facts: same period scores 1, adjacent 0.5, plus 0.5×J(genres);
    each composer is linked to its top 3 and the links are made symmetric."""

    @dataclass
    class _Node:
        name: str
        similar: list[str]

    nodes = [_Node(n, []) for n in COMPOSERS]

    def score(a: _Node, b: _Node) -> float:
        ca, cb = COMPOSERS[a.name], COMPOSERS[b.name]
        d = abs(PERIOD_ORDER.index(ca.period) - PERIOD_ORDER.index(cb.period))
        ga, gb = set(ca.genres), set(cb.genres)
        return {0: 1.0, 1: 0.5}.get(d, 0.0) + 0.5 * len(ga & gb) / len(ga | gb)

    link_similar(nodes, score)
    return {n.name: n.similar for n in nodes}


@lru_cache(maxsize=64)
def _parts(path: str) -> tuple[tuple[Notes, ...], float]:
    """Notes per part as (onset, duration) in quarter notes and MIDI pitch; plus the score's
    first metronome mark (0 when it has none). Cached per process: parsing is slow."""
    from music21 import corpus, tempo

    score = corpus.parse(path)
    if hasattr(score, "scores"):  # an opus: take its first score
        score = score.scores[0]
    parts = []
    for part in score.parts:
        notes = []
        for n in part.stripTies().flatten().notes:
            off, dur = float(n.offset), float(n.quarterLength)
            if dur <= 0:
                continue
            for p in n.pitches:
                notes.append((off, dur, int(p.midi)))
        if notes:
            parts.append(tuple(notes))
    marks = list(score.flatten().getElementsByClass(tempo.MetronomeMark))
    bpm = float(marks[0].getQuarterBPM() or 0) if marks else 0.0
    return tuple(parts), bpm


def make_classical_track(
    piece: Piece, seed: int, seconds: float = 24.0, sample_rate: int = 22050, excerpt: bool = False
) -> Track:
    """Render (an excerpt of) a corpus piece; returns a `track.Track`.

    The score's tempo mark is kept when plausible (else one is drawn for the ensemble); an
    excerpt starts on a random beat. The recorded key is estimated from the notes played.
    """
    rng = random.Random(seed)
    parts, marked = _parts(piece.path)
    if not parts:
        raise ValueError(f"corpus piece {piece.path} has no notes")
    default = DEFAULT_BPM[piece.ensemble]
    bpm = float(round(marked)) if 40 <= marked <= 200 else float(rng.randint(*default))
    spq = 60.0 / bpm
    end_q = max(o + d for p in parts for o, d, _ in p)
    start_q = 0.0
    if excerpt and end_q * spq > seconds + 2:
        start_q = float(int(rng.uniform(0, end_q - seconds / spq)))
    window = (start_q, start_q + seconds / spq)
    names = rng.choice(ENSEMBLES[piece.ensemble])
    pm, used = _perform(parts, names, bpm, window, rng)
    key = _key_of(n for inst in pm.instruments for n in inst.notes).name
    fade_out = excerpt or end_q * spq > seconds  # the music is cut short: fade it
    audio = _render(pm, rng, seconds, sample_rate, fade_out)
    record = _record(piece, key, bpm, used, len(audio) / sample_rate)
    return Track(audio, sample_rate, pm, None, record)


def _perform(
    parts: tuple[Notes, ...],
    names: list[str],
    bpm: float,
    window: tuple[float, float],
    rng: random.Random,
) -> tuple[pretty_midi.PrettyMIDI, list[str]]:
    """Play the parts inside `window` (quarter notes) on the instruments `names`, top voice
    first (the last instrument takes the remaining parts); returns the MIDI and the instruments
    heard. A fiddle tune with guitar gets the guitar's chords."""
    spq = 60.0 / bpm
    pm = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    hum = rng.uniform(0.004, 0.01)
    used: list[str] = []
    for i, notes in enumerate(parts):
        name = names[min(i, len(names) - 1)]
        if name == "acoustic guitar" and i > 0:
            continue
        part = _play_part(notes, name, 84 if i == 0 else 70, window, spq, hum, rng)
        if part.notes:
            pm.instruments.append(part)
            if name not in used:
                used.append(name)
    if names == ["violin", "acoustic guitar"] and pm.instruments:  # the tune with guitar chords
        used.append("acoustic guitar")
        _add_drone(pm, rng)
    return pm, used


def _play_part(
    notes: Notes,
    name: str,
    base_vel: int,
    window: tuple[float, float],
    spq: float,
    hum: float,
    rng: random.Random,
) -> pretty_midi.Instrument:
    """One part's notes inside `window` on instrument `name`: humanised onsets (`hum` seconds),
    phrase-level swells, accented beats, and notes below the instrument raised by octaves."""
    inst = instrument(name)
    part = pretty_midi.Instrument(program=inst.program, name=name)
    start_q, stop_q = window
    for off, dur, pitch in notes:
        if not start_q <= off < stop_q:
            continue
        t = (off - start_q) * spq + rng.gauss(0, hum)
        phrase = 0.85 + 0.15 * np.sin(2 * np.pi * off / 16.0)  # gentle phrase-level swells
        accent = 8 if off % 1 == 0 else 0
        vel = int(np.clip(base_vel * phrase + rng.gauss(0, 5) + accent, 20, 120))
        while pitch < inst.low - 12:
            pitch += 12
        part.notes.append(
            pretty_midi.Note(
                velocity=vel,
                pitch=pitch,
                start=max(0.0, t),
                end=max(t + 0.05, t + dur * spq * 0.97),
            )
        )
    return part


def _key_of(notes: Iterable[pretty_midi.Note]) -> Key:
    """Krumhansl template match on the duration-weighted pitch classes of `notes`."""
    chroma = np.zeros(12)
    for n in notes:
        chroma[n.pitch % 12] += n.end - n.start
    return estimate_key(chroma.tolist())


def _render(
    pm: pretty_midi.PrettyMIDI, rng: random.Random, seconds: float, sample_rate: int, fade_out: bool
) -> np.ndarray:
    """Synthesize up to `seconds` (ending on the release tail when the piece is shorter), fade
    out a cut-short piece, then the production chain of an orchestral recording."""
    dry = synthesize(
        pm,
        sample_rate,
        seconds=min(seconds, pm.get_end_time() + 1.5) if pm.instruments else seconds,
    )
    fade = min(len(dry), int(0.8 * sample_rate))
    if fade_out:
        dry[-fade:] *= np.linspace(1, 0, fade, dtype=np.float32)
    prod = Production.random(rng, "orchestral")
    return produce(dry, sample_rate, prod, rng.randrange(2**31))


def _record(piece: Piece, key: str, bpm: float, used: list[str], duration: float) -> dict:
    """The manifest record of a rendered piece (without id, audio and split)."""
    comp = COMPOSERS[piece.composer]
    is_folk = comp.period == "traditional"
    return {
        "duration": round(duration, 3),
        "tags": {
            "genre": _genre_tags(piece, comp, used),
            "instrument": instrument_tags(used, None),
            "mood": [_mood(piece, comp, key)],
            "tempo": [tempo_tag(bpm)],
        },
        "bpm": bpm,
        "key": key,
        "title": piece.title,
        "artist": piece.composer,
        "album": "Ryan's Mammoth Collection"
        if is_folk
        else f"{comp.period.capitalize()} collection",
        "similar_artists": composer_graph()[piece.composer],
    }


def _mood(piece: Piece, comp: Composer, key: str) -> str:
    """Folk tunes are happy (major) or melancholic (minor); choir pieces are solemn; the rest
    romantic (major) or melancholic (minor)."""
    major = "major" in key
    if comp.period == "traditional":
        return "happy" if major else "melancholic"
    if piece.ensemble == "choir":
        return "solemn"
    return "romantic" if major else "melancholic"


def _genre_tags(piece: Piece, comp: Composer, used: list[str]) -> list[str]:
    """Folk or classical with the period; choral for choir pieces, chamber music for a quartet
    played without piano."""
    is_folk = comp.period == "traditional"
    tags = ["folk", "traditional"] if is_folk else ["classical", comp.period]
    if not is_folk and piece.ensemble == "choir":
        tags.append("choral")
    if piece.ensemble == "quartet" and "piano" not in used:
        tags.append("chamber music")
    return tags


def _add_drone(pm: pretty_midi.PrettyMIDI, rng: random.Random) -> None:
    """Guitar chords under a fiddle tune: the tonic triad on every downbeat of the melody."""
    mel = pm.instruments[0]
    k = _key_of(mel.notes)
    third = 3 if k.mode == "minor" else 4
    gtr = pretty_midi.Instrument(
        program=instrument("acoustic guitar").program, name="acoustic guitar"
    )
    end = mel.notes[-1].end if mel.notes else 0
    beat = 60.0 / pm.get_tempo_changes()[1][0]
    t = 0.0
    root = 48 + k.tonic
    while t < end:
        for j, p in enumerate((root, root + 7, root + 12, root + 12 + third)):
            s = t + 0.012 * j
            gtr.notes.append(
                pretty_midi.Note(
                    velocity=62 + rng.randint(-5, 5), pitch=p, start=s, end=s + beat * 1.8
                )
            )
        t += 2 * beat
    pm.instruments.append(gtr)

"""Real compositions from the music21 corpus, rendered with instruments that suit them.

The composer is the artist and the title is the piece's real title (from the score's metadata,
or from the corpus catalogue entry below). Composer similarity comes from facts: period and genre
(see `composer_graph`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pretty_midi

from ttmrpp.world.artists import link_similar
from ttmrpp.world.instruments import instrument, instrument_tags
from ttmrpp.world.render import Production, produce, synthesize
from ttmrpp.world.theory import estimate_key


@dataclass(frozen=True)
class Composer:
    name: str
    period: str  # renaissance / baroque / classical / romantic / traditional
    genres: tuple[str, ...]  # facts: what the corpus holds of them
    similar: tuple[str, ...] = ()


COMPOSERS = {
    c.name: c
    for c in [
        Composer("Giovanni Pierluigi da Palestrina", "renaissance", ("sacred choral", "mass")),
        Composer("Josquin des Prez", "renaissance", ("sacred choral", "chanson")),
        Composer("Claudio Monteverdi", "renaissance", ("madrigal", "secular choral")),
        Composer("Johann Sebastian Bach", "baroque", ("chorale", "sacred choral")),
        Composer("Wolfgang Amadeus Mozart", "classical", ("string quartet", "piano sonata")),
        Composer("Joseph Haydn", "classical", ("string quartet",)),
        Composer("Ludwig van Beethoven", "classical", ("string quartet",)),
        Composer("Clara Schumann", "romantic", ("piano",)),
        Composer("Traditional", "traditional", ("fiddle tune", "folk song")),
    ]
}
PERIOD_ORDER = ["renaissance", "baroque", "classical", "romantic", "traditional"]


@dataclass(frozen=True)
class Piece:
    path: str  # music21 corpus path
    composer: str
    title: str
    ensemble: str  # choir / quartet / keyboard / melody
    split: str = "train"  # "test": only in the held-out benchmark


def _pieces() -> list[Piece]:
    P = Piece
    out = [
        P(
            f"bach/bwv{n}",
            "Johann Sebastian Bach",
            f"Chorale BWV {n}",
            "choir",
            "test" if i % 6 == 5 else "train",
        )
        for i, n in enumerate(
            [
                "1.6",
                "10.7",
                "101.7",
                "102.7",
                "103.6",
                "104.6",
                "108.6",
                "11.6",
                "110.7",
                "111.6",
                "113.8",
                "114.7",
                "115.6",
                "116.6",
                "117.4",
                "119.9",
                "12.7",
                "120.6",
                "121.6",
                "122.6",
                "123.6",
                "124.6",
                "125.6",
                "126.6",
                "127.5",
                "128.5",
                "13.6",
                "66.6",
            ]
        )
    ]
    out += [
        P(
            f"mozart/{k}/movement{m}",
            "Wolfgang Amadeus Mozart",
            f"String Quartet {k.upper().replace('K', 'K. ')}, movement {m}",
            "quartet",
            s,
        )
        for k, m, s in [
            ("k155", 1, "train"),
            ("k156", 1, "train"),
            ("k458", 1, "train"),
            ("k80", 1, "test"),
            ("k458", 3, "train"),
        ]
    ]
    out.append(
        P(
            "mozart/k545/movement1_exposition",
            "Wolfgang Amadeus Mozart",
            "Piano Sonata No. 16 in C major, K. 545, first movement",
            "keyboard",
        )
    )
    out += [
        P(
            f"haydn/opus{o}/movement{m}",
            "Joseph Haydn",
            f"String Quartet Op. {o.replace('no', ' No. ')}, movement {m}",
            "quartet",
            s,
        )
        for o, m, s in [("1no1", 1, "train"), ("74no1", 1, "train"), ("1no1", 3, "test")]
    ]
    out += [
        P(
            f"beethoven/opus{o}/movement{m}",
            "Ludwig van Beethoven",
            f"String Quartet Op. {o.replace('no', ' No. ')}, movement {m}",
            "quartet",
            s,
        )
        for o, m, s in [("18no1", 1, "train"), ("59no1", 1, "train"), ("59no2", 1, "test")]
    ]
    out += [
        P(
            f"palestrina/Agnus_0{i}",
            "Giovanni Pierluigi da Palestrina",
            f"Agnus Dei ({i + 1})",
            "choir",
            "test" if i == 3 else "train",
        )
        for i in range(4)
    ]
    out += [
        P(
            f"monteverdi/madrigal.3.{i}.mxl",
            "Claudio Monteverdi",
            f"Madrigal, Book 3 No. {i}",
            "choir",
            "test" if i == 4 else "train",
        )
        for i in range(1, 5)
    ]
    out += [
        P(f"josquin/{f}", "Josquin des Prez", t, "choir", s)
        for f, t, s in [
            ("milleRegrets", "Mille regretz", "train"),
            ("adieuMesAmours", "Adieu mes amours", "train"),
            ("laPlusDesPlus", "La plus des plus", "test"),
        ]
    ]
    out += [
        P(
            f"schumann_clara/polonaise_op1n{i}",
            "Clara Schumann",
            f"Polonaise Op. 1 No. {i}",
            "keyboard",
            "test" if i == 4 else "train",
        )
        for i in range(1, 5)
    ]
    out += [
        P(f"ryansMammoth/{f}", "Traditional", t, "melody", s)
        for f, t, s in [
            ("7thRegimentReel", "7th Regiment (reel)", "train"),
            ("AcaciaReel", "Acacia (reel)", "train"),
            ("AcrobatsHornpipe", "The Acrobat's Hornpipe", "train"),
            ("AdmiralsHornpipe", "The Admiral's Hornpipe", "train"),
            ("AfterTheHareReel", "After the Hare (reel)", "train"),
            ("AlhambraReel", "Alhambra (reel)", "train"),
            ("AllAboardReel", "All Aboard (reel)", "test"),
            ("AmazonHornpipe", "The Amazon Hornpipe", "train"),
        ]
    ]
    return out


PIECES: tuple[Piece, ...] = tuple(_pieces())
ENSEMBLES = {  # instrumentations, top voice first
    "choir": [
        ["choir"],
        ["organ"],
        ["strings", "strings", "strings", "cello"],
        ["trumpet", "french horn", "trombone", "trombone"],
        ["violin", "violin", "strings", "cello"],
    ],
    "quartet": [
        ["violin", "violin", "strings", "cello"],
        ["piano"],
        ["flute", "oboe", "clarinet", "cello"],
    ],
    "keyboard": [["piano"], ["harpsichord"]],
    "melody": [["violin"], ["flute"], ["accordion"], ["harmonica"], ["violin", "acoustic guitar"]],
}


def pieces_for_split(split: str) -> list[Piece]:
    """Pieces for the training side (train/valid) or the held-out benchmark (test)."""
    want = "test" if split == "test" else "train"
    return [p for p in PIECES if p.split == want]


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
def _parts(path: str) -> tuple[tuple[tuple[tuple[float, float, int], ...], ...], float]:
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
):
    """Render (an excerpt of) a corpus piece; returns a `track.Track`."""
    from ttmrpp.world.track import Track

    rng = random.Random(seed)
    parts, marked = _parts(piece.path)
    if not parts:
        raise ValueError(f"corpus piece {piece.path} has no notes")
    default = {
        "choir": (66, 88),
        "quartet": (92, 126),
        "keyboard": (100, 130),
        "melody": (100, 132),
    }[piece.ensemble]
    bpm = float(round(marked)) if 40 <= marked <= 200 else float(rng.randint(*default))
    spq = 60.0 / bpm
    end_q = max(o + d for p in parts for o, d, _ in p)
    start_q = 0.0
    if excerpt and end_q * spq > seconds + 2:
        start_q = float(int(rng.uniform(0, end_q - seconds / spq)))
    window_q = seconds / spq
    names = rng.choice(ENSEMBLES[piece.ensemble])
    pm = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    hum = rng.uniform(0.004, 0.01)
    used: list[str] = []
    for i, notes in enumerate(parts):
        name = names[min(i, len(names) - 1)]
        inst = instrument(name)
        if name == "acoustic guitar" and i > 0:
            continue
        part = pretty_midi.Instrument(program=inst.program, name=name)
        base_vel = 84 if i == 0 else 70
        for off, dur, pitch in notes:
            if not start_q <= off < start_q + window_q:
                continue
            t = (off - start_q) * spq + rng.gauss(0, hum)
            phrase = 0.85 + 0.15 * np.sin(2 * np.pi * off / 16.0)  # gentle phrase-level swells
            vel = int(
                np.clip(base_vel * phrase + rng.gauss(0, 5) + (8 if off % 1 == 0 else 0), 20, 120)
            )
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
        if part.notes:
            pm.instruments.append(part)
            if name not in used:
                used.append(name)
    if names == ["violin", "acoustic guitar"] and pm.instruments:  # the tune with guitar chords
        used.append("acoustic guitar")
        _add_drone(pm, rng)
    # The recorded key: Krumhansl template match on the duration-weighted pitch classes.
    chroma = np.zeros(12)
    for inst in pm.instruments:
        for n in inst.notes:
            chroma[n.pitch % 12] += n.end - n.start
    key = estimate_key(chroma.tolist()).name
    dry = synthesize(
        pm,
        sample_rate,
        seconds=min(seconds, pm.get_end_time() + 1.5) if pm.instruments else seconds,
    )
    fade = min(len(dry), int(0.8 * sample_rate))
    if excerpt or end_q * spq > seconds:
        dry[-fade:] *= np.linspace(1, 0, fade, dtype=np.float32)
    prod = Production.random(rng, "orchestral")
    audio = produce(dry, sample_rate, prod, rng.randrange(2**31))
    comp = COMPOSERS[piece.composer]
    is_folk = comp.period == "traditional"
    mood = (
        ("happy" if "major" in key else "melancholic")
        if is_folk
        else (
            "solemn"
            if piece.ensemble == "choir"
            else ("romantic" if "major" in key else "melancholic")
        )
    )
    from ttmrpp.world.genres import tempo_tag

    genre_tags = ["folk", "traditional"] if is_folk else ["classical", comp.period]
    if not is_folk and piece.ensemble == "choir":
        genre_tags.append("choral")
    if piece.ensemble == "quartet" and "piano" not in used:
        genre_tags.append("chamber music")
    record = {
        "duration": round(len(audio) / sample_rate, 3),
        "tags": {
            "genre": genre_tags,
            "instrument": instrument_tags(used, None),
            "mood": [mood],
            "tempo": [tempo_tag(bpm)],
        },
        "bpm": bpm,
        "key": key,
        "title": piece.title,
        "artist": piece.composer,
        "album": f"{comp.period.capitalize()} collection"
        if not is_folk
        else "Ryan's Mammoth Collection",
        "similar_artists": composer_graph()[piece.composer],
    }
    return Track(audio, sample_rate, pm, None, record)


def _add_drone(pm: pretty_midi.PrettyMIDI, rng: random.Random) -> None:
    """Guitar chords under a fiddle tune: the tonic triad on every downbeat of the melody."""
    mel = pm.instruments[0]
    chroma = np.zeros(12)
    for n in mel.notes:
        chroma[n.pitch % 12] += n.end - n.start
    k = estimate_key(chroma.tolist())
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

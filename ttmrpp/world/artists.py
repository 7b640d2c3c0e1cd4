"""Fictional artists with style profiles, albums and titles, and the artist-similarity graph.

Similarity rule (documented, symmetric): for two artists a, b

    score(a, b) = 0.5 * J(genres) + 0.2 * J(genre families) + 0.2 * J(instrument palettes)
                  + 0.05 * tempo-range overlap + 0.05 * (1 - |minor_a - minor_b|)

where J is the Jaccard index. Each artist is linked to its 3 highest-scoring others (ties broken
by name) and the graph is the union of those links, so it is symmetric and every artist has at
least 3 neighbours. Composers from the music21 corpus form their own graph from facts (period,
genre), by the same top-3 union rule (see `classical.py`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ttmrpp.world.genres import GENRES, MINOR_MOODS, genre
from ttmrpp.world.names import (
    ADJECTIVES,
    ALBUMS,
    BLOCKED_NAMES,
    FIRST_NAMES,
    NOUNS,
    SURNAME_ENDS,
    SURNAME_STARTS,
    TITLE_NOUNS,
    TITLE_WORDS,
)

FAMILIES = {
    "rock": "guitar music",
    "metal": "guitar music",
    "pop": "pop",
    "disco": "dance",
    "funk": "groove",
    "jazz": "jazz",
    "blues": "jazz",
    "bossa nova": "jazz",
    "reggae": "groove",
    "hip hop": "groove",
    "house": "dance",
    "techno": "dance",
    "trance": "dance",
    "chiptune": "electronic",
    "ambient": "electronic",
    "orchestral": "classical",
    "waltz": "classical",
    "country": "roots",
    "folk": "roots",
}
RELATED = {  # genre -> genres an artist of it may also play
    "rock": ["metal", "pop", "blues", "country"],
    "metal": ["rock"],
    "pop": ["rock", "disco", "house", "folk"],
    "jazz": ["bossa nova", "blues", "funk"],
    "blues": ["jazz", "rock", "country"],
    "bossa nova": ["jazz"],
    "reggae": ["hip hop", "funk"],
    "funk": ["disco", "jazz", "hip hop"],
    "hip hop": ["funk", "reggae"],
    "house": ["techno", "disco", "trance"],
    "techno": ["house", "trance"],
    "trance": ["techno", "house"],
    "ambient": ["orchestral", "techno"],
    "orchestral": ["ambient", "waltz"],
    "country": ["folk", "rock"],
    "folk": ["country", "waltz"],
    "waltz": ["folk", "orchestral"],
    "chiptune": ["techno", "pop"],
    "disco": ["funk", "house", "pop"],
}


@dataclass
class Artist:
    """A fictional (or historical, for composers) artist and its style profile."""

    name: str
    genres: list[str]  # first one is the main genre
    palette: dict[str, list[str]]  # role -> instruments it favours
    bpm: tuple[int, int]
    minor: float  # probability of a minor key
    moods: list[str]
    albums: list[str]
    heldout: bool = False  # only in the benchmark (test) split, never in training
    similar: list[str] = field(default_factory=list)
    kind: str = "fictional"  # or "composer"

    def profile(self) -> dict:
        """JSON-ready description of the profile."""
        return {
            "name": self.name,
            "genres": self.genres,
            "palette": self.palette,
            "bpm": list(self.bpm),
            "minor": round(self.minor, 2),
            "moods": self.moods,
            "albums": self.albums,
            "heldout": self.heldout,
            "similar": self.similar,
            "kind": self.kind,
        }


def _name(rng: random.Random, main: str, used: set[str]) -> str:
    for _ in range(1000):
        surname = rng.choice(SURNAME_STARTS) + rng.choice(SURNAME_ENDS)
        form = rng.random()
        if main in ("jazz", "bossa nova", "blues") and form < 0.5:
            name = f"{rng.choice(FIRST_NAMES)} {surname} {rng.choice(['Trio', 'Quartet', 'Ensemble', 'Quintet'])}"
        elif main in ("house", "techno", "trance", "chiptune", "ambient") and form < 0.5:
            name = (
                rng.choice(SURNAME_STARTS)
                + rng.choice(["ix", "ola", "tron", "ode", "ax", "elle", "yx"])
                + ("" if rng.random() < 0.6 else f" {rng.choice(NOUNS)}")
            )
        elif main == "orchestral" and form < 0.5:
            name = f"{rng.choice(ADJECTIVES)} {rng.choice(['Chamber Orchestra', 'Sinfonietta', 'Film Ensemble'])}"
        elif form < 0.35:
            name = f"{rng.choice(FIRST_NAMES)} {surname}"
        elif form < 0.7:
            name = f"The {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
        else:
            name = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
        bare = name.removeprefix("The ")
        if bare not in used and name not in BLOCKED_NAMES:
            used.add(bare)
            return name
    raise RuntimeError("ran out of unique artist names; enlarge the word lists")


BENCHMARK_ONLY_ARTISTS = 640  # held-out artists beyond the catalog's 160 (see make_artists)


def make_artists(
    seed: int = 0, n: int = 160, heldout_fraction: float = 0.1, extra_heldout: int = 0
) -> list[Artist]:
    """Generate fictional artists (deterministic for a seed) with the similarity graph.

    The first `n` are the catalog's artists, `heldout_fraction` of them held out; then
    `extra_heldout` more, all held out (benchmark-only artists, drawn after the first `n` so
    those stay exactly the same). Each catalog artist links to its top 3 among the catalog's
    artists, each benchmark-only artist to its top 3 among all; the graph is the union.
    """
    rng = random.Random(seed)
    used: set[str] = set()
    artists = [_make_artist(i, rng, used) for i in range(n)]
    # Hold out whole artists for the benchmark: a spread over genres, chosen by the seed.
    order = list(range(n))
    rng.shuffle(order)
    for idx in order[: max(1, int(round(n * heldout_fraction)))]:
        artists[idx].heldout = True
    for i in range(n, n + extra_heldout):
        artists.append(_make_artist(i, rng, used))
        artists[-1].heldout = True
    # The catalog's artists pick their top 3 among themselves (as without the extra ones), the
    # benchmark-only ones among everybody; the union makes it symmetric.
    link_similar(artists, _score, pools=[n] * n + [n + extra_heldout] * extra_heldout)
    return artists


def _make_artist(i: int, rng: random.Random, used: set[str]) -> Artist:
    names = sorted(GENRES)
    main = names[i % len(names)]  # every genre gets artists
    g = genre(main)
    gs = [main] + ([rng.choice(RELATED[main])] if rng.random() < 0.4 else [])
    palette = {
        "bass": [rng.choice(g.bass_instruments)],
        "comp": rng.sample(g.comp_instruments, min(2, len(g.comp_instruments))),
    }
    if g.lead_instruments:
        palette["lead"] = rng.sample(g.lead_instruments, min(2, len(g.lead_instruments)))
    lo, hi = g.bpm
    a = rng.randint(lo, lo + (hi - lo) // 2)
    b = rng.randint(max(a + 4, lo + (hi - lo) // 2), hi) if hi - a >= 4 else hi
    minor = min(1.0, max(0.0, g.minor_prob + rng.uniform(-0.25, 0.25))) if g.minor_prob > 0 else 0.0
    moods = rng.sample(g.moods, min(3, len(g.moods)))
    if minor > 0.6:
        moods = [m for m in moods if m in MINOR_MOODS] or moods
    albums = rng.sample(ALBUMS, rng.randint(1, 3))
    return Artist(_name(rng, main, used), gs, palette, (a, b), minor, moods, albums)


def _jaccard(a, b) -> float:
    a, b = set(a), set(b)
    return len(a & b) / len(a | b) if a | b else 0.0


def _score(a: Artist, b: Artist) -> float:
    pal_a = {x for v in a.palette.values() for x in v}
    pal_b = {x for v in b.palette.values() for x in v}
    overlap = max(0, min(a.bpm[1], b.bpm[1]) - max(a.bpm[0], b.bpm[0]))
    span = max(a.bpm[1], b.bpm[1]) - min(a.bpm[0], b.bpm[0]) or 1
    return (
        0.5 * _jaccard(a.genres, b.genres)
        + 0.2 * _jaccard({FAMILIES[g] for g in a.genres}, {FAMILIES[g] for g in b.genres})
        + 0.2 * _jaccard(pal_a, pal_b)
        + 0.05 * overlap / span
        + 0.05 * (1 - abs(a.minor - b.minor))
    )


def link_similar(artists: list, score, k: int = 3, pools: list[int] | None = None) -> None:
    """Fill `.similar`: union of each artist's top-k by `score` (symmetric, degree >= k).

    `pools[i]` limits artist i's top-k to the first `pools[i]` artists (default: all).
    """
    if len(artists) <= k:
        raise ValueError(f"need more than {k} artists to give each {k} neighbours")
    n = len(artists)
    sim = [[0.0] * n for _ in range(n)]  # the score is symmetric: compute each pair once
    for i in range(n):
        for j in range(i + 1, n):
            sim[i][j] = sim[j][i] = score(artists[i], artists[j])
    nbrs: list[set[int]] = [set() for _ in range(n)]
    for i in range(n):
        pool = range(pools[i] if pools else n)
        ranked = sorted((j for j in pool if j != i), key=lambda j: (-sim[i][j], artists[j].name))
        for j in ranked[:k]:
            nbrs[i].add(j)
            nbrs[j].add(i)
    for i, a in enumerate(artists):
        a.similar = [artists[j].name for j in sorted(nbrs[i], key=lambda j: -sim[i][j])]


def track_title(rng: random.Random) -> str:
    """A plausible track title such as "Neon Harbor" or "Rain over the Station"."""
    r = rng.random()
    a, b = rng.choice(TITLE_WORDS), rng.choice(TITLE_NOUNS)
    if r < 0.55:
        return f"{a} {b}"
    if r < 0.75:
        return f"{b} of the {rng.choice(TITLE_NOUNS)}"
    if r < 0.9:
        return f"The {a} {b}"
    return f"{rng.choice(TITLE_NOUNS)} ({rng.choice(['Reprise', 'Night Version', 'Interlude', 'Part II'])})"

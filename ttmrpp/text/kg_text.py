"""The paper's text construction (TTMR++ §3): pure functions with an injected RNG.

A training item's text is a random non-empty subset of its available sources, shuffled and
joined with ". ": tags (a random subset in random order), the LLM pseudo-caption, metadata
(`music track {title} by {artist} from {album}`) and similar artists
(`similar with artist a, b`, 1-5 names sampled).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

TEXT_SOURCES = ("tag", "caption", "meta", "sim")
MAX_SIMILAR_ARTISTS = 5


def meta_text(title: str, artist: str, album: str | None = None) -> str:
    """`music track {title} by {artist} from {album}` (the album part only when known)."""
    text = f"music track {title} by {artist}"
    return f"{text} from {album}" if album else text


def track_query(title: str, artist: str, album: str | None = None) -> str:
    """`similar music track with {title} by {artist} from {album}`: the dim-sim anchor query."""
    text = f"similar music track with {title} by {artist}"
    return f"{text} from {album}" if album else text


def artist_query(name: str) -> str:
    """The artist-similarity query of the paper's OLGA protocol."""
    return f"similar with artist {name}"


def similar_artist_text(
    artists: Sequence[str], rng: random.Random, max_artists: int = MAX_SIMILAR_ARTISTS
) -> str:
    """`similar with artist a, b, ...` with 1..min(5, n) names sampled; "" when none."""
    artists = [a for a in artists if a]
    if not artists:
        return ""
    k = rng.randint(1, min(max_artists, len(artists)))
    return "similar with artist " + ", ".join(rng.sample(artists, k))


def tag_text(tags: Sequence[str], rng: random.Random) -> str:
    """A random subset of 1..n tags in random order, joined with ", "; "" when none."""
    tags = [t for t in tags if t]
    if not tags:
        return ""
    return ", ".join(rng.sample(tags, rng.randint(1, len(tags))))


def flat_tags(tags: Mapping[str, Iterable[str]] | Iterable[str]) -> list[str]:
    """Manifest tags by category (`{"genre": [...], ...}`) or a plain list -> one list."""
    if isinstance(tags, Mapping):
        return [t for values in tags.values() for t in values]
    return list(tags)


def source_texts(
    record: Mapping[str, Any], rng: random.Random, sources: Sequence[str] = TEXT_SOURCES
) -> list[str]:
    """The non-empty text of each requested source available for a manifest record."""
    unknown = set(sources) - set(TEXT_SOURCES)
    if unknown:
        raise ValueError(f"unknown text sources {sorted(unknown)}; choose from {TEXT_SOURCES}")
    pool = []
    for source in sources:
        if source == "tag":
            text = tag_text(flat_tags(record.get("tags") or []), rng)
        elif source == "caption":
            text = record.get("pseudo_caption") or ""
        elif source == "meta":
            title, artist = record.get("title"), record.get("artist")
            text = meta_text(title, artist, record.get("album")) if title and artist else ""
        else:
            text = similar_artist_text(record.get("similar_artists") or [], rng)
        if text:
            pool.append(text)
    return pool


def training_text(
    record: Mapping[str, Any], rng: random.Random, sources: Sequence[str] = TEXT_SOURCES
) -> str:
    """The stochastic training text: a random non-empty subset of the sources, shuffled."""
    pool = source_texts(record, rng, sources)
    if not pool:
        raise ValueError(f"record {record.get('id', '?')!r} has no text for sources {sources}")
    chosen = rng.sample(pool, rng.randint(1, len(pool)))
    rng.shuffle(chosen)
    return ". ".join(chosen)

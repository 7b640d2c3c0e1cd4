"""Streaming, on-the-fly training data: a new seeded track on every step, never the same clip."""

from __future__ import annotations

import random
from collections.abc import Iterator
from functools import lru_cache

import numpy as np

from ttmrpp.world.artists import BENCHMARK_ONLY_ARTISTS, Artist, make_artists

WORLD_SEED = 0  # the artist world shared by the catalog and the stream
SPLITS = ("train", "valid", "test")


@lru_cache(maxsize=2)
def world(seed: int = WORLD_SEED) -> tuple[Artist, ...]:
    """The fictional artists (cached per process): the catalog's 160, then the benchmark-only."""
    return tuple(make_artists(seed, extra_heldout=BENCHMARK_ONLY_ARTISTS))


@lru_cache(maxsize=2)
def heldout_names(seed: int = WORLD_SEED) -> frozenset[str]:
    """Names of the held-out artists, which training data never names."""
    return frozenset(a.name for a in world(seed) if a.heldout)


def for_split(record: dict, split: str, seed: int = WORLD_SEED) -> dict:
    """The record as a split may see it: training splits drop held-out similar artists."""
    if split != "test" and record.get("similar_artists"):
        held = heldout_names(seed)
        record["similar_artists"] = [s for s in record["similar_artists"] if s not in held]
    return record


def artists_for_split(split: str, seed: int = WORLD_SEED) -> list[Artist]:
    """Artists a split may draw from: training splits never see held-out artists."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    arts = list(world(seed))
    if split == "test":
        return arts
    return [a for a in arts if not a.heldout]


def iter_tracks(
    seed: int,
    split: str = "train",
    seconds: float = 10.0,
    sample_rate: int = 22050,
    classical_fraction: float = 0.06,
) -> Iterator[tuple[np.ndarray, dict]]:
    """Endless stream of (waveform float32 mono, manifest record) pairs.

    Every step draws a new track seed from `seed`, so the stream never repeats a clip; the same
    `seed` always gives the same stream. Clips start somewhere inside a song (not always at the
    intro) and last exactly `seconds`. For split="train"/"valid" no held-out benchmark artist
    is ever used or named.
    """
    from ttmrpp.world.track import make_track

    if seconds <= 0:
        raise ValueError(f"seconds must be positive, got {seconds}")
    pool = artists_for_split(split)
    master = random.Random(f"stream-{seed}-{split}")
    i = 0
    while True:
        track_seed = master.randrange(2**62)
        rng = random.Random(track_seed)
        if classical_fraction > 0 and rng.random() < classical_fraction:
            from ttmrpp.world.classical import make_classical_track
            from ttmrpp.world.repertoire import pieces_for_split

            piece = rng.choice(pieces_for_split("train" if split != "test" else "test"))
            t = make_classical_track(
                piece, rng.randrange(2**31), seconds=seconds, sample_rate=sample_rate, excerpt=True
            )
        else:
            artist = rng.choice(pool)
            t = make_track(
                rng.randrange(2**31), artist, seconds=seconds, sample_rate=sample_rate, ending=False
            )
        record = {"id": f"s{seed}-{split}-{i:08d}", "audio": None, "split": split, **t.record}
        record = for_split(record, split)
        i += 1
        yield t.audio, record

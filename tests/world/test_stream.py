"""The training stream: seeded, a new clip every step of exactly the length asked, never a
held-out artist on the training side, corpus pieces from the split's own side."""

from __future__ import annotations

from itertools import islice

import numpy as np
import pytest

from ttmrpp.world.repertoire import COMPOSERS, pieces_for_split
from ttmrpp.world.stream import (
    artists_for_split,
    for_split,
    heldout_names,
    iter_tracks,
    world,
)


def test_stream_is_seeded_new_every_step_and_exact_length():
    a = iter_tracks(seed=3, seconds=2.0, sample_rate=16000, classical_fraction=0.0)
    b = iter_tracks(seed=3, seconds=2.0, sample_rate=16000, classical_fraction=0.0)
    (w1, r1), (w2, r2) = next(a), next(a)
    (v1, s1), _ = next(b), next(b)
    assert w1.dtype == np.float32 and w1.shape == (32000,)
    assert np.array_equal(w1, v1) and r1 == s1
    assert not np.array_equal(w1, w2) and r1["id"] != r2["id"]
    ((x1, _),) = [next(iter_tracks(seed=4, seconds=2.0, sample_rate=16000, classical_fraction=0.0))]
    assert not np.array_equal(w1, x1)
    assert r1["split"] == "train" and r1["audio"] is None and r1["tags"]["genre"]


def test_stream_train_never_uses_heldout_artists():
    held = {a.name for a in world() if a.heldout}
    assert held and not held & {a.name for a in artists_for_split("train")}
    stream = iter_tracks(
        seed=0, split="train", seconds=1.0, sample_rate=8000, classical_fraction=0.3
    )
    artists = {next(stream)[1]["artist"] for _ in range(12)}
    assert not held & artists
    with pytest.raises(ValueError, match="unknown split"):
        next(iter_tracks(seed=0, split="holdout"))


@pytest.mark.parametrize("split", ["valid", "test"])
def test_corpus_pieces_come_from_the_splits_own_side(split):
    side = {p.title for p in pieces_for_split(split)}
    # seed 2 draws short scores on both sides (a Beethoven quartet takes ~10 s to parse)
    stream = iter_tracks(seed=2, split=split, seconds=1.5, sample_rate=8000, classical_fraction=1)
    for i, (wave, rec) in enumerate(islice(stream, 3)):
        assert rec["id"] == f"s2-{split}-{i:08d}" and rec["split"] == split
        assert rec["artist"] in COMPOSERS and rec["title"] in side
        assert wave.shape == (12000,) and np.isfinite(wave).all()
        assert rec["tags"]["genre"][0] in ("classical", "folk")


def test_the_benchmark_side_draws_from_every_artist():
    assert [a.name for a in artists_for_split("test")] == [a.name for a in world()]
    train = artists_for_split("train")
    assert train == artists_for_split("valid") and not any(a.heldout for a in train)
    assert len(train) + len(heldout_names()) == len(world())
    assert world() is world()  # built once per process


def test_for_split_hides_heldout_neighbours_from_training_only():
    held = sorted(heldout_names())[:2]
    record = {"similar_artists": [held[0], "Someone Else", held[1]]}
    assert for_split(dict(record), "test")["similar_artists"] == record["similar_artists"]
    for split in ("train", "valid"):
        assert for_split(dict(record), split)["similar_artists"] == ["Someone Else"]
    assert for_split({"similar_artists": []}, "train") == {"similar_artists": []}


def test_clip_length_must_be_positive():
    with pytest.raises(ValueError, match="seconds must be positive"):
        next(iter_tracks(seed=0, seconds=0))

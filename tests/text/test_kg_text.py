import random

import pytest

from ttmrpp.text.kg_text import (
    artist_query,
    meta_text,
    similar_artist_text,
    tag_text,
    track_query,
    training_text,
)

RECORD = {
    "id": "t1",
    "tags": {"genre": ["rock"], "instrument": ["electric guitar", "drums"], "mood": ["energetic"]},
    "title": "Neon Harbor",
    "artist": "The Velvet Orbits",
    "album": "Night Ferries",
    "similar_artists": ["A", "B", "C", "D", "E", "F", "G"],
    "pseudo_caption": "An energetic rock song with electric guitar and drums.",
}


def test_templates():
    assert meta_text("T", "A", "B") == "music track T by A from B"
    assert track_query("T", "A", "B") == "similar music track with T by A from B"
    assert artist_query("X") == "similar with artist X"


def test_similar_artists_sample_one_to_five():
    rng = random.Random(0)
    counts = set()
    for _ in range(300):
        text = similar_artist_text(RECORD["similar_artists"], rng)
        names = text.removeprefix("similar with artist ").split(", ")
        assert text.startswith("similar with artist ") and len(set(names)) == len(names)
        counts.add(len(names))
    assert counts == {1, 2, 3, 4, 5}
    assert similar_artist_text([], rng) == ""


def test_tag_subsets_cover_all_sizes_and_orders():
    rng = random.Random(1)
    tags = ["a", "b", "c"]
    seen = {tag_text(tags, rng) for _ in range(500)}
    assert {"a", "b", "c", "a, b, c", "c, b, a"} <= seen
    assert all(set(s.split(", ")) <= set(tags) for s in seen)


def test_training_text_is_deterministic_non_empty_subset():
    texts = [training_text(RECORD, random.Random(s)) for s in range(400)]
    assert texts == [training_text(RECORD, random.Random(s)) for s in range(400)]
    n_parts = {t.count(". ") + 1 for t in texts}
    assert n_parts >= {1, 2, 3, 4}
    assert any(t.startswith("music track") for t in texts)
    assert any(t.startswith("similar with artist") for t in texts)
    assert any(t.startswith("An energetic rock") for t in texts)


def test_sources_switch_and_errors():
    for s in range(50):
        assert "music track" not in training_text(RECORD, random.Random(s), ["tag", "caption"])
    only_tags = training_text(RECORD, random.Random(3), ["tag"])
    assert set(only_tags.split(", ")) <= {"rock", "electric guitar", "drums", "energetic"}
    with pytest.raises(ValueError, match="unknown text sources"):
        training_text(RECORD, random.Random(0), ["lyrics"])
    with pytest.raises(ValueError, match="no text"):
        training_text({"id": "x"}, random.Random(0), ["meta"])

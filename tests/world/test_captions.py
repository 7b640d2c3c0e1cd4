"""Reference captions for the benchmark: distinct, seeded, and made only of the record's facts."""

from __future__ import annotations

import random
import re

from ttmrpp.world.captions import GENRE_PHRASES, MOOD_WORDS, TEMPO_WORDS, reference_captions

RECORD = {
    "tags": {
        "genre": ["house", "electronic", "dance"],
        "instrument": ["synth bass", "bass", "synthesizer", "synth pad", "drums", "drum machine"],
        "mood": ["energetic"],
        "tempo": ["fast"],
    },
    "bpm": 124.4,
    "key": "Bb major",
    "artist": "The Velvet Orbits",
}


def _words(record: dict, rng: random.Random, n: int = 3) -> list[str]:
    return reference_captions(record, rng, n)


def test_captions_are_distinct_seeded_sentences():
    caps = _words(RECORD, random.Random(0))
    assert len(caps) == len(set(caps)) == 3
    assert caps == _words(RECORD, random.Random(0))
    assert {c for s in range(5) for c in _words(RECORD, random.Random(s))} != set(caps)
    for c in caps:
        assert c[0].isupper() and c.endswith(".") and "  " not in c
    assert len(_words(RECORD, random.Random(1), n=20)) == 7  # every template once at most


def test_every_caption_names_the_genre_and_the_mood():
    for seed in range(20):
        for c in _words(RECORD, random.Random(seed), n=7):
            low = c.lower()
            assert any(w in low for w in MOOD_WORDS["energetic"]), c
            assert "house" in low, c
            if "bpm" in low:
                assert "about 124 BPM" in c  # rounded, never another tempo
            assert "None" not in c


def test_instruments_are_the_most_specific_tags():
    text = " ".join(_words(RECORD, random.Random(3), n=7))
    assert "synth bass" in text and "synth pad" in text and "drum machine" in text
    assert not re.search(r"(?<!synth )\bbass\b", text, re.I)  # only as "synth bass"
    assert "synthesizer" not in text and not re.search(r"\bdrums\b", text)


def test_missing_facts_are_left_out_and_unknown_words_kept():
    record = {
        "tags": {"genre": ["sea shanty"], "instrument": ["accordion"], "mood": ["wistful"]},
        "bpm": None,
        "key": None,
        "artist": None,
    }
    for seed in range(10):
        for c in _words(record, random.Random(seed), n=7):
            assert "sea shanty" in c and "wistful" in c and "None" not in c
            assert "BPM" not in c and " by " not in c and " in :" not in c


def test_the_vocabulary_covers_every_genre_mood_and_tempo_word():
    from ttmrpp.world.genres import GENRES, MOODS

    assert set(GENRES) | {"classical"} <= set(GENRE_PHRASES)
    assert set(MOODS) | {"solemn"} <= set(MOOD_WORDS)
    assert set(TEMPO_WORDS) == {"slow", "medium tempo", "fast"}

"""score_embeddings on a small synthetic benchmark: every protocol's full result, pinned.

The expected dicts in data/score_embeddings.json were computed once from seeded inputs; any
change to a metric, a protocol's query set or the result layout shows up here.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pytest

from ttmrpp.eval.metrics import merge_tags
from ttmrpp.eval.table2 import score_embeddings
from ttmrpp.text.kg_text import flat_tags

EXPECTED = Path(__file__).parent / "data" / "score_embeddings.json"
DIM = 12
ARTISTS = ["Ada Vale", "Bo Crane", "Cy Moss", "Di Fern", "Ed Lark", "Fa Reed"]
GENRE = {"Ada Vale": "rock", "Bo Crane": "rock", "Cy Moss": "jazz", "Di Fern": "jazz",
         "Ed Lark": "folk", "Fa Reed": "folk"}  # fmt: skip
SIMILAR = {"Ada Vale": ["Bo Crane"], "Bo Crane": ["Ada Vale", "Ed Lark"], "Cy Moss": ["Di Fern"],
           "Di Fern": ["Cy Moss"], "Ed Lark": ["Bo Crane"], "Fa Reed": []}  # fmt: skip
MOODS = ["calm", "Calm!", "energetic", "dark"]


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def text_vector(text: str) -> np.ndarray:
    """The same unit vector for the same text in every process (no salted hash)."""
    return unit(np.random.default_rng(zlib.crc32(text.encode())).standard_normal(DIM))


def encode_text(texts: list[str]) -> np.ndarray:
    return np.stack([text_vector(t) for t in texts])


def first_word_embed(texts: list[str]) -> np.ndarray:
    """Tag embedder for merge_tags: tags sharing a first word are near-duplicates."""
    return np.stack([text_vector(t.split()[0]) for t in texts])


def benchmark(n: int = 36) -> tuple[list[dict], np.ndarray]:
    rng = np.random.default_rng(7)
    records = []
    for i in range(n):
        artist = ARTISTS[i % len(ARTISTS)]
        rec = {
            "id": str(i),
            "audio": f"{i}.wav",
            "artist": artist,
            "album": f"Album {i % 4}" if i % 5 else None,
            "similar_artists": SIMILAR[artist],
            "tags": {"genre": [GENRE[artist]], "mood": [MOODS[i % 4]]},
            "captions": [f"a {GENRE[artist]} song number {i % 5}"] if i % 7 else [],
        }
        # Untitled tracks get no metadata query; tracks 0-5 and 30-35 share their titles.
        rec["title"] = f"Song {i % 30}" if i % 9 else ""
        records.append(rec)
    # Audio near its artist's and genre's directions, so the rankings are not all chance.
    centre = {a: text_vector("artist " + a) + text_vector(GENRE[a]) for a in ARTISTS}
    audio = unit(np.stack([centre[r["artist"]] for r in records]) + rng.normal(0, 0.8, (n, DIM)))
    return records, audio


def cases() -> dict[str, dict]:
    records, audio = benchmark()
    merged = merge_tags([flat_tags(r["tags"]) for r in records], first_word_embed, min_tracks=5)
    bare = [{k: v for k, v in r.items() if k not in ("captions", "similar_artists")}
            for r in records]  # fmt: skip
    return {
        "known_subset": score_embeddings(
            records, audio, encode_text, {"Ada Vale", "Cy Moss", "Ed Lark"}, 20, merged=merged
        ),
        "all_known": score_embeddings(records, audio, encode_text, None, 50, merged=merged),
        "none_known": score_embeddings(records, audio, encode_text, set(), 10, merged=merged),
        "given_triplets": score_embeddings(
            records,
            audio,
            encode_text,
            {"Bo Crane"},
            triplets=[(0, 1, 2), (1, 0, 2), (4, 1, 3), (13, 7, 2)],
            merged=merged,
        ),
        "no_captions_or_links": score_embeddings(
            bare, audio, encode_text, None, 10, merged=([], [], [])
        ),
    }


def rounded(x):
    """JSON-comparable: numpy scalars to Python, floats as they are."""
    if isinstance(x, dict):
        return {k: rounded(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [rounded(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    return x


def flat(d: dict, prefix: str = "") -> dict:
    """{"a": {"b": 1}} -> {"a/b": 1}: every leaf under its path."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out |= flat(v, f"{prefix}{k}/")
        else:
            out[prefix + k] = v
    return out


def test_every_protocol_scores_as_pinned():
    got = flat(json.loads(json.dumps(rounded(cases()))))
    expected = flat(json.loads(EXPECTED.read_text()))
    assert list(got) == list(expected)  # the same results, in the same order
    for path, value in expected.items():
        if isinstance(value, float):
            assert got[path] == pytest.approx(value, rel=1e-9, abs=1e-12), path
        else:  # counts and None (a subset with nothing to score) exactly
            assert got[path] == value and type(got[path]) is type(value), path


def test_the_pinned_cases_cover_every_protocol_and_subset():
    expected = json.loads(EXPECTED.read_text())
    full = expected["known_subset"]
    assert {"caption", "tag", "metadata", "track_similarity", "artist_similarity"} <= set(full)
    assert full["metadata"]["known"]["queries"] < full["metadata"]["all"]["queries"]
    assert expected["none_known"]["metadata"]["known"] is None
    assert expected["none_known"]["track_similarity"]["known"] is None
    assert expected["none_known"]["artist_similarity"]["known"] is None
    assert expected["given_triplets"]["track_similarity"]["all"]["triplets"] == 4
    bare = expected["no_captions_or_links"]
    assert not {"caption", "tag", "track_similarity", "artist_similarity"} & set(bare)

"""Music theory helpers: keys, chords, voicings and the key-template estimator."""

from __future__ import annotations

import pytest

from ttmrpp.world.theory import (
    KK_MAJOR,
    KK_MINOR,
    Key,
    chord_on_degree,
    estimate_key,
    voice_chord,
)


def test_key_names_round_trip_and_reject_garbage():
    for tonic in range(12):
        for mode in ("major", "minor"):
            k = Key(tonic, mode)
            assert Key.parse(k.name) == k
    with pytest.raises(ValueError, match="cannot parse key"):
        Key.parse("H dorian")
    with pytest.raises(ValueError, match="unknown mode"):
        Key(0, "lydian")


def test_minor_dominant_has_leading_tone():
    a_minor = Key(9, "minor")
    v = chord_on_degree(a_minor, 4)
    assert v.pcs == (4, 8, 11)  # E G# B
    assert chord_on_degree(Key(0, "major"), 1, seventh=True).pcs == (2, 5, 9, 0)  # Dm7


def test_voicings_stay_in_range_and_move_smoothly():
    k = Key(0, "major")
    prev = None
    for deg in (0, 5, 3, 4, 0):
        v = voice_chord(chord_on_degree(k, deg), 52, 76, prev, 4)
        assert all(52 <= p <= 76 for p in v) and len(v) == 4
        assert {p % 12 for p in v} <= set(chord_on_degree(k, deg).pcs)
        if prev:
            assert sum(min(abs(a - b) for b in prev) for a in v) <= 12
        prev = v


def test_estimate_key_recovers_rotated_profiles():
    for tonic in (0, 4, 9):
        major = [KK_MAJOR[(i - tonic) % 12] for i in range(12)]
        minor = [KK_MINOR[(i - tonic) % 12] for i in range(12)]
        assert estimate_key(major) == Key(tonic, "major")
        assert estimate_key(minor) == Key(tonic, "minor")
    with pytest.raises(ValueError):
        estimate_key([1.0] * 11)

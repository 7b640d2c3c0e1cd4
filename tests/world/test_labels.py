"""The audio agrees with its labels, by real measurements (librosa), on a small sample."""

from __future__ import annotations

import random

import numpy as np
import pytest

from ttmrpp.world.genres import GENRES
from ttmrpp.world.theory import Key, estimate_key
from ttmrpp.world.track import make_track

SR = 22050
DRUM_GENRES = sorted(g for g, spec in GENRES.items() if spec.drums and spec.drum_prob == 1.0)


def _tracks(genres: list[str], n: int, seed: int, seconds: float = 10.0, ending: bool = False):
    rng = random.Random(seed)
    return [
        make_track(
            rng.randrange(2**31),
            genre_name=genres[i % len(genres)],
            seconds=seconds,
            sample_rate=SR,
            ending=ending,
        )
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def drum_tracks():
    """One stream clip (starting anywhere in a song) per genre with a drum kit."""
    return _tracks(DRUM_GENRES, len(DRUM_GENRES), seed=1)


def _tempo_ok(est: float, bpm: float) -> bool:
    return any(abs(est * f - bpm) <= 0.04 * bpm for f in (1.0, 0.5, 2.0, 2 / 3, 1.5))


def test_tempo_matches_recorded_bpm(drum_tracks):
    import librosa

    ok = []
    for t in drum_tracks:
        assert (
            "drums" in t.record["tags"]["instrument"]
            or "drum machine" in t.record["tags"]["instrument"]
        )
        onset = librosa.onset.onset_strength(y=t.audio, sr=SR)
        est = float(librosa.feature.tempo(onset_envelope=onset, sr=SR)[0])
        ok.append(_tempo_ok(est, t.record["bpm"]))
    assert np.mean(ok) >= 0.85, f"tempo within 4% (or an octave) for only {np.mean(ok):.0%}"


def _percussive_share(y: np.ndarray) -> float:
    import librosa

    S = np.abs(librosa.stft(y, n_fft=1024, hop_length=512))
    H, P = librosa.decompose.hpss(S)
    return float((P**2).sum() / ((H**2).sum() + (P**2).sum()))


def test_tracks_without_drums_have_less_percussive_energy(drum_tracks):
    quiet = _tracks(["ambient", "orchestral"], 4, seed=2)
    assert all("drums" not in t.record["tags"]["instrument"] for t in quiet)
    with_drums = [_percussive_share(t.audio) for t in drum_tracks[::2]]
    without = [_percussive_share(t.audio) for t in quiet]
    assert np.median(without) < 0.6 * np.median(with_drums), (without, with_drums)


def test_estimated_key_matches_recorded_key():
    """Catalog-style tracks (intro to final chord), one per genre; Krumhansl templates on the
    mean CQT chroma."""
    import librosa

    tracks = _tracks(sorted(GENRES), len(GENRES), seed=3, seconds=14.0, ending=True)
    hits = []
    for t in tracks:
        chroma = librosa.feature.chroma_cqt(y=t.audio, sr=SR, hop_length=1024).mean(axis=1)
        hits.append(estimate_key(chroma.tolist()) == Key.parse(t.record["key"]))
    assert np.mean(hits) >= 0.7, f"key matches for only {np.mean(hits):.0%}"


def test_piano_tag_means_piano_notes_in_midi():
    rng = random.Random(4)
    seen = 0
    for _ in range(12):
        t = make_track(
            rng.randrange(2**31),
            genre_name=rng.choice(["pop", "jazz", "blues", "hip hop"]),
            seconds=6.0,
            sample_rate=SR,
        )
        has_piano = any(i.program == 0 and not i.is_drum and i.notes for i in t.midi.instruments)
        assert ("piano" in t.record["tags"]["instrument"]) == has_piano
        seen += has_piano
    assert seen >= 2  # the sample really exercised piano tracks

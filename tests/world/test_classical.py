"""Corpus pieces as tracks: a music21 score played by a suitable ensemble at its own tempo, in
its own key, with the composer as the artist."""

from __future__ import annotations

import numpy as np
import pytest

from ttmrpp.world.classical import DEFAULT_BPM, _parts, composer_graph, make_classical_track
from ttmrpp.world.instruments import instrument_tags
from ttmrpp.world.repertoire import ENSEMBLES, PIECES
from ttmrpp.world.theory import Key, chord_on_degree

SR = 8000
BY_PATH = {p.path: p for p in PIECES}
CHORALE = BY_PATH["bach/bwv66.6"]  # "Christ unser Herr", in F# minor, marked at 96
REEL = BY_PATH["ryansMammoth/AcaciaReel"]  # a G major fiddle tune without a tempo mark
QUARTET = BY_PATH["mozart/k155/movement1"]


def test_scores_are_read_part_by_part_with_their_tempo_mark():
    parts, bpm = _parts(CHORALE.path)
    assert bpm == 96.0 and len(parts) == 4  # soprano, alto, tenor, bass
    for notes in parts:
        onsets = [o for o, _, _ in notes]
        assert onsets == sorted(onsets) and onsets[0] >= 0
        assert all(d > 0 and 0 <= p <= 127 for _, d, p in notes)
    means = [np.mean([p for _, _, p in notes]) for notes in parts]
    assert means == sorted(means, reverse=True)  # top voice first
    assert _parts(REEL.path)[1] == 0.0


def test_a_chorale_is_played_whole_at_its_tempo_in_its_key():
    parts, _ = _parts(CHORALE.path)
    for seed in range(3):
        t = make_classical_track(CHORALE, seed, seconds=30.0, sample_rate=SR)
        r = t.record
        assert (r["bpm"], r["key"]) == (96.0, "F# minor")
        names = [i.name for i in t.midi.instruments]
        voices = [[opt[min(i, len(opt) - 1)] for i in range(4)] for opt in ENSEMBLES["choir"]]
        assert names in voices  # one instrument per voice; a one-name ensemble plays them all
        assert [len(i.notes) for i in t.midi.instruments] == [len(p) for p in parts]
        end_q = max(o + d for p in parts for o, d, _ in p)
        assert t.midi.get_end_time() == pytest.approx(end_q * 60 / 96, abs=0.1)
        assert len(t.audio) / SR == pytest.approx(end_q * 60 / 96 + 1.5, abs=0.1)  # + release
        assert r["tags"]["instrument"] == instrument_tags(list(dict.fromkeys(names)), None)
        assert r["tags"]["genre"] == ["classical", "baroque", "choral"]
        assert r["tags"]["mood"] == ["solemn"] and r["tags"]["tempo"] == ["medium tempo"]
        assert (r["title"], r["artist"], r["album"]) == (
            "Chorale BWV 66.6",
            "Johann Sebastian Bach",
            "Baroque collection",
        )
        assert r["similar_artists"] == composer_graph()["Johann Sebastian Bach"]


def test_excerpts_last_exactly_and_start_somewhere_inside():
    firsts = set()
    for seed in range(4):
        t = make_classical_track(QUARTET, seed, seconds=3.0, sample_rate=SR, excerpt=True)
        assert len(t.audio) == 3 * SR and t.record["duration"] == 3.0
        rms = [np.sqrt(np.mean(x**2)) for x in (t.audio[SR : 2 * SR], t.audio[-SR // 20 :])]
        assert rms[1] < 0.3 * rms[0]  # a cut-short piece fades out
        notes = [n for i in t.midi.instruments for n in i.notes]
        assert notes and all(0 <= n.start < 3.0 + 0.05 for n in notes)
        firsts.add(tuple(sorted(n.pitch for n in notes)[:8]))
        again = make_classical_track(QUARTET, seed, seconds=3.0, sample_rate=SR, excerpt=True)
        assert np.array_equal(again.audio, t.audio) and again.record == t.record
    assert len(firsts) > 1  # different seeds, different places in the movement


def test_quartets_are_chamber_music_unless_a_piano_plays_them():
    seen = set()
    for seed in range(8):
        r = make_classical_track(QUARTET, seed, seconds=2.0, sample_rate=SR, excerpt=True).record
        piano = "piano" in r["tags"]["instrument"]
        assert ("chamber music" in r["tags"]["genre"]) != piano
        assert r["tags"]["genre"][0] == "classical"
        assert r["tags"]["mood"] == ["romantic" if "major" in r["key"] else "melancholic"]
        seen.add(piano)
    assert seen == {True, False}


def test_a_fiddle_tune_is_folk_at_a_reel_tempo_and_the_guitar_plays_its_tonic():
    with_guitar = 0
    for seed in range(12):
        t = make_classical_track(REEL, seed, seconds=4.0, sample_rate=SR)
        r = t.record
        lo, hi = DEFAULT_BPM["melody"]
        assert lo <= r["bpm"] <= hi and r["bpm"] == int(r["bpm"])  # no mark: drawn for reels
        assert r["tags"]["genre"] == ["folk", "traditional"] and r["artist"] == "Traditional"
        assert r["album"] == "Ryan's Mammoth Collection" and r["key"] == "G major"
        assert r["tags"]["mood"] == ["happy"]
        names = [i.name for i in t.midi.instruments]
        if "acoustic guitar" not in names:
            assert len(names) == 1
            continue
        with_guitar += 1
        assert names == ["violin", "acoustic guitar"] and "guitar" in r["tags"]["instrument"]
        guitar = t.midi.instruments[1]
        assert {n.pitch % 12 for n in guitar.notes} == set(chord_on_degree(Key(7, "major"), 0).pcs)
        roots = [n.start for n in guitar.notes if n.pitch == 48 + 7]
        assert np.allclose(np.diff(roots), 2 * 60 / r["bpm"])  # a chord every two beats
    assert with_guitar >= 2

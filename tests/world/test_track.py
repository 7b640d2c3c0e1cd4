"""One track end to end: the record states what was made (genre, instruments that play, mood,
tempo, key, artist) and the audio has the length asked for."""

from __future__ import annotations

import random

import numpy as np
import pretty_midi

from ttmrpp.world.genres import GENRES, tempo_tag
from ttmrpp.world.instruments import instrument_tags
from ttmrpp.world.stream import world
from ttmrpp.world.track import audible_instruments, make_track, spec_for_artist

SR = 16000
RECORD_KEYS = {"duration", "tags", "bpm", "key", "title", "artist", "album", "similar_artists"}


def test_the_record_states_what_was_made():
    artist = next(a for a in world() if not a.heldout and len(a.genres) > 1)
    for seed in range(3):
        t = make_track(seed, artist, seconds=3.0, sample_rate=SR, ending=False)
        r, spec = t.record, t.spec
        assert set(r) == RECORD_KEYS
        assert len(t.audio) == 3 * SR and r["duration"] == 3.0 and t.sample_rate == SR
        assert t.audio.dtype == np.float32 and np.isfinite(t.audio).all() and t.audio.any()
        g = GENRES[spec.genre]
        assert spec.genre in artist.genres and r["tags"]["genre"] == [g.name, *g.extra_tags]
        names, drums = audible_instruments(t.midi, 3.0)
        assert set(names) <= set(spec.parts.values())
        assert r["tags"]["instrument"] == instrument_tags(names, drums)
        assert r["tags"]["mood"] == [spec.mood] and r["tags"]["tempo"] == [tempo_tag(spec.bpm)]
        assert (r["bpm"], r["key"]) == (spec.bpm, spec.key)
        assert t.midi.get_tempo_changes()[1][0] == spec.bpm
        assert r["artist"] == artist.name and r["album"] in artist.albums
        assert r["similar_artists"] == artist.similar and r["title"]


def test_an_ending_runs_on_for_the_release_tail():
    t = make_track(11, genre_name="folk", seconds=3.0, sample_rate=SR, ending=True)
    assert len(t.audio) > 3 * SR
    assert t.record["duration"] == round(len(t.audio) / SR, 3)
    assert (t.record["artist"], t.record["album"], t.record["similar_artists"]) == (None, None, [])
    assert t.record["tags"]["genre"][0] == "folk"


def test_tracks_are_seeded():
    a = make_track(5, genre_name="reggae", seconds=2.0, sample_rate=SR)
    b = make_track(5, genre_name="reggae", seconds=2.0, sample_rate=SR)
    c = make_track(6, genre_name="reggae", seconds=2.0, sample_rate=SR)
    assert np.array_equal(a.audio, b.audio) and a.record == b.record
    assert not np.array_equal(a.audio[: len(c.audio)], c.audio[: len(a.audio)])


def test_artist_specs_keep_to_the_artists_style():
    for artist in world()[:40]:
        for seed in range(3):
            spec = spec_for_artist(random.Random(seed), artist, 10.0, ending=False)
            g = GENRES[spec.genre]
            assert spec.genre in artist.genres
            lo, hi = max(g.bpm[0], artist.bpm[0]), min(g.bpm[1], artist.bpm[1])
            if lo <= hi:
                assert lo <= spec.bpm <= hi
            else:
                assert g.bpm[0] <= spec.bpm <= g.bpm[1]
            shared = [m for m in artist.moods if m in g.moods]
            assert spec.mood in (shared or g.moods)


def test_only_parts_heard_before_the_cut_are_tagged():
    pm = pretty_midi.PrettyMIDI()
    for name, program, is_drum, start in (
        ("piano", 0, False, 0.5),
        ("flute", 73, False, 2.98),  # starts in the last 50 ms: not heard
        ("drum machine", 0, True, 1.0),
        ("piano", 0, False, 1.0),
        ("cello", 42, False, 0.0),
    ):
        inst = pretty_midi.Instrument(program=program, is_drum=is_drum, name=name)
        inst.notes.append(pretty_midi.Note(90, 60, start, start + 0.5))
        pm.instruments.append(inst)
    assert audible_instruments(pm, 3.0) == (["piano", "cello"], "machine")
    assert audible_instruments(pm, 0.4) == (["cello"], None)

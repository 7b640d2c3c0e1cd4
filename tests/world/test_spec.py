"""Track specs: the song form covers the length asked for, and a drawn spec stays inside its
genre (tempo, key, instruments, kit) while keeping every argument it is given."""

from __future__ import annotations

import math
import random

import pytest

from ttmrpp.world.genres import GENRES, MINOR_MOODS
from ttmrpp.world.spec import ROLES, TrackSpec, make_spec, plan_form
from ttmrpp.world.theory import PROGRESSIONS, Key

CYCLE = {"verse", "chorus", "bridge"}


@pytest.mark.parametrize("ending", [True, False])
@pytest.mark.parametrize("start_anywhere", [True, False])
def test_form_covers_every_bar_with_intro_and_outro_where_asked(ending, start_anywhere):
    rng = random.Random(0)
    for n_bars in range(1, 40):
        form = plan_form(rng, n_bars, ending, start_anywhere)
        assert sum(b for _, b in form) == n_bars
        assert all(b >= 1 for _, b in form)
        names = [name for name, _ in form]
        assert ("outro" in names) == ending
        if ending:
            assert names[-1] == "outro" and names.count("outro") == 1
            assert form[-1][1] == (2 if n_bars >= 12 else 1)
        if start_anywhere or n_bars < 6:
            assert "intro" not in names
        else:
            assert form[0] == ("intro", 2 if n_bars >= 10 else 1)
        body = [(name, b) for name, b in form if name not in ("intro", "outro")]
        assert all(name in CYCLE and b <= 8 for name, b in body)


def test_a_stream_clip_may_start_in_any_section():
    firsts = {plan_form(random.Random(s), 16, False, True)[0][0] for s in range(40)}
    assert firsts == CYCLE


def test_drawn_specs_stay_inside_their_genre():
    for name, g in GENRES.items():
        for seed in range(6):
            spec = make_spec(random.Random(seed), name, seconds=12.0)
            assert spec.genre == name and spec.mood in g.moods
            assert g.bpm[0] <= spec.bpm <= g.bpm[1] and spec.bpm == int(spec.bpm)
            key = Key.parse(spec.key)
            if g.minor_prob == 0:
                assert key.mode == "major"
            assert set(spec.parts) <= set(ROLES) and {"bass", "comp"} <= set(spec.parts)
            allowed = {
                "bass": g.bass_instruments,
                "comp": g.comp_instruments,
                "lead": g.lead_instruments,
                "pad": g.pad_instruments,
                "comp2": g.second_comp,
            }
            assert all(inst in allowed[role] for role, inst in spec.parts.items())
            if g.drums is None:
                assert spec.drum_kit is None
            elif g.drum_prob == 1.0:
                assert spec.drum_kit in g.kits
            families = g.progressions if key.mode == "major" else g.minor_progressions
            options = [p for f in families for p in PROGRESSIONS[f]]
            assert all(spec.progression[s] in options for s in ("verse", "chorus", "bridge"))
            assert spec.progression["outro"] == [4, 0]  # a perfect cadence closes the song
            if g.machine:  # drum machines and sequencers stay on the grid
                assert spec.humanize == 0.0015
            else:
                assert 0.006 <= spec.humanize <= 0.013
            assert 0.8 * g.swing <= spec.swing <= 1.1 * g.swing


def test_the_form_lasts_at_least_the_seconds_asked_and_less_than_a_bar_more():
    for seed, seconds in enumerate((1.0, 7.5, 20.0, 31.0)):
        for name in ("waltz", "house", "ambient"):
            spec = make_spec(random.Random(seed), name, seconds=seconds)
            bars = spec.total_bars()
            assert bars == max(1, math.ceil(seconds / spec.bar_seconds()))
            assert bars * spec.bar_seconds() >= seconds > (bars - 1) * spec.bar_seconds()
            assert spec.bar_seconds() == pytest.approx(spec.meter * 60.0 / spec.bpm)


def test_given_arguments_are_kept():
    parts = {"bass": "upright bass", "comp": "vibraphone"}
    spec = make_spec(
        random.Random(1), "jazz", mood="dark", bpm=99.0, key="F# minor", parts=parts, ending=False
    )
    assert (spec.genre, spec.mood, spec.bpm, spec.key) == ("jazz", "dark", 99.0, "F# minor")
    assert spec.parts == parts and spec.ending is False
    assert "outro" not in [name for name, _ in spec.sections]


def test_mood_steers_tempo_and_mode():
    g = GENRES["rock"]
    half = g.bpm[0] + (g.bpm[1] - g.bpm[0]) // 2
    for seed in range(20):
        calm = make_spec(random.Random(seed), "rock", mood="sad")
        busy = make_spec(random.Random(seed), "rock", mood="energetic")
        assert calm.bpm <= half <= busy.bpm
    minor = [
        Key.parse(make_spec(random.Random(s), "pop", mood="dark").key).mode == "minor"
        for s in range(40)
    ]
    assert "dark" in MINOR_MOODS and sum(minor) >= 25  # at least 0.8 likely, against pop's 0.25


def test_specs_are_seeded_and_meter_comes_from_the_genre():
    assert make_spec(random.Random(5), seconds=9.0) == make_spec(random.Random(5), seconds=9.0)
    assert make_spec(random.Random(5)) != make_spec(random.Random(6))
    waltz = make_spec(random.Random(0), "waltz")
    assert isinstance(waltz, TrackSpec) and waltz.meter == 3
    assert waltz.bar_seconds() == pytest.approx(3 * 60.0 / waltz.bpm)

"""Drum grooves and fills: one bar of valid steps per genre and section, thinned intros, fills
that build at the end of the bar."""

from __future__ import annotations

import random

import pytest

from ttmrpp.world import instruments as I
from ttmrpp.world.drums import GROOVES, TIMEKEEPERS, VELOCITY, fill, groove_for
from ttmrpp.world.genres import GENRES

METER = {g.drums: g.meter for g in GENRES.values() if g.drums}
TOMS = (I.HIGH_TOM, I.MID_TOM, I.LOW_TOM, I.FLOOR_TOM)


def test_every_genre_has_a_groove_of_one_bar_in_its_meter():
    assert set(METER) == set(GROOVES)
    for style, sections in GROOVES.items():
        assert {"verse", "chorus"} <= set(sections)
        for groove in sections.values():
            assert groove and all(35 <= drum <= 81 for drum in groove)  # GM percussion keys
            for pattern in groove.values():
                assert len(pattern) == 4 * METER[style] and set(pattern) <= {"X", "x", "o", "."}
            assert any(p.strip(".") for p in groove.values())


def test_sections_choose_their_groove_and_intros_thin_out():
    for style, sections in GROOVES.items():
        assert groove_for(style, "chorus") == sections["chorus"]
        assert groove_for(style, "bridge") == sections["verse"]
        assert groove_for(style, "verse") == groove_for(style, "outro") == sections["verse"]
        intro = groove_for(style, "intro")
        assert set(intro) <= set(sections["verse"])
        assert all(sections["verse"][d] == p for d, p in intro.items())
        if any(d in TIMEKEEPERS or d == I.KICK for d in sections["verse"]):
            assert all(d in TIMEKEEPERS or d == I.KICK for d in intro)
    with pytest.raises(KeyError, match="unknown drum style 'polka'"):
        groove_for("polka", "verse")
    assert VELOCITY["X"] > VELOCITY["x"] > VELOCITY["o"]


@pytest.mark.parametrize("meter, beats", [(4, 1), (4, 2), (3, 1), (3, 2)])
def test_fills_build_over_the_last_beats(meter, beats):
    kinds = set()
    for seed in range(30):
        hits = fill(random.Random(seed), meter, beats)
        steps = [st for st, _, _ in hits]
        first = meter * 4 - beats * 4
        assert steps == sorted(steps) and all(first <= st < meter * 4 for st in steps)
        assert steps[0] == first  # the fill starts on its beat
        vels = [v for _, _, v in hits]
        assert vels == sorted(vels) and all(70 < v <= 115 for v in vels)  # a crescendo
        drums = [d for _, d, _ in hits]
        if set(drums) <= set(TOMS):  # a tom run from the high tom down to the floor tom
            assert drums == sorted(drums, reverse=True) and drums[0] == I.HIGH_TOM
            kinds.add("toms")
        else:  # a snare roll that may fall to the mid and floor toms at the end
            n_snare = drums.count(I.SNARE)
            assert n_snare and drums[:n_snare] == [I.SNARE] * n_snare
            assert drums[n_snare:] in ([], [I.MID_TOM], [I.FLOOR_TOM], [I.MID_TOM, I.FLOOR_TOM])
            kinds.add("snare")
    assert kinds == {"toms", "snare"}
    assert fill(random.Random(1), meter, beats) == fill(random.Random(1), meter, beats)

"""Accompaniment: every style plays the bar's chord inside the bar, voice leading carries from
bar to bar, power chords and final chords are what a player would play."""

from __future__ import annotations

import pytest

from tests.helpers.world import bar_steps, exact_spec, part, writer
from ttmrpp.world import instruments as I
from ttmrpp.world.comping import COMP_STYLES, VOICES, comp_bar, second_style
from ttmrpp.world.genres import GENRES
from ttmrpp.world.theory import Key, chord_on_degree

C_MAJOR = Key(0, "major")
C_TRIAD = chord_on_degree(C_MAJOR, 0)  # C E G
STYLE_INSTRUMENT = {"shuffle_comp": "piano", "timpani": "timpani", "arp": "synth lead"}


def _play(style, inst_name="piano", genre="pop", chords=(C_TRIAD,), section="verse"):
    """Play one bar per chord; returns the spec, one part per bar and the voice-leading state."""
    spec = exact_spec(genre)
    w = writer(spec)
    inst = I.instrument(inst_name)
    prev: dict[str, list[int]] = {}
    bars = []
    for bar, chord in enumerate(chords):
        p = part(inst_name)
        comp_bar(w, p, style, inst, bar, chord, 1.0, False, prev, "comp", section)
        bars.append(p)
    return spec, bars, prev


def test_every_style_a_genre_or_instrument_asks_for_exists():
    wanted = {g.comp for g in GENRES.values()} - {"power"}
    for g in GENRES.values():
        wanted |= {second_style(i, "comp2") for i in g.second_comp}
        wanted |= {second_style(i, "pad") for i in g.pad_instruments}
    assert wanted <= set(COMP_STYLES)
    assert second_style("harp", "comp2") == "arp" and second_style("harp", "pad") == "pad"


@pytest.mark.parametrize("style", sorted(COMP_STYLES))
def test_styles_play_the_chord_inside_the_bar(style):
    chords = [chord_on_degree(C_MAJOR, d) for d in (0, 5, 3, 4, 1)]  # C Am F G Dm
    spec, bars, _ = _play(style, STYLE_INSTRUMENT.get(style, "piano"), chords=chords)
    for bar, (p, chord) in enumerate(zip(bars, chords, strict=True)):
        assert p.notes and all(0 <= s < 16 for s in bar_steps(p.notes, spec, bar)), style
        assert {n.pitch % 12 for n in p.notes} <= set(chord.pcs), style


def test_the_guitar_shuffle_adds_the_sixth_to_root_and_fifth():
    _, (p,), _ = _play("shuffle_comp", "electric guitar", genre="blues")
    assert {n.pitch % 12 for n in p.notes} == {0, 7, 9}  # C, G and A: the boogie figure
    assert len(p.notes) == 16  # two-note shapes on every eighth


def test_voicings_carry_from_bar_to_bar():
    for style in sorted(COMP_STYLES):
        _, _, prev = _play(style, "piano")
        voicing = prev["comp"]
        assert len(voicing) == VOICES.get(style, 4)
        assert {x % 12 for x in voicing} <= set(C_TRIAD.pcs)
    spec = exact_spec("pop")
    w = writer(spec)
    prev = {}
    for bar, degree in enumerate((0, 5, 3, 4, 0)):  # I vi IV V I
        before = list(prev.get("comp", []))
        comp_bar(
            w, part("piano"), "pad", I.instrument("piano"), bar,
            chord_on_degree(C_MAJOR, degree), 1.0, False, prev, "comp", "verse",
        )  # fmt: skip
        if before:
            moved = sum(min(abs(a - b) for b in before) for a in prev["comp"])
            assert moved <= 8  # common tones held, the rest move by step


def test_power_chords_chug_in_metal_verses_and_ring_in_rock_choruses():
    _, (p,), prev = _play("power", "distorted guitar", genre="metal")
    pitches = sorted({n.pitch for n in p.notes})
    assert pitches == [36, 43, 48]  # root, fifth, octave: C power chord
    assert len(p.notes) == 16 * 3 and not prev  # sixteenth chugs; no voicing to lead from
    spec, (p,), _ = _play("power", "overdriven guitar", genre="rock", section="chorus")
    assert len(p.notes) == 3 * 3  # three held strums
    assert sorted(bar_steps(p.notes, spec, 0))[::3] == pytest.approx([0, 6, 8], abs=0.3)


def test_the_final_bar_is_one_held_chord():
    spec = exact_spec("country")
    w = writer(spec)
    p = part("acoustic guitar")
    prev = {"comp": [52, 55, 60, 64]}
    g_major = chord_on_degree(C_MAJOR, 4)
    comp_bar(
        w, p, "strum", I.instrument("acoustic guitar"), 2, g_major, 1.0, True, prev, "comp", "outro"
    )
    assert len(p.notes) == 4 and {n.pitch % 12 for n in p.notes} <= set(g_major.pcs)
    assert all(n.end - n.start > 0.9 * spec.bar_seconds() for n in p.notes)
    assert prev == {"comp": [52, 55, 60, 64]}  # the last chord leads nowhere


def test_an_unknown_style_is_refused():
    with pytest.raises(ValueError, match="unknown comp style 'polka'"):
        _play("polka")

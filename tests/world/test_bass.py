"""Bass lines: every genre's style has a line; lines stay in the bass's range and inside the
bar, the downbeat is the chord's root, and the last bar holds the root."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.helpers.world import bar_steps, exact_spec, notes_in_bar, part, writer
from ttmrpp.world import instruments as I
from ttmrpp.world.bass import BASS_LINES, bass_bar
from ttmrpp.world.genres import GENRES
from ttmrpp.world.theory import Key, chord_on_degree

GENRE_OF = {g.bass: name for name, g in sorted(GENRES.items(), reverse=True)}
C_MAJOR = Key(0, "major")


def test_every_genre_has_a_bass_line_and_every_line_a_genre():
    assert set(GENRE_OF) == set(BASS_LINES)


@pytest.mark.parametrize("style", sorted(BASS_LINES))
def test_lines_stay_in_range_in_the_bar_and_start_on_the_root(style):
    for bass in ("bass", "upright bass", "synth bass"):
        spec = exact_spec(GENRE_OF[style], parts={"bass": bass})
        rng = I.instrument(bass)
        for seed in range(3):
            w = writer(spec, seed)
            p = part(bass)
            for bar, degree in enumerate((0, 3, 4, 5, 1, 6)):
                chord = chord_on_degree(C_MAJOR, degree)
                nxt = chord_on_degree(C_MAJOR, (degree + 3) % 7)
                bass_bar(w, p, bar, chord, nxt, C_MAJOR, 0.9, False)
                notes = notes_in_bar(p, spec, bar, late=0.0)
                assert notes, (style, bar)
                assert all(rng.low <= n.pitch <= rng.high for n in notes)
                steps = bar_steps(notes, spec, bar)
                assert all(0 <= s < w.steps_per_bar for s in steps)
                on_one = [n for n, s in zip(notes, steps, strict=True) if s < 0.5]
                if on_one and not (style == "waltz" and bar % 2):  # waltz: fifth every 2nd bar
                    assert on_one[0].pitch % 12 == chord.root
            assert len(p.notes) == sum(len(notes_in_bar(p, spec, b, 0.0)) for b in range(6))


def test_walking_bass_approaches_the_next_root_by_step():
    spec = exact_spec("jazz", parts={"bass": "upright bass"})
    w = writer(spec)
    p = part("upright bass")
    for bar, (deg, nxt) in enumerate([(1, 4), (4, 0), (0, 5), (5, 1)] * 3):
        chord, target = chord_on_degree(C_MAJOR, deg), chord_on_degree(C_MAJOR, nxt)
        bass_bar(w, p, bar, chord, target, C_MAJOR, 1.0, False)
        notes = notes_in_bar(p, spec, bar, late=0.0)
        assert bar_steps(notes, spec, bar) == pytest.approx([0, 4, 8, 12], abs=0.05)  # quarters
        step_off = (notes[-1].pitch - target.root) % 12
        assert min(step_off, 12 - step_off) <= 2
        assert {n.pitch % 12 for n in notes[1:3]} <= set(chord.pcs)


def test_the_last_bar_holds_the_root():
    for style, name in GENRE_OF.items():
        spec = exact_spec(name)
        w = writer(spec)
        p = part("bass")
        chord = chord_on_degree(Key(7, "minor"), 0)
        bass_bar(w, p, 3, chord, chord, Key(7, "minor"), 1.0, True)
        (note,) = p.notes
        assert note.pitch % 12 == 7, style
        assert note.end - note.start == pytest.approx(spec.bar_seconds(), abs=1e-6)


def test_an_unknown_style_is_refused():
    w = writer(exact_spec("pop"))
    w.g = replace(w.g, bass="polka")
    chord = chord_on_degree(C_MAJOR, 0)
    with pytest.raises(ValueError, match="unknown bass style 'polka'"):
        bass_bar(w, part("bass"), 0, chord, chord, C_MAJOR, 1.0, False)

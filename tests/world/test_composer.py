"""The composer: a spec's MIDI plays its instruments at its tempo and meter, in its key, for its
length, arranged by section, and ends on the tonic."""

from __future__ import annotations

import random

import pretty_midi
import pytest

from tests.helpers.world import exact_spec
from ttmrpp.world import instruments as I
from ttmrpp.world.composer import MIX, SEVENTH_GENRES, compose
from ttmrpp.world.genres import GENRES
from ttmrpp.world.spec import make_spec
from ttmrpp.world.theory import Key, chord_on_degree


def _specs(n: int = 3):
    for name in sorted(GENRES):
        for seed in range(n):
            yield make_spec(random.Random(f"{name}-{seed}"), name, seconds=10.0)


def _melodic(pm: pretty_midi.PrettyMIDI) -> list[pretty_midi.Instrument]:
    return [i for i in pm.instruments if not i.is_drum]


def _roles(spec, pm: pretty_midi.PrettyMIDI) -> list[tuple[str, pretty_midi.Instrument]]:
    """(role, part) pairs: parts come in the spec's role order, silent roles left out."""
    parts, out = _melodic(pm), []
    for role, name in spec.parts.items():
        if parts and parts[0].name == name:
            out.append((role, parts.pop(0)))
    assert not parts, "a part that no role of the spec plays"
    return out


def test_parts_are_the_specs_instruments_at_its_tempo_and_meter():
    for spec in _specs():
        pm = compose(spec)
        tempos = pm.get_tempo_changes()[1]
        assert list(tempos) == pytest.approx([spec.bpm])
        assert [(t.numerator, t.denominator) for t in pm.time_signature_changes] == [
            (spec.meter, 4)
        ]
        roles = dict(_roles(spec, pm))
        assert {"bass", "comp"} <= set(roles)  # they play in every verse
        for inst in _melodic(pm):
            assert inst.program == I.instrument(inst.name).program and inst.notes
        kits = [i for i in pm.instruments if i.is_drum]
        if spec.drum_kit is None:
            assert not kits
        else:
            (kit,) = kits
            assert kit.program == I.DRUM_KITS[spec.drum_kit]
            assert kit.name == ("drum machine" if GENRES[spec.genre].machine else "drums")


def test_notes_fill_the_form_and_no_longer():
    for spec in _specs(2):
        pm = compose(spec)
        total = spec.total_bars() * spec.bar_seconds()
        notes = [n for i in pm.instruments for n in i.notes]
        assert all(0 <= n.start < total and n.end > n.start for n in notes)
        assert all(0 <= n.pitch <= 127 and 1 <= n.velocity <= 127 for n in notes)
        assert max(n.start for n in notes) > total - spec.bar_seconds()  # the last bar plays
        assert max(n.end for n in notes) < total + spec.bar_seconds()


def test_bass_and_lead_stay_in_their_instruments_range_and_the_key():
    for spec in _specs(2):
        pm = compose(spec)
        scale = set(Key.parse(spec.key).scale_pcs())
        for role, inst in _roles(spec, pm):
            if role in ("bass", "lead"):
                rng = I.instrument(inst.name)
                assert all(rng.low <= n.pitch <= rng.high for n in inst.notes), inst.name
            if role == "lead":  # melodies are diatonic (leading tone and chord tones aside)
                in_key = sum(n.pitch % 12 in scale for n in inst.notes) / len(inst.notes)
                assert in_key >= 0.8, (spec.genre, in_key)


def test_a_song_ends_on_a_held_tonic_chord():
    for name in ("pop", "jazz", "blues", "rock", "waltz"):
        for seed in range(3):
            spec = make_spec(random.Random(seed), name, seconds=12.0, ending=True)
            key = Key.parse(spec.key)
            seventh = name in SEVENTH_GENRES and name != "blues"
            tonic = set(chord_on_degree(key, 0, seventh=seventh).pcs)
            last = (spec.total_bars() - 1) * spec.bar_seconds()
            pm = compose(spec)
            for role, inst in _roles(spec, pm):
                final = [n for n in inst.notes if n.start >= last - 0.05]
                if not final:
                    continue
                assert {n.pitch % 12 for n in final} <= tonic, (name, role)
                if role == "bass":
                    assert [n.pitch % 12 for n in final] == [key.tonic]
                    assert final[0].end - final[0].start > 0.9 * spec.bar_seconds()


def test_sections_arrange_who_plays():
    spec = exact_spec(
        "rock",
        parts={"bass": "bass", "comp": "overdriven guitar", "lead": "electric guitar"},
        drum_kit="standard",
        sections=[("intro", 2), ("verse", 4), ("chorus", 4), ("outro", 2)],
        ending=True,
    )
    spec.progression = {"intro": [0], "verse": [0, 3], "chorus": [4, 0], "outro": [4, 0]}
    pm = compose(spec)
    bar = spec.bar_seconds()
    by_name = {i.name: i for i in pm.instruments}
    intro_end, chorus_end = 2 * bar, 10 * bar
    assert not [n for n in by_name["bass"].notes if n.start < intro_end - 0.01]  # drums + comp
    assert [n for n in by_name["overdriven guitar"].notes if n.start < intro_end]
    lead = by_name["electric guitar"].notes
    *melody, last = lead
    assert melody and all(intro_end - 0.01 <= n.start < chorus_end for n in melody)
    assert abs(last.start - 11 * bar) < 0.03  # then only the held note of the final bar
    crashes = [n.start for n in by_name["drums"].notes if n.pitch in (I.CRASH, I.SPLASH)]
    for section_start in (2 * bar, 6 * bar, 10 * bar):  # a crash opens each new section
        assert any(abs(t - section_start) < 0.03 for t in crashes)


def test_style_mixes_set_channel_volumes():
    for name, levels in MIX.items():
        spec = make_spec(random.Random(0), name, seconds=6.0)
        pm = compose(spec)
        for inst in pm.instruments:
            role = (
                "drums"
                if inst.is_drum
                else next(r for r, n in spec.parts.items() if n == inst.name)
            )
            cc = [(c.number, c.value) for c in inst.control_changes]
            assert cc == ([(7, levels[role])] if role in levels else [])


def test_compose_is_a_pure_function_of_the_spec():
    spec = make_spec(random.Random(3), "funk", seconds=8.0)
    a, b = compose(spec), compose(spec)
    notes = [[(n.pitch, n.velocity, n.start, n.end) for n in i.notes] for i in a.instruments]
    assert notes == [
        [(n.pitch, n.velocity, n.start, n.end) for n in i.notes] for i in b.instruments
    ]
    spec.seed += 1
    other = compose(spec)
    assert notes != [
        [(n.pitch, n.velocity, n.start, n.end) for n in i.notes] for i in other.instruments
    ]

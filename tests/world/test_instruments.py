"""The instruments the world plays: valid General MIDI programs and ranges, every instrument and
kit a genre or ensemble names exists, and the tags a track earns."""

from __future__ import annotations

import pytest

from ttmrpp.world import instruments as I
from ttmrpp.world.genres import GENRES
from ttmrpp.world.repertoire import ENSEMBLES


def test_instruments_are_playable_general_midi():
    for name, inst in I.INSTRUMENTS.items():
        assert inst.name == name and 0 <= inst.program <= 127
        assert 0 <= inst.low < inst.high <= 127 and inst.high - inst.low >= 12  # an octave at least
        assert name not in inst.extra_tags
    assert all(0 <= kit <= 127 for kit in I.DRUM_KITS.values())
    for key in (I.KICK, I.SNARE, I.CLOSED_HAT, I.CRASH, I.FLOOR_TOM, I.RIMSHOT_CLAVE):
        assert 35 <= key <= 81  # the GM percussion map


def test_every_instrument_and_kit_named_elsewhere_exists():
    named = set()
    for g in GENRES.values():
        named |= {*g.bass_instruments, *g.comp_instruments, *g.lead_instruments}
        named |= {*g.pad_instruments, *g.second_comp}
        assert set(g.kits) <= set(I.DRUM_KITS)
    for options in ENSEMBLES.values():
        named |= {n for names in options for n in names}
    assert named <= set(I.INSTRUMENTS)
    with pytest.raises(KeyError, match="unknown instrument 'kazoo'; known: .*'banjo'"):
        I.instrument("kazoo")


def test_tags_add_broader_names_once_and_the_drums():
    assert I.instrument_tags(["overdriven guitar", "electric guitar"], None) == [
        "overdriven guitar",
        "electric guitar",
        "guitar",
    ]
    assert I.instrument_tags(["synth bass", "string pad"], "acoustic") == [
        "synth bass",
        "bass",
        "synthesizer",
        "string pad",
        "strings",
        "drums",
    ]
    assert I.instrument_tags([], "machine") == ["drums", "drum machine"]
    assert I.instrument_tags(["piano"], None) == ["piano"]

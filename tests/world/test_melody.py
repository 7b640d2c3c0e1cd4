"""Lead melodies: in the instrument's range, chord tones on strong beats, a two-bar motif that
comes back, breaths at phrase ends, and a held tonic to finish."""

from __future__ import annotations

import pytest

from tests.helpers.world import bar_steps, exact_spec, notes_in_bar, part, writer
from ttmrpp.world import instruments as I
from ttmrpp.world.melody import lead_bar
from ttmrpp.world.theory import Key, chord_on_degree

PROGRESSION = (0, 5, 3, 4, 0, 5, 3, 4)  # I vi IV V twice
D_MINOR = Key(2, "minor")


def _melody(genre="pop", inst="flute", key=D_MINOR, section="verse", seed=0):
    spec = exact_spec(genre, parts={"bass": "bass", "comp": "piano", "lead": inst})
    w = writer(spec, seed)
    p = part(inst)
    motifs: dict = {}
    chords = [chord_on_degree(key, d) for d in PROGRESSION]
    for b, chord in enumerate(chords):
        lead_bar(w, p, I.instrument(inst), b, b, chord, key, 1.0, False, section, motifs)
    return spec, p, chords, motifs


@pytest.mark.parametrize("inst", ["flute", "trumpet", "synth lead", "vibraphone", "harmonica"])
def test_melodies_stay_in_range_with_chord_tones_on_strong_beats(inst):
    for seed in range(4):
        spec, p, chords, _ = _melody(inst=inst, seed=seed)
        rng = I.instrument(inst)
        assert p.notes and all(rng.low <= n.pitch <= rng.high for n in p.notes)
        for bar, chord in enumerate(chords):
            notes = notes_in_bar(p, spec, bar, late=0.0)
            for n, st in zip(notes, bar_steps(notes, spec, bar), strict=True):
                if round(st) % 8 == 0:  # beats 1 and 3
                    assert n.pitch % 12 in chord.pcs


def test_the_motif_comes_back_and_phrases_breathe():
    for seed in range(6):
        spec, p, _, motifs = _melody(seed=seed)
        assert set(motifs) == {"verse0", "verse1"}  # one motif per bar of the two-bar phrase
        rhythm = [
            [round(s) for s in bar_steps(notes_in_bar(p, spec, b, late=0.0), spec, b)]
            for b in range(8)
        ]
        assert rhythm[0] == rhythm[2] == rhythm[4] == rhythm[6]
        assert rhythm[1] == rhythm[3] == rhythm[5] == rhythm[7]
        assert all(s < 12 for s in rhythm[1])  # the phrase's last beat is a breath


def test_sections_have_their_own_motif_and_the_chorus_never_sits_lower():
    raised = 0
    for seed in range(5):
        verse = _melody(inst="trumpet", section="verse", seed=seed)
        chorus = _melody(inst="trumpet", section="chorus", seed=seed)
        assert set(chorus[3]) == {"chorus0", "chorus1"}
        assert [(n.start, n.end) for n in chorus[1].notes] == [
            (n.start, n.end) for n in verse[1].notes
        ]
        ups = [c.pitch - v.pitch for c, v in zip(chorus[1].notes, verse[1].notes, strict=True)]
        assert min(ups) >= 0  # the chorus aims 3 semitones higher: notes move up or stay
        raised += max(ups) > 0
    assert raised >= 3


def test_the_last_bar_holds_the_tonic():
    spec = exact_spec("pop")
    w = writer(spec)
    p = part("trumpet")
    key = Key(9, "minor")
    lead_bar(
        w, p, I.instrument("trumpet"), 5, 1, chord_on_degree(key, 0), key, 1.0, True, "outro", {}
    )
    (note,) = p.notes
    assert note.pitch % 12 == 9
    assert note.end - note.start == pytest.approx(15 / 16 * spec.bar_seconds(), abs=1e-6)

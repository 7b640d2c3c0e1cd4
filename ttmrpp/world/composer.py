"""Procedural composer: a track spec (genre, tempo, key, mood, instruments, form) → multi-track MIDI.

The arrangement follows what players of each style do: song-form sections with their own
grooves and dynamics, fills and crashes into new sections, voice-led chords, strummed guitars,
a lead melody built from repeated motifs, swing, and humanised timing and velocity.
"""

from __future__ import annotations

import random

import pretty_midi

from ttmrpp.world import drums as D
from ttmrpp.world import instruments as I
from ttmrpp.world.bass import bass_bar
from ttmrpp.world.comping import comp_bar, second_style
from ttmrpp.world.genres import Genre
from ttmrpp.world.melody import lead_bar
from ttmrpp.world.parts import Writer
from ttmrpp.world.spec import TrackSpec
from ttmrpp.world.theory import Chord, Key, chord_on_degree

SECTION_LEVEL = {"intro": 0.72, "verse": 0.84, "chorus": 1.0, "bridge": 0.88, "outro": 0.78}
SEVENTH_GENRES = {"jazz", "bossa nova", "funk", "hip hop", "lounge"}


def _bar_chords(spec: TrackSpec, key: Key) -> list[tuple[str, Chord, int]]:
    """(section, chord, bar-in-section) for every bar; the last outro bar returns to the tonic."""
    seventh = spec.genre in SEVENTH_GENRES
    out = []
    global_bar = 0
    for name, bars in spec.sections:
        prog = spec.progression.get(name) or [0]
        for b in range(bars):
            idx = global_bar if spec.genre == "blues" else b
            deg = prog[idx % len(prog)]
            out.append((name, chord_on_degree(key, deg, seventh=seventh), b))
            global_bar += 1
    if spec.ending and out:
        out[-1] = (
            out[-1][0],
            chord_on_degree(key, 0, seventh=seventh and spec.genre != "blues"),
            out[-1][2],
        )
    return out


def compose(spec: TrackSpec) -> pretty_midi.PrettyMIDI:
    """Compose the spec into a multi-track PrettyMIDI (instrument names are our tags)."""
    rng = random.Random(spec.seed)
    key = Key.parse(spec.key)
    w = Writer(spec, rng)
    g = w.g
    pm = pretty_midi.PrettyMIDI(initial_tempo=spec.bpm)
    pm.time_signature_changes.append(pretty_midi.TimeSignature(spec.meter, 4, 0.0))
    bars = _bar_chords(spec, key)
    n = len(bars)
    section_start = [i == 0 or bars[i][2] == 0 for i in range(n)]
    section_end = [i == n - 1 or bars[i + 1][2] == 0 for i in range(n)]
    calm = 0.85 if spec.mood in ("relaxing", "sad", "dreamy", "melancholic") else 1.0

    if spec.drum_kit:
        kit = pretty_midi.Instrument(
            program=I.DRUM_KITS[spec.drum_kit],
            is_drum=True,
            name="drum machine" if g.machine else "drums",
        )
        _drums(w, kit, bars, section_start, section_end, calm)
        _mix(kit, "drums", g.name)
        pm.instruments.append(kit)

    prev_voicing: dict[str, list[int]] = {}
    motifs: dict[str, list[tuple[float, float, int]]] = {}
    for role, inst_name in spec.parts.items():
        spec_inst = I.instrument(inst_name)
        part = pretty_midi.Instrument(program=spec_inst.program, name=inst_name)
        for i, (section, chord, b) in enumerate(bars):
            nxt = bars[i + 1][1] if i + 1 < n else chord
            level = SECTION_LEVEL[section] * calm
            last = spec.ending and i == n - 1
            if not _plays(role, section, g, i, n):
                continue
            if role == "bass":
                bass_bar(w, part, i, chord, nxt, key, level, last)
            elif role in ("comp", "comp2", "pad"):
                style = g.comp if role == "comp" else second_style(inst_name, role)
                comp_bar(
                    w, part, style, spec_inst, i, chord, level, last, prev_voicing, role, section
                )
            elif role == "lead":
                lead_bar(w, part, spec_inst, i, b, chord, key, level, last, section, motifs)
        if part.notes:
            _mix(part, role, g.name)
            pm.instruments.append(part)
    return pm


# Channel volumes (MIDI CC7; a channel starts at 127) where a style's mix departs from an even
# balance: drums and bass up front in hip hop, reggae and club music, keys and leads tucked behind.
MIX = {
    "hip hop": {"comp": 88, "lead": 84, "pad": 72},
    "reggae": {"drums": 112, "comp": 100, "lead": 104},
    "funk": {"comp": 110, "lead": 108},
    "house": {"comp": 104, "lead": 100, "pad": 92},
    "techno": {"comp": 100, "lead": 96, "pad": 88},
}


def _mix(part: pretty_midi.Instrument, role: str, genre_name: str) -> None:
    vol = MIX.get(genre_name, {}).get(role)
    if vol is not None:
        part.control_changes.append(pretty_midi.ControlChange(number=7, value=vol, time=0.0))


def _plays(role: str, section: str, g: Genre, bar: int, n: int) -> bool:
    """Arrangement: who plays in which section."""
    if role in ("bass", "comp"):
        return section != "intro" or role == "comp" or g.drums is None
    if role == "lead":
        return section in ("verse", "chorus", "bridge") or (section == "outro" and bar == n - 1)
    if role == "pad":
        return section in ("chorus", "bridge", "intro", "outro") or g.drums is None
    return section in ("chorus", "bridge", "outro")  # comp2 thickens the louder sections


def _drums(w: Writer, kit: pretty_midi.Instrument, bars, starts, ends, calm: float) -> None:
    style = w.g.drums
    assert style is not None
    rng = w.rng
    n = len(bars)
    jit = 0.5
    for i, (section, _chord, _b) in enumerate(bars):
        level = SECTION_LEVEL[section] * calm
        if w.spec.ending and i == n - 1:
            w.note(kit, i, 0, 8, I.CRASH, 110 * level, jit)
            w.note(kit, i, 0, 1, I.KICK, 110 * level, jit)
            continue
        groove = D.groove_for(style, section)
        fill_beats = 0
        if ends[i] and i + 1 < n and not w.g.machine:
            fill_beats = rng.choice((1, 1, 2))
        elif ends[i] and i + 1 < n and w.g.machine and rng.random() < 0.5:
            fill_beats = 1
        cut = w.steps_per_bar - 4 * fill_beats
        for drum, pat in groove.items():
            for st, ch in enumerate(pat):
                if ch == "." or st >= cut:
                    continue
                if starts[i] and st == 0 and drum in (I.CLOSED_HAT, I.RIDE) and section != "intro":
                    continue  # the crash takes the downbeat
                vel = D.VELOCITY[ch] * level
                if drum in (I.CLOSED_HAT, I.RIDE, I.PEDAL_HAT):
                    vel *= 0.9 if st % 4 == 0 else 0.72  # hats accent the beat
                w.note(kit, i, st, 1, drum, vel, jit)
            if style in ("funk", "swing", "boombap") and rng.random() < 0.5:
                st = rng.choice([3, 7, 11, 15][: w.spec.meter])
                if st < cut:
                    w.note(kit, i, st, 1, I.SNARE, 38, jit)  # ghost notes
        if starts[i] and section != "intro":
            w.note(
                kit,
                i,
                0,
                4,
                I.CRASH if section != "verse" or rng.random() < 0.6 else I.SPLASH,
                108 * level,
                jit,
            )
        if fill_beats:
            if w.g.machine:
                for st in range(cut, w.steps_per_bar):
                    w.note(
                        kit, i, st, 1, I.CLAP if st % 2 == 0 else I.SNARE, 60 + 8 * (st - cut), jit
                    )
            else:
                for st, drum, vel in D.fill(rng, w.spec.meter, fill_beats):
                    w.note(kit, i, st, 1, drum, vel * level, jit)

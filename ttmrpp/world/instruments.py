"""General MIDI instruments and drum kits the generator plays, with the tags a listener would use."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Instrument:
    """One melodic instrument: its tag, its GM program (0-based) and a comfortable range."""

    name: str  # tag as a listener would type it, e.g. "electric guitar"
    program: int  # General MIDI program, 0-based
    low: int  # lowest MIDI pitch it should play
    high: int  # highest MIDI pitch it should play
    extra_tags: tuple[str, ...] = ()  # broader tags it also earns, e.g. "guitar"
    sustained: bool = False  # bowed/blown/pad: notes hold rather than decay


INSTRUMENTS: dict[str, Instrument] = {
    i.name: i
    for i in [
        Instrument("piano", 0, 36, 96),
        Instrument("electric piano", 4, 40, 88, ("keyboard",)),
        Instrument("organ", 16, 40, 88, ("keyboard",), sustained=True),
        Instrument("rock organ", 18, 40, 88, ("organ", "keyboard"), sustained=True),
        Instrument("harpsichord", 6, 36, 88, ("keyboard",)),
        Instrument("accordion", 21, 48, 84, (), sustained=True),
        Instrument("harmonica", 22, 55, 84, (), sustained=True),
        Instrument("acoustic guitar", 25, 40, 81, ("guitar",)),
        Instrument("nylon guitar", 24, 40, 81, ("acoustic guitar", "guitar")),
        Instrument("electric guitar", 27, 40, 84, ("guitar",)),
        Instrument("overdriven guitar", 29, 40, 84, ("electric guitar", "guitar")),
        Instrument("distorted guitar", 30, 40, 84, ("electric guitar", "guitar")),
        Instrument("upright bass", 32, 28, 55, ("bass", "double bass")),
        Instrument("bass", 33, 28, 60, ("electric bass",)),
        Instrument("slap bass", 36, 28, 60, ("bass",)),
        Instrument("synth bass", 38, 28, 60, ("bass", "synthesizer")),
        Instrument("violin", 40, 55, 96, ("strings",), sustained=True),
        Instrument("cello", 42, 36, 72, ("strings",), sustained=True),
        Instrument("strings", 48, 36, 96, (), sustained=True),
        Instrument("pizzicato strings", 45, 36, 84, ("strings",)),
        Instrument("harp", 46, 36, 96),
        Instrument("timpani", 47, 36, 55),
        Instrument("choir", 52, 48, 79, (), sustained=True),  # GM "aahs": a pad, not sung words
        Instrument("trumpet", 56, 55, 84, ("brass",), sustained=True),
        Instrument("trombone", 57, 40, 72, ("brass",), sustained=True),
        Instrument("french horn", 60, 41, 77, ("brass",), sustained=True),
        Instrument("brass section", 61, 45, 80, ("brass",), sustained=True),
        Instrument("saxophone", 65, 49, 81, (), sustained=True),
        Instrument("clarinet", 71, 50, 89, (), sustained=True),
        Instrument("oboe", 68, 58, 89, (), sustained=True),
        Instrument("flute", 73, 60, 96, (), sustained=True),
        Instrument("vibraphone", 11, 53, 89),
        Instrument("marimba", 12, 48, 84),
        Instrument("steel drums", 114, 52, 84),
        Instrument("banjo", 105, 48, 81),
        Instrument("sitar", 104, 48, 77),
        Instrument("synth lead", 81, 48, 96, ("synthesizer",), sustained=True),
        Instrument("square lead", 80, 48, 96, ("synthesizer",), sustained=True),
        Instrument("synth pad", 89, 40, 88, ("synthesizer",), sustained=True),
        Instrument("string pad", 50, 40, 88, ("strings", "synthesizer"), sustained=True),
    ]
}

# GM percussion bank (128) presets in TimGM6mb and other GM soundfonts.
DRUM_KITS = {
    "standard": 0,
    "room": 8,
    "power": 16,
    "electronic": 24,
    "tr-808": 25,
    "jazz": 32,
    "brush": 40,
    "orchestra": 48,
}

# GM percussion key numbers.
KICK, SIDE_STICK, SNARE, CLAP, SNARE2 = 36, 37, 38, 39, 40
CLOSED_HAT, PEDAL_HAT, OPEN_HAT = 42, 44, 46
LOW_TOM, MID_TOM, HIGH_TOM, FLOOR_TOM = 45, 47, 50, 41
CRASH, RIDE, RIDE_BELL, SPLASH, CHINA = 49, 51, 53, 55, 52
TAMBOURINE, COWBELL, SHAKER, CONGA_HI, CONGA_LO, RIMSHOT_CLAVE = 54, 56, 70, 63, 64, 75


def instrument(name: str) -> Instrument:
    """Look an instrument up by tag; a clear error lists the known ones."""
    try:
        return INSTRUMENTS[name]
    except KeyError:
        raise KeyError(f"unknown instrument {name!r}; known: {sorted(INSTRUMENTS)}") from None


def instrument_tags(names: list[str], drums: str | None) -> list[str]:
    """The instrument tags a track earns: each instrument, its broader tags, and the drums."""
    tags: list[str] = []
    for n in names:
        for t in (n, *instrument(n).extra_tags):
            if t not in tags:
                tags.append(t)
    if drums == "acoustic":
        tags.append("drums")
    elif drums == "machine":
        tags += ["drums", "drum machine"]  # a listener hears drums either way
    return tags

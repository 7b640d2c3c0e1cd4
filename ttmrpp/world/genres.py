"""Arrangement styles: what a listener expects of each genre (tempo, groove, instruments, swing)."""

from __future__ import annotations

from dataclasses import dataclass, field

MOODS = (
    "happy",
    "sad",
    "energetic",
    "relaxing",
    "dark",
    "romantic",
    "epic",
    "dreamy",
    "aggressive",
    "melancholic",
    "uplifting",
    "mysterious",
)
MINOR_MOODS = {"sad", "dark", "melancholic", "mysterious", "aggressive"}


@dataclass(frozen=True)
class Genre:
    """One arrangement style. Instrument lists are alternatives; the composer picks one of each."""

    name: str  # the genre tag, e.g. "bossa nova"
    bpm: tuple[int, int]  # tempo range (inclusive), quarter-note BPM
    drums: str | None  # drum groove style (see drums.GROOVES) or None for no kit
    kits: tuple[str, ...]  # drum kits to choose from (instruments.DRUM_KITS)
    bass: str  # bass style
    bass_instruments: tuple[str, ...]
    comp: str  # accompaniment style
    comp_instruments: tuple[str, ...]
    lead_instruments: tuple[str, ...]  # empty: no lead line
    pad_instruments: tuple[str, ...] = ()
    extra_tags: tuple[str, ...] = ()  # broader genre tags, e.g. "electronic"
    progressions: tuple[str, ...] = ("pop",)  # keys of theory.PROGRESSIONS for major keys
    minor_progressions: tuple[str, ...] = ("minor",)
    minor_prob: float = 0.35  # chance of a minor key before mood adjusts it
    swing: float = 0.0  # 0 = straight; 0.33 = triplet swing of the off-beat subdivision
    swing_unit: int = 8  # 8: swing eighths; 16: swing sixteenths
    meter: int = 4  # beats per bar
    moods: tuple[str, ...] = MOODS
    drum_prob: float = 1.0  # chance the kit plays (folk/waltz sometimes go without)
    lead_prob: float = 0.85
    machine: bool = False  # drum machine rather than an acoustic kit
    lead_density: float = 1.0  # notes per beat of the melody, on average
    second_comp: tuple[str, ...] = field(default=())  # optional extra layer in choruses


GENRES: dict[str, Genre] = {
    g.name: g
    for g in [
        Genre(
            "rock",
            (100, 150),
            "rock",
            ("standard", "power", "room"),
            "root8",
            ("bass",),
            "power",
            ("overdriven guitar", "distorted guitar"),
            ("electric guitar", "rock organ", "overdriven guitar"),
            extra_tags=(),
            progressions=("rock", "pop"),
            minor_progressions=("minor_rock",),
            moods=("energetic", "happy", "aggressive", "uplifting", "dark", "epic"),
            second_comp=("piano", "rock organ", "electric guitar"),
        ),
        Genre(
            "metal",
            (130, 190),
            "metal",
            ("power", "standard"),
            "gallop",
            ("bass",),
            "power",
            ("distorted guitar",),
            ("distorted guitar",),
            minor_prob=0.95,
            minor_progressions=("minor_rock", "modal"),
            moods=("aggressive", "dark", "energetic", "epic"),
            lead_density=1.5,
        ),
        Genre(
            "pop",
            (92, 128),
            "pop",
            ("standard", "room", "electronic"),
            "pop",
            ("bass", "synth bass"),
            "piano_pop",
            ("piano", "electric piano", "acoustic guitar"),
            ("synth lead", "electric guitar", "flute", "saxophone"),
            pad_instruments=("synth pad", "string pad"),
            minor_prob=0.25,
            moods=("happy", "uplifting", "romantic", "energetic", "dreamy", "melancholic"),
        ),
        Genre(
            "jazz",
            (110, 200),
            "swing",
            ("jazz", "brush"),
            "walking",
            ("upright bass",),
            "jazz_comp",
            ("piano", "electric piano", "vibraphone"),
            ("saxophone", "trumpet", "vibraphone", "clarinet"),
            progressions=("jazz",),
            minor_progressions=("jazz",),
            minor_prob=0.25,
            swing=0.3,
            moods=("relaxing", "happy", "romantic", "mysterious", "energetic"),
            lead_density=1.6,
        ),
        Genre(
            "blues",
            (70, 120),
            "shuffle",
            ("standard", "room"),
            "shuffle",
            ("bass", "upright bass"),
            "shuffle_comp",
            ("piano", "electric guitar", "organ"),
            ("electric guitar", "harmonica", "saxophone"),
            progressions=("blues",),
            minor_progressions=("blues",),
            minor_prob=0.0,
            swing=0.32,
            moods=("sad", "melancholic", "relaxing", "energetic", "happy"),
            lead_density=1.3,
        ),
        Genre(
            "bossa nova",
            (120, 145),
            "bossa",
            ("brush", "jazz"),
            "bossa",
            ("upright bass", "bass"),
            "bossa_comp",
            ("nylon guitar",),
            ("flute", "saxophone", "electric piano", "vibraphone"),
            progressions=("bossa", "jazz"),
            minor_progressions=("minor",),
            minor_prob=0.3,
            moods=("relaxing", "romantic", "happy", "dreamy", "melancholic"),
            lead_density=0.9,
        ),
        Genre(
            "reggae",
            (68, 90),
            "onedrop",
            ("standard", "room"),
            "reggae",
            ("bass",),
            "skank",
            ("electric guitar", "organ", "piano"),
            ("organ", "trumpet", "saxophone"),
            progressions=("pop", "folk"),
            minor_progressions=("minor", "modal"),
            minor_prob=0.35,
            swing=0.12,
            swing_unit=16,
            moods=("relaxing", "happy", "uplifting", "dreamy"),
            second_comp=("organ",),
        ),
        Genre(
            "funk",
            (95, 118),
            "funk",
            ("standard", "room"),
            "funk",
            ("slap bass", "bass"),
            "chank",
            ("electric guitar",),
            ("brass section", "saxophone", "trumpet", "electric piano"),
            progressions=("static",),
            minor_progressions=("modal", "static"),
            minor_prob=0.6,
            swing=0.1,
            swing_unit=16,
            moods=("energetic", "happy", "uplifting"),
            second_comp=("electric piano", "organ"),
        ),
        Genre(
            "hip hop",
            (78, 98),
            "boombap",
            ("standard", "tr-808", "electronic"),
            "808",
            ("synth bass", "bass"),
            "keys_loop",
            ("electric piano", "piano", "strings", "vibraphone"),
            ("synth lead", "flute", "strings"),
            progressions=("static", "jazz"),
            minor_progressions=("minor", "static"),
            minor_prob=0.7,
            swing=0.15,
            swing_unit=16,
            machine=True,
            lead_prob=0.5,
            moods=("dark", "relaxing", "melancholic", "energetic", "mysterious"),
        ),
        Genre(
            "house",
            (118, 128),
            "house",
            ("tr-808", "electronic"),
            "house",
            ("synth bass",),
            "stabs",
            ("piano", "organ", "electric piano"),
            ("synth lead", "synth pad"),
            pad_instruments=("synth pad", "string pad"),
            extra_tags=("electronic", "dance"),
            progressions=("static", "pop"),
            minor_progressions=("minor", "static"),
            minor_prob=0.5,
            machine=True,
            moods=("energetic", "happy", "uplifting", "dreamy"),
        ),
        Genre(
            "techno",
            (125, 140),
            "techno",
            ("tr-808", "electronic"),
            "techno",
            ("synth bass",),
            "arp",
            ("synth lead", "square lead"),
            ("synth lead",),
            pad_instruments=("synth pad",),
            extra_tags=("electronic", "dance"),
            progressions=("static",),
            minor_progressions=("static", "modal"),
            minor_prob=0.85,
            machine=True,
            lead_prob=0.3,
            moods=("dark", "energetic", "mysterious", "aggressive"),
        ),
        Genre(
            "trance",
            (132, 142),
            "trance",
            ("tr-808", "electronic"),
            "trance",
            ("synth bass",),
            "arp",
            ("synth lead", "square lead"),
            ("synth lead",),
            pad_instruments=("synth pad", "string pad"),
            extra_tags=("electronic", "dance"),
            progressions=("epic",),
            minor_progressions=("epic", "minor"),
            minor_prob=0.7,
            machine=True,
            moods=("uplifting", "epic", "energetic", "dreamy"),
        ),
        Genre(
            "ambient",
            (60, 90),
            None,
            (),
            "sustain",
            ("synth bass", "cello"),
            "pad",
            ("synth pad", "string pad", "choir"),
            ("piano", "flute", "harp", "vibraphone"),
            pad_instruments=("synth pad", "string pad"),
            extra_tags=("electronic",),
            progressions=("modal", "static"),
            minor_progressions=("modal", "minor"),
            minor_prob=0.5,
            lead_density=0.4,
            moods=("relaxing", "dreamy", "mysterious", "melancholic", "sad"),
        ),
        Genre(
            "orchestral",
            (70, 120),
            None,
            (),
            "sustain",
            ("cello", "trombone"),
            "ostinato",
            ("strings",),
            ("french horn", "violin", "flute", "trumpet", "oboe"),
            pad_instruments=("choir", "brass section"),
            extra_tags=("soundtrack",),
            progressions=("epic",),
            minor_progressions=("epic", "minor"),
            minor_prob=0.6,
            lead_prob=0.95,
            moods=("epic", "dark", "sad", "uplifting", "mysterious", "romantic"),
            lead_density=0.7,
            second_comp=("timpani", "harp"),
        ),
        Genre(
            "country",
            (90, 140),
            "country",
            ("standard", "brush", "room"),
            "country",
            ("bass",),
            "strum",
            ("acoustic guitar",),
            ("banjo", "harmonica", "violin", "electric guitar"),
            progressions=("folk", "pop"),
            minor_progressions=("minor",),
            minor_prob=0.1,
            moods=("happy", "uplifting", "relaxing", "sad", "romantic"),
            second_comp=("piano",),
        ),
        Genre(
            "folk",
            (80, 125),
            "folk",
            ("brush", "room"),
            "folkbass",
            ("upright bass", "bass"),
            "strum",
            ("acoustic guitar", "nylon guitar"),
            ("violin", "flute", "accordion", "harmonica", "banjo"),
            progressions=("folk",),
            minor_progressions=("minor", "modal"),
            minor_prob=0.35,
            drum_prob=0.45,
            moods=("happy", "sad", "relaxing", "melancholic", "romantic"),
            second_comp=("accordion", "piano"),
        ),
        Genre(
            "waltz",
            (84, 120),
            "waltz",
            ("brush", "jazz", "orchestra"),
            "waltz",
            ("upright bass", "cello"),
            "oompah",
            ("piano", "strings", "accordion", "harp"),
            ("violin", "flute", "clarinet", "accordion"),
            progressions=("waltz", "folk"),
            minor_progressions=("minor",),
            minor_prob=0.35,
            meter=3,
            drum_prob=0.5,
            moods=("romantic", "happy", "melancholic", "dreamy"),
        ),
        Genre(
            "chiptune",
            (130, 170),
            "chip",
            ("electronic",),
            "chip",
            ("square lead",),
            "arp",
            ("square lead",),
            ("square lead", "synth lead"),
            extra_tags=("electronic", "video game"),
            progressions=("pop", "epic"),
            minor_progressions=("minor", "epic"),
            minor_prob=0.4,
            machine=True,
            lead_prob=1.0,
            moods=("happy", "energetic", "uplifting", "epic"),
            lead_density=2.0,
        ),
        Genre(
            "disco",
            (112, 126),
            "disco",
            ("standard", "room"),
            "disco",
            ("bass", "slap bass"),
            "chank",
            ("electric guitar",),
            ("strings", "brass section", "synth lead"),
            pad_instruments=("strings",),
            extra_tags=("dance",),
            progressions=("pop", "static"),
            minor_prob=0.45,
            moods=("happy", "energetic", "uplifting", "romantic"),
            second_comp=("piano", "electric piano"),
        ),
    ]
}


def genre(name: str) -> Genre:
    """Look a genre up by name; a clear error lists the known ones."""
    try:
        return GENRES[name]
    except KeyError:
        raise KeyError(f"unknown genre {name!r}; known: {sorted(GENRES)}") from None


def tempo_tag(bpm: float) -> str:
    """The listener's word for a tempo."""
    if bpm < 85:
        return "slow"
    if bpm < 118:
        return "medium tempo"
    return "fast"

"""The corpus pieces the world renders, their composers and the ensembles that play them.

Data only: the music21 corpus path, real title, ensemble kind and split of every piece (about one
in six is held out for the benchmark), each composer's period and the genres the corpus holds of
them, and the instrumentations of each ensemble kind. `classical.py` renders them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Composer:
    name: str
    period: str  # renaissance / baroque / classical / romantic / traditional
    genres: tuple[str, ...]  # facts: what the corpus holds of them
    similar: tuple[str, ...] = ()


COMPOSERS = {
    c.name: c
    for c in [
        Composer("Giovanni Pierluigi da Palestrina", "renaissance", ("sacred choral", "mass")),
        Composer("Josquin des Prez", "renaissance", ("sacred choral", "chanson")),
        Composer("Claudio Monteverdi", "renaissance", ("madrigal", "secular choral")),
        Composer("Johann Sebastian Bach", "baroque", ("chorale", "sacred choral")),
        Composer("Wolfgang Amadeus Mozart", "classical", ("string quartet", "piano sonata")),
        Composer("Joseph Haydn", "classical", ("string quartet",)),
        Composer("Ludwig van Beethoven", "classical", ("string quartet",)),
        Composer("Clara Schumann", "romantic", ("piano",)),
        Composer("Traditional", "traditional", ("fiddle tune", "folk song")),
    ]
}
PERIOD_ORDER = ["renaissance", "baroque", "classical", "romantic", "traditional"]


@dataclass(frozen=True)
class Piece:
    path: str  # music21 corpus path
    composer: str
    title: str
    ensemble: str  # choir / quartet / keyboard / melody
    split: str = "train"  # "test": only in the held-out benchmark


# composer -> (music21 corpus path, title, ensemble, split); manifest order (catalog jobs index it)
CATALOGUE: dict[str, list[tuple[str, str, str, str]]] = {
    "Johann Sebastian Bach": [
        ("bach/bwv1.6", "Chorale BWV 1.6", "choir", "train"),
        ("bach/bwv10.7", "Chorale BWV 10.7", "choir", "train"),
        ("bach/bwv101.7", "Chorale BWV 101.7", "choir", "train"),
        ("bach/bwv102.7", "Chorale BWV 102.7", "choir", "train"),
        ("bach/bwv103.6", "Chorale BWV 103.6", "choir", "train"),
        ("bach/bwv104.6", "Chorale BWV 104.6", "choir", "test"),
        ("bach/bwv108.6", "Chorale BWV 108.6", "choir", "train"),
        ("bach/bwv11.6", "Chorale BWV 11.6", "choir", "train"),
        ("bach/bwv110.7", "Chorale BWV 110.7", "choir", "train"),
        ("bach/bwv111.6", "Chorale BWV 111.6", "choir", "train"),
        ("bach/bwv113.8", "Chorale BWV 113.8", "choir", "train"),
        ("bach/bwv114.7", "Chorale BWV 114.7", "choir", "test"),
        ("bach/bwv115.6", "Chorale BWV 115.6", "choir", "train"),
        ("bach/bwv116.6", "Chorale BWV 116.6", "choir", "train"),
        ("bach/bwv117.4", "Chorale BWV 117.4", "choir", "train"),
        ("bach/bwv119.9", "Chorale BWV 119.9", "choir", "train"),
        ("bach/bwv12.7", "Chorale BWV 12.7", "choir", "train"),
        ("bach/bwv120.6", "Chorale BWV 120.6", "choir", "test"),
        ("bach/bwv121.6", "Chorale BWV 121.6", "choir", "train"),
        ("bach/bwv122.6", "Chorale BWV 122.6", "choir", "train"),
        ("bach/bwv123.6", "Chorale BWV 123.6", "choir", "train"),
        ("bach/bwv124.6", "Chorale BWV 124.6", "choir", "train"),
        ("bach/bwv125.6", "Chorale BWV 125.6", "choir", "train"),
        ("bach/bwv126.6", "Chorale BWV 126.6", "choir", "test"),
        ("bach/bwv127.5", "Chorale BWV 127.5", "choir", "train"),
        ("bach/bwv128.5", "Chorale BWV 128.5", "choir", "train"),
        ("bach/bwv13.6", "Chorale BWV 13.6", "choir", "train"),
        ("bach/bwv66.6", "Chorale BWV 66.6", "choir", "train"),
    ],
    "Wolfgang Amadeus Mozart": [
        ("mozart/k155/movement1", "String Quartet K. 155, movement 1", "quartet", "train"),
        ("mozart/k156/movement1", "String Quartet K. 156, movement 1", "quartet", "train"),
        ("mozart/k458/movement1", "String Quartet K. 458, movement 1", "quartet", "train"),
        ("mozart/k80/movement1", "String Quartet K. 80, movement 1", "quartet", "test"),
        ("mozart/k458/movement3", "String Quartet K. 458, movement 3", "quartet", "train"),
        (
            "mozart/k545/movement1_exposition",
            "Piano Sonata No. 16 in C major, K. 545, first movement",
            "keyboard",
            "train",
        ),
    ],
    "Joseph Haydn": [
        ("haydn/opus1no1/movement1", "String Quartet Op. 1 No. 1, movement 1", "quartet", "train"),
        (
            "haydn/opus74no1/movement1",
            "String Quartet Op. 74 No. 1, movement 1",
            "quartet",
            "train",
        ),
        ("haydn/opus1no1/movement3", "String Quartet Op. 1 No. 1, movement 3", "quartet", "test"),
    ],
    "Ludwig van Beethoven": [
        (
            "beethoven/opus18no1/movement1",
            "String Quartet Op. 18 No. 1, movement 1",
            "quartet",
            "train",
        ),
        (
            "beethoven/opus59no1/movement1",
            "String Quartet Op. 59 No. 1, movement 1",
            "quartet",
            "train",
        ),
        (
            "beethoven/opus59no2/movement1",
            "String Quartet Op. 59 No. 2, movement 1",
            "quartet",
            "test",
        ),
    ],
    "Giovanni Pierluigi da Palestrina": [
        ("palestrina/Agnus_00", "Agnus Dei (1)", "choir", "train"),
        ("palestrina/Agnus_01", "Agnus Dei (2)", "choir", "train"),
        ("palestrina/Agnus_02", "Agnus Dei (3)", "choir", "train"),
        ("palestrina/Agnus_03", "Agnus Dei (4)", "choir", "test"),
    ],
    "Claudio Monteverdi": [
        ("monteverdi/madrigal.3.1.mxl", "Madrigal, Book 3 No. 1", "choir", "train"),
        ("monteverdi/madrigal.3.2.mxl", "Madrigal, Book 3 No. 2", "choir", "train"),
        ("monteverdi/madrigal.3.3.mxl", "Madrigal, Book 3 No. 3", "choir", "train"),
        ("monteverdi/madrigal.3.4.mxl", "Madrigal, Book 3 No. 4", "choir", "test"),
    ],
    "Josquin des Prez": [
        ("josquin/milleRegrets", "Mille regretz", "choir", "train"),
        ("josquin/adieuMesAmours", "Adieu mes amours", "choir", "train"),
        ("josquin/laPlusDesPlus", "La plus des plus", "choir", "test"),
    ],
    "Clara Schumann": [
        ("schumann_clara/polonaise_op1n1", "Polonaise Op. 1 No. 1", "keyboard", "train"),
        ("schumann_clara/polonaise_op1n2", "Polonaise Op. 1 No. 2", "keyboard", "train"),
        ("schumann_clara/polonaise_op1n3", "Polonaise Op. 1 No. 3", "keyboard", "train"),
        ("schumann_clara/polonaise_op1n4", "Polonaise Op. 1 No. 4", "keyboard", "test"),
    ],
    "Traditional": [
        ("ryansMammoth/7thRegimentReel", "7th Regiment (reel)", "melody", "train"),
        ("ryansMammoth/AcaciaReel", "Acacia (reel)", "melody", "train"),
        ("ryansMammoth/AcrobatsHornpipe", "The Acrobat's Hornpipe", "melody", "train"),
        ("ryansMammoth/AdmiralsHornpipe", "The Admiral's Hornpipe", "melody", "train"),
        ("ryansMammoth/AfterTheHareReel", "After the Hare (reel)", "melody", "train"),
        ("ryansMammoth/AlhambraReel", "Alhambra (reel)", "melody", "train"),
        ("ryansMammoth/AllAboardReel", "All Aboard (reel)", "melody", "test"),
        ("ryansMammoth/AmazonHornpipe", "The Amazon Hornpipe", "melody", "train"),
    ],
}
PIECES: tuple[Piece, ...] = tuple(
    Piece(path, composer, title, ensemble, split)
    for composer, rows in CATALOGUE.items()
    for path, title, ensemble, split in rows
)
ENSEMBLES = {  # instrumentations, top voice first
    "choir": [
        ["choir"],
        ["organ"],
        ["strings", "strings", "strings", "cello"],
        ["trumpet", "french horn", "trombone", "trombone"],
        ["violin", "violin", "strings", "cello"],
    ],
    "quartet": [
        ["violin", "violin", "strings", "cello"],
        ["piano"],
        ["flute", "oboe", "clarinet", "cello"],
    ],
    "keyboard": [["piano"], ["harpsichord"]],
    "melody": [["violin"], ["flute"], ["accordion"], ["harmonica"], ["violin", "acoustic guitar"]],
}


def pieces_for_split(split: str) -> list[Piece]:
    """Pieces for the training side (train/valid) or the held-out benchmark (test)."""
    want = "test" if split == "test" else "train"
    return [p for p in PIECES if p.split == want]

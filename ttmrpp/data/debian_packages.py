"""Real recordings in Debian packages: where each package keeps its music, its licence, and
the labels its own documentation gives (a data table; the builder is `debian_music.py`).

Labels come only from what is documented, and every label says where it came from:
- `genre tag`: the file's GENRE Vorbis comment, mapped onto our label words by `GENRE_LABELS`;
- `title`/`file name`/`album`: a word of the file's TITLE tag, file name or ALBUM tag
  (`TITLE_LABELS`), e.g. berusky2's "Relax 3", naev's "ambient2.ogg", "Ambient Pills";
- `package`: the style the package's own description and copyright file give all of its music
  (marsshooter: the band Obsidian Shell's metal albums; the Sectoid song pack: metal songs).
Licences were read from each package's `/usr/share/doc/<package>/copyright` (and freedink's
`README-REPLACEMENTS.txt`); the record keeps that path so a listing can point to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class MusicPackage:
    name: str  # Debian package name
    music: tuple[str, ...]  # globs of music files inside the package (".pk3!glob": inside a zip)
    licence: str  # the music's licence, as the copyright file states it
    credit: str  # copyright holders / performers to credit
    labels: tuple[str, ...] = ()  # labels the package documents for all of its music
    files: dict[str, dict] = field(default_factory=dict)  # per-file facts: title, labels, ...
    stems: tuple[str, ...] = ()  # file names mixed into one track (a song folder's stems)
    min_seconds: float = 30.0  # shorter files are jingles and effects
    artist: str = ""  # the artist where the files' tags do not name one
    sidecar_tags: str = ""  # suffix of a `key=value` tags file beside each track (blobwars)
    exclude: tuple[str, ...] = ()  # globs of matching files that are not separate tracks
    source: tuple[str, str] = ("", "")  # (installed prefix, source prefix) of `Files:` paths


# GENRE tags as written in the packages -> our label words (several where one implies more).
GENRE_LABELS = {
    "female fronted metal": ("metal",),
    "thrash metal": ("metal",),
    "trash metal": ("metal",),
    "death metal": ("metal",),
    "metal": ("metal",),
    "rock": ("rock",),
    "house": ("house", "electronic"),
    "dnb": ("drum and bass", "electronic"),
    "electronic": ("electronic",),
    "techno": ("electronic",),
    "ambient": ("ambient",),
    "reggae": ("reggae",),
    "orchestral": ("orchestral",),
    "classical": ("classical",),
    "classique": ("classical",),
    "blues": ("blues",),
    "folk": ("folk",),
    "chiptune": ("chiptune", "electronic"),
}

# Words of a title, file name or album that name a style or an instrument.
TITLE_LABELS = {
    "relax": ("relaxing",),
    "piano": ("piano",),
    "ambient": ("ambient",),
    "ambience": ("ambient",),
    "orchestra": ("orchestral",),
    "techno": ("electronic",),
    "electro": ("electronic",),
    "funky": ("funk",),
    "meditation": ("relaxing",),
    "blues": ("blues",),
    "medieval": ("medieval",),
    "8-bit": ("chiptune", "electronic"),
    "c64": ("chiptune", "electronic"),
}

# The held-out benchmark: whole packages never used in training, spanning metal, electronic,
# ambient, calm piano soundtrack, per-track genres and classical recordings.
BENCHMARK = {
    p.name: p
    for p in (
        MusicPackage(
            "marsshooter-data",
            ("usr/share/games/marsshooter/audio/music/*.ogg",),
            "CC-BY-SA-3.0",
            "Obsidian Shell (2011)",
            labels=("metal",),
            source=("usr/share/games/marsshooter/", "data/"),
        ),
        MusicPackage(
            "fretsonfire-songs-sectoid",
            ("usr/share/games/fretsonfire/data/songs/sectoid/*/song.ogg",),
            "Expat (MIT)",
            "Carlos Viola Iborra (Sectoid), 2006-2007",
            labels=("metal",),
            stems=("song.ogg", "guitar.ogg"),
            artist="Sectoid",  # each song.ini: "Composed and performed by Sectoid"
        ),
        MusicPackage(
            "berusky2-data",
            ("usr/share/games/berusky2/music/*.ogg",),
            "GPL-2+",
            "AnakreoN (2007-2020); music by Martin Linda",
        ),
        MusicPackage(
            "openclonk-data",
            ("usr/share/games/openclonk/Music.ocg/*.ogg",),
            "ISC; some game content CC-BY-3.0 or CC0 (see the copyright file)",
            "The OpenClonk Team; music by Martin Strohmeier (K-Pone)",
        ),
        MusicPackage(
            "freedink-data",
            ("usr/share/games/dink/dink/Sound/1.ogg", "usr/share/games/dink/dink/Sound/106.ogg"),
            "see files",
            "see files",
            files={
                "1.ogg": {
                    "title": "Ave Maria (Bach/Gounod)",
                    "artist": "John Michel (cello)",
                    "licence": "CC-BY-SA-3.0",
                    "labels": ("classical", "cello"),
                },
                "106.ogg": {
                    "title": "Violin Concerto in E minor, op. 64 (Mendelssohn), 1st movement",
                    "artist": "Fulda Symphonic Orchestra, Simon Schindler; Franziska Früh (violin)",
                    "licence": "EFF Open Audio License 1.0",
                    "labels": ("classical", "violin", "orchestral"),
                },
            },
        ),
        MusicPackage(
            "freedroidrpg-data",
            ("usr/share/freedroidrpg/data/sound/music/*.ogg",),
            "GPL-2+",
            "the FreedroidRPG team; music by Arvid Picciani, 4T Thieves, stud (kahvi) and others",
        ),
        MusicPackage(
            "naev-data",
            ("usr/share/naev/dat/snd/music/*.ogg",),
            "GPL-3+ / CC-BY-SA (see the copyright file)",
            "the Naev team; music by Askyel, Ken Seguro, Zeropage, Matthew Pablo and others",
            source=("usr/share/naev/", "./"),
        ),
    )
}


# The app's demo set (`ttmrpp.app.real_demo`): real recordings added to the generated demo
# catalog, chosen for small .debs and diverse styles, every track credited: Obsidian Shell's
# metal, K-Pone's house, reggae, ambient, rock and orchestral tracks, the two classical
# recordings (cello; violin and orchestra) and four pieces of paniq's album "Neurons: Fire At
# Will". 24 tracks, 103 minutes, 99 MB of audio from 228 MB of .debs (68 + 112 + 29 + 19;
# 10 s to extract). Left out: naev-data and
# berusky2-data (ambient/electronic, piano and relaxing tracks) are 350 and 535 MB .debs, too
# much to fetch on a first launch or install on a Space for a few tracks.
DEMO = {
    p.name: p
    for p in (
        BENCHMARK["marsshooter-data"],  # 10 tracks, 49 MB: metal (CC-BY-SA-3.0)
        BENCHMARK["openclonk-data"],  # 8 tracks, 29 MB: house, reggae, ambient, rock, ...
        BENCHMARK["freedink-data"],  # 2 tracks, 11 MB: classical (CC-BY-SA-3.0, EFF OAL)
        MusicPackage(  # 4 tracks, 10 MB: paniq (CC-BY-SA-3.0; the other files are sounds)
            "zaz-data",
            ("usr/share/games/zaz/mus*.ogg",),
            "CC-BY-SA-3.0",
            "Leonard Ritter (paniq)",
            source=("usr/share/games/zaz/", "data/"),
        ),
    )
}


def _pkg(name: str, *music: str, **kw) -> MusicPackage:
    """A training package whose licence and credits are those of its copyright file."""
    doc = f"see /usr/share/doc/{name}/copyright"
    return MusicPackage(name, music, kw.pop("licence", doc), kw.pop("credit", doc), **kw)


# Training packages: everything in the allowed set that the benchmark does not hold out. Their
# labels come from the same documented sources; the rest of a track's description comes from
# the real-music taggers and its file tags (the paper's recipe applied to real audio).
TRAINING = {
    p.name: p
    for p in (
        _pkg("ufoai-music", "usr/share/games/ufoai/base/0music.pk3!music/*.ogg"),
        _pkg("nexuiz-music", "usr/share/games/nexuiz/data/music.pk3!sound/cdtracks/*.ogg"),
        _pkg("supertux-data", "usr/share/games/supertux2/music/*.ogg"),
        _pkg("widelands-data", "usr/share/games/widelands/data/music/*.ogg"),
        _pkg(
            "hedgewars-data",
            "usr/share/games/hedgewars/Data/Music/*.ogg",
            exclude=("*sd*.ogg",),  # "sd" variants of the world themes
        ),
        _pkg(
            "blobwars-data",
            "usr/share/games/blobwars/music/*",
            exclude=("*.tags",),
            sidecar_tags=".tags",  # the files have no extension; their tags sit beside them
        ),
        _pkg(
            "supertuxkart-data",
            "usr/share/games/supertuxkart/data/music/*.ogg",
            exclude=("*_fast.ogg",),  # faster copies of the same tracks
        ),
        _pkg("colobot-common-sounds", "usr/share/games/colobot/music/*.ogg"),
        _pkg("flare-game", "usr/share/games/flare/mods/fantasycore/music/*.ogg"),
        _pkg("trackballs-data", "usr/share/games/trackballs/music/*.ogg"),
        _pkg("pushover-data", "usr/share/pushover/themes/*.ogg"),
        _pkg("megaglest-data", "usr/share/games/megaglest/*/music/*.ogg"),
        _pkg("starfighter-data", "usr/share/starfighter/music/*.ogg"),
        _pkg("warmux-data", "usr/share/games/warmux/music/*.ogg"),
        _pkg("davegnukem-data", "usr/share/games/davegnukem/music/*.ogg"),
        _pkg("zaz-data", "usr/share/games/zaz/*.ogg"),
        _pkg(
            "fretsonfire-songs-muldjord",
            "usr/share/games/fretsonfire/data/songs/muldjord/*/song.ogg",
            labels=("metal",),  # the package's songs are documented as death metal
            stems=("song.ogg", "guitar.ogg"),
            artist="Muldjord",
        ),
        _pkg("enigma-data", "usr/share/games/enigma/music/*/*.ogg"),
        _pkg("adonthell-data", "usr/share/games/adonthell/games/wastesedge/audio/*.ogg"),
        _pkg("redeclipse-data", "usr/share/games/redeclipse/data/sounds/music/*.ogg"),
    )
}

"""The real-music builder on a real (tiny) Debian package built here with dpkg-deb: music found
by glob, stems mixed, short files dropped, labels with their sources, licences from a
machine-readable copyright file."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import mutagen
import numpy as np
import pytest
import soundfile as sf

from tests.conftest import music_like
from ttmrpp.data.debian_music import build_manifest, labels_for
from ttmrpp.data.debian_packages import MusicPackage

pytest.importorskip("debian", reason="python-debian reads the packages")
if not shutil.which("dpkg-deb"):
    pytest.skip("dpkg-deb (Debian's dpkg) builds the test package", allow_module_level=True)

COPYRIGHT = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: tiny

Files: *
Copyright: 2020 Game Team
License: GPL-2+

Files: data/music/calm*
Copyright: 2021 Ana Corvel
License: CC-BY-SA-3.0
"""


def _ogg(path: Path, seconds: float, seed: int, **tags) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.stack([music_like(seconds, seed=seed)] * 2, 1), 22050, format="OGG")
    if tags:
        f = mutagen.File(path)
        for k, v in tags.items():
            f[k] = v
        f.save()


def _deb(tmp_path: Path) -> Path:
    root = tmp_path / "pkg"
    music = root / "usr/share/games/tiny/music"
    _ogg(music / "calm-relax.ogg", 31.0, 1, title="Relax One", artist="Ana Corvel", genre="Ambient")
    _ogg(music / "jingle.ogg", 2.0, 2)
    _ogg(music / "Battle.ogg", 31.0, 3, genre="Thrash Metal")
    song = root / "usr/share/games/tiny/songs/Big Riff"
    _ogg(song / "song.ogg", 31.0, 4)
    _ogg(song / "guitar.ogg", 31.0, 5)
    doc = root / "usr/share/doc/tiny-data"
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(COPYRIGHT)
    (root / "DEBIAN").mkdir()
    (root / "DEBIAN/control").write_text(
        "Package: tiny-data\nVersion: 1.0-1\nArchitecture: all\nMaintainer: t <t@example.org>\n"
        "Description: tiny test package\n test\n"
    )
    debs = tmp_path / "debs"
    debs.mkdir()
    subprocess.run(
        ["dpkg-deb", "--build", "-Zxz", str(root), str(debs / "tiny-data_1.0-1_all.deb")],
        check=True,
        capture_output=True,
    )
    return debs


def test_build_manifest_from_a_real_package(tmp_path):
    debs = _deb(tmp_path)
    music = MusicPackage(
        "tiny-data",
        ("usr/share/games/tiny/music/*.ogg",),
        "GPL-2+",
        "Game Team",
        source=("usr/share/games/tiny/", "data/"),
    )
    manifest = build_manifest(tmp_path / "out", {"tiny-data": music}, debs=debs, progress=False)
    recs = {r["id"]: r for r in map(json.loads, manifest.read_text().splitlines())}
    assert set(recs) == {"tiny-data/Battle.ogg", "tiny-data/calm-relax.ogg"}  # jingle dropped
    calm = recs["tiny-data/calm-relax.ogg"]
    assert calm["tags"] == {"genre": ["ambient"], "mood": ["relaxing"]}
    assert calm["label_sources"] == {"ambient": "genre tag", "relaxing": "title"}
    assert (calm["licence"], calm["credit"]) == ("CC-BY-SA-3.0", "2021 Ana Corvel")
    assert calm["artist"] == "Ana Corvel" and calm["split"] == "test"
    battle = recs["tiny-data/Battle.ogg"]
    assert battle["tags"] == {"genre": ["metal"]} and battle["licence"] == "GPL-2+"
    assert sf.info(tmp_path / "out" / battle["audio"]).duration == pytest.approx(31.0, abs=0.1)

    stems = MusicPackage(
        "tiny-data",
        ("usr/share/games/tiny/songs/*/song.ogg",),
        "Expat",
        "Riffer",
        labels=("metal",),
        stems=("song.ogg", "guitar.ogg"),
        artist="Riffer",
    )
    manifest = build_manifest(tmp_path / "out2", {"tiny-data": stems}, debs=debs, progress=False)
    (rec,) = map(json.loads, manifest.read_text().splitlines())
    assert rec["title"] == "Big Riff" and rec["artist"] == "Riffer"
    assert rec["label_sources"] == {"metal": "package"}
    mixed, _ = sf.read(tmp_path / "out2" / rec["audio"])
    song, _ = sf.read(debs.parent / "pkg/usr/share/games/tiny/songs/Big Riff/song.ogg")
    assert mixed.shape == song.shape and not np.allclose(mixed, song, atol=1e-3)  # both stems


def test_labels_come_only_from_documented_sources():
    pkg = MusicPackage("p", (), "x", "y", files={"a.ogg": {"labels": ("classical",)}})
    assert labels_for(pkg, "a.ogg", {"genre": "House", "album": "Ambient Pills"}) == {
        "classical": "package documentation of the file",
        "house": "genre tag",
        "electronic": "genre tag",
        "ambient": "album",
    }
    assert labels_for(pkg, "b.ogg", {"genre": "SoundTrack", "title": "Break"}) == {}

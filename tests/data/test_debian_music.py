"""The real-music builder on a real (tiny) Debian package built here with dpkg-deb: music found
by glob, stems mixed, short files dropped, labels with their sources, licences from a
machine-readable copyright file; the same records from the package installed (extracted with
dpkg-deb under a folder laid out like `/`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.data.tiny_deb import (
    COPYRIGHT,
    DEB_NAME,
    DPKG_DEB_MISSING,
    TINY,
    build_tiny_deb,
    install_into,
)
from ttmrpp.data.debian_music import build_manifest, installed, labels_for
from ttmrpp.data.debian_packages import DEMO, MusicPackage

pytest.importorskip("debian", reason="python-debian reads the packages")
if DPKG_DEB_MISSING:
    pytest.skip("dpkg-deb (Debian's dpkg) builds the test package", allow_module_level=True)


def test_build_manifest_from_a_real_package(tmp_path):
    debs = build_tiny_deb(tmp_path)
    manifest = build_manifest(tmp_path / "out", {"tiny-data": TINY}, debs=debs, progress=False)
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


def _records(manifest: Path) -> list[dict]:
    return [json.loads(line) for line in manifest.read_text().splitlines()]


def test_an_installed_package_is_read_from_the_file_system(tmp_path):
    debs = build_tiny_deb(tmp_path)
    root = tmp_path / "root"  # laid out like `/`: what `apt-get install` would leave
    install_into(debs / DEB_NAME, root)
    packages = {"tiny-data": TINY}
    from_deb = build_manifest(tmp_path / "a", packages, debs=debs, progress=False, root=None)
    no_debs = tmp_path / "no-debs"  # empty: nothing may be fetched, nothing is
    from_disk = build_manifest(tmp_path / "b", packages, debs=no_debs, progress=False, root=root)
    assert _records(from_disk) == _records(from_deb) and len(_records(from_disk)) == 2
    assert not no_debs.exists()
    for rec in _records(from_disk):
        a, b = (tmp_path / x / rec["audio"] for x in "ab")
        assert a.read_bytes() == b.read_bytes()
    calm = {r["id"]: r for r in _records(from_disk)}["tiny-data/calm-relax.ogg"]
    assert calm["licence"] == "CC-BY-SA-3.0"  # the copyright file was read from the disk

    # The copyright file is read from the disk too: changed there, the licence follows.
    doc = root / "usr/share/doc/tiny-data/copyright"
    doc.write_text(COPYRIGHT.replace("CC-BY-SA-3.0", "CC0-1.0"))
    again = build_manifest(tmp_path / "c", packages, debs=no_debs, progress=False, root=root)
    assert {r["id"]: r["licence"] for r in _records(again)}["tiny-data/calm-relax.ogg"] == (
        "CC0-1.0"
    )


def test_a_package_counts_as_installed_with_its_copyright_file_and_music(tmp_path):
    debs = build_tiny_deb(tmp_path)
    root = tmp_path / "root"
    install_into(debs / DEB_NAME, root)
    assert installed(TINY, root) is not None
    elsewhere = MusicPackage("tiny-data", ("usr/share/games/other/*.ogg",), "x", "y")
    assert installed(elsewhere, root) is None  # no music where the globs look
    excluded = MusicPackage("tiny-data", TINY.music, "x", "y", exclude=("*.ogg",))
    assert installed(excluded, root) is None
    (root / "usr/share/doc/tiny-data/copyright").unlink()
    assert installed(TINY, root) is None  # not installed: its .deb is read instead
    assert installed(TINY, tmp_path / "nothing-here") is None


def test_the_demo_set_is_small_freely_licensed_and_credited():
    assert set(DEMO) == {"marsshooter-data", "openclonk-data", "freedink-data", "zaz-data"}
    for pkg in DEMO.values():
        assert pkg.licence and pkg.credit and pkg.music
    assert DEMO["marsshooter-data"].licence == "CC-BY-SA-3.0"

"""A real (tiny) Debian package built with dpkg-deb, for the real-music tests: two tracks of
31 s (one with a per-file licence in its machine-readable copyright file), a jingle and a song
folder of stems. Callers skip without dpkg-deb (`DPKG_DEB_MISSING`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

from tests.conftest import music_like
from ttmrpp.data.debian_packages import MusicPackage

DPKG_DEB = shutil.which("dpkg-deb") or "dpkg-deb"  # found now: tests may empty PATH later
DPKG_DEB_MISSING = shutil.which("dpkg-deb") is None
DEB_NAME = "tiny-data_1.0-1_all.deb"

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

# The package's music as the data table describes a package.
TINY = MusicPackage(
    "tiny-data",
    ("usr/share/games/tiny/music/*.ogg",),
    "GPL-2+",
    "Game Team",
    source=("usr/share/games/tiny/", "data/"),
)


def write_ogg(path: Path, seconds: float, seed: int, **tags) -> None:
    import mutagen
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.stack([music_like(seconds, seed=seed)] * 2, 1), 22050, format="OGG")
    if tags:
        f = mutagen.File(path)
        for k, v in tags.items():
            f[k] = v
        f.save()


def build_tiny_deb(tmp_path: Path) -> Path:
    """Build `tiny-data_1.0-1_all.deb` into `tmp_path/debs` (its tree stays in `tmp_path/pkg`);
    returns the `debs` folder."""
    root = tmp_path / "pkg"
    music = root / "usr/share/games/tiny/music"
    write_ogg(
        music / "calm-relax.ogg", 31.0, 1, title="Relax One", artist="Ana Corvel", genre="Ambient"
    )
    write_ogg(music / "jingle.ogg", 2.0, 2)
    write_ogg(music / "Battle.ogg", 31.0, 3, genre="Thrash Metal")
    song = root / "usr/share/games/tiny/songs/Big Riff"
    write_ogg(song / "song.ogg", 31.0, 4)
    write_ogg(song / "guitar.ogg", 31.0, 5)
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
        [DPKG_DEB, "--build", "-Zxz", str(root), str(debs / DEB_NAME)],
        check=True,
        capture_output=True,
    )
    return debs


def install_into(deb: Path, root: Path) -> Path:
    """Extract `deb` under `root` as `dpkg` would install it under `/` (no root needed)."""
    subprocess.run([DPKG_DEB, "-x", str(deb), str(root)], check=True, capture_output=True)
    return root

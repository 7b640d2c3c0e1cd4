"""Build a manifest of real recordings from Debian packages (`debian_packages.py` says which).

    manifest = build_manifest(Path("real-music"), BENCHMARK, debs=Path("debs"))

Packages are fetched with `apt-get download` (any Debian/Ubuntu machine; already downloaded
`.deb` files are reused) and read with python-debian, so nothing is installed. A package that
is installed already (its `/usr/share/doc/<package>/copyright` is there and its music globs
match files: what a Space's `packages.txt` apt-installs) is read from the file system instead,
giving the same records. Each track keeps its title, artist, album, licence and credit (shown
wherever it is listed or played), its labels by category and where each label came from.
"""

from __future__ import annotations

import fnmatch
import io
import os
import subprocess
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from tqdm.auto import tqdm

from ttmrpp.data.debian_packages import GENRE_LABELS, TITLE_LABELS, MusicPackage
from ttmrpp.data.records import TrackRecord
from ttmrpp.fileio import atomic_write_jsonl

AUDIO_SUFFIXES = (".ogg", ".oga", ".opus", ".mp3", ".flac", ".wav")
CATEGORY = {"piano": "instrument", "cello": "instrument", "violin": "instrument"}
CATEGORY |= {"relaxing": "mood"}  # every other label is a genre


def download(names: Iterable[str], debs: Path) -> dict[str, Path]:
    """`.deb` files of the packages in `debs` (fetched with `apt-get download` if missing)."""
    debs.mkdir(parents=True, exist_ok=True)
    found = {n: next(iter(sorted(debs.glob(f"{n}_*.deb"))), None) for n in names}
    missing = [n for n, p in found.items() if p is None]
    if missing:
        try:
            subprocess.run(["apt-get", "download", *missing], cwd=debs, check=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            raise RuntimeError(
                f"could not fetch {', '.join(missing)} with apt-get ({exc}); download the .deb "
                f"files on a Debian/Ubuntu machine into {debs}"
            ) from None
        found = {n: next(iter(sorted(debs.glob(f"{n}_*.deb")))) for n in found}
    return found


class DebFiles:
    """The files of a `.deb`, read with python-debian (nothing installed)."""

    def __init__(self, deb: Path) -> None:
        from debian.debfile import DebFile

        self._tar = DebFile(str(deb)).data.tgz()
        self._members = {m.name.removeprefix("./"): m for m in self._tar.getmembers()}

    def files(self) -> list[str]:
        """Paths (no leading `./`) of the package's regular files; links are left out."""
        return [name for name, m in self._members.items() if m.isfile()]

    def read(self, path: str) -> bytes:
        """A file's bytes; KeyError when the package has no such regular file."""
        member = self._members[path]
        data = self._tar.extractfile(member) if member.isfile() else None
        if data is None:
            raise KeyError(path)
        return data.read()

    def close(self) -> None:
        self._tar.close()


class InstalledFiles:
    """An installed package's music files under `root` (`/`: what apt-get installed)."""

    def __init__(self, pkg: MusicPackage, root: Path) -> None:
        self._root = Path(root)
        self._files: list[str] = []
        for top in sorted({_fixed_prefix(p.partition("!")[0]) for p in pkg.music}):
            for folder, dirs, names in os.walk(self._root / top):
                dirs.sort()
                for name in sorted(names):
                    path = Path(folder) / name
                    if path.is_file() and not path.is_symlink():  # as a .deb's regular files
                        self._files.append(path.relative_to(self._root).as_posix())

    def files(self) -> list[str]:
        """Paths (relative to `root`) of the regular files under the music globs' folders;
        links are left out, as `DebFiles` leaves them out."""
        return list(self._files)

    def read(self, path: str) -> bytes:
        """A file's bytes (any file under `root`, e.g. the copyright file); KeyError when
        there is none."""
        try:
            return (self._root / path).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise KeyError(path) from None

    def close(self) -> None:
        pass


def _fixed_prefix(pattern: str) -> str:
    """The folders of a glob before its first wildcard (`a/b/*/c.ogg` -> `a/b`)."""
    parts = PurePosixPath(pattern).parts
    fixed = []
    for part in parts[:-1]:
        if any(c in part for c in "*?["):
            break
        fixed.append(part)
    return "/".join(fixed)


def installed(pkg: MusicPackage, root: Path = Path("/")) -> InstalledFiles | None:
    """The package's files under `root` when it is installed there (its copyright file is
    present and its music globs match files), else None."""
    if not (Path(root) / "usr/share/doc" / pkg.name / "copyright").is_file():
        return None
    found = InstalledFiles(pkg, root)
    archives = [p.partition("!")[0] for p in pkg.music]
    for name in found.files():
        excluded = any(fnmatch.fnmatch(PurePosixPath(name).name, x) for x in pkg.exclude)
        if not excluded and any(fnmatch.fnmatch(name, a) for a in archives):
            return found
    return None


def _matching(
    src: DebFiles | InstalledFiles, patterns: tuple[str, ...], exclude: tuple[str, ...] = ()
) -> Iterator[tuple[str, bytes]]:
    """(path inside the package, bytes) of the files matching the globs and none of `exclude`;
    `X.pk3!glob` looks inside the zip archive X.pk3."""
    for name in src.files():
        if any(fnmatch.fnmatch(PurePosixPath(name).name, x) for x in exclude):
            continue
        for pattern in patterns:
            archive, _, inner = pattern.partition("!")
            if not fnmatch.fnmatch(name, archive):
                continue
            data = src.read(name)
            if not inner:
                yield name, data
                continue
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for entry in sorted(zf.namelist()):
                    base = PurePosixPath(entry).name
                    if fnmatch.fnmatch(entry, inner) and not any(
                        fnmatch.fnmatch(base, x) for x in exclude
                    ):
                        yield f"{name}!{entry}", zf.read(entry)


def _copyright(src: DebFiles | InstalledFiles, pkg: MusicPackage):
    """The package's machine-readable copyright file, parsed once; None when it has none."""
    from debian.copyright import Copyright, Error

    try:
        text = src.read(f"usr/share/doc/{pkg.name}/copyright").decode("utf-8", "replace")
        return Copyright(io.StringIO(text), strict=False)
    except (KeyError, Error, ValueError):
        return None


def _licence(copyright, pkg: MusicPackage, path: str) -> tuple[str, str]:
    """(licence, credit) of one file from the parsed copyright file, else the table's."""
    from debian.copyright import Error

    installed, source = pkg.source
    if copyright is None or not installed or not path.startswith(installed):
        return pkg.licence, pkg.credit
    try:
        para = copyright.find_files_paragraph(source + path[len(installed) :])
    except (Error, ValueError):
        return pkg.licence, pkg.credit
    if para is None or para.license is None or list(para.files) == ["*"]:
        return pkg.licence, pkg.credit
    credit = " ".join((para.copyright or pkg.credit).split())
    return para.license.synopsis or pkg.licence, credit


def _sidecar(src: DebFiles | InstalledFiles, path: str) -> dict[str, str]:
    """`key=value` lines of a tags file beside a track (title, artist, album, license)."""
    try:
        text = src.read(path).decode("utf-8", "replace")
    except KeyError:
        return {}
    pairs = (line.partition("=") for line in text.splitlines())
    keep = {"title", "artist", "album", "genre", "license"}
    return {k.strip().lower(): v.strip() for k, s, v in pairs if s and k.strip().lower() in keep}


def _tags(path: Path) -> dict[str, Any]:
    import mutagen

    f = mutagen.File(str(path))
    if f is None:
        return {}
    out: dict[str, Any] = {"duration": float(f.info.length)}
    for key in ("title", "artist", "album", "genre"):
        values = [str(v).strip() for v in ((f.tags or {}).get(key) or []) if str(v).strip()]
        if values:
            out[key] = values[0]
    return out


def labels_for(pkg: MusicPackage, name: str, tags: dict[str, Any]) -> dict[str, str]:
    """label -> where it came from, for one file (only documented labels)."""
    found: dict[str, str] = {}
    for label in pkg.labels:
        found[label] = "package"
    for label in pkg.files.get(name, {}).get("labels", ()):
        found.setdefault(label, "package documentation of the file")
    for label in GENRE_LABELS.get(tags.get("genre", "").strip().lower(), ()):
        found.setdefault(label, "genre tag")
    words = {
        "title": tags.get("title", ""),
        "file name": PurePosixPath(name).stem,
        "album": tags.get("album", ""),
    }
    for source, text in words.items():
        low = text.lower()
        for word, labels in TITLE_LABELS.items():
            if word in low:
                for label in labels:
                    found.setdefault(label, source)
    return found


def _mix_stems(folder_files: dict[str, bytes], out: Path) -> None:
    """Sum a song folder's stems (same rate) into one Ogg Vorbis file, peak-normalised."""
    import numpy as np
    import soundfile as sf

    parts = [sf.read(io.BytesIO(b), always_2d=True) for b in folder_files.values()]
    rate = parts[0][1]
    n = max(len(x) for x, _ in parts)
    mix = np.zeros((n, max(x.shape[1] for x, _ in parts)))
    for x, r in parts:
        if r != rate:
            raise ValueError(f"{out.name}: stems at different rates ({r} vs {rate})")
        mix[: len(x), : x.shape[1]] += x
    mix /= max(1.0, float(np.abs(mix).max()) / 0.98)
    # In blocks: libsndfile's Vorbis encoder overflows its stack on one long write.
    with sf.SoundFile(out, "w", rate, mix.shape[1], format="OGG", subtype="VORBIS") as f:
        for start in range(0, len(mix), 1 << 15):
            f.write(mix[start : start + (1 << 15)])


def package_tracks(
    pkg: MusicPackage, deb: Path | DebFiles | InstalledFiles, out: Path, split: str
) -> list[TrackRecord]:
    """Extract one package's music into `out/audio/<package>/` and describe each track.

    `deb`: the package's `.deb` file, or its files (`DebFiles`, or `installed(pkg)`)."""
    src = DebFiles(deb) if isinstance(deb, str | os.PathLike) else deb
    try:
        return _package_tracks(pkg, src, out, split)
    finally:
        src.close()


def _package_tracks(
    pkg: MusicPackage, src: DebFiles | InstalledFiles, out: Path, split: str
) -> list[TrackRecord]:
    records: list[TrackRecord] = []
    files = dict(_matching(src, pkg.music, pkg.exclude))
    copyright = _copyright(src, pkg)
    sidecars = {}
    if pkg.sidecar_tags:
        sidecars = {p: _sidecar(src, p + pkg.sidecar_tags) for p in files}
    stems = {}
    if pkg.stems:  # e.g. a song folder's song.ogg + guitar.ogg
        by_folder = {str(PurePosixPath(p).parent) for p in files}
        for name in src.files():
            parent, base = str(PurePosixPath(name).parent), PurePosixPath(name).name
            if parent in by_folder and base in pkg.stems:
                stems.setdefault(parent, {})[base] = src.read(name)
    for path, data in sorted(files.items()):
        inner = path.split("!")[-1]
        name = PurePosixPath(inner).name
        rel = PurePosixPath(inner).parent.name + "-" + name if pkg.stems else name
        if not PurePosixPath(rel).suffix:  # e.g. blobwars' extensionless Ogg files
            rel += ".ogg"
        target = out / "audio" / pkg.name / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if pkg.stems:
            _mix_stems(stems[str(PurePosixPath(path).parent)], target)
        else:
            target.write_bytes(data)
        tags = {**_tags(target), **sidecars.get(path, {})}
        if tags.get("duration", 0.0) < pkg.min_seconds:
            target.unlink()
            continue
        facts = pkg.files.get(name, {})
        if pkg.stems and "title" not in tags:
            tags["title"] = PurePosixPath(inner).parent.name
        licence, credit = _licence(copyright, pkg, path.split("!")[0])
        sources = labels_for(pkg, name, tags)
        by_cat: dict[str, list[str]] = {}
        for label in sources:
            by_cat.setdefault(CATEGORY.get(label, "genre"), []).append(label)
        records.append(
            {
                "id": f"{pkg.name}/{rel}",
                "audio": target.relative_to(out).as_posix(),
                "split": split,
                "package": pkg.name,
                "title": facts.get("title") or tags.get("title") or PurePosixPath(rel).stem,
                "artist": facts.get("artist") or tags.get("artist") or pkg.artist or None,
                "album": tags.get("album"),
                "duration": round(tags["duration"], 3),
                "tags": by_cat,
                "label_sources": sources,
                "licence": facts.get("licence") or tags.get("license") or licence,
                "credit": credit if "licence" not in facts else facts.get("artist", credit),
                "copyright_file": f"/usr/share/doc/{pkg.name}/copyright",
            }
        )
    return records


def build_manifest(
    out: Path,
    packages: dict[str, MusicPackage],
    debs: Path | None = None,
    split: str = "test",
    progress: bool = True,
    root: Path | None = Path("/"),
) -> Path:
    """Fetch, extract and describe the packages' music; write `out/manifest.jsonl`.

    Args:
        debs: where the `.deb` files are kept (default `out/debs`); missing ones are fetched
            with `apt-get download`.
        root: a folder laid out like `/` (default `/`); packages installed there
            (`installed`) are read from it and not fetched. None: every package comes from
            its `.deb`.
    """
    out.mkdir(parents=True, exist_ok=True)
    sources: dict[str, Path | InstalledFiles] = {}
    if root is not None:
        sources = {n: f for n, p in packages.items() if (f := installed(p, root)) is not None}
    missing = [n for n in packages if n not in sources]
    if missing:
        sources |= download(missing, debs or out / "debs")
    records: list[TrackRecord] = []
    for name in tqdm(sorted(packages), desc="packages", disable=not progress):
        records += package_tracks(packages[name], sources[name], out, split)
    manifest = out / "manifest.jsonl"
    atomic_write_jsonl(manifest, records)
    return manifest

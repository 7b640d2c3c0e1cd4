"""Real recordings in the demo collection: the music of the `DEMO` Debian packages
(`ttmrpp/data/debian_packages.py`: 24 tracks, 103 minutes, 99 MB), added to the generated
catalog on the first launch with title, artist, licence and credit.

Each package comes from the system when it is installed (a Space's `packages.txt`), else from
its `.deb` in the cache (`<cache>/debs`, fetched with `apt-get download` where apt-get
exists). A package that cannot be had is left out and the model note says so in one line;
`TTMRPP_REAL_DEMO=0` turns the real recordings off.

    real = fetch_real_tracks(cache, RealSource())   # per-package manifests, and what is missing
    manifest = demo_manifest(cache / "demo.jsonl", catalog_manifest, real.manifests.values())
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ttmrpp.data.debian_packages import DEMO, MusicPackage
from ttmrpp.fileio import atomic_write_jsonl, read_jsonl

log = logging.getLogger("ttmrpp.app.launch")  # the messages are the launch's own

REAL_DEMO_ENV = "TTMRPP_REAL_DEMO"  # 0/false/no/off: the demo has generated music only
GENERATED_LICENCE = "generated (ttmrpp music world)"  # the licence shown for generated tracks
REAL_FOLDER = "real"  # <cache>/real/<package>-<version of its table entry>/
DEBS_FOLDER = "debs"  # <cache>/debs/*.deb


@dataclass(frozen=True)
class RealSource:
    """Where the real recordings come from.

    Attributes:
        packages: the packages whose music is added (default `DEMO`).
        root: where installed packages are looked for (a folder laid out like `/`).
    """

    packages: Mapping[str, MusicPackage] = field(default_factory=lambda: dict(DEMO))
    root: Path = Path("/")


def real_demo_enabled(flag: bool | None = None) -> bool:
    """Whether the demo adds the real recordings: `flag`, else `TTMRPP_REAL_DEMO` (on unless
    0/false/no/off)."""
    if flag is not None:
        return flag
    value = os.environ.get(REAL_DEMO_ENV, "").strip().lower()
    return value not in ("0", "false", "no", "off")


def package_key(pkg: MusicPackage) -> str:
    """`<package>-<hash of its table entry>`: a changed entry gets a fresh folder."""
    return f"{pkg.name}-{hashlib.sha256(repr(pkg).encode()).hexdigest()[:8]}"


def real_suffix(packages: Iterable[MusicPackage]) -> str:
    """The cache folders' suffix for a demo with these packages' music ("" for none)."""
    keys = sorted(package_key(p) for p in packages)
    if not keys:
        return ""
    return "+real-" + hashlib.sha256("\n".join(keys).encode()).hexdigest()[:8]


@dataclass
class RealTracks:
    """What `fetch_real_tracks` got: a manifest per package, and why the others are missing."""

    manifests: dict[str, Path]  # package -> its manifest
    missing: dict[str, str]  # package -> why it is missing
    packages: dict[str, MusicPackage]  # the packages that were got

    @property
    def note(self) -> str:
        """One line for the page when something is missing, else ""."""
        if not self.missing:
            return ""
        reasons = "; ".join(dict.fromkeys(self.missing.values()))
        if not self.manifests:
            return f"No real recordings in the demo ({reasons}): it has generated music only."
        names = ", ".join(sorted(self.missing))
        return f"Real recordings of {names} are missing ({reasons})."


def fetch_real_tracks(cache: Path, source: RealSource, progress: bool = True) -> RealTracks:
    """Extract each package's music into `<cache>/real/` (once: later launches reuse it), from
    the installed package, else its `.deb` in `<cache>/debs` (fetched with `apt-get download`
    when missing and apt-get exists). Never raises for a package that cannot be had: it is
    listed in `missing` with the reason."""
    from tqdm.auto import tqdm

    from ttmrpp.data.debian_music import build_manifest, installed

    debs = cache / DEBS_FOLDER
    apt_get = shutil.which("apt-get")
    got, missing, packages = {}, {}, {}
    bar = tqdm(sorted(source.packages.items()), desc="real recordings", disable=not progress)
    for name, pkg in bar:
        folder = cache / REAL_FOLDER / package_key(pkg)
        manifest = folder / "manifest.jsonl"
        if not manifest.is_file():
            on_disk = installed(pkg, source.root) is not None
            if not on_disk and not any(debs.glob(f"{name}_*.deb")) and apt_get is None:
                missing[name] = "not installed, and no apt-get to fetch it"
                continue
            try:
                build_manifest(
                    folder, {name: pkg}, debs=debs, split="demo", progress=False,
                    root=source.root,
                )  # fmt: skip
            except Exception as exc:  # a failed download, a damaged .deb: go on without it
                log.warning("real demo tracks: %s left out (%s)", name, exc)
                fetched = isinstance(exc, RuntimeError)  # `download` could not fetch it
                missing[name] = "apt-get download failed" if fetched else "unreadable"
                if not on_disk and not fetched:  # a damaged download: fetched afresh next time
                    for deb in debs.glob(f"{name}_*.deb"):
                        deb.unlink(missing_ok=True)
                continue
        got[name] = manifest
        packages[name] = pkg
    return RealTracks(got, missing, packages)


def demo_manifest(out: Path, catalog: Path, real: Iterable[Path] = ()) -> Path:
    """One manifest of the generated catalog (each track's licence: `GENERATED_LICENCE`) and
    the real recordings' manifests, with audio paths relative to `out`'s folder."""
    records = []
    for manifest, extra in [(catalog, {"licence": GENERATED_LICENCE}), *((m, {}) for m in real)]:
        for rec in read_jsonl(manifest):
            audio = Path(rec["audio"])
            if not audio.is_absolute():
                audio = Path(os.path.relpath(manifest.parent / audio, out.parent))
            records.append({**extra, **rec, "audio": audio.as_posix()})
    return atomic_write_jsonl(out, records)

"""The seeded catalog: determinism, resumability, splits and the CLI."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from ttmrpp.data.records import read_manifest
from ttmrpp.world.catalog import CatalogConfig, build_catalog
from ttmrpp.world.stream import world

TINY = CatalogConfig(seed=7, tracks=5, benchmark_tracks=3, seconds=3.0, classical_fraction=0.2)


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def tiny_catalog(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("catalog")
    build_catalog(out, TINY, workers=1, progress=False)
    return out


def test_manifest_records_follow_the_shared_format(tiny_catalog):
    recs = read_manifest(tiny_catalog / "manifest.jsonl")
    assert len(recs) == TINY.tracks + TINY.benchmark_tracks
    assert not list(tiny_catalog.glob("*.partial.jsonl"))
    for r in recs:
        assert set(r) >= {
            "id",
            "audio",
            "duration",
            "split",
            "tags",
            "bpm",
            "key",
            "title",
            "artist",
            "album",
            "similar_artists",
        }
        assert set(r["tags"]) == {"genre", "instrument", "mood", "tempo"}
        assert all(t == t.lower() for v in r["tags"].values() for t in v)
        audio, sr = sf.read(tiny_catalog / r["audio"], dtype="float32")
        assert abs(len(audio) / sr - r["duration"]) < 0.1
        assert np.sqrt(np.mean(audio**2)) > 0.01  # real sound, not silence
        assert (r["split"] == "test") == ("captions" in r)
    assert any(
        r["artist"]
        in {
            "Johann Sebastian Bach",
            "Traditional",
            "Joseph Haydn",
            "Clara Schumann",
            "Wolfgang Amadeus Mozart",
            "Ludwig van Beethoven",
            "Claudio Monteverdi",
            "Josquin des Prez",
            "Giovanni Pierluigi da Palestrina",
        }
        for r in recs
    )
    held = {a.name for a in world() if a.heldout}
    assert not held & {r["artist"] for r in recs if r["split"] != "test"}
    artists = json.loads((tiny_catalog / "artists.json").read_text())
    assert len(artists["artists"]) >= 150 and "rule" in artists


def test_same_seed_is_byte_identical_and_rerun_resumes(tiny_catalog, tmp_path):
    again = tmp_path / "again"
    build_catalog(again, TINY, workers=2, progress=False)  # parallel build, same bytes
    assert _files(again) == _files(tiny_catalog)
    # An interrupted build: the progress log holds finished tracks (the last line cut short),
    # there is no final manifest and the last track's audio is missing.
    lines = (again / "manifest.jsonl").read_text().splitlines()
    (again / "manifest.jsonl").unlink()
    (again / "manifest.partial.jsonl").write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:20])
    last = json.loads(lines[-1])
    (again / last["audio"]).unlink()
    kept = (again / "audio" / "t000000.opus").stat().st_mtime_ns
    build_catalog(again, TINY, workers=1, progress=False)
    assert _files(again) == _files(tiny_catalog)
    assert (again / "audio" / "t000000.opus").stat().st_mtime_ns == kept  # not redone


def test_other_seed_differs_and_mixed_settings_are_refused(tiny_catalog, tmp_path):
    other = CatalogConfig(**{**TINY.__dict__, "seed": 8, "tracks": 2, "benchmark_tracks": 0})
    out = tmp_path / "other"
    build_catalog(out, other, workers=1, progress=False)
    a = read_manifest(tiny_catalog / "manifest.jsonl")[:2]
    b = read_manifest(out / "manifest.jsonl")
    assert [r["title"] for r in a] != [r["title"] for r in b]
    assert (out / "audio" / "t000000.opus").read_bytes() != (
        tiny_catalog / "audio" / "t000000.opus"
    ).read_bytes()
    with pytest.raises(ValueError, match="other settings"):
        build_catalog(out, TINY, workers=1, progress=False)


def test_cli_builds_a_catalog(tmp_path, capsys):
    from ttmrpp.cli import catalog as cmd

    parser = argparse.ArgumentParser()
    cmd.register(parser.add_subparsers())
    args = parser.parse_args(
        [
            "build-catalog",
            "--out",
            str(tmp_path / "c"),
            "--tracks",
            "2",
            "--benchmark-tracks",
            "1",
            "--seconds",
            "2",
            "--no-progress",
            "--workers",
            "1",
        ]
    )
    assert args.func(args) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["tracks"] == 3 and summary["test"] == 1
    with pytest.raises(SystemExit, match="seconds"):
        args = parser.parse_args(["build-catalog", "--out", str(tmp_path / "d"), "--seconds", "0"])
        args.func(args)


def test_cli_defaults_are_the_default_catalog():
    import argparse

    from ttmrpp.cli import catalog as cmd

    parser = argparse.ArgumentParser()
    cmd.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["build-catalog", "--out", "x"])
    cfg = CatalogConfig()
    assert (args.tracks, args.benchmark_tracks, args.seconds) == (
        cfg.tracks,
        cfg.benchmark_tracks,
        cfg.seconds,
    )

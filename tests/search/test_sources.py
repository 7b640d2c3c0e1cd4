"""Folders and manifests as track records: scanning, manifest paths and ids, file tags,
filters."""

from __future__ import annotations

import json

import mutagen
import pytest
import soundfile as sf

from tests.conftest import music_like
from ttmrpp.search.sources import (
    enrich,
    file_state,
    manifest_tracks,
    matches,
    parse_filters,
    read_file_tags,
    scan_folder,
)


def _wav(path, seconds=1.0):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, music_like(seconds), 22050)
    return path


def test_scan_folder_finds_audio_by_extension_recursively_and_skips_hidden(tmp_path):
    _wav(tmp_path / "b" / "Two.WAV")
    _wav(tmp_path / "a.wav")
    _wav(tmp_path / ".hidden" / "x.wav")
    _wav(tmp_path / ".dot.wav")
    (tmp_path / "notes.txt").write_text("not audio")
    records, ignored = scan_folder(tmp_path)
    assert [r["id"] for r in records] == ["a.wav", "b/Two.WAV"]
    assert ignored == 1
    assert all((r["size"], r["mtime"]) == file_state(r["path"]) for r in records)
    with pytest.raises(NotADirectoryError):
        scan_folder(tmp_path / "a.wav")


def test_manifest_tracks_resolve_paths_default_ids_and_report_missing_files(tmp_path):
    _wav(tmp_path / "audio" / "x.wav")
    lines = [
        {"id": "x", "audio": "audio/x.wav", "title": "X"},
        {"audio": "audio/missing.wav"},
    ]
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    x, missing = manifest_tracks(tmp_path / "m.jsonl")
    assert x["path"] == str((tmp_path / "audio" / "x.wav").resolve()) and x["title"] == "X"
    assert "audio" not in x and x["size"] > 0
    assert missing["id"] == "audio/missing.wav" and missing["size"] is None
    (tmp_path / "dup.jsonl").write_text(json.dumps(lines[0]) + "\n" + json.dumps(lines[0]) + "\n")
    with pytest.raises(ValueError, match="repeats id 'x'"):
        manifest_tracks(tmp_path / "dup.jsonl")
    (tmp_path / "bad.jsonl").write_text('{"id": "y"}\n')
    with pytest.raises(ValueError, match="needs an 'audio' path"):
        manifest_tracks(tmp_path / "bad.jsonl")


def test_file_tags_fill_only_what_the_record_lacks(tmp_path):
    path = _wav(tmp_path / "song.flac", seconds=2.0)
    tags = mutagen.File(path, easy=True)
    tags["title"], tags["artist"], tags["album"] = "Real Title", "Real Artist", "LP"
    tags.save()
    assert read_file_tags(path) == {
        "title": "Real Title",
        "artist": "Real Artist",
        "album": "LP",
        "duration": pytest.approx(2.0, abs=0.01),
    }
    rec = enrich({"path": str(path), "artist": "Manifest Artist"})
    assert rec["artist"] == "Manifest Artist" and rec["title"] == "Real Title"
    bare = enrich({"path": str(_wav(tmp_path / "bare.wav"))})
    assert bare["title"] == "bare" and bare["duration"] == pytest.approx(1.0, abs=0.01)
    (tmp_path / "junk.mp3").write_bytes(b"\0" * 100)
    assert read_file_tags(tmp_path / "junk.mp3") == {}


def test_filters_match_categories_fields_and_any_tag():
    rec = {"tags": {"genre": ["Rock", "blues"], "mood": ["calm"]}, "artist": "Ana", "split": "test"}
    assert matches(rec, {"genre": "rock"}) and matches(rec, {"genre": ["jazz", "blues"]})
    assert matches(rec, {"tag": "CALM", "artist": "ana"})
    assert not matches(rec, {"genre": "rock", "artist": "Bo"})
    assert not matches(rec, {"instrument": "piano"})
    assert parse_filters(["genre=rock", "genre=jazz", "artist=Ana Corvel"]) == {
        "genre": ["rock", "jazz"],
        "artist": ["Ana Corvel"],
    }
    with pytest.raises(ValueError, match="key=value"):
        parse_filters(["genre"])

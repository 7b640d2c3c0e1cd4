import json

import pytest

from ttmrpp.data.records import read_manifest, record_tags


def test_jsonl_manifest_and_enriched_fields(tmp_path):
    path = tmp_path / "m.jsonl"
    lines = [
        {"id": "a", "audio": "audio/a.wav", "tags": {"genre": ["rock"]}},
        {"track_id": "TR1", "tag_list": ["pop", "happy"], "artist_name": "X", "release": "Y",
         "title": "Z", "pseudo_caption": "A pop song.", "sim_artist_text": "P[SEP]Q"},
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n")
    recs = read_manifest(path, resolve_audio=True)
    assert recs[0]["audio"] == str(tmp_path / "audio/a.wav")
    assert recs[1]["tags"] == {"tag": ["pop", "happy"]} and recs[1]["similar_artists"] == ["P", "Q"]
    assert recs[1]["artist"] == "X" and recs[1]["album"] == "Y"
    path.write_text('{"id": 1}\n{broken\n')
    with pytest.raises(ValueError, match="m.jsonl:2"):
        read_manifest(path)


def test_relative_audio_is_kept_unless_resolved(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps({"id": "a", "audio": "a.wav", "split": "test"}) + "\n")
    (rec,) = read_manifest(path)
    assert rec == {"id": "a", "audio": "a.wav", "split": "test"}  # order and fields kept
    with pytest.raises(FileNotFoundError, match="manifest not found"):
        read_manifest(tmp_path / "missing.jsonl")


def test_record_tags_flattens_categories_once():
    rec = {"tags": {"genre": ["Rock", "rock "], "instrument": ["piano", ""], "mood": None}}
    assert record_tags(rec) == ["Rock", "piano"]
    assert record_tags({"tags": ["a", "A", "b"]}) == ["a", "b"]
    assert record_tags({}) == []

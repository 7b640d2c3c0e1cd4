"""`ttmrpp index | search | similar | map` end to end on real files, through `cli.main`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.helpers.search import discriminative_tiny_model, write_track
from ttmrpp.cli.main import main

pytest.importorskip("hnswlib")
pytest.importorskip("plotly")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("model") / "tiny"
    discriminative_tiny_model().save_pretrained(folder)
    return folder


@pytest.fixture()
def music(tmp_path) -> Path:
    root = tmp_path / "music"
    write_track(root / "rock" / "one.flac", 1, tags={"title": "Neon Harbor", "artist": "Orbits"})
    write_track(root / "rock" / "two.ogg", 2, tags={"title": "Glass", "artist": "Orbits"})
    write_track(root / "jazz" / "three.wav", 3)
    write_track(root / "jazz" / "four.flac", 4, tags={"title": "Ferry", "artist": "Ana Corvel"})
    write_track(root / "five.wav", 5)
    full = (root / "jazz" / "four.flac").read_bytes()
    (root / "broken.flac").write_bytes(full[: len(full) // 4])
    (root / "empty.ogg").write_bytes(b"")
    (root / "readme.mp3").write_text("not audio\n" * 100)
    (root / "cover.jpg").write_bytes(b"\xff\xd8\xff")
    return root


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_index_search_similar_map(capsys, tmp_path, music, model_dir):
    idx = tmp_path / "idx"
    code, out, err = run(capsys, "index", music, "--model", model_dir, "--out", idx, "--quiet")
    assert code == 0, err
    assert "5 tracks" in out and "failed 3" in out and "1 files without an audio" in out
    skipped = sorted(
        Path(line.split(": ")[1]).name for line in err.splitlines() if "skipped" in line
    )
    assert skipped == ["broken.flac", "empty.ogg", "readme.mp3"]

    code, out, _ = run(capsys, "index", music, "--out", idx, "--quiet")  # the index's model
    assert code == 0 and "embedded 0 files" in out and "3 known, not retried" in out

    code, out, _ = run(
        capsys, "search", "bright rock guitar", "--index", idx, "--top-k", 3, "--json"
    )
    res = json.loads(out)
    assert res["query"] == "bright rock guitar" and len(res["results"]) == 3
    scores = [r["score"] for r in res["results"]]
    assert scores == sorted(scores, reverse=True)
    assert {"path", "title", "rank"} <= set(res["results"][0])

    code, out, _ = run(capsys, "search", "bright rock", "--index", idx, "--filter", "artist=orbits")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["#", "score", "title", "artist"]
    assert sorted(line.split()[2] for line in lines[2:]) == ["Glass", "Neon"]

    target = music / "jazz" / "three.wav"
    code, out, _ = run(capsys, "similar", target, "--index", idx, "--json")
    results = json.loads(out)["results"]
    assert code == 0 and results[0]["path"] == str(target) and results[0]["score"] > 0.999
    code, out, _ = run(capsys, "similar", target, "--index", idx, "--json", "--exclude-self")
    assert str(target) not in [r["path"] for r in json.loads(out)["results"]]

    html = tmp_path / "map.html"
    code, out, err = run(
        capsys, "map", "--index", idx, "--out", html, "--color-by", "artist", "--query", "jazz"
    )
    assert code == 0, err
    text = html.read_text()
    assert "query: jazz" in text and "Neon Harbor" in text and "Orbits" in text
    assert re.findall(r"<script[^>]*\bsrc=", text) == []


def test_bad_queries_and_model_mixing_are_refused(capsys, tmp_path, music, model_dir):
    idx = tmp_path / "idx"
    assert run(capsys, "index", music, "--model", model_dir, "--out", idx, "--quiet")[0] == 0
    code, _, err = run(capsys, "search", "   ", "--index", idx)
    assert code == 2 and "empty query" in err
    code, _, err = run(capsys, "search", "rock", "--index", idx, "--filter", "genre")
    assert code == 2 and "key=value" in err
    code, _, err = run(capsys, "search", "rock", "--index", tmp_path / "nowhere")
    assert code == 2 and "not an index folder" in err
    code, _, err = run(capsys, "similar", music / "empty.ogg", "--index", idx)
    assert code == 1 and "empty file" in err

    other = tmp_path / "other-model"
    discriminative_tiny_model(seed=3).save_pretrained(other)
    before = (idx / "tracks.jsonl").read_bytes()
    code, _, err = run(capsys, "index", music, "--model", other, "--out", idx, "--quiet")
    assert code == 2 and "cannot be mixed" in err
    assert (idx / "tracks.jsonl").read_bytes() == before
    code, _, err = run(capsys, "search", "rock", "--index", idx, "--model", other)
    assert code == 2 and "cannot be mixed" in err


def test_named_architecture_is_kept_in_the_index(capsys, tmp_path, music):
    idx = tmp_path / "idx"
    code, out, err = run(capsys, "index", music, "--model", "ttmrpp-tiny", "--out", idx, "--quiet")
    assert code == 0, err
    assert (idx / "model" / "model.safetensors").is_file()  # random weights are kept
    code, out, err = run(capsys, "similar", music / "five.wav", "--index", idx, "--json")
    assert code == 0, err  # the kept weights match the index's fingerprint
    # A random tiny network gives nearly identical vectors to every clip, so ranking is not
    # what this checks: the query reuses five.wav's stored vector, which scores 1 against it.
    scores = {h["path"]: h["score"] for h in json.loads(out)["results"]}
    assert scores[str(music / "five.wav")] == pytest.approx(1.0, abs=1e-5)

"""`ttmrpp tag` and `ttmrpp compare-taggers` on a small generated folder."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re

import numpy as np
import pytest
import soundfile as sf

from ttmrpp.cli.main import main
from ttmrpp.taggers import readable_tag
from ttmrpp.taggers.batch import read_results, results_stem
from ttmrpp.taggers.compare import confidence_stats, jaccard_matrix


@pytest.fixture(scope="module")
def audio_folder(tmp_path_factory):
    from tests.helpers.clips import rock_band, solo_piano

    folder = tmp_path_factory.mktemp("music")
    piano, rock = solo_piano(6.0), rock_band(6.0)
    sf.write(folder / "piano.wav", piano, 16000)
    (folder / "band").mkdir()
    sf.write(folder / "band" / "rock.ogg", np.stack([rock, rock], axis=1), 16000)
    sf.write(folder / "piano_44k.flac", np.repeat(piano, 3)[:, None] * [0.5, 0.5], 48000)
    (folder / "corrupt.mp3").write_bytes(b"\x00\x01 definitely not an mp3 " * 50)
    (folder / "notes.txt").write_text("not audio")
    return folder


def test_tag_writes_results_lists_failures_and_skips_reruns(
    audio_folder, shared_dir, tmp_path, capsys
):
    weights = shared_dir / "models" / "sota-music-tagging"
    out = tmp_path / "results"
    argv = ["tag", str(audio_folder), "--models", "fcn,musicnn", "--top-k", "3"]
    argv += ["--out", str(out), "--weights-dir", str(weights), "--offline"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "corrupt.mp3" in err and "1 of 4 files could not be tagged" in err

    stem = results_stem("jamendo", "fcn", dt.date.today())
    assert re.fullmatch(r"results_jamendo_fcn_\d{8}", stem)
    data = json.loads((out / f"{stem}.json").read_text())
    assert data["model"] == "fcn" and data["dataset"] == "jamendo" and data["top_k"] == 3
    by_file = {r["file"]: r["tags"] for r in data["results"]}
    assert set(by_file) == {"piano.wav", "band/rock.ogg", "piano_44k.flac"}
    assert [f["file"] for f in data["failures"]] == ["corrupt.mp3"]
    for tags in by_file.values():
        probs = [t["probability"] for t in tags]
        assert len(tags) == 3 and probs == sorted(probs, reverse=True)
        assert all(0 <= p <= 1 for p in probs)
    assert by_file["piano.wav"][0]["tag"] == "instrument---piano"
    rows = list(csv.DictReader((out / f"{stem}.csv").open()))
    assert len(rows) == 3 * 3 + 1
    assert rows[-1]["file"] == "corrupt.mp3" and rows[-1]["error"]

    before = (out / f"{stem}.json").stat().st_mtime_ns
    assert main(argv) == 0
    assert "skipped" in capsys.readouterr().out
    assert (out / f"{stem}.json").stat().st_mtime_ns == before
    assert main(argv[:2] + ["--models", "fcn"] + argv[4:] + ["--force"]) == 0
    assert (out / f"{stem}.json").stat().st_mtime_ns != before
    assert "fcn: wrote" in capsys.readouterr().out

    report = tmp_path / "report.html"
    assert main(["compare-taggers", str(out), "--out", str(report)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["models"] == ["fcn (jamendo)", "musicnn (jamendo)"]
    assert summary["jaccard"][0][0] == 1.0 and summary["jaccard"][0][1] == summary["jaccard"][1][0]
    assert 0.0 <= summary["jaccard"][0][1] <= 1.0
    text = report.read_text()
    assert "Plotly" in text and "<script src=" not in text  # plotly.js inlined, no CDN
    assert "corrupt.mp3" in text


def test_tag_rejects_bad_arguments(audio_folder, tmp_path, capsys):
    assert main(["tag", str(audio_folder), "--models", "fcn,vggish", "--out", str(tmp_path)]) == 2
    assert "vggish" in capsys.readouterr().err
    assert main(["tag", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 2
    assert main(["compare-taggers", str(tmp_path)]) == 2


def test_missing_model_weights_are_reported_not_fatal(audio_folder, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TTMRPP_CACHE", str(tmp_path / "cache"))
    argv = ["tag", str(audio_folder), "--models", "hcnn", "--out", str(tmp_path / "o")]
    assert main(argv + ["--weights-dir", str(tmp_path / "none"), "--offline"]) == 1
    assert "hcnn: not run: no weights for jamendo/hcnn" in capsys.readouterr().err


def _run(model, tags_per_file, failures=()):
    results = [
        {"file": f, "tags": [{"tag": t, "probability": p} for t, p in tags]}
        for f, tags in tags_per_file.items()
    ]
    failures = [{"file": f, "error": "x"} for f in failures]
    return {
        "dataset": "jamendo",
        "model": model,
        "date": "2026-01-02",
        "results": results,
        "failures": failures,
    }


def test_jaccard_and_confidence_statistics():
    a = _run("a", {"x": [("rock", 0.9), ("pop", 0.5)], "y": [("jazz", 0.4), ("piano", 0.3)]})
    b = _run("b", {"x": [("rock", 0.8), ("metal", 0.2)], "y": [("jazz", 0.6), ("piano", 0.1)]})
    c = _run("c", {"z": [("rock", 0.7), ("pop", 0.1)]})
    labels, agree, shared = jaccard_matrix([a, b, c])
    assert labels == ["a (jamendo)", "b (jamendo)", "c (jamendo)"]
    assert agree[0, 1] == pytest.approx((1 / 3 + 1) / 2) and agree[0, 1] == agree[1, 0]
    assert np.isnan(agree[0, 2]) and shared[0, 2] == 0 and shared[0, 0] == 2
    stats = confidence_stats(
        _run("a", a_tags := {"x": [("rock", 0.9)], "y": [("pop", 0.5)]}, ["q"])
    )
    assert a_tags and stats["files"] == 2 and stats["failures"] == 1
    assert stats["top1_mean"] == pytest.approx(0.7) and stats["top1_max"] == pytest.approx(0.9)


def test_read_results_keeps_the_latest_day(tmp_path):
    old = _run("fcn", {"x": [("rock", 0.9)]})
    new = dict(old, date="2026-01-03", results=[])
    (tmp_path / "results_jamendo_fcn_20260102.json").write_text(json.dumps(old))
    (tmp_path / "results_jamendo_fcn_20260103.json").write_text(json.dumps(new))
    assert [r["date"] for r in read_results(tmp_path)] == ["2026-01-03"]
    assert [r["date"] for r in read_results(tmp_path, date="20260102")] == ["2026-01-02"]
    (tmp_path / "results_jamendo_x_20260101.json").write_text("{")
    with pytest.raises(ValueError, match="not a tagger results file"):
        read_results(tmp_path)


def test_tag_caption_writes_a_caption_per_file_from_its_top_tags(audio_folder, tmp_path, capsys):
    from tests.helpers.clips import save_random_weights

    save_random_weights(tmp_path / "w", "jamendo", "musicnn")
    out = tmp_path / "results"
    argv = ["tag", str(audio_folder), "--models", "musicnn", "--top-k", "3", "--out", str(out)]
    argv += ["--weights-dir", str(tmp_path / "w"), "--offline"]
    assert main(argv) == 0
    stem = out / results_stem("jamendo", "musicnn", dt.date.today())
    plain = json.loads(stem.with_suffix(".json").read_text())
    assert plain["captioner"] is None and "caption" not in plain["results"][0]
    assert "caption" not in (out / f"{stem.name}.csv").read_text().splitlines()[0]

    assert main(argv + ["--caption", "template"]) == 0  # earlier results had no captions: rerun
    assert "musicnn: wrote" in capsys.readouterr().out
    data = json.loads(stem.with_suffix(".json").read_text())
    assert data["captioner"] == "template" and len(data["results"]) == 3
    for row in data["results"]:
        words = [readable_tag(t["tag"]) for t in row["tags"]]
        assert row["caption"] == f"This music features {', '.join(words[:-1])} and {words[-1]}."
    rows = list(csv.DictReader((out / f"{stem.name}.csv").open()))
    assert len(rows) == 3 * 3 + 1 and rows[0]["caption"] == data["results"][0]["caption"]
    assert rows[-1]["file"] == "corrupt.mp3" and rows[-1]["caption"] == ""

    assert main(argv + ["--caption", "template"]) == 0
    assert "skipped" in capsys.readouterr().out


def test_tag_caption_rejects_unknown_generators(audio_folder, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["tag", str(audio_folder), "--out", str(tmp_path), "--caption", "gpt"])
    assert "invalid choice: 'gpt'" in capsys.readouterr().err

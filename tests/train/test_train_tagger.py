"""train/train_tagger.py end to end on a tiny rendered manifest (CPU, seconds)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from train import train_tagger
from ttmrpp.taggers import load_audio_16k, load_tagger
from ttmrpp.taggers.training_checkpoint import LAST_KEYS
from ttmrpp.taggers.vocab import map_tags


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    from tests.helpers.clips import rock_band, solo_piano

    root = tmp_path_factory.mktemp("world")
    (root / "audio").mkdir()
    rows = []
    for i in range(8):
        split = "test" if i >= 6 else "train"
        for kind in ("piano", "rock"):
            tid = f"{kind}{i:02d}"
            if kind == "piano":
                wave = solo_piano(4.0, transpose=i - 6)
                tags = {"genre": ["classical"], "instrument": ["piano"], "mood": ["calm"]}
            else:
                wave = rock_band(4.0, transpose=i % 5, bpm=120 + 5 * i)
                tags = {"genre": ["rock"], "instrument": ["electric guitar", "drums", "bass"],
                        "mood": ["energetic"]}  # fmt: skip
            sf.write(root / "audio" / f"{tid}.ogg", wave, 16000)
            rows.append({"id": tid, "audio": f"audio/{tid}.ogg", "split": split, "tags": tags})
    path = root / "manifest.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_map_tags_onto_published_vocabularies():
    tags = {"genre": ["rock", "hip hop"], "instrument": ["electric guitar", "vocals", "synth"],
            "mood": ["happy", "calm"], "tempo": ["fast"]}  # fmt: skip
    assert map_tags(tags, "jamendo") == [
        "genre---hiphop", "genre---rock", "instrument---electricguitar",
        "instrument---synthesizer", "instrument---voice", "mood/theme---happy",
        "mood/theme---relaxing",
    ]  # fmt: skip
    assert set(map_tags(tags, "mtat")) == {"rock", "vocals", "synth", "fast"}
    assert set(map_tags(tags, "msd")) == {"rock", "Hip-Hop", "happy"}


@pytest.mark.slow
def test_train_tagger_learns_saves_and_loads(manifest, tmp_path):
    script = train_tagger
    out = tmp_path / "run"
    argv = ["--manifest", str(manifest), "--model", "musicnn", "--out", str(out), "--vocab",
            "jamendo", "--batch-size", "5", "--eval-chunks", "1", "--lr", "1e-3", "--quiet"]  # fmt: skip
    assert script.main(argv + ["--epochs", "2"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["tracks"] == {"train": 10, "valid": 2, "test": 4}  # every 10th train → valid
    assert metrics["label_coverage"] == 1.0 and len(metrics["history"]) == 2
    assert metrics["test"]["tracks"] == 4 and metrics["test"]["tags_scored"] == 8
    assert metrics["test"]["roc_auc"] > 0.7  # piano vs rock is easy after a few steps

    tagger = load_tagger("musicnn", checkpoint=out)  # strict load of the published layout
    assert tagger.tags[:2] == ["genre---alternative", "genre---ambient"] and len(tagger.tags) == 50
    piano = np.load(out / "audio-16k" / "piano07.npy")
    probs = tagger.predict_waveform(piano)
    assert probs[tagger.tags.index("instrument---piano")] > probs[tagger.tags.index("genre---rock")]


@pytest.mark.slow
def test_train_tagger_manifest_vocabulary_and_errors(manifest, tmp_path, capsys):
    script = train_tagger
    out = tmp_path / "run"
    argv = ["--manifest", str(manifest), "--model", "sample", "--out", str(out), "--batch-size",
            "6", "--eval-chunks", "1", "--min-count", "3", "--quiet"]  # fmt: skip
    assert script.main(argv + ["--epochs", "1"]) == 0
    last = torch.load(out / "last.pt", weights_only=True)  # tensors and plain data only
    assert set(LAST_KEYS) <= set(last) and last["epoch"] == 1
    meta = json.loads((out / "tagger.json").read_text())
    assert meta["tags"] == sorted(meta["tags"]) and "instrument---electric guitar" in meta["tags"]
    assert len(meta["tags"]) == 8  # min-count 3 keeps all eight
    tagger = load_tagger("sample", checkpoint=out)
    assert tagger.predict_waveform(np.zeros(1000, dtype=np.float32)).shape == (8,)
    with pytest.raises(Exception, match="not 'fcn'"):
        load_tagger("fcn", checkpoint=out)
    assert script.main(argv + ["--epochs", "2", "--resume"]) == 0
    history = json.loads((out / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2]

    data = script.CropDataset(sorted((out / "audio-16k").glob("*.npy"))[:3], np.eye(3), 59049, 0, 2)
    assert len(data) == 6
    x0, y0 = data[0]
    x3, y3 = data[3]  # the same track, another crop
    assert x0.shape == (59049,) and torch.equal(y0, y3) and not torch.equal(x0, x3)

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\n')
    assert (
        script.main(["--manifest", str(bad), "--model", "fcn", "--out", str(tmp_path / "b")]) == 2
    )
    assert "has no 'audio' path" in capsys.readouterr().err


class Payload:
    """Unpickling this touches `marker`: code from the file would run."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.slow
def test_resume_refuses_unsafe_damaged_or_foreign_checkpoints(manifest, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    last = out / "last.pt"
    argv = ["--manifest", str(manifest), "--model", "fcn", "--out", str(out), "--epochs", "1",
            "--resume", "--quiet"]  # fmt: skip
    marker = tmp_path / "ran"
    torch.save({"epoch": 1, "model": {}, "optimizer": Payload(marker)}, last)
    torch.load(last, weights_only=False)  # what loading it unsafely would do
    assert marker.is_file()
    marker.unlink()
    assert train_tagger.main(argv) == 2
    err = capsys.readouterr().err
    assert f"error: {last}: refused: it holds pickled objects" in err and "--resume" in err
    assert not marker.exists() and not (out / "metrics.json").exists()

    last.write_bytes(b"PK\x03\x04 not a zip archive")
    assert train_tagger.main(argv) == 2
    assert f"error: {last}: not a readable training checkpoint" in capsys.readouterr().err
    torch.save({"epoch": 1, "model": {}}, last)
    assert train_tagger.main(argv) == 2
    assert f"{last}: not a training checkpoint (no optimizer, best" in capsys.readouterr().err


def test_auc_scores_skip_tags_without_both_classes():
    script = train_tagger
    y = np.array([[1, 0, 1], [0, 0, 1], [1, 0, 1], [0, 0, 1]], dtype=np.float32)
    perfect = script.auc_scores(y, np.array([[0.9, 0.1, 0.5]] * 4) * y + 0.05)
    assert perfect == {"roc_auc": 1.0, "pr_auc": 1.0, "tags_scored": 1}
    inverted = script.auc_scores(y, 1 - y)
    assert inverted["roc_auc"] == 0.0
    assert script.auc_scores(y[:, 1:], np.ones((4, 2)))["roc_auc"] is None


@pytest.mark.slow
def test_bench_trains_and_scores_another_catalogs_test_split(manifest, tmp_path, capsys):
    """bench/tagger_training.py: train on one catalog, score the test split of another whose
    ids collide with the first (its audio must not be taken from the first's cache)."""
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    other = tmp_path / "other"
    (other / "audio").mkdir(parents=True)
    held_out = []
    for row in rows[:6]:  # same ids as training tracks, the audio of the opposite kind
        swap = next(r for r in rows if r["id"][:4] != row["id"][:4])
        wave, sr = sf.read(manifest.parent / swap["audio"])
        sf.write(other / "audio" / f"{row['id']}.wav", wave, sr)
        held_out.append(
            {**swap, "id": row["id"], "audio": f"audio/{row['id']}.wav", "split": "test"}
        )
    (other / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in held_out))

    from bench import tagger_training as bench

    out = tmp_path / "bench"
    argv = ["--train-manifest", str(manifest), "--test-manifest", str(other / "manifest.jsonl"),
            "--models", "musicnn", "--epochs", "1", "--batch-size", "5", "--eval-chunks", "1",
            "--out", str(out), "--quiet", "--", "--min-count", "1"]  # fmt: skip
    assert bench.main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    row = printed["results"][0]
    assert row["model"] == "musicnn" and row["tracks"]["test"] == 6 and row["steps"] == 2
    assert 0 <= row["test_roc_auc"] <= 1 and row["test_tags_scored"] > 0
    assert row["train_seconds"] <= row["wall_seconds"]
    assert printed["table"][0]["test_roc_auc"] == row["test_roc_auc"]
    assert json.loads((out / "bench.json").read_text())["results"][0]["run"] == row["run"]
    cached = next((out / "audio-16k").glob("test-*"))  # the other catalog's own cache folder
    first = held_out[0]
    np.testing.assert_array_equal(
        np.load(cached / f"{first['id']}.npy"), load_audio_16k(other / first["audio"])
    )

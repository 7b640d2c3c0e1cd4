import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf
import torch

import ttmrpp
from tests.conftest import REPO, music_like
from train import train_ttmrpp

GENRES = ["rock", "jazz", "techno", "folk", "metal", "ambient"]


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    (root / "audio").mkdir()
    with (root / "train.jsonl").open("w") as f:
        for i, genre in enumerate(GENRES):
            sf.write(str(root / "audio" / f"t{i}.wav"), music_like(3.0, 22050, seed=i), 22050)
            rec = {
                "id": f"t{i}",
                "audio": f"audio/t{i}.wav",
                "split": "train",
                "tags": {"genre": [genre], "mood": ["calm" if i % 2 else "energetic"]},
                "title": f"Song {i}",
                "artist": f"Artist {i % 3}",
                "album": "Demo",
                "similar_artists": [f"Artist {(i + 1) % 3}"],
                "pseudo_caption": f"A {genre} piece.",
            }
            f.write(json.dumps(rec) + "\n")
        (root / "audio" / "broken.wav").write_text("not audio")
        f.write(
            json.dumps({"id": "bad", "audio": "audio/broken.wav", "tags": {"genre": ["x"]}}) + "\n"
        )
    return root / "train.jsonl"


def common(manifest, out, steps):
    return [
        "--config", "ttmrpp-tiny", "--data", str(manifest), "--steps", str(steps),
        "--batch-size", "4", "--lr", "3e-3", "--text-lr", "1e-3", "--warmup", "1",
        "--save-every", "3", "--log-every", "1", "--out", str(out), "--threads", "1",
        "--max-text-tokens", "24", "--text-trainable-layers", "1",
    ]  # fmt: skip


def test_single_process_trains_checkpoints_and_resumes(manifest, tmp_path):
    result = train_ttmrpp.main(common(manifest, tmp_path, 8))
    losses = [h["loss"] for h in result["history"]]
    assert len(losses) == 8 and all(h["global_batch"] == 4 for h in result["history"])
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3  # it learns
    assert (tmp_path / "checkpoint" / "training_state.pt").is_file()
    model = ttmrpp.load_model(tmp_path / "model")
    assert model.encode_text(["rock"]).shape == (1, 128)
    # Resume: a longer run continues from step 8 instead of starting over.
    result = train_ttmrpp.main(common(manifest, tmp_path, 10))
    assert [h["step"] for h in result["history"]] == [9, 10]


def test_interrupted_run_resumes_to_the_same_step_count(manifest, tmp_path, monkeypatch):
    calls = {"n": 0}
    real_loss = train_ttmrpp.infonce_loss

    def crashing_loss(**kw):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt  # Ctrl-C during step 5; the checkpoint of step 3 survives
        return real_loss(**kw)

    monkeypatch.setattr(train_ttmrpp, "infonce_loss", crashing_loss)
    with pytest.raises(KeyboardInterrupt):
        train_ttmrpp.main(common(manifest, tmp_path, 7))
    assert not (tmp_path / "model").exists()
    monkeypatch.setattr(train_ttmrpp, "infonce_loss", real_loss)
    result = train_ttmrpp.main(common(manifest, tmp_path, 7))
    assert [h["step"] for h in result["history"]] == [4, 5, 6, 7]
    state = torch.load(tmp_path / "checkpoint" / "training_state.pt", weights_only=True)
    assert state["step"] == 7 and state["scheduler"]["last_epoch"] == 7
    assert (tmp_path / "model" / "model.safetensors").is_file()


class Payload:
    """Unpickling this touches `marker`: code from the file would run."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


class Opaque:
    """A plain class instance: not tensors or plain data either."""


def test_resume_refuses_a_training_state_holding_other_objects(manifest, tmp_path):
    run = tmp_path / "run"
    train_ttmrpp.main(common(manifest, run, 3))
    path = run / "checkpoint" / "training_state.pt"
    state = torch.load(path, weights_only=True)
    marker = tmp_path / "ran"
    torch.save({**state, "extra": Payload(marker)}, path)
    torch.load(path, weights_only=False)  # what loading it unsafely would do
    assert marker.is_file()
    marker.unlink()
    with pytest.raises(SystemExit, match="refused: it holds pickled objects") as exc:
        train_ttmrpp.main(common(manifest, run, 5))
    assert str(path) in str(exc.value) and "--no-resume" in str(exc.value)
    assert not marker.exists()
    torch.save({**state, "args": Opaque()}, path)
    with pytest.raises(SystemExit, match=r"refused: it holds pickled objects \(.*Opaque\)"):
        train_ttmrpp.main(common(manifest, run, 5))
    result = train_ttmrpp.main(common(manifest, run, 2) + ["--no-resume"])  # a fresh start works
    assert [h["step"] for h in result["history"]] == [1, 2]


def test_resume_names_a_damaged_or_foreign_checkpoint(manifest, tmp_path):
    run = tmp_path / "run"
    train_ttmrpp.main(common(manifest, run, 3))
    path = run / "checkpoint" / "training_state.pt"
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(SystemExit, match="not a readable training state") as exc:
        train_ttmrpp.main(common(manifest, run, 5))
    assert str(path) in str(exc.value)
    torch.save({"step": 3}, path)
    with pytest.raises(SystemExit, match=r"training_state.pt: not a training state \(no optimizer"):
        train_ttmrpp.main(common(manifest, run, 5))
    state = torch.load(io.BytesIO(good), weights_only=True)
    state["optimizer"]["param_groups"] = state["optimizer"]["param_groups"][:1]
    torch.save(state, path)
    with pytest.raises(SystemExit, match="does not fit this model's optimizer"):
        train_ttmrpp.main(common(manifest, run, 5))
    weights = run / "checkpoint" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(SystemExit, match="cannot resume from .*model.safetensors: corrupt"):
        train_ttmrpp.main(common(manifest, run, 5))


def test_text_layers_freeze_from_the_bottom():
    model = ttmrpp.create_model("ttmrpp-tiny")
    n_layers = model.text_encoder.config.num_hidden_layers
    frozen = train_ttmrpp.freeze_text_layers(model, 1)
    trainable = {n for n, p in model.text_encoder.named_parameters() if p.requires_grad}
    assert frozen > 0 and trainable
    assert all(f"layer.{n_layers - 1}." in n for n in trainable)
    assert not any("embeddings" in n for n in trainable)
    assert all(p.requires_grad for p in model.audio_encoder.parameters())


def test_text_source_switch_is_validated(manifest, tmp_path):
    with pytest.raises(SystemExit):
        train_ttmrpp.main(common(manifest, tmp_path, 1) + ["--text-sources", "tag,lyrics"])


@pytest.mark.slow
def test_two_processes_gather_negatives(manifest, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    cmd = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
        "-m", "train.train_ttmrpp", *common(manifest, tmp_path, 3),
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = [json.loads(line) for line in Path(tmp_path / "log.jsonl").read_text().splitlines()]
    assert [e["processes"] for e in log] == [2, 2, 2]
    assert all(e["global_batch"] == 8 for e in log)  # 2 processes x 4 pairs, gathered
    assert (tmp_path / "model" / "model.safetensors").is_file()

"""The LoRA fine-tune script end to end on a tiny random Llama (seconds, CPU)."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from train import finetune_captioner
from ttmrpp.text.captioning.pairs import read_caption_pairs, split_pairs

TAGS = ["rock", "jazz", "piano", "drums", "calm", "fast tempo", "male vocals", "synth", "sad"]


def _write_csv(path: Path, n: int = 48) -> Path:
    rng = random.Random(0)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["ytid", "start_s", "end_s", "aspect_list", "caption"])
        for i in range(n):
            tags = rng.sample(TAGS, 3)
            caption = f"This song features {tags[0]} and {tags[1]}. It sounds {tags[2]}."
            w.writerow([f"yt{i:04d}", 0, 10, repr(tags), caption])
    return path


def _args(data: Path, model: Path, out: Path, ckpt: Path, steps: int) -> list[str]:
    return [
        "--data",
        str(data),
        "--model",
        str(model),
        "--output-dir",
        str(out),
        "--checkpoint-dir",
        str(ckpt),
        "--steps",
        str(steps),
        "--batch-size",
        "4",
        "--lr",
        "1e-2",
        "--warmup-steps",
        "1",
        "--lora-r",
        "4",
        "--lora-alpha",
        "8",
        "--max-length",
        "128",
        "--valid-fraction",
        "0.2",
        "--eval-rows",
        "8",
        "--save-every",
        "3",
        "--seed",
        "1",
    ]


def test_finetune_lowers_loss_and_saves_only_adapter(tiny_llm_dir, tmp_path):
    script = finetune_captioner
    data = _write_csv(tmp_path / "pairs.csv")
    out = tmp_path / "adapter"
    summary = script.main(_args(data, tiny_llm_dir, out, tmp_path / "ckpt", 12))
    assert summary["valid_loss"] < summary["initial_valid_loss"] - 0.1
    assert summary["last10_loss"] < summary["first_loss"]
    names = {p.name for p in out.iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors", "run_args.json"} <= names
    assert "model.safetensors" not in names and not (tmp_path / "ckpt").exists()
    weights = load_file(out / "adapter_model.safetensors")
    assert weights and all("lora_" in k for k in weights)
    run = json.loads((out / "run_args.json").read_text())
    assert run["steps"] == 12 and run["valid_rows"] > 0
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log] == list(range(1, 13))


def test_validation_rows_never_trained_on(tmp_path):
    pairs = read_caption_pairs(_write_csv(tmp_path / "p.csv", 200))
    train, valid = split_pairs(pairs, 0.2)
    assert {p.key for p in train}.isdisjoint({p.key for p in valid})
    assert 20 <= len(valid) <= 60 and len(train) + len(valid) == 200
    # stable: the same keys are held out whatever the order or the other rows
    _, valid2 = split_pairs(list(reversed(pairs))[:100], 0.2)
    assert {p.key for p in valid2} <= {p.key for p in valid}


def test_resume_continues_to_the_same_adapter(tiny_llm_dir, tmp_path):
    script = finetune_captioner
    data = _write_csv(tmp_path / "pairs.csv")
    full = tmp_path / "full"
    script.main(_args(data, tiny_llm_dir, full, tmp_path / "ck1", 6) + ["--keep-checkpoint"])
    # the kept checkpoint (step 3) stands for an interrupted run; re-running resumes from it
    resumed = tmp_path / "resumed"
    ck2 = tmp_path / "ck2"
    import shutil

    shutil.copytree(tmp_path / "ck1", ck2)
    state = torch.load(ck2 / "trainer_state.pt", weights_only=True)  # tensors and plain data
    assert state["step"] == 3 and state["torch_rng"].dtype == torch.uint8
    summary = script.main(_args(data, tiny_llm_dir, resumed, ck2, 6))
    assert summary["resumed_from_step"] == 3
    a = load_file(full / "adapter_model.safetensors")
    b = load_file(resumed / "adapter_model.safetensors")
    for k in a:
        assert (a[k] - b[k]).abs().max() < 1e-6, k


def test_resume_refuses_other_arguments(tiny_llm_dir, tmp_path):
    script = finetune_captioner
    data = _write_csv(tmp_path / "pairs.csv")
    ck = tmp_path / "ck"
    script.main(_args(data, tiny_llm_dir, tmp_path / "a", ck, 4) + ["--keep-checkpoint"])
    with pytest.raises(SystemExit, match="other arguments"):
        script.main(_args(data, tiny_llm_dir, tmp_path / "b", ck, 5) + ["--lr", "2e-2"])


def test_bad_data_is_named(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("ytid,caption\nx,hello\n")
    with pytest.raises(ValueError, match="missing CSV column"):
        read_caption_pairs(bad)


def test_resume_with_more_steps_extends_the_run(tiny_llm_dir, tmp_path):
    script = finetune_captioner
    data = _write_csv(tmp_path / "pairs.csv")
    ck, out = tmp_path / "ck", tmp_path / "out"
    script.main(_args(data, tiny_llm_dir, out, ck, 4) + ["--keep-checkpoint"])  # ckpt at 3
    summary = script.main(_args(data, tiny_llm_dir, out, ck, 7))
    assert summary["resumed_from_step"] == 3 and summary["steps"] == 7
    assert summary["history"] == [{"from_step": 0, "steps": 4}, {"from_step": 3, "steps": 7}]
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log] == list(range(1, 8))


class Payload:
    """Unpickling this touches `marker`: code from the file would run."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_resume_refuses_unsafe_damaged_or_foreign_checkpoints(tiny_llm_dir, tmp_path):
    script = finetune_captioner
    data = _write_csv(tmp_path / "pairs.csv")
    ck, out = tmp_path / "ck", tmp_path / "out"
    script.main(_args(data, tiny_llm_dir, out, ck, 4) + ["--keep-checkpoint"])  # ckpt at 3
    path = ck / "trainer_state.pt"
    good = path.read_bytes()
    marker = tmp_path / "ran"
    torch.save({**torch.load(path, weights_only=True), "extra": Payload(marker)}, path)
    torch.load(path, weights_only=False)  # what loading it unsafely would do
    assert marker.is_file()
    marker.unlink()
    with pytest.raises(SystemExit, match="refused: it holds pickled objects") as exc:
        script.main(_args(data, tiny_llm_dir, out, ck, 6))
    assert str(path) in str(exc.value) and "--checkpoint-dir" in str(exc.value)
    assert not marker.exists()

    path.write_bytes(good[:100])
    with pytest.raises(SystemExit, match="trainer_state.pt: not a readable trainer state"):
        script.main(_args(data, tiny_llm_dir, out, ck, 6))
    torch.save({"step": 3}, path)
    with pytest.raises(SystemExit, match=r"not a trainer state \(no optimizer, scheduler"):
        script.main(_args(data, tiny_llm_dir, out, ck, 6))
    path.write_bytes(good)
    adapter = ck / "adapter_model.safetensors"
    adapter.write_bytes(adapter.read_bytes()[:50])
    with pytest.raises(SystemExit, match="adapter_model.safetensors: unreadable"):
        script.main(_args(data, tiny_llm_dir, out, ck, 6))
    (ck / "run_args.json").write_text("{not json")
    with pytest.raises(SystemExit, match="run_args.json: unreadable run arguments"):
        script.main(_args(data, tiny_llm_dir, out, ck, 6))

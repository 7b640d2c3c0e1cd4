"""bench/realism.py on a tiny generated catalog, with randomly initialised taggers."""

from __future__ import annotations

import json

import soundfile as sf
import torch

from bench import realism
from ttmrpp.taggers import build_model


def test_realism_scores_each_tagger_and_writes_top_tags(tmp_path, monkeypatch, capsys):
    weights = tmp_path / "models" / "sota-music-tagging" / "jamendo"
    for name in ("fcn", "musicnn"):
        (weights / name).mkdir(parents=True)
        torch.manual_seed(1)
        state = build_model(name, n_class=50, dataset="jamendo").state_dict()
        torch.save(state, weights / name / "best_model.pth")
    catalog = tmp_path / "catalog"
    (catalog / "audio").mkdir(parents=True)
    rows = []
    for i, (wave, rec) in enumerate(realism._generated(1, 3.0, seed=5)):
        if i == 6:
            break
        sf.write(catalog / "audio" / f"{i}.wav", wave, 16000)
        split = "test" if i == 0 else "train"  # the test track is left out
        rows.append({**rec, "id": f"c{i}", "audio": f"audio/{i}.wav", "split": split})
    (catalog / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    monkeypatch.setattr(realism, "SHARED", tmp_path)

    per_track = tmp_path / "per.jsonl"
    argv = ["--catalog", str(catalog), "--limit", "4", "--per-track", str(per_track)]
    assert realism.main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["tracks"] == 4 and out["best"] in ("fcn", "musicnn")  # c1..c4: not the test track
    assert out[out["best"]]["mean_auc"] == max(out[k]["mean_auc"] for k in ("fcn", "musicnn"))
    for name in ("fcn", "musicnn"):
        aucs = out[name]["auc"]
        assert (
            aucs and set(aucs) <= set(realism.TAG_MAP) and all(0 <= v <= 1 for v in aucs.values())
        )
        assert list(aucs.values()) == sorted(aucs.values())
    lines = [json.loads(line) for line in per_track.read_text().splitlines()]
    assert [r["id"] for r in lines] == ["c1", "c2", "c3", "c4"]
    assert lines[0]["genre"] == rows[1]["tags"]["genre"] and len(lines[0]["fcn"]) == 5

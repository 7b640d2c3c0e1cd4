"""Labels of tagger training and scoring: manifest tracks, multi-hot targets, AUC scores.

Shared by `train/train_tagger.py` and `bench/taggers.py`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ttmrpp.data.records import read_manifest
from ttmrpp.taggers.vocab import map_tags


def read_tagger_tracks(path: str | os.PathLike) -> list[dict]:
    """Tracks of a JSONL manifest with `audio_path` resolved, `split` and `tags` defaulted."""
    path = Path(path)
    tracks = []
    for n, row in enumerate(read_manifest(path), 1):
        if not row.get("audio"):
            raise ValueError(f"{path}: record {n} has no 'audio' path")
        row["audio_path"] = str((path.parent / row["audio"]).resolve())
        row.setdefault("split", "train")
        row.setdefault("tags", {})
        tracks.append(row)
    if not tracks:
        raise ValueError(f"{path}: no tracks")
    return tracks


def flat_tags(tags: dict[str, list[str]]) -> list[str]:
    """Manifest tags as `category---tag` labels."""
    return [f"{cat}---{t.strip().lower()}" for cat, words in tags.items() for t in words if t]


def labels_for(track: dict, tags: list[str], vocab: str) -> np.ndarray:
    names = flat_tags(track["tags"]) if vocab == "manifest" else map_tags(track["tags"], vocab)
    index = {t: i for i, t in enumerate(tags)}
    y = np.zeros(len(tags), dtype=np.float32)
    for t in names:
        if t in index:
            y[index[t]] = 1.0
    return y


def auc_scores(y_true: np.ndarray, y_prob: np.ndarray) -> dict[str, float | int | None]:
    """Macro ROC-AUC / PR-AUC over the tags that have both classes in `y_true`."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    ok = (y_true.sum(0) > 0) & (y_true.sum(0) < len(y_true))
    if not ok.any():
        return {"roc_auc": None, "pr_auc": None, "tags_scored": 0}  # JSON null, not NaN
    return {
        "roc_auc": float(roc_auc_score(y_true[:, ok], y_prob[:, ok], average="macro")),
        "pr_auc": float(average_precision_score(y_true[:, ok], y_prob[:, ok], average="macro")),
        "tags_scored": int(ok.sum()),
    }

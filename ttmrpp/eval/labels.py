"""Label retrieval on any labelled manifest (the real-music benchmark, or the world's tags by
category): each label is a text query over all tracks; per-label ROC-AUC / PR-AUC, their mean
and minimum, the mean per category, and metadata retrieval for tracks with artist and title.

Unlike Table 2's tag protocol no tags are merged or dropped by count beyond `min_positives`:
a small benchmark of documented labels is scored label by label.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from ttmrpp.eval.metrics import ranking_metrics
from ttmrpp.text.kg_text import meta_text

MIN_POSITIVES = 3  # labels with fewer positive tracks are listed, not scored


def label_scores(
    records: list[dict],
    audio: np.ndarray,
    encode_text: Callable[[list[str]], np.ndarray],
    min_positives: int = MIN_POSITIVES,
) -> dict:
    """Per-label ROC-AUC of the label text as a query against unit audio embeddings."""
    category: dict[str, str] = {}
    members: dict[str, set[int]] = defaultdict(set)
    for i, r in enumerate(records):
        for cat, values in (r.get("tags") or {}).items():
            for v in values or []:
                label = str(v).strip().lower()
                category.setdefault(label, cat)
                members[label].add(i)
    scored = sorted(lb for lb, rows in members.items() if min_positives <= len(rows) < len(records))
    skipped = {lb: len(members[lb]) for lb in sorted(members) if lb not in scored}
    out: dict = {"tracks": len(records), "labels": {}, "skipped": skipped}
    if not scored:
        return out
    scores = encode_text(scored) @ audio.T  # [labels, tracks]
    by_cat = defaultdict(list)
    for j, label in enumerate(scored):
        y = np.zeros(len(records), dtype=int)
        y[list(members[label])] = 1
        auc = float(roc_auc_score(y, scores[j]))
        out["labels"][label] = {
            "category": category[label],
            "positives": int(y.sum()),
            "ROC-AUC": auc,
            "PR-AUC": float(average_precision_score(y, scores[j])),
        }
        by_cat[category[label]].append(auc)
    aucs = [v["ROC-AUC"] for v in out["labels"].values()]
    out["mean ROC-AUC"] = float(np.mean(aucs))
    out["min ROC-AUC"] = float(np.min(aucs))
    out["by category"] = {c: float(np.mean(v)) for c, v in sorted(by_cat.items())}
    return out


def metadata_scores(
    records: list[dict], audio: np.ndarray, encode_text: Callable[[list[str]], np.ndarray]
) -> dict | None:
    """`music track {title} by {artist}` finds that track (tracks with both tags only)."""
    rows = [i for i, r in enumerate(records) if r.get("title") and r.get("artist")]
    if not rows:
        return None
    targets: dict[str, list[int]] = defaultdict(list)
    for i in rows:
        r = records[i]
        targets[meta_text(r["title"], r["artist"], r.get("album"))].append(i)
    queries = list(targets)
    scores = encode_text(queries) @ audio.T
    return {"queries": len(queries), **ranking_metrics(scores, list(targets.values()))}


def evaluate_labels(model, records: list[dict], batch_size: int = 16) -> dict:
    """Embed the records' audio with `model`, then `label_scores` and `metadata_scores`."""
    from ttmrpp.eval.table2 import encode_texts
    from ttmrpp.model.embed import embed_audio_files

    embs, failures = embed_audio_files(model, [r["audio"] for r in records], batch_size=batch_size)
    failed = {p for p, _ in failures}
    records = [r for r in records if r["audio"] not in failed]
    audio = embs.numpy()

    def encode(texts: list[str]) -> np.ndarray:
        return encode_texts(model, texts)

    return {
        "failed_files": len(failures),
        "labels": label_scores(records, audio, encode),
        "metadata": metadata_scores(records, audio, encode),
    }

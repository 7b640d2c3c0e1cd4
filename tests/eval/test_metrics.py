import numpy as np
import pytest

from ttmrpp.eval.metrics import (
    artist_ndcg,
    merge_tags,
    minilm_embedder,
    normalize_tag,
    ranking_metrics,
    tag_auc,
    triplet_accuracy,
)


def test_ranking_metrics_hand_computed():
    # 3 queries over 5 tracks.
    scores = np.array(
        [
            [0.9, 0.1, 0.2, 0.3, 0.4],  # target 0 at rank 1
            [0.9, 0.8, 0.7, 0.6, 0.5],  # targets 2 and 4: ranks 3 and 5
            [0.1, 0.2, 0.3, 0.4, 0.5],  # target 1: rank 4
        ]
    )
    m = ranking_metrics(scores, [[0], [2, 4], [1]])
    assert m["R@1"] == pytest.approx(100 / 3)
    assert m["R@5"] == pytest.approx(100.0)
    assert m["MRR"] == pytest.approx((1 + 1 / 3 + 1 / 4) / 3 * 100)
    assert m["median_rank"] == 3
    ap = [1.0, (1 / 3 + 2 / 5) / 2, 1 / 4]
    assert m["mAP@10"] == pytest.approx(np.mean(ap) * 100)


def test_ranking_metrics_errors():
    with pytest.raises(ValueError):
        ranking_metrics(np.zeros((2, 3)), [[0]])
    with pytest.raises(ValueError):
        ranking_metrics(np.zeros((1, 3)), [[]])


def test_tag_auc_hand_computed():
    labels = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])  # 4 tracks, 2 tags
    scores = np.array([[0.9, 0.1, 0.8, 0.2], [0.1, 0.2, 0.3, 0.4]])  # [tags, tracks]
    m = tag_auc(scores, labels)
    # tag 0 perfectly ranked (AUC 1); tag 1: positives 0.2, 0.3 vs negatives 0.1, 0.4 -> 0.5
    assert m["ROC-AUC"] == pytest.approx(0.75)
    ap1 = (1 / 2 + 2 / 3) / 2  # positives at ranks 2 and 3 of [0.4, 0.3, 0.2, 0.1]
    assert m["PR-AUC"] == pytest.approx((1.0 + ap1) / 2)


def test_triplet_accuracy_and_ndcg():
    anchors = np.eye(3)
    a = np.array([[1, 0, 0], [0, 0, 1], [0, 0, 1]], float)
    b = np.array([[0, 1, 0], [0, 1, 0], [1, 0, 0]], float)
    assert triplet_accuracy(anchors, a, b, [True, True, True]) == pytest.approx(2 / 3)
    protos = np.eye(3)
    adjacency = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]])
    perfect = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1]], float)  # each query near its neighbour
    assert artist_ndcg(perfect, protos, adjacency) == pytest.approx(1.0)
    # Query 0 ranks artist 2 over its neighbour 1: DCG = 1/log2(3).
    worse = np.array([[0, 0.5, 1], [1, 0, 0], [0, 0, 1]], float)
    assert artist_ndcg(worse, protos, adjacency) == pytest.approx((1 / np.log2(3) + 1) / 2)


def toy_embed(texts):
    # Tags sharing a first word are near-duplicates for this embedder.
    rng = {
        w: np.random.default_rng(abs(hash(w)) % 2**32).standard_normal(8)
        for w in {t.split()[0] for t in texts}
    }
    return np.stack([rng[t.split()[0]] for t in texts])


def test_merge_tags_protocol():
    tracks = [["Rock!", "rock music"]] * 12 + [["jazz"]] * 10 + [["polka"]] * 3
    vocab, tags, kept = merge_tags(tracks, toy_embed, threshold=0.9, min_tracks=10)
    assert vocab == ["jazz", "rock"]  # merged into the shortest; polka (3 tracks) dropped
    assert kept == list(range(22)) and tags[0] == ["rock"]
    assert normalize_tag("Hip-Hop") == "hiphop"


def test_minilm_merges_near_synonyms():
    embed = minilm_embedder()
    e = embed(["electric guitar", "electric guitars", "harp"])
    e = e / np.linalg.norm(e, axis=1, keepdims=True)
    assert e[0] @ e[1] > 0.9 > e[0] @ e[2]

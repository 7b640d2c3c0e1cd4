"""The paper's Table-2 evaluation on a benchmark manifest (ours, or any JSONL in that format).

Protocols (see docs/RESULTS.md):
- caption retrieval: each unique reference caption is a query; targets are its tracks;
- tag retrieval: tags cleaned and merged (MiniLM cosine > 0.9), tags with >= 10 tracks kept;
  each tag is a text query; mean per-tag ROC-AUC / PR-AUC;
- metadata retrieval: `music track {title} by {artist} from {album}` finds that track;
- track similarity: anchor `similar music track with {title} by {artist} from {album}`; the
  candidates are a track by a similar artist and one by an unrelated artist of another genre;
- artist similarity: `similar with artist {name}` against artist prototypes (mean of their
  tracks' embeddings), nDCG@200 against the artist-similarity graph.

The last three depend on the model knowing the artist's name. Like the paper's OLGA and
dim-sim sets, whose artists are in the training knowledge graph, they are reported for the
"known" artists (those with tracks in the manifest's non-test splits) and, for reference, for
all artists (a held-out artist's name can only be guessed).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np
import torch

from ttmrpp.eval.metrics import (
    artist_ndcg,
    merge_tags,
    minilm_embedder,
    ranking_metrics,
    tag_auc,
    triplet_accuracy,
)
from ttmrpp.text.kg_text import artist_query, flat_tags, meta_text, track_query


@torch.inference_mode()
def encode_texts(model, texts: list[str], batch_size: int = 64) -> np.ndarray:
    """Unit text embeddings [len(texts), D] as numpy."""
    parts = [model.encode_text(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)]
    return torch.cat(parts).cpu().numpy()


def known_artists(records: Sequence[dict], split: str = "test") -> set[str]:
    """Artists with tracks outside `split`: the ones a model trained on the manifest knows."""
    return {r["artist"] for r in records if r.get("split") != split and r.get("artist")}


def make_triplets(records: list[dict], n: int, seed: int = 0) -> list[tuple[int, int, int]]:
    """(anchor, closer, farther) track indices from the world's artist similarity."""
    rng = random.Random(seed)
    by_artist = defaultdict(list)
    for i, r in enumerate(records):
        by_artist[r["artist"]].append(i)
    genres = [set(r.get("tags", {}).get("genre", [])) for r in records]
    triplets = []
    for a in rng.sample(range(len(records)), len(records)):
        rec = records[a]
        similar = [x for x in rec.get("similar_artists", []) if x in by_artist]
        if not similar:
            continue
        related = set(similar) | {rec["artist"]}
        far = [
            j
            for j, r in enumerate(records)
            if r["artist"] not in related
            and rec["artist"] not in r.get("similar_artists", [])
            and not (genres[j] & genres[a])
        ]
        if not far:
            continue
        triplets.append((a, rng.choice(by_artist[rng.choice(similar)]), rng.choice(far)))
        if len(triplets) >= n:
            break
    return triplets


def _subset(metric, rows: list[int]):
    return metric(rows) if rows else None


def evaluate(
    model,
    records: list[dict],
    known: set[str] | None = None,
    batch_size: int = 16,
    n_triplets: int = 500,
) -> dict:
    """All Table-2 metrics for one model over benchmark records (with audio).

    Args:
        records: benchmark records (audio, tags, captions, title/artist/album,
            similar_artists).
        known: artist names the model was trained with; None counts every artist as known.
    """
    from ttmrpp.model.embed import embed_audio_files

    paths = [r["audio"] for r in records]
    embs, failures = embed_audio_files(model, paths, batch_size=batch_size)
    failed = {p for p, _ in failures}
    records = [r for r in records if r["audio"] not in failed]
    results = score_embeddings(
        records, embs.numpy(), lambda texts: encode_texts(model, texts), known, n_triplets
    )
    return {"failed_files": len(failures), **results}


def chance(
    records: list[dict],
    known: set[str] | None = None,
    n_triplets: int = 500,
    draws: int = 200,
    seed: int = 0,
    dim: int = 128,
) -> dict:
    """The paper's `Random` row: the expected score of random rankings on this benchmark.

    Every draw scores i.i.d. Gaussian directions for the audio and for each text query, so each
    query ranks the candidates in a uniformly random order; the cells are the mean over draws
    (`row`) with their standard error (`row_sem`). The same metric code as a real model runs,
    so no per-metric chance formula can disagree with it.
    """
    rng = np.random.default_rng(seed)

    def unit(n: int) -> np.ndarray:
        x = rng.standard_normal((n, dim))
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    # What depends only on the benchmark (triplets, the MiniLM tag merging) is built once.
    triplets = make_triplets(records, n_triplets)
    merged = merge_tags([flat_tags(r.get("tags", {})) for r in records], minilm_embedder())
    rows = [
        score_embeddings(
            records,
            unit(len(records)),
            lambda t: unit(len(t)),
            known,
            n_triplets,
            triplets=triplets,
            merged=merged,
        )["row"]
        for _ in range(draws)
    ]
    keys = [k for k in rows[0] if rows[0][k] is not None]
    values = {k: np.array([r[k] for r in rows]) for k in keys}
    return {
        "tracks": len(records),
        "draws": draws,
        "row": {k: float(v.mean()) for k, v in values.items()},
        "row_sem": {k: float(v.std(ddof=1) / np.sqrt(draws)) for k, v in values.items()},
    }


def score_embeddings(
    records: list[dict],
    audio: np.ndarray,
    encode_text: Callable[[list[str]], np.ndarray],
    known: set[str] | None = None,
    n_triplets: int = 500,
    triplets: list[tuple[int, int, int]] | None = None,
    merged: tuple | None = None,
) -> dict:
    """All Table-2 metrics from unit audio embeddings [len(records), D] and a text encoder.

    `triplets` (`make_triplets`) and `merged` (`merge_tags` of the records' tags with MiniLM)
    may be passed in when the same benchmark is scored many times. A protocol the benchmark
    lacks the data for is left out of the result.
    """
    known = {r["artist"] for r in records} if known is None else known
    is_known = [r.get("artist") in known for r in records]
    results: dict = {
        "tracks": len(records),
        "known_artist_tracks": int(sum(is_known)),
    }
    triplets = make_triplets(records, n_triplets) if triplets is None else triplets
    # In this order: a random `encode_text` (see `chance`) draws its queries in sequence.
    protocols = {
        "caption": caption_retrieval(records, audio, encode_text),
        "tag": tag_retrieval(records, audio, encode_text, merged),
        "metadata": metadata_retrieval(records, audio, encode_text, known),
        "track_similarity": track_similarity(records, audio, encode_text, triplets, is_known),
        "artist_similarity": artist_similarity(records, audio, encode_text, known),
    }
    results |= {name: scores for name, scores in protocols.items() if scores is not None}
    results["row"] = table_row(results)
    return results


def caption_retrieval(records: list[dict], audio: np.ndarray, encode_text) -> dict | None:
    """Each unique reference caption as a query; its targets are the tracks it describes."""
    caption_targets = defaultdict(list)
    for i, r in enumerate(records):
        for c in r.get("captions", []):
            caption_targets[c].append(i)
    if not caption_targets:
        return None
    queries = list(caption_targets)
    scores = encode_text(queries) @ audio.T
    return {"queries": len(queries), **ranking_metrics(scores, list(caption_targets.values()))}


def tag_retrieval(
    records: list[dict], audio: np.ndarray, encode_text, merged: tuple | None
) -> dict | None:
    """Each merged tag as a query over the tracks that keep a tag: mean ROC-AUC / PR-AUC."""
    vocab, tags, kept = merged or merge_tags(
        [flat_tags(r.get("tags", {})) for r in records], minilm_embedder()
    )
    if not vocab:
        return None
    labels = np.zeros((len(kept), len(vocab)), dtype=int)
    col = {t: j for j, t in enumerate(vocab)}
    for row, track_tags in enumerate(tags):
        labels[row, [col[t] for t in track_tags]] = 1
    scores = encode_text(vocab) @ audio[kept].T
    return {"tags": len(vocab), **tag_auc(scores, labels)}


def metadata_retrieval(
    records: list[dict], audio: np.ndarray, encode_text, known: set[str]
) -> dict | None:
    """The track from its own title / artist / album text, for all and for known artists."""
    meta_rows = [i for i, r in enumerate(records) if r.get("title") and r.get("artist")]
    if not meta_rows:
        return None
    texts = [
        meta_text(records[i]["title"], records[i]["artist"], records[i].get("album"))
        for i in meta_rows
    ]
    targets = defaultdict(list)
    for i, t in zip(meta_rows, texts, strict=True):
        targets[t].append(i)
    queries = list(targets)
    scores = encode_text(queries) @ audio.T
    owner = [records[targets[q][0]]["artist"] in known for q in queries]

    def meta_metrics(rows: list[int]) -> dict:
        return {
            "queries": len(rows),
            **ranking_metrics(scores[rows], [targets[queries[q]] for q in rows]),
        }

    return {
        "all": meta_metrics(list(range(len(queries)))),
        "known": _subset(meta_metrics, [q for q in range(len(queries)) if owner[q]]),
    }


def track_similarity(
    records: list[dict],
    audio: np.ndarray,
    encode_text,
    triplets: list[tuple[int, int, int]],
    is_known: list[bool],
) -> dict | None:
    """Dim-sim style triplets: does the anchor's text query score the closer track higher?"""
    if not triplets:
        return None
    anchors = encode_text(
        [
            track_query(records[a]["title"], records[a]["artist"], records[a].get("album"))
            for a, _, _ in triplets
        ],
    )

    def triplet_metrics(rows: list[int]) -> dict:
        picked = [triplets[k] for k in rows]
        acc = triplet_accuracy(
            anchors[rows],
            audio[[t[1] for t in picked]],
            audio[[t[2] for t in picked]],
            [True] * len(picked),
        )
        return {"triplets": len(rows), "accuracy": acc}

    return {
        "all": triplet_metrics(list(range(len(triplets)))),
        "known": _subset(triplet_metrics, [k for k, t in enumerate(triplets) if is_known[t[0]]]),
    }


def artist_graph(
    records: list[dict], audio: np.ndarray
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Sorted artist names, their unit audio prototypes and the symmetric similarity graph."""
    artists = sorted({r["artist"] for r in records})
    index = {a: i for i, a in enumerate(artists)}
    protos = np.zeros((len(artists), audio.shape[1]))
    adjacency = np.zeros((len(artists), len(artists)), dtype=int)
    for i, r in enumerate(records):
        protos[index[r["artist"]]] += audio[i]
        for s in r.get("similar_artists", []):
            if s in index:
                adjacency[index[r["artist"]], index[s]] = adjacency[
                    index[s], index[r["artist"]]
                ] = 1
    protos /= np.linalg.norm(protos, axis=1, keepdims=True) + 1e-12
    return artists, protos, adjacency


def artist_similarity(
    records: list[dict], audio: np.ndarray, encode_text, known: set[str]
) -> dict | None:
    """OLGA style: `similar with artist X` ranks artist prototypes; nDCG@200 against the graph."""
    artists, protos, adjacency = artist_graph(records, audio)
    if not adjacency.any():
        return None
    queries = encode_text([artist_query(a) for a in artists])
    has = adjacency.sum(1) > 0

    def artist_metrics(rows: list[int]) -> dict | None:
        rows = [i for i in rows if has[i]]
        if not rows:
            return None
        return {
            "artists": len(rows),
            "nDCG@200": artist_ndcg(queries, protos, adjacency, rows=rows),
            # A reference ceiling for audio-only similarity: each artist's own audio
            # prototype as the query, as if the text query knew its music exactly.
            "nDCG@200 own-audio query": artist_ndcg(protos, protos, adjacency, rows=rows),
        }

    return {
        "candidates": len(artists),
        "all": artist_metrics(list(range(len(artists)))),
        "known": artist_metrics([i for i, a in enumerate(artists) if a in known]),
    }


def _get(d: dict, *keys: str) -> float | None:
    for k in keys:
        if not isinstance(d, dict) or d.get(k) is None:
            return None
        d = d[k]
    return d


def table_row(results: dict) -> dict[str, float | None]:
    """The headline cells of one Table-2 row (None where the benchmark lacks the data)."""
    return {
        "caption R@10": _get(results, "caption", "R@10"),
        "caption mAP@10": _get(results, "caption", "mAP@10"),
        "tag ROC-AUC": _get(results, "tag", "ROC-AUC"),
        "tag PR-AUC": _get(results, "tag", "PR-AUC"),
        "metadata R@10": _get(results, "metadata", "known", "R@10"),
        "track triplet acc": _get(results, "track_similarity", "known", "accuracy"),
        "artist nDCG@200": _get(results, "artist_similarity", "known", "nDCG@200"),
        "artist nDCG@200 (all artists)": _get(results, "artist_similarity", "all", "nDCG@200"),
    }

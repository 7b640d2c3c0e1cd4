"""The paper's Table-2 evaluation on a benchmark manifest (ours, or any JSONL in that format).

    python -m train.evaluate --model runs/cpu/model --manifest data/benchmark/manifest.jsonl

Protocols (see docs/RESULTS.md):
- caption retrieval: each unique reference caption is a query; targets are its tracks;
- tag retrieval: tags cleaned and merged (MiniLM cosine > 0.9), tags with >= 10 tracks kept;
  each tag is a text query; mean per-tag ROC-AUC / PR-AUC;
- track similarity: anchor `similar music track with {title} by {artist} from {album}`; the
  candidates are a track by a similar artist and one by an unrelated artist of another genre;
- artist similarity: `similar with artist {name}` against artist prototypes (mean of their
  tracks' embeddings), nDCG@200 against the artist-similarity graph.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

import ttmrpp
from ttmrpp.data import read_jsonl_manifest
from ttmrpp.kg_text import artist_query, flat_tags, track_query
from ttmrpp.metrics import (
    artist_ndcg,
    merge_tags,
    minilm_embedder,
    ranking_metrics,
    tag_auc,
    triplet_accuracy,
)


@torch.inference_mode()
def encode_texts(model, texts: list[str], batch_size: int = 64) -> np.ndarray:
    parts = [model.encode_text(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)]
    return torch.cat(parts).cpu().numpy()


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


def evaluate(model, records: list[dict], batch_size: int = 16, n_triplets: int = 500) -> dict:
    """All Table-2 metrics for one model over benchmark records (with audio)."""
    paths = [r["audio"] for r in records]
    embs, failures = ttmrpp.embed_audio_files(model, paths, batch_size=batch_size)
    failed = {p for p, _ in failures}
    records = [r for r in records if r["audio"] not in failed]
    audio = embs.numpy()
    results: dict = {"tracks": len(records), "failed_files": len(failures)}

    # Caption retrieval.
    caption_targets = defaultdict(list)
    for i, r in enumerate(records):
        for c in r.get("captions", []):
            caption_targets[c].append(i)
    if caption_targets:
        queries = list(caption_targets)
        scores = encode_texts(model, queries) @ audio.T
        results["caption"] = {
            "queries": len(queries),
            **ranking_metrics(scores, list(caption_targets.values())),
        }

    # Tag retrieval with the paper's tag merging.
    vocab, tags, kept = merge_tags(
        [flat_tags(r.get("tags", {})) for r in records], minilm_embedder()
    )
    if vocab:
        labels = np.zeros((len(kept), len(vocab)), dtype=int)
        col = {t: j for j, t in enumerate(vocab)}
        for row, track_tags in enumerate(tags):
            labels[row, [col[t] for t in track_tags]] = 1
        scores = encode_texts(model, vocab) @ audio[kept].T
        results["tag"] = {"tags": len(vocab), **tag_auc(scores, labels)}

    # Track similarity (dim-sim style triplets).
    triplets = make_triplets(records, n_triplets)
    if triplets:
        anchors = encode_texts(
            model,
            [
                track_query(records[a]["title"], records[a]["artist"], records[a].get("album"))
                for a, _, _ in triplets
            ],
        )
        acc = triplet_accuracy(
            anchors,
            audio[[t[1] for t in triplets]],
            audio[[t[2] for t in triplets]],
            [True] * len(triplets),
        )
        results["track_similarity"] = {"triplets": len(triplets), "accuracy": acc}

    # Artist similarity (OLGA style).
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
    if adjacency.any():
        queries = encode_texts(model, [artist_query(a) for a in artists])
        results["artist_similarity"] = {
            "artists": len(artists),
            "nDCG@200": artist_ndcg(queries, protos, adjacency),
        }
    return results


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="model folder, hub id, or config name (random)")
    p.add_argument("--manifest", required=True, type=Path, help="benchmark JSONL manifest")
    p.add_argument("--split", default="test", help="records of this split ('' for all)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--triplets", type=int, default=500)
    p.add_argument("--seed", type=int, default=0, help="seed for a random (untrained) model")
    p.add_argument("--out", type=Path, help="also write the JSON here")
    args = p.parse_args(argv)
    from ttmrpp.commands.encode import resolve_model

    torch.manual_seed(args.seed)
    model = resolve_model(args.model)
    records = [
        r
        for r in read_jsonl_manifest(args.manifest)
        if not args.split or r.get("split") == args.split
    ]
    if not records:
        raise SystemExit(f"{args.manifest}: no records for split {args.split!r}")
    results = {
        "model": args.model,
        "manifest": str(args.manifest),
        **evaluate(model, records, args.batch_size, args.triplets),
    }
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        from ttmrpp.fileio import atomic_write_text

        atomic_write_text(args.out, text + "\n")
    return results


if __name__ == "__main__":
    main()

"""Vector search: HNSW (hnswlib, the engine's settings) next to exact numpy search.

    python -m bench.index [--sizes 100000,1000000] [--queries 1000] [--index INDEX_DIR]

For each dataset: build time, memory, recall@10 against exact search and p50/p99 single-query
latency over a sweep of `ef` (plus the `ef` the engine calibrates itself), exact numpy search
latency in the same run, and the speed-up ratio. Datasets are random unit 128-d vectors (the
hardest case for a graph index: no low-dimensional structure), optionally clustered vectors
(`--clustered-sizes`), and, with `--index`, the real embeddings of an index folder (10% held
out as queries). Prints one JSON object per dataset as it finishes, then a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from ttmrpp.ann import (
    HNSW_EF_CONSTRUCTION,
    HNSW_M,
    TARGET_RECALL,
    build_hnsw,
    exact_topk,
    exact_topk_batched,
    recall_at_k,
    rss_mb,
    tune_ef,
)

EF_SWEEP = (64, 128, 256, 384, 512, 768, 1024, 1536, 2048, 3072)


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def clustered(n: int, dim: int = 128, centres: int = 64, seed: int = 0) -> np.ndarray:
    """Unit vectors around 64 random centres: closer to real embeddings (genres, instruments)
    than uniform random ones; the noise is large, so clusters overlap."""
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, dim)).astype(np.float32)
    x = c[rng.integers(0, centres, n)] + 1.0 * rng.standard_normal((n, dim), dtype=np.float32)
    return unit(x)


def latency_ms(fn, queries: np.ndarray) -> np.ndarray:
    out = np.empty(len(queries))
    for i, q in enumerate(queries):
        t0 = time.perf_counter()
        fn(q)
        out[i] = (time.perf_counter() - t0) * 1e3
    return out


def bench_dataset(name: str, data: np.ndarray, queries: np.ndarray, args) -> dict:
    k = 10
    t0 = time.perf_counter()
    truth = exact_topk_batched(data, queries, k)
    exact_batch_s = time.perf_counter() - t0
    n_exact = min(len(queries), args.exact_queries)
    exact_lat = latency_ms(lambda q: exact_topk(data, q[None], k), queries[:n_exact])

    rss0 = rss_mb()
    t0 = time.perf_counter()
    index = build_hnsw(
        data, m=args.m, ef_construction=args.ef_construction, num_threads=args.threads
    )
    build_s = time.perf_counter() - t0
    rss1 = rss_mb()

    sweep = []
    for ef in EF_SWEEP:
        index.set_ef(ef)
        found, _ = index.knn_query(queries, k=k, num_threads=args.threads)
        lat = latency_ms(
            lambda q, index=index: index.knn_query(q[None], k=k, num_threads=1), queries
        )
        sweep.append(
            {
                "ef": ef,
                "recall_at_10": round(recall_at_k(found, truth), 4),
                "p50_ms": round(float(np.percentile(lat, 50)), 3),
                "p99_ms": round(float(np.percentile(lat, 99)), 3),
            }
        )
        if sweep[-1]["recall_at_10"] >= 0.999:
            break
    t0 = time.perf_counter()
    tuned_ef, tuned_cal_recall = tune_ef(index, data)
    tune_s = time.perf_counter() - t0
    found, _ = index.knn_query(queries, k=k, num_threads=args.threads)
    lat = latency_ms(lambda q: index.knn_query(q[None], k=k, num_threads=1), queries)
    exact_p50 = float(np.percentile(exact_lat, 50))
    meeting = [s for s in sweep if s["recall_at_10"] >= args.target_recall]
    best = meeting[0] if meeting else sweep[-1]
    return {
        "dataset": name,
        "n": len(data),
        "dim": data.shape[1],
        "queries": len(queries),
        "hnsw": {"M": args.m, "ef_construction": args.ef_construction, "threads": args.threads},
        "build_s": round(build_s, 1),
        "hnsw_rss_mb": round(rss1 - rss0, 1),
        "vectors_mb": round(data.nbytes / 2**20, 1),
        "sweep": sweep,
        "engine_tuned": {
            "ef": tuned_ef,
            "calibration_recall": round(tuned_cal_recall, 4),
            "tune_s": round(tune_s, 2),
            "recall_at_10": round(recall_at_k(found, truth), 4),
            "p50_ms": round(float(np.percentile(lat, 50)), 3),
            "p99_ms": round(float(np.percentile(lat, 99)), 3),
        },
        "exact": {
            "p50_ms": round(exact_p50, 3),
            "p99_ms": round(float(np.percentile(exact_lat, 99)), 3),
            "batch_all_queries_s": round(exact_batch_s, 2),
        },
        "target_recall": args.target_recall,
        "first_ef_meeting_target": best["ef"] if meeting else None,
        "speedup_at_target": round(exact_p50 / best["p50_ms"], 1) if meeting else None,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000", help="random dataset sizes, comma list")
    ap.add_argument("--queries", type=int, default=1000, help="query vectors per dataset")
    ap.add_argument("--exact-queries", type=int, default=100, help="queries timed for exact")
    ap.add_argument(
        "--clustered-sizes", default="", help="also clustered vectors (64 centres), comma list"
    )
    ap.add_argument("--index", help="an index folder: also bench its real embeddings")
    ap.add_argument("--m", type=int, default=HNSW_M, help="HNSW graph degree")
    ap.add_argument("--ef-construction", type=int, default=HNSW_EF_CONSTRUCTION)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="build threads")
    ap.add_argument("--target-recall", type=float, default=0.98)
    args = ap.parse_args(argv)
    load = os.getloadavg()
    results = []
    datasets = []
    if args.index:
        from ttmrpp.index import MusicIndex

        emb = MusicIndex.load(args.index).embeddings
        rng = np.random.default_rng(0)
        perm = rng.permutation(len(emb))
        nq = max(1, min(args.queries, len(emb) // 10))
        datasets.append((f"index:{args.index}", emb[perm[nq:]], emb[perm[:nq]]))
    for size in [int(s) for s in args.sizes.split(",") if s]:
        rng = np.random.default_rng(size)
        data = unit(rng.standard_normal((size, 128), dtype=np.float32))
        queries = unit(rng.standard_normal((args.queries, 128), dtype=np.float32))
        datasets.append((f"random-unit-{size}", data, queries))
    for size in [int(s) for s in args.clustered_sizes.split(",") if s]:
        data = clustered(size + args.queries, seed=size)
        datasets.append((f"clustered-{size}", data[args.queries :], data[: args.queries]))
    for name, data, queries in datasets:
        res = bench_dataset(name, data, queries, args)
        print(json.dumps(res), flush=True)
        results.append(res)
    print(
        json.dumps(
            {
                "summary": True,
                "nproc": os.cpu_count(),
                "loadavg_start": [round(x, 2) for x in load],
                "loadavg_end": [round(x, 2) for x in os.getloadavg()],
                "target_recall": TARGET_RECALL,
                "results": [
                    {k: r[k] for k in ("dataset", "build_s", "first_ef_meeting_target")}
                    | {"tuned": r["engine_tuned"], "speedup_at_target": r["speedup_at_target"]}
                    for r in results
                ],
            }
        )
    )


if __name__ == "__main__":
    main()

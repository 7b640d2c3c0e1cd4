"""Vector search as the engine does it, next to exact numpy search.

    python -m bench.index [--sizes 100000,1000000] [--queries 1000] [--index INDEX_DIR]
                          [--also hnsw]

For each dataset: build time, memory, recall@10 against exact search and p50/p99 single-query
latency of the methods `MusicIndex` uses at that size: exact below 8,192 tracks, the
compressed scan of `ttmrpp.search.backends.sign_scan` from 250,000, and in between both HNSW and the scan (the
engine keeps the faster). Each comes with a sweep of HNSW's `ef` or the scan's survivor
count and the value the engine calibrates itself; `--also hnsw` adds HNSW where the engine
would not build it. Exact numpy search is timed in the same run, and the speed-up is reported
as a ratio. Datasets are random unit 128-d vectors (the hardest case for a graph index: no
low-dimensional structure), optionally clustered vectors (`--clustered-sizes`), and, with
`--index`, the real embeddings of an index folder (10% held out as queries). Prints one JSON
object per dataset as it finishes, then a summary whose `engine` entries hold the engine's own
recall, latency and speed-up.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numba
import numpy as np

from ttmrpp.search.backends.choice import SCAN_LIMIT
from ttmrpp.search.backends.hnsw import (
    EXACT_LIMIT,
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
from ttmrpp.search.backends.sign_scan import CANDIDATE_LADDER, MAX_DIM, SignScan, tune_candidates

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


def latency_ms(fn, queries: np.ndarray, cpu: list | None = None) -> np.ndarray:
    """Wall-clock ms per single query; with `cpu`, also appends the process CPU ms per
    query (unlike wall time, not inflated by other processes on a shared machine)."""
    out = np.empty(len(queries))
    for i, q in enumerate(queries):
        t0, c0 = time.perf_counter(), time.process_time()
        fn(q)
        out[i] = (time.perf_counter() - t0) * 1e3
        if cpu is not None:
            cpu.append((time.process_time() - c0) * 1e3)
    return out


def bench_hnsw(data: np.ndarray, queries: np.ndarray, truth: np.ndarray, args) -> dict:
    """HNSW with the engine's settings: build, an `ef` sweep, and the self-calibrated `ef`."""
    k = truth.shape[1]
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
        cpu: list[float] = []
        lat = latency_ms(
            lambda q, index=index: index.knn_query(q[None], k=k, num_threads=1), queries, cpu
        )
        sweep.append(
            {"ef": ef, "recall_at_10": round(recall_at_k(found, truth), 4)}
            | percentiles(lat)
            | {"p50_cpu_ms": round(float(np.percentile(cpu, 50)), 3)}
        )
        if sweep[-1]["recall_at_10"] >= 0.999:
            break
    t0 = time.perf_counter()
    tuned_ef, tuned_cal_recall = tune_ef(index, data)
    tune_s = time.perf_counter() - t0
    found, _ = index.knn_query(queries, k=k, num_threads=args.threads)
    lat = latency_ms(lambda q: index.knn_query(q[None], k=k, num_threads=1), queries)
    return {
        "params": {"M": args.m, "ef_construction": args.ef_construction, "threads": args.threads},
        "build_s": round(build_s, 1),
        "rss_mb": round(rss1 - rss0, 1),
        "sweep": sweep,
        "engine_tuned": {
            "ef": tuned_ef,
            "calibration_recall": round(tuned_cal_recall, 4),
            "tune_s": round(tune_s, 2),
            "recall_at_10": round(recall_at_k(found, truth), 4),
        }
        | percentiles(lat),
    }


def bench_scan(data: np.ndarray, queries: np.ndarray, truth: np.ndarray) -> dict:
    """The compressed full scan (ttmrpp.search.backends.sign_scan): build, a survivor sweep, and the self-calibrated
    survivor count. Latency is one query at a time on all cores (the scan splits the codes)."""
    k = truth.shape[1]
    rss0 = rss_mb()
    t0 = time.perf_counter()
    scan = SignScan(data.shape[1])
    scan.add(data)
    build_s = time.perf_counter() - t0
    rss1 = rss_mb()
    scan.search(queries[0], k, 1000, data)  # compiles the kernels (cached on disk afterwards)

    def measure(candidates: int) -> dict:
        found = [scan.search(q, k, candidates, data)[0] for q in queries]
        lat = latency_ms(lambda q: scan.search(q, k, candidates, data), queries)
        return {"recall_at_10": round(recall_at_k(found, truth), 4)} | percentiles(lat)

    sweep = []
    for candidates in (c for c in CANDIDATE_LADDER if c < len(data)):
        sweep.append({"candidates": candidates} | measure(candidates))
        if sweep[-1]["recall_at_10"] >= 0.999:
            break
    t0 = time.perf_counter()
    tuned, tuned_cal_recall = tune_candidates(scan, data)
    tune_s = time.perf_counter() - t0
    return {
        "threads": numba.get_num_threads(),
        "build_s": round(build_s, 2),
        "codes_mb": round(scan.nbytes / 2**20, 1),
        "rss_mb": round(rss1 - rss0, 1),
        "sweep": sweep,
        "engine_tuned": {
            "candidates": tuned,
            "calibration_recall": round(tuned_cal_recall, 4),
            "tune_s": round(tune_s, 2),
        }
        | measure(tuned),
    }


def percentiles(lat_ms: np.ndarray) -> dict:
    return {
        "p50_ms": round(float(np.percentile(lat_ms, 50)), 3),
        "p99_ms": round(float(np.percentile(lat_ms, 99)), 3),
    }


def engine_method(n: int) -> str:
    """What `MusicIndex` (method "auto") uses for n tracks; "auto" = the faster of both."""
    return "exact" if n < EXACT_LIMIT else "auto" if n < SCAN_LIMIT else "scan"


def bench_dataset(name: str, data: np.ndarray, queries: np.ndarray, args) -> dict:
    k = 10
    t0 = time.perf_counter()
    truth = exact_topk_batched(data, queries, k)
    exact_batch_s = time.perf_counter() - t0
    n_exact = min(len(queries), args.exact_queries)
    exact_cpu: list[float] = []
    exact_lat = latency_ms(lambda q: exact_topk(data, q[None], k), queries[:n_exact], exact_cpu)
    exact_p50 = float(np.percentile(exact_lat, 50))
    method = engine_method(len(data))
    out = {
        "dataset": name,
        "n": len(data),
        "dim": data.shape[1],
        "queries": len(queries),
        "vectors_mb": round(data.nbytes / 2**20, 1),
        "engine_method": method,
        "exact": percentiles(exact_lat)
        | {
            "p50_cpu_ms": round(float(np.percentile(exact_cpu, 50)), 3),
            "batch_all_queries_s": round(exact_batch_s, 2),
        },
    }
    run_hnsw = method in ("auto", "hnsw") or "hnsw" in args.also
    run_scan = method in ("auto", "scan") or "scan" in args.also
    if run_hnsw:
        out["hnsw"] = bench_hnsw(data, queries, truth, args)
    if run_scan and data.shape[1] <= MAX_DIM:
        out["scan"] = bench_scan(data, queries, truth)
    for m in ("hnsw", "scan"):
        if m not in out:
            continue
        sweep = out[m]["sweep"]
        meeting = [s for s in sweep if s["recall_at_10"] >= args.target_recall]
        best = meeting[0] if meeting else None
        out[m]["first_meeting_target"] = best
        out[m]["speedup_at_target"] = round(exact_p50 / best["p50_ms"], 1) if best else None
    if method == "auto":  # the engine keeps the faster of the two (it times them itself)
        both = [m for m in ("hnsw", "scan") if m in out]
        method = min(both, key=lambda m: out[m]["engine_tuned"]["p50_ms"])
        out["engine_method"] = f"auto: {method}"
    if method == "exact":  # below EXACT_LIMIT
        chosen = {"recall_at_10": 1.0} | out["exact"]
    else:
        chosen = out[method]["engine_tuned"]
    out["engine"] = {k_: chosen[k_] for k_ in ("recall_at_10", "p50_ms", "p99_ms")} | {
        "speedup_vs_exact": round(exact_p50 / chosen["p50_ms"], 1)
    }
    out["target_recall"] = args.target_recall
    return out


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
    ap.add_argument(
        "--also",
        default="",
        help="methods measured besides the engine's own for each size (hnsw, scan); HNSW over "
        "a million random vectors takes over an hour to build on 2 cores",
    )
    args = ap.parse_args(argv)
    load = os.getloadavg()
    results = []
    datasets = []
    if args.index:
        from ttmrpp.search.index import MusicIndex

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
                "calibration_target_recall": TARGET_RECALL,
                "results": [
                    {k: r[k] for k in ("dataset", "n", "engine_method", "engine")}
                    | {"target_recall": r["target_recall"]}
                    for r in results
                ],
            }
        )
    )


if __name__ == "__main__":
    main()

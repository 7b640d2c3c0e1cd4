"""Compressed fast-scan search on random unit vectors: the candidate backend for huge collections.

    pip install faiss-cpu==1.15.1     # not a ttmrpp dependency: this bench explores a backend
    python -m bench.index_fastscan [--n 1000000] [--queries 300]

Uniform random 128-d vectors have no neighbourhood structure, so a graph index (`bench.index`)
must visit a large part of the collection for recall@10 >= 0.98. This bench measures the other
classic design on the same data (seeded by the size, as `bench.index`): a full scan of 4-bit
product-quantization codes with SIMD lookup tables (faiss "fast scan"), then an exact re-rank
of the best `k_factor * 10` candidates (`IndexRefineFlat`). It prints one JSON line per setting:
recall@10 against exact search and p50/p99 single-query latency. It was the first compressed
scan tried; the engine's own is `ttmrpp.search.backends.sign_scan` (measured by `bench.index`).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from bench.index import latency_ms, unit
from ttmrpp.search.backends.hnsw import exact_topk_batched, recall_at_k


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--codes", default="PQ32x4fs,PQ64x4fs", help="faiss factory strings")
    ap.add_argument("--k-factors", default="20,30,50,200")
    args = ap.parse_args(argv)
    import faiss

    rng = np.random.default_rng(args.n)  # as bench.index
    data = unit(rng.standard_normal((args.n, 128), dtype=np.float32))
    queries = unit(rng.standard_normal((args.queries, 128), dtype=np.float32))
    truth = exact_topk_batched(data, queries, 10)
    for spec in args.codes.split(","):
        faiss.omp_set_num_threads(2)
        t0 = time.perf_counter()
        base = faiss.index_factory(128, spec, faiss.METRIC_INNER_PRODUCT)
        base.train(data[:200_000])
        index = faiss.IndexRefineFlat(base)  # keeps the float32 vectors for the re-rank
        index.add(data)
        build_s = time.perf_counter() - t0
        faiss.omp_set_num_threads(1)  # single-query latency on one thread, as bench.index
        for k_factor in (int(k) for k in args.k_factors.split(",")):
            params = faiss.IndexRefineSearchParameters(k_factor=k_factor)
            _, found = index.search(queries, 10, params=params)
            lat = latency_ms(lambda q, i=index, p=params: i.search(q[None], 10, params=p), queries)
            row = {
                "n": args.n,
                "codes": spec,
                "build_s": round(build_s, 1),
                "k_factor": k_factor,
                "recall_at_10": round(recall_at_k(found, truth), 4),
                "p50_ms": round(float(np.percentile(lat, 50)), 3),
                "p99_ms": round(float(np.percentile(lat, 99)), 3),
            }
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()

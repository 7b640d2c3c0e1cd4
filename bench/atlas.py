"""Atlas speed: UMAP map of N embeddings, query placement, figure and HTML.

    python -m bench.atlas [--n 20000] [--index INDEX_DIR]

Times a first fit on 300 points apart (numba compilation, paid once per process), then the
fit of the full collection, which is what `ttmrpp map` pays once per index (it is cached).
Vectors are clustered random 128-d unit vectors (64 clusters) or an index's real embeddings.
Prints one JSON object; `*_cpu_s` is process CPU time, which a shared machine's load does
not inflate the way it does wall time (the fit runs on one thread).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def clustered(n: int, dim: int = 128, centers: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centers, dim))
    x = c[rng.integers(0, centers, n)] + 0.7 * rng.standard_normal((n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def main(argv: list[str] | None = None) -> None:
    from ttmrpp.search.atlas import atlas_figure, fit_umap, get_atlas, place, write_html
    from ttmrpp.search.index import MusicIndex

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000, help="points (random clustered vectors)")
    ap.add_argument("--index", help="use this index folder's embeddings instead")
    args = ap.parse_args(argv)
    load0 = os.getloadavg()

    if args.index:
        index = MusicIndex.load(args.index)
        name = f"index:{args.index}"
    else:
        vecs = clustered(args.n)
        genres = [f"cluster {i % 64}" for i in range(args.n)]
        records = [
            {"path": f"/bench/{i}.flac", "title": f"t{i}", "tags": {"genre": [g]}}
            for i, g in enumerate(genres)
        ]
        index = MusicIndex("bench", 128)
        index.add_embeddings(records, vecs)
        name = f"random-clustered-{args.n}"

    t0 = time.perf_counter()
    import umap  # noqa: F401

    import_s = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    fit_umap(clustered(300, seed=1))
    compile_s, compile_cpu = time.perf_counter() - t0, time.process_time() - c0

    with tempfile.TemporaryDirectory() as tmp:
        index.save(Path(tmp) / "idx")
        t0, c0 = time.perf_counter(), time.process_time()
        atlas = get_atlas(index, refit=True)
        fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
        t0 = time.perf_counter()
        get_atlas(index)
        cached_s = time.perf_counter() - t0
        q = index.embeddings[:20] + 0.3 * np.random.default_rng(2).standard_normal((20, 128))
        t0 = time.perf_counter()
        xy = place(index, atlas, q.astype(np.float32))
        place_ms = (time.perf_counter() - t0) * 1e3 / len(q)
        t0 = time.perf_counter()
        fig = atlas_figure(index, atlas, queries=[("q0", xy[0])])
        html = write_html(fig, Path(tmp) / "map.html")
        figure_s = time.perf_counter() - t0
        html_mb = html.stat().st_size / 2**20
    print(
        json.dumps(
            {
                "dataset": name,
                "n": len(index),
                "umap_import_s": round(import_s, 1),
                "first_fit_300_s_numba_compile": round(compile_s, 1),
                "first_fit_300_cpu_s": round(compile_cpu, 1),
                "fit_s": round(fit_s, 1),
                "fit_cpu_s": round(fit_cpu, 1),
                "target_fit_s": 60,
                "cached_load_s": round(cached_s, 3),
                "place_query_ms": round(place_ms, 2),
                "figure_and_html_s": round(figure_s, 2),
                "html_mb": round(html_mb, 1),
                "nproc": os.cpu_count(),
                "loadavg_start": [round(x, 2) for x in load0],
                "loadavg_end": [round(x, 2) for x in os.getloadavg()],
            }
        )
    )


if __name__ == "__main__":
    main()

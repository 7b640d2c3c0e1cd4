"""Encoding throughput: audio seconds embedded per wall second, text queries per second, memory.

    python bench/encode.py [--configs ttmrpp-cpu,ttmrpp-paper] [--seconds 60] [--threads 2]

Prints one JSON object. Weights are random (speed does not depend on them).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

import numpy as np
import torch

import ttmrpp


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_config(name: str, seconds: float, batch_size: int) -> dict:
    model = ttmrpp.create_model(name, pretrained_text=False)
    sr = model.config.sample_rate
    rng = np.random.default_rng(0)
    wav = (0.1 * rng.standard_normal(int(seconds * sr))).astype(np.float32)
    ttmrpp.embed_waveform(model, wav[: 10 * sr], batch_size)  # warm-up
    t0 = time.perf_counter()
    ttmrpp.embed_waveform(model, wav, batch_size)
    audio_wall = time.perf_counter() - t0
    queries = [f"upbeat {g} track with electric guitar and drums" for g in range(64)]
    try:
        model.encode_text(queries[:2])
        t0 = time.perf_counter()
        with torch.inference_mode():
            for i in range(0, len(queries), 1):  # one query at a time, as a search box does
                model.encode_text(queries[i : i + 1])
        text_qps = len(queries) / (time.perf_counter() - t0)
    except OSError as exc:  # the paper config's roberta-base tokenizer needs the hub
        text_qps = None
        print(f"# {name}: text skipped ({exc})")
    return {
        "config": name,
        "params_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 2),
        "audio_seconds": seconds,
        "audio_wall_s": round(audio_wall, 3),
        "audio_s_per_s": round(seconds / audio_wall, 1),
        "text_queries_per_s": None if text_qps is None else round(text_qps, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", default="ttmrpp-cpu,ttmrpp-paper")
    ap.add_argument("--seconds", type=float, default=60.0, help="audio length to embed")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    # The paper config's roberta-base tokenizer is not fetched from the hub in a benchmark.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(args.threads)
    results = [bench_config(c, args.seconds, args.batch_size) for c in args.configs.split(",")]
    print(
        json.dumps(
            {
                "threads": args.threads,
                "cpu_count": os.cpu_count(),
                "loadavg_1m": round(os.getloadavg()[0], 2),
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

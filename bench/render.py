"""Speed of the music world: catalog build throughput, render speed, streaming clips per second.

    python -m bench.render                     # 600-track demo catalog + streaming, prints JSON
    python -m bench.render --tracks 60 --clips 20

The machine may be shared: wall-clock figures come with CPU seconds and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path


def _cpu() -> float:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracks", type=int, default=600, help="demo catalog tracks to build")
    ap.add_argument("--benchmark-tracks", type=int, default=0, help="plus held-out tracks")
    ap.add_argument("--seconds", type=float, default=20.0, help="music per catalog track")
    ap.add_argument("--workers", type=int, default=0, help="catalog processes (0: all cores)")
    ap.add_argument("--clips", type=int, default=40, help="10-second clips to stream on one core")
    ap.add_argument("--out", type=Path, help="keep the catalog here (default: a temp folder)")
    args = ap.parse_args(argv)

    from ttmrpp.data.records import read_manifest
    from ttmrpp.world.catalog import CatalogConfig, build_catalog
    from ttmrpp.world.stream import iter_tracks

    result: dict = {"nproc": os.cpu_count(), "load_avg_before": os.getloadavg()[0]}
    cfg = CatalogConfig(
        tracks=args.tracks, benchmark_tracks=args.benchmark_tracks, seconds=args.seconds
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "catalog"
        c0, t0 = _cpu(), time.perf_counter()
        manifest = build_catalog(out, cfg, workers=args.workers, progress=True)
        wall, cpu = time.perf_counter() - t0, _cpu() - c0
        recs = read_manifest(manifest)
        audio_s = sum(r["duration"] for r in recs)
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        result["catalog"] = {
            "tracks": len(recs),
            "wall_s": round(wall, 1),
            "cpu_s": round(cpu, 1),
            "tracks_per_s": round(len(recs) / wall, 2),
            "cpu_s_per_track": round(cpu / len(recs), 3),
            "audio_minutes": round(audio_s / 60, 1),
            "x_realtime_wall": round(audio_s / wall, 1),
            "x_realtime_per_cpu_s": round(audio_s / cpu, 1),
            "size_mb": round(size / 1e6, 1),
            "workers": args.workers or os.cpu_count(),
        }
    from ttmrpp.world.classical import _parts
    from ttmrpp.world.repertoire import pieces_for_split

    c0 = time.process_time()
    for piece in pieces_for_split("train"):  # parsed once per process, then cached
        _parts(piece.path)
    result["corpus_parse_cpu_s_once"] = round(time.process_time() - c0, 1)
    stream = iter_tracks(seed=0, seconds=10.0)
    next(stream)  # warm caches (soundfont, artist world)
    c0, t0, p0 = _cpu(), time.perf_counter(), time.process_time()
    for _ in range(args.clips):
        next(stream)
    wall, cpu = time.perf_counter() - t0, time.process_time() - p0
    result["stream_10s_clips_steady_state"] = {
        "clips": args.clips,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "clips_per_s_wall": round(args.clips / wall, 1),
        "clips_per_cpu_s": round(args.clips / cpu, 1),
        "x_realtime_per_cpu_s": round(10 * args.clips / cpu, 1),
    }
    result["load_avg_after"] = os.getloadavg()[0]
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""App benchmark: cold and warm launch to ready, search latency and concurrent clients.

Launches `app.py` as a real server process (fresh cache for the cold launch, the same cache
for the warm one), drives it with `gradio_client` and prints JSON:

- cold_ready_s: process start to the first `/startup` answer, on an empty cache (the demo
  catalog is rendered, embedded, indexed and mapped); target <= 180 s on 2 cores.
- warm_ready_s: the same with the cache filled; target <= 20 s.
- search p50/p95 of `/search_text` over the demo catalog, one client; target p50 <= 300 ms.
- concurrent: N clients searching for S seconds, each with its own query, checking every
  answer is its own (no mixed-up results) and counting errors.

    python bench/app.py                      # default demo size, temporary cache
    python bench/app.py --tracks 60 --concurrent-seconds 10
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
QUERIES = [
    "energetic rock with electric guitar and drums",
    "calm piano",
    "jazz, double bass, brushed drums",
    "dark ambient synthesizer pads",
    "happy acoustic folk with whistling",
    "fast techno with drum machine",
    "sad strings, slow tempo",
    "funk, slap bass, horns",
    "a dreamy pop song with female vocals",
    "orchestral soundtrack, epic",
    "reggae with offbeat guitar",
    "lo-fi hip hop beat",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(cache: Path, tracks: int | None, log_path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(os.environ, TTMRPP_CACHE=str(cache), GRADIO_SERVER_PORT=str(port))
    env["GRADIO_SERVER_NAME"] = "127.0.0.1"
    if tracks:
        env["TTMRPP_DEMO_TRACKS"] = str(tracks)
    log = open(log_path, "ab")
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "app.py")], cwd=REPO, env=env, stdout=log, stderr=log
    )
    return proc, f"http://127.0.0.1:{port}/"


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 300) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"app exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer in {timeout} s")


def launch_to_ready(cache: Path, tracks: int | None, log: Path) -> tuple[dict, subprocess.Popen]:
    from gradio_client import Client

    t0 = time.perf_counter()
    proc, url = launch(cache, tracks, log)
    wait_http(url, proc)
    serving = time.perf_counter() - t0
    client = Client(url, verbose=False)
    client.predict(api_name="/startup")  # builds or loads; returns when the app is ready
    ready = time.perf_counter() - t0
    return {"serving_s": round(serving, 2), "ready_s": round(ready, 2), "url": url}, proc


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


def search_latency(url: str, n: int) -> dict:
    from gradio_client import Client

    client = Client(url, verbose=False)
    client.predict(QUERIES[0], 10, api_name="/search_text")  # warm-up
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        client.predict(QUERIES[i % len(QUERIES)], 10, api_name="/search_text")
        times.append(1000 * (time.perf_counter() - t0))
    times.sort()
    return {
        "n": n,
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
        "max_ms": round(times[-1], 1),
    }


def concurrent_clients(url: str, clients: int, seconds: float) -> dict:
    """Each client repeats its own query; every answer must match that query's ranking."""
    from gradio_client import Client

    expected = {}
    probe = Client(url, verbose=False)
    for q in QUERIES[:clients]:
        _, table, _ = probe.predict(q, 10, api_name="/search_text")
        expected[q] = [row[2] for row in table["data"]]
    counts = {"requests": 0, "errors": 0, "mixed_up": 0}
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []

    def work(q: str) -> None:
        client = Client(url, verbose=False)
        end = time.time() + seconds
        while time.time() < end:
            t0 = time.perf_counter()
            try:
                message, table, _ = client.predict(q, 10, api_name="/search_text")
                ok = q in message and [row[2] for row in table["data"]] == expected[q]
                with lock:
                    counts["requests"] += 1
                    counts["mixed_up"] += not ok
                    latencies.append(1000 * (time.perf_counter() - t0))
            except Exception as exc:  # counted, reported
                with lock:
                    counts["errors"] += 1
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])

    threads = [
        threading.Thread(target=work, args=(QUERIES[i % len(QUERIES)],)) for i in range(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    return {
        "clients": clients,
        "seconds": seconds,
        **counts,
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1) if latencies else None,
        "first_errors": errors[:3],
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tracks", type=int, default=None, help="demo catalog size (app default)")
    p.add_argument("--cache", type=Path, default=None, help="cache folder (default: a temp one)")
    p.add_argument("--skip-cold", action="store_true", help="use --cache as it is (warm only)")
    p.add_argument("--searches", type=int, default=60, help="sequential searches for p50/p95")
    p.add_argument("--clients", type=int, default=10, help="concurrent clients")
    p.add_argument("--concurrent-seconds", type=float, default=30.0, help="concurrent phase")
    args = p.parse_args(argv)

    cache = args.cache or Path(tempfile.mkdtemp(prefix="ttmrpp-bench-cache-"))
    if not args.skip_cold and cache.exists():
        shutil.rmtree(cache)
    log = Path(tempfile.gettempdir()) / "ttmrpp-bench-app.log"
    out: dict = {
        "nproc": os.cpu_count(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "cache": str(cache),
        "log": str(log),
    }
    if not args.skip_cold:
        cold, proc = launch_to_ready(cache, args.tracks, log)
        stop(proc)
        out["cold"] = {k: v for k, v in cold.items() if k != "url"}
    warm, proc = launch_to_ready(cache, args.tracks, log)
    out["warm"] = {k: v for k, v in warm.items() if k != "url"}
    try:
        from gradio_client import Client

        info = Client(warm["url"], verbose=False).predict(api_name="/collection_info")
        out["collection"] = {k: info[k] for k in ("model", "tracks", "search")}
        out["search"] = search_latency(warm["url"], args.searches)
        out["concurrent"] = concurrent_clients(warm["url"], args.clients, args.concurrent_seconds)
    finally:
        stop(proc)
    out["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    out["targets"] = {"cold_ready_s": 180, "warm_ready_s": 20, "search_p50_ms": 300}
    print(json.dumps(out, indent=2))
    if args.cache is None:
        shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()

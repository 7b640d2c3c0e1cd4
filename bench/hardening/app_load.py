"""The load probe of the web app: visitors at once, each mixing text searches, template
captions and uploads; requests, errors and p50/p95 latency per kind."""

from __future__ import annotations

import os
import random
import statistics
import threading
import time
from pathlib import Path

from bench.fixtures import write_track
from bench.hardening.app_server import GENRES, INSTRUMENTS, client

QUERIES = [
    "rock, electric guitar, energetic",
    "calm piano",
    "jazz, double bass",
    "dark techno with a drum machine",
    "happy acoustic folk",
    "funk groove with slap bass",
]
LOAD_CLIENTS = 10
LOAD_SECONDS = 30.0
LOAD_MAX_REQUESTS = 2000  # per client: the loop is bounded even if requests get very fast
UPLOADS_PER_CLIENT = 4  # distinct clips each client uploads (later uploads repeat them)


class Tally:
    """Latencies (ms) and errors per kind of request, from many threads."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {"search": [], "caption": [], "upload": []}
        self.errors: dict[str, int] = dict.fromkeys(self.times, 0)
        self.first_errors: list[str] = []
        self._lock = threading.Lock()

    def answered(self, kind: str, ms: float) -> None:
        """Count a request answered as expected after `ms` milliseconds."""
        with self._lock:
            self.times[kind].append(ms)

    def failed(self, kind: str, exc: Exception) -> None:
        """Count a failed request; the first three are kept for the report."""
        with self._lock:
            self.errors[kind] += 1
            if len(self.first_errors) < 3:
                self.first_errors.append(f"{kind}: {type(exc).__name__}: {exc}"[:200])

    def kinds(self) -> dict[str, dict]:
        """Requests, errors and p50/p95 latency per kind."""
        kinds = {}
        for kind, ms in self.times.items():
            ms.sort()
            kinds[kind] = {
                "requests": len(ms) + self.errors[kind],
                "errors": self.errors[kind],
                "p50_ms": round(statistics.median(ms), 1) if ms else None,
                "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 1) if ms else None,
            }
        return kinds


def load_clips(root: Path, clients: int) -> list[list[Path]]:
    """`UPLOADS_PER_CLIENT` distinct clips per client, under `root/load`."""
    return [
        [
            write_track(root / "load" / f"c{c}" / f"clip{i}.wav", seed=5000 + 10 * c + i)
            for i in range(UPLOADS_PER_CLIENT)
        ]
        for c in range(clients)
    ]


def request(c, kind: str, rng: random.Random, clip: Path) -> bool:
    """Make one request of `kind` with client `c`; whether the answer is the expected one."""
    from gradio_client import handle_file

    if kind == "search":
        message, table, _ = c.predict(rng.choice(QUERIES), 5, api_name="/search_text")
        return "tracks for" in message and len(table["data"]) == 5
    if kind == "caption":
        tags = ", ".join(rng.sample(GENRES + INSTRUMENTS, 3))
        out = c.predict(tags, "", api_name="/caption_compare")
        return out["template"]["caption"].startswith("This music features")
    report, _ = c.predict([handle_file(str(clip))], api_name="/index_files")
    return report.startswith("Indexed")


def visitor(url: str, n: int, clips: list[Path], seconds: float, tally: Tally) -> None:
    """Visitor `n`: requests for `seconds` (6 in 10 searches, 3 captions, 1 upload of its
    clips in turn), each timed and checked into `tally`."""
    rng = random.Random(n)
    c = client(url)
    end = time.time() + seconds
    uploads = 0
    for i in range(LOAD_MAX_REQUESTS):
        if time.time() >= end:
            break
        roll = (i + n) % 10
        kind = "search" if roll < 6 else "caption" if roll < 9 else "upload"
        clip = clips[uploads % UPLOADS_PER_CLIENT]
        if kind == "upload":
            uploads += 1
        t0 = time.perf_counter()
        try:
            if not request(c, kind, rng, clip):
                raise AssertionError(f"unexpected answer for {kind}")
            tally.answered(kind, 1000 * (time.perf_counter() - t0))
        except Exception as exc:  # counted and reported
            tally.failed(kind, exc)


def load_probe(
    url: str, root: Path, clients: int = LOAD_CLIENTS, seconds: float = LOAD_SECONDS
) -> dict:
    """`clients` visitors for `seconds`, each mixing text searches (6 in 10 requests), template
    captions (3 in 10) and uploads (1 in 10); every answer is checked."""
    clips = load_clips(root, clients)
    tally = Tally()
    load_before = os.getloadavg()[0]
    threads = [
        threading.Thread(target=visitor, args=(url, n, clips[n], seconds, tally))
        for n in range(clients)
    ]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    kinds = tally.kinds()
    requests = sum(k["requests"] for k in kinds.values())
    errors = sum(tally.errors.values())
    return {
        "probe": "load",
        "clients": clients,
        "seconds": round(wall, 1),
        "requests": requests,
        "errors": errors,
        "per_second": round(requests / wall, 1),
        "kinds": kinds,
        "loadavg_before": round(load_before, 2),
        "cpus": os.cpu_count(),
        "first_errors": tally.first_errors,
        "ok": errors == 0,
    }

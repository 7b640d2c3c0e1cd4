"""The `concurrency` probe of `bench/hardening/index.py`: for a while, threads add tracks (each
searched for as soon as `add_embeddings` returns), remove tracks, search (with and without
filters), read `tracks`/`embeddings`/`alive_rows`/`vectors_for`/`len`, and save, all on one
index. Counts exceptions, added tracks a search did not find, and whether the index ends
holding exactly the tracks added and not removed."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.hardening.index_fixtures import make_index, records, unit_vectors
from ttmrpp.search.index import MusicIndex


class Workload:
    """One concurrency run: the index, what its threads expect of it, and what they counted.
    Each operation (`add`, `remove`, `search`, `save`) is one step a thread repeats."""

    def __init__(self, index: MusicIndex, start_n: int, folder: Path) -> None:
        self.index, self.start_n, self.folder = index, start_n, folder
        self.pinned = [f"/virtual/{i}.wav" for i in range(100)]  # never removed
        self.removable = [f"/virtual/{i}.wav" for i in range(100, start_n)]
        self.live = set(self.pinned) | set(self.removable)  # what the index should hold
        self.book = threading.Lock()  # guards removable and live
        self.errors: list[str] = []
        self.counts = Counter()
        self.not_found: list[str] = []
        self.latencies: list[float] = []
        self.stop = threading.Event()
        self.ids = iter(range(10**6, 10**9))
        self.ids_lock = threading.Lock()
        self.rng = random.Random(0)
        self.qrng = np.random.default_rng(1)

    def thread(self, fn: Callable[[], None]) -> threading.Thread:
        """A thread repeating `fn` until `stop`, counting what it raises."""

        def run():
            while not self.stop.is_set():
                try:
                    fn()
                except Exception as exc:  # noqa: BLE001 - counted and reported
                    self.errors.append(f"{fn.__name__}: {type(exc).__name__}: {exc}")
                    time.sleep(0.001)

        return threading.Thread(target=run, name=fn.__name__)

    def add(self) -> None:
        """Add 1-4 new tracks, then search for each of them."""
        with self.ids_lock:
            first = next(self.ids)
            n = self.rng.randint(1, 4)
            for _ in range(n - 1):
                next(self.ids)
        recs, vecs = records(first, n), unit_vectors(n, first)
        self.index.add_embeddings(recs, vecs)
        for rec, vec in zip(recs, vecs):
            found = [h.track["path"] for h in self.index.search_vector(vec, k=10)]
            if rec["path"] not in found:
                self.not_found.append(rec["path"])
        with self.book:
            self.live.update(r["path"] for r in recs)
            self.removable.extend(r["path"] for r in recs)
        self.counts["added"] += n

    def remove(self) -> None:
        """Remove 3 random removable tracks (and one never indexed), while enough are left."""
        with self.book:
            if len(self.removable) < self.start_n // 2:
                return
            picked = [self.removable.pop(self.rng.randrange(len(self.removable))) for _ in range(3)]
        self.counts["removed"] += self.index.remove_paths(picked + ["/virtual/never.wav"])
        with self.book:
            self.live.difference_update(picked)
        time.sleep(0.002)

    def search(self) -> None:
        """A plain search (timed) and a filtered one, then the other readers, each checked."""
        index = self.index
        q = unit_vectors(1, int(self.qrng.integers(1 << 30)))[0]
        t0 = time.perf_counter()
        hits = index.search_vector(q, k=10)
        self.latencies.append(time.perf_counter() - t0)
        if [h.rank for h in hits] != list(range(1, 11)):
            raise AssertionError(f"ranks {[h.rank for h in hits]}")
        filtered = index.search_vector(q, k=5, filters={"genre": "a"}, exclude={self.pinned[0]})
        if {h.track["genre"] for h in filtered} != {"a"}:
            raise AssertionError("a filtered search returned other tracks")
        tracks, emb, _ = index.tracks_and_embeddings()
        if len(tracks) != len(emb):
            raise AssertionError("tracks and embeddings differ in length")
        rows = index.alive_rows
        if not (np.diff(rows) > 0).all() or len(index) < len(self.pinned):
            raise AssertionError("alive_rows not ascending")
        index.vectors_for(self.pinned)
        self.counts["searches"] += 1

    def save(self) -> None:
        """Save the index into the run's folder, then pause 0.2 s."""
        self.index.save(self.folder)
        self.counts["saves"] += 1
        time.sleep(0.2)


def run_threads(work: Workload, seconds: float) -> float:
    """Run 2 adders, 1 remover, 4 searchers and 1 saver for `seconds`; the seconds taken."""
    ops = (work.add, work.add, work.remove, work.search, work.search, work.search, work.search)
    threads = [work.thread(f) for f in (*ops, work.save)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    work.stop.set()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def saved_paths(index: MusicIndex) -> set[str]:
    """Paths of an index's live tracks."""
    return {t["path"] for t in index.tracks}


def tally(method: str, work: Workload, elapsed: float) -> dict:
    """The probe's row: the counts, the final checks (the index and its last save), latencies."""
    index, lat = work.index, np.array(work.latencies) * 1e3
    final = {t["path"] for t in index.tracks}
    saved = MusicIndex.load(work.folder)
    return {
        "probe": "concurrency",
        "method": method,
        "seconds": round(elapsed, 1),
        "threads": "2 adders, 1 remover, 4 searchers, 1 saver",
        "tracks_at_start": work.start_n,
        "tracks_at_end": len(index),
        "added": work.counts["added"],
        "removed": work.counts["removed"],
        "searches": work.counts["searches"],
        "saves": work.counts["saves"],
        "exceptions": len(work.errors),
        "exception_samples": sorted(set(work.errors))[:5],
        "added_not_findable": len(work.not_found),
        "final_tracks_as_expected": final == work.live,
        "last_save_loads": len(saved) == len(saved.tracks)
        and set(work.pinned) <= saved_paths(saved),
        "search_p50_ms": round(float(np.percentile(lat, 50)), 3) if len(lat) else None,
        "search_p99_ms": round(float(np.percentile(lat, 99)), 3) if len(lat) else None,
        "search_max_ms": round(float(lat.max()), 1) if len(lat) else None,
    }


def concurrency_probe(method: str, seconds: float, folder: Path) -> dict:
    """One concurrency run on an index searched by `method` ("exact", "hnsw" or "scan"),
    saving into `folder`; its JSON-able row."""
    start_n = 2000 if method == "exact" else 3000
    work = Workload(make_index(start_n, method), start_n, folder)
    elapsed = run_threads(work, seconds)
    return tally(method, work, elapsed)

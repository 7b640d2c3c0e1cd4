"""MusicIndex under concurrent use: threads changing and searching at once."""

from __future__ import annotations

import random
import threading
import time

import numpy as np
import pytest

from tests.helpers.search import unit_vectors, virtual_records

pytest.importorskip("hnswlib")

from ttmrpp.search.index import MusicIndex  # noqa: E402

DIM = 32


@pytest.fixture()
def small_limits(monkeypatch):
    """HNSW from 200 tracks on, so that small indexes exercise the graph."""
    import ttmrpp.search.backends.choice as choice

    monkeypatch.setattr(choice, "EXACT_LIMIT", 200)


def make_index(n: int, method: str = "auto", seed: int = 0) -> MusicIndex:
    index = MusicIndex("fingerprint", DIM)
    index.method = method
    index.add_embeddings(virtual_records(0, n), unit_vectors(n, DIM, seed))
    return index


# -- threads ----------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["exact", "hnsw"])
def test_concurrent_changes_searches_and_saves(method, monkeypatch, tmp_path):
    if method == "hnsw":
        import ttmrpp.search.backends.choice as choice

        monkeypatch.setattr(choice, "EXACT_LIMIT", 200)
    index = make_index(300, method="hnsw" if method == "hnsw" else "auto")
    assert index.search_method == method
    pinned = [f"/virtual/{i}.wav" for i in range(40)]  # never removed
    removable = [f"/virtual/{i}.wav" for i in range(40, 300)]
    live = set(pinned) | set(removable)  # what the index must hold at the end
    book = threading.Lock()  # guards `live` and `removable` (the test's own bookkeeping)
    errors, misses, counts = [], [], {"added": 0, "removed": 0, "searches": 0, "saves": 0}
    stop = threading.Event()

    def guarded(fn):
        def run():
            try:
                while not stop.is_set():
                    fn()
            except BaseException as exc:  # pragma: no cover - only on failure
                errors.append(f"{fn.__name__}: {type(exc).__name__}: {exc}")
                stop.set()

        return threading.Thread(target=run, name=fn.__name__)

    next_id = iter(range(1000, 10**6))
    rng_add, rng_rm, rng_q = random.Random(1), random.Random(2), np.random.default_rng(3)

    def adder():
        n = rng_add.randint(1, 3)
        first = next(next_id)
        for _ in range(n - 1):
            next(next_id)
        recs, vecs = virtual_records(first, n), unit_vectors(n, DIM, first)
        index.add_embeddings(recs, vecs)
        for rec, vec in zip(recs, vecs):  # findable as soon as add_embeddings returns
            if rec["path"] not in [h.track["path"] for h in index.search_vector(vec, k=5)]:
                misses.append(rec["path"])
        with book:
            live.update(r["path"] for r in recs)
            removable.extend(r["path"] for r in recs)
        counts["added"] += n

    def remover():
        with book:
            if len(removable) < 50:
                return
            path = removable.pop(rng_rm.randrange(len(removable)))
        assert index.remove_paths([path, "/virtual/never-indexed.wav"]) == 1
        with book:
            live.discard(path)
        counts["removed"] += 1
        time.sleep(0.001)

    def searcher():
        q = unit_vectors(1, DIM, int(rng_q.integers(1 << 30)))[0]
        hits = index.search_vector(q, k=10)
        assert [h.rank for h in hits] == list(range(1, 11))
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        rock = index.search_vector(q, k=5, filters={"genre": "a"}, exclude={pinned[0]})
        assert {h.track["genre"] for h in rock} == {"a"}
        assert pinned[0] not in [h.track["path"] for h in rock]
        tracks, emb, _ = index.tracks_and_embeddings()
        assert len(tracks) == len(emb) and np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)
        rows = index.alive_rows
        assert (np.diff(rows) > 0).all() and len(index) >= len(pinned)
        assert index.vectors_for(pinned).shape == (len(pinned), DIM)
        counts["searches"] += 1

    def saver():
        index.save(tmp_path / "idx")
        counts["saves"] += 1
        time.sleep(0.05)

    threads = [guarded(f) for f in (adder, remover, searcher, searcher, searcher, saver)]
    for t in threads:
        t.start()
    time.sleep(2.0)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert misses == []
    assert counts["added"] >= 20 and counts["removed"] >= 20 and counts["searches"] >= 20
    assert counts["saves"] >= 1
    assert {t["path"] for t in index.tracks} == live and len(index) == len(live)
    # the last save is a whole index of one moment
    saved = MusicIndex.load(tmp_path / "idx")
    assert len(saved) == len(saved.tracks) and set(pinned) <= {t["path"] for t in saved.tracks}


def test_read_write_lock_rules():
    from ttmrpp.search.locks import ReadWriteLock

    lock, order = ReadWriteLock(), []
    writing, finish = threading.Event(), threading.Event()

    def writer():
        with lock.write():
            order.append("w")
            with lock.read(), lock.write():  # the writer may read and write again
                pass
            writing.set()
            finish.wait(5)

    def reader():
        with lock.read():
            order.append("r")

    lock.acquire_read()
    w = threading.Thread(target=writer)
    w.start()
    time.sleep(0.1)
    assert order == []  # the writer waits for the reader
    r = threading.Thread(target=reader)
    r.start()
    time.sleep(0.1)
    assert order == []  # a new reader waits behind the waiting writer
    with lock.read():  # but a thread already reading may read again
        pass
    lock.release_read()
    assert writing.wait(5)
    time.sleep(0.1)
    assert order == ["w"]  # readers wait while the writer writes
    with pytest.raises(RuntimeError, match="not held by this thread"):
        lock.release_write()
    finish.set()
    w.join(5)
    r.join(5)
    assert order == ["w", "r"]
    with pytest.raises(RuntimeError, match="cannot take the write lock"), lock.read():
        lock.acquire_write()

"""MusicIndex under concurrent use and on damaged disks: threads changing and searching at
once, damaged index files (loaded in child processes, so a crash fails the test instead of
killing pytest), saves racing from threads and processes, crashes mid-save, fsync."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.search import (
    check_results,
    strip_checksums,
    unit_vectors,
    virtual_records,
)

pytest.importorskip("hnswlib")

from ttmrpp.search.backends.hnsw import exact_topk  # noqa: E402
from ttmrpp.search.index import IndexDamagedError, MusicIndex  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DIM = 32
FILES = ("index.json", "tracks.jsonl", "embeddings.npy", "hnsw.bin")


@pytest.fixture()
def small_limits(monkeypatch):
    """HNSW from 200 tracks on, so that small indexes exercise the graph."""
    import ttmrpp.search.backends.choice as choice

    monkeypatch.setattr(choice, "EXACT_LIMIT", 200)


def make_index(n: int, method: str = "auto", seed: int = 0) -> MusicIndex:
    index = MusicIndex("fingerprint", DIM)
    index.method = method
    index.add_embeddings(virtual_records(0, n), unit_vectors(n, seed, DIM))
    return index


def run_python(code: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter in the repository (so it imports this checkout)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


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
        recs, vecs = virtual_records(first, n), unit_vectors(n, first, DIM)
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
        q = unit_vectors(1, int(rng_q.integers(1 << 30)), DIM)[0]
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
    # at least 2 s, and on a busy machine until every kind of operation has run often enough
    start = time.monotonic()
    while time.monotonic() - start < 2.0 or (
        min(counts["added"], counts["removed"], counts["searches"]) < 20 or not counts["saves"]
    ):
        if time.monotonic() - start > 60 or errors:
            break
        time.sleep(0.05)
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


def test_read_write_lock_is_phase_fair():
    """Readers waiting when a writer finishes go before the next writer (a stream of
    changes does not starve the searches), and vice versa. Threads are queued by watching the
    lock's own waiting counts, not by sleeping, so a busy machine cannot reorder them; which of
    two waiting writers goes first is not promised."""
    from ttmrpp.search.locks import ReadWriteLock

    lock, order = ReadWriteLock(), []

    def run(kind, name):
        with lock.write() if kind == "w" else lock.read():
            order.append(name)
            time.sleep(0.02)

    def queue(steps):
        threads = []
        for kind, name in steps:
            before = (lock._readers_waiting, lock._writers_waiting)
            threads.append(threading.Thread(target=run, args=(kind, name)))
            threads[-1].start()
            deadline = time.monotonic() + 10
            while (lock._readers_waiting, lock._writers_waiting) == before:  # now waiting
                assert time.monotonic() < deadline, f"{name} never queued"
                time.sleep(0.001)
        return threads

    lock.acquire_write()
    threads = queue([("r", "r1"), ("w", "w2"), ("r", "r2"), ("w", "w3")])
    lock.release_write()
    for t in threads:
        t.join(10)
    # both readers waited through the first write; then the writers, one each
    assert sorted(order[:2]) == ["r1", "r2"] and sorted(order[2:]) == ["w2", "w3"]
    order.clear()
    lock.acquire_read()  # a reader holds; a writer queues; then readers and a writer
    threads = queue([("w", "w1"), ("r", "r1"), ("w", "w2"), ("r", "r2")])
    lock.release_read()
    for t in threads:
        t.join(10)
    # one writer, then both readers that waited for it, then the other writer
    assert {order[0], order[3]} == {"w1", "w2"} and sorted(order[1:3]) == ["r1", "r2"]


def random_specs(folder: Path, per_file: int, seed: int, files=FILES) -> list[dict]:
    rng = random.Random(seed)
    specs = []
    for name in files:
        size = (folder / name).stat().st_size
        for i in range(per_file):
            if i % 2:
                specs.append(
                    {"file": name, "offset": rng.randrange(size), "xor": 1 << rng.randrange(8)}
                )
            else:
                specs.append({"file": name, "truncate": rng.randrange(size)})
    return specs


def run_trials(folder: Path, specs: list[dict]) -> list[dict]:
    spec_file = folder.parent / "specs.json"
    spec_file.write_text(json.dumps(specs))
    code = (
        "import json, sys\n"
        "from tests.helpers.search import damage_trials\n"
        "specs = json.load(open(sys.argv[2]))\n"
        "print(json.dumps(damage_trials(sys.argv[1], specs)))\n"
    )
    done = run_python(code, str(folder), str(spec_file))
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture()
def hnsw_folder(small_limits, tmp_path) -> Path:
    index = make_index(400, method="hnsw")
    index.remove_paths([f"/virtual/{i}.wav" for i in range(0, 400, 37)])  # deleted rows too
    assert index.search_method == "hnsw"
    return index.save(tmp_path / "idx")


def test_damaged_files_are_repaired_or_named(hnsw_folder):
    results = run_trials(hnsw_folder, random_specs(hnsw_folder, per_file=8, seed=0))
    assert len(results) == 32
    for r in results:
        where = {k: r[k] for k in ("file", "truncate", "offset", "xor") if k in r}
        if r["file"] == "hnsw.bin":  # every change is caught and the graph rebuilt
            assert r["outcome"] == "repaired" and r["warned"], (where, r)
            assert r["repaired"] == ["hnsw.bin"]
        elif r["outcome"] == "ok":  # index.json cut after its closing brace: still whole
            assert r["file"] == "index.json" and r.get("truncate", 0) > 0, (where, r)
        else:
            assert r["outcome"] == "named" and r["named"] == r["file"], (where, r)
            assert "damaged" in r["detail"], (where, r)


def test_damage_to_an_index_saved_before_checksums(hnsw_folder):
    strip_checksums(hnsw_folder)
    loaded = MusicIndex.load(hnsw_folder)  # still loads, graph and all
    assert loaded.search_method == "hnsw" and loaded.repaired == []
    raw = (hnsw_folder / "hnsw.bin").read_bytes()
    n, m = int.from_bytes(raw[16:24], "little"), int.from_bytes(raw[80:88], "little")
    per_element = 4 + 8 * m + 4 * DIM + 8
    first = 96  # element 0's level-0 list: count, then neighbour ids
    crafted = [  # what would send hnswlib outside its memory
        {"file": "hnsw.bin", "offset": first, "put": "ffff0000"},  # too many neighbours
        {"file": "hnsw.bin", "offset": first + 4, "put": (n + 7).to_bytes(4, "little").hex()},
        {"file": "hnsw.bin", "offset": 16, "put": (10**6).to_bytes(8, "little").hex()},  # count
        {"file": "hnsw.bin", "offset": 64, "put": "ffffff7f"},  # top level
        {"file": "hnsw.bin", "offset": first + 8 * m + 4, "put": "0000807f"},  # a vector: inf
        {"file": "hnsw.bin", "offset": first + per_element - 8, "put": "ffff"},  # a label
    ]
    specs = crafted + random_specs(hnsw_folder, 6, seed=1, files=("hnsw.bin", "embeddings.npy"))
    results = run_trials(hnsw_folder, specs)
    for r in results:
        where = {k: r[k] for k in ("file", "truncate", "offset", "xor", "put") if k in r}
        if r["file"] == "hnsw.bin":  # checked against the embeddings before hnswlib sees it
            assert r["outcome"] in ("ok", "repaired"), (where, r)
        elif "xor" in r:  # a flipped bit that keeps a vector near unit norm goes unseen
            assert r["outcome"] in ("named", "altered", "wrong"), (where, r)
            if r["outcome"] == "named":
                assert r["named"] == "embeddings.npy", (where, r)
        else:
            assert r["outcome"] == "named" and r["named"] == "embeddings.npy", (where, r)
    assert all(r["outcome"] == "repaired" for r in results[: len(crafted)])


def test_empty_or_missing_files_are_named(tmp_path):
    folder = make_index(50).save(tmp_path / "idx")
    (folder / "embeddings.npy").write_bytes(b"")
    with pytest.raises(IndexDamagedError, match="embeddings.npy") as err:
        MusicIndex.load(folder)
    assert err.value.path == folder / "embeddings.npy" and isinstance(err.value, ValueError)
    import pickle

    again = pickle.loads(pickle.dumps(err.value))  # crosses process boundaries intact
    assert again.path == err.value.path and str(again) == str(err.value)
    strip_checksums(folder)  # without checksums the empty file is still named
    with pytest.raises(IndexDamagedError, match=r"embeddings.npy: not a readable .npy array"):
        MusicIndex.load(folder)
    (folder / "tracks.jsonl").unlink()
    with pytest.raises(IndexDamagedError, match="tracks.jsonl: missing"):
        MusicIndex.load(folder)
    (folder / "index.json").write_text('{"format": 1, "dim": ')
    with pytest.raises(IndexDamagedError, match="index.json: not valid JSON"):
        MusicIndex.load(folder)


def test_a_repaired_index_saves_sound_again(hnsw_folder):
    index = MusicIndex.load(hnsw_folder)
    before = [h.track["path"] for h in index.search_vector(index.embeddings[5], k=10)]
    data = bytearray((hnsw_folder / "hnsw.bin").read_bytes())
    data[200] ^= 0x10
    (hnsw_folder / "hnsw.bin").write_bytes(bytes(data))
    repaired = MusicIndex.load(hnsw_folder)
    assert repaired.repaired == ["hnsw.bin"] and repaired.search_method == "hnsw"
    assert repaired.ef >= 10 and repaired.calibrated_recall >= 0.9
    queries = unit_vectors(20, 5, DIM)
    tracks, emb = index.tracks, index.embeddings
    truth = [{tracks[i]["path"] for i in row} for row in exact_topk(emb, queries, 10)[0]]
    assert check_results(repaired, (tracks, emb, queries, truth)) == (None, 0.0)
    assert [h.track["path"] for h in repaired.search_vector(emb[5], k=10)][0] == before[0]
    repaired.add_embeddings(virtual_records(5000, 1), unit_vectors(1, 5000, DIM))
    repaired.save(hnsw_folder)
    again = MusicIndex.load(hnsw_folder)
    assert again.repaired == [] and len(again) == len(index) + 1


# -- saves --------------------------------------------------------------------------------------
SAVER = """
import sys
from tests.helpers.search import unit_vectors, virtual_records
import ttmrpp.search.backends.choice as choice
from ttmrpp.search.index import MusicIndex
choice.EXACT_LIMIT = 200
who, folder, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
index = MusicIndex("fingerprint", 32)
index.method = "hnsw"
n = 250 + int(who)
index.add_embeddings(virtual_records(0, n, saver=who), unit_vectors(n, int(who), 32))
for _ in range(rounds):
    index.save(folder)
print("saved", who)
"""


def assert_one_whole_index(folder: Path, savers: dict[str, int]) -> None:
    """`folder` holds exactly one saver's complete index; nothing is left beside it."""
    index = MusicIndex.load(folder)
    who = {t["saver"] for t in index.tracks}
    assert len(who) == 1 and len(index) == savers[who.pop()]
    assert index.repaired == []
    beside = sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}"))
    assert beside == [f".{folder.name}.lock"]


def test_concurrent_saves_from_threads_and_processes(small_limits, tmp_path):
    folder = tmp_path / "shared-idx"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SAVER, str(i), str(folder), "3"],
            cwd=REPO,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    savers = {str(i): 250 + i for i in range(3)}
    indexes = {}
    for i in range(3, 7):  # each thread has its own index; two threads share each index
        n = 250 + i
        savers[str(i)] = n
        ix = MusicIndex("fingerprint", DIM)
        ix.method = "hnsw"
        ix.add_embeddings(virtual_records(0, n, saver=str(i)), unit_vectors(n, i, DIM))
        indexes[str(i)] = ix
    errors = []

    def save_rounds(ix):
        try:
            for _ in range(3):
                ix.save(folder)
        except BaseException as exc:  # pragma: no cover - only on failure
            errors.append(exc)

    threads = [
        threading.Thread(target=save_rounds, args=(ix,)) for ix in indexes.values() for _ in "ab"
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
        assert out.startswith("saved")
    assert errors == []
    assert_one_whole_index(folder, savers)


CRASHER = """
import os, sys
import numpy as np
from ttmrpp.search.index import MusicIndex
folder, when = sys.argv[1], sys.argv[2]
index = MusicIndex.load(folder)
index.add_embeddings([{"path": "/virtual/new.wav", "id": "new", "size": 1, "mtime": 1,
                       "saver": "crasher"}], np.ones((1, index.dim), np.float32))
real, calls = os.replace, []
def replace(src, dst):
    calls.append(dst)
    if when == "between" and len(calls) == 2:
        os._exit(3)  # the power goes out: the old index is aside, the new one not in place
    real(src, dst)
os.replace = replace
import shutil
real_rmtree = shutil.rmtree
def rmtree(path, *a, **k):
    if when == "after" and ".old-" in str(path):
        os._exit(3)  # the new index is in place; the old one not yet deleted
    real_rmtree(path, *a, **k)
shutil.rmtree = rmtree
import ttmrpp.search.store as store
def write_hnsw(snapshot, tmp):
    if when == "writing":
        os._exit(3)  # half the files written
store._write_hnsw = write_hnsw
index.save(folder)
"""


@pytest.mark.parametrize("when", ["writing", "between", "after"])
def test_a_crash_mid_save_leaves_what_recovery_fixes(when, tmp_path):
    folder = make_index(30).save(tmp_path / "idx")
    before = [t["path"] for t in MusicIndex.load(folder).tracks]
    done = run_python(CRASHER, str(folder), when)
    assert done.returncode == 3, done.stderr[-3000:]
    leftovers = [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name or ".old-" in p.name]
    assert leftovers  # the crash left something behind
    loaded = MusicIndex.load(folder)  # the load puts a moved-aside index back
    paths = [t["path"] for t in loaded.tracks]
    assert paths == (before + ["/virtual/new.wav"] if when == "after" else before)
    loaded.save(folder)  # the next save clears the rest
    beside = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".idx"))
    assert beside == [".idx.lock"]


def test_save_fsyncs_every_file_and_folder(tmp_path, monkeypatch):
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc to name the descriptors passed to fsync")
    from tests.helpers.search import discriminative_tiny_model

    model = discriminative_tiny_model()
    index = MusicIndex.create(model)
    index.add_embeddings(virtual_records(0, 20), unit_vectors(20, 0, model.config.embed_dim))
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", str(src), str(dst)))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    folder = index.save(tmp_path / "idx", model=model)
    index.save(folder)  # a second save replaces the first (and carries the model over)
    monkeypatch.undo()

    swaps = [i for i, e in enumerate(events) if e[0] == "replace" and e[2] == str(folder)]
    assert len(swaps) == 2
    files = [p.relative_to(folder) for p in folder.rglob("*") if p.is_file()]
    assert {"index.json", "embeddings.npy", "tracks.jsonl"} <= {str(f) for f in files}
    assert any(f.parts[0] == "model" for f in files)
    begin = 0
    for swap in swaps:
        tmp = Path(events[swap][1])
        synced = [e[1] for e in events[begin:swap] if e[0] == "fsync"]

        def last(path, synced=synced):
            return max(i for i, p in enumerate(synced) if p == str(path))

        for rel in files:  # each file, then the folders holding it, before the swap
            assert last(tmp / rel.parent) > last(tmp / rel), rel
        assert last(tmp / "model") < last(tmp) == len(synced) - 1
        begin = swap + 1
        after = [e[1] for e in events[swap + 1 :] if e[0] == "fsync"]
        assert after[0] == str(folder.parent)  # next, the parent: the renames are durable

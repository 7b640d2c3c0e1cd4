"""The `saves` probe of `bench/hardening/index.py`: savers (threads, forked processes, or half
each), each with its own index, save into one folder at once. Counts failed saves and checks
that the folder ends holding one saver's whole index and nothing beside it but the lock file.

Children are forked, so this needs a POSIX system."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path

import numpy as np

from ttmrpp.search.index import MusicIndex


def save_rounds(ix: MusicIndex, folder: Path, rounds: int) -> list[float]:
    """Save `ix` into `folder` `rounds` times; the seconds each save took."""
    took = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        ix.save(folder)
        took.append(time.perf_counter() - t0)
    return took


def fork_saver(ix: MusicIndex, folder: Path, rounds: int) -> tuple[int, int]:
    """Fork a child that runs `save_rounds` and writes its durations (or its error) as JSON
    to a pipe; (child pid, read end of the pipe)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            out = {"took": save_rounds(ix, folder, rounds)}
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            out = {"error": f"{type(exc).__name__}: {exc}"}
        os.write(w, json.dumps(out).encode())
        os._exit(0)
    os.close(w)
    return pid, r


def run_thread_savers(
    indexes: list[MusicIndex], folder: Path, rounds: int, errors: list[str], durations: list[float]
) -> None:
    """Run `save_rounds` for each index in its own thread, all at once, until all finish;
    their durations go to `durations`, what they raise to `errors`."""

    def thread_saver(ix):
        try:
            durations.extend(save_rounds(ix, folder, rounds))
        except Exception as exc:  # noqa: BLE001 - counted and reported
            errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=thread_saver, args=(ix,)) for ix in indexes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def collect_children(
    children: list[tuple[int, int]], errors: list[str], durations: list[float]
) -> None:
    """Wait for the forked savers and read their reports into `durations` and `errors`."""
    for pid, r in children:
        with os.fdopen(r, "rb") as f:
            data = f.read()
        _, status = os.waitpid(pid, 0)
        if not data:
            errors.append(f"process died (status {status})")
            continue
        out = json.loads(data)
        if "error" in out:
            errors.append(out["error"])
        else:
            durations.extend(out["took"])


def final_index(
    folder: Path, indexes: list[MusicIndex], errors: list[str]
) -> tuple[bool, int | None]:
    """(whether `folder` loads as one saver's whole, unrepaired index, that saver or None);
    a failed load goes to `errors`."""
    valid, owner = False, None
    try:
        loaded = MusicIndex.load(folder)
        owners = {t["saver"] for t in loaded.tracks}
        if len(owners) == 1:
            owner = owners.pop()
            valid = len(loaded) == len(indexes[owner]) and not loaded.repaired
    except Exception as exc:  # noqa: BLE001 - reported
        errors.append(f"final load: {type(exc).__name__}: {exc}")
    return valid, owner


def saves_probe(mode: str, indexes: list[MusicIndex], folder: Path, rounds: int = 3) -> dict:
    """Savers (threads, forked processes, or half each) save their index `rounds` times
    into one folder at once."""
    shutil.rmtree(folder, ignore_errors=True)
    n = len(indexes)
    as_process = [mode == "processes" or (mode == "both" and i % 2) for i in range(n)]
    errors: list[str] = []
    durations: list[float] = []
    t0 = time.perf_counter()
    # fork first, before any thread starts
    children = [fork_saver(ix, folder, rounds) for ix, p in zip(indexes, as_process) if p]
    in_threads = [ix for ix, p in zip(indexes, as_process) if not p]
    run_thread_savers(in_threads, folder, rounds, errors, durations)
    collect_children(children, errors, durations)
    elapsed = time.perf_counter() - t0
    valid, owner = final_index(folder, indexes, errors)
    beside = sorted(
        p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}.")
    )
    return {
        "probe": "saves",
        "mode": mode,
        "savers": n,
        "processes": sum(as_process),
        "threads": n - sum(as_process),
        "rounds_each": rounds,
        "saves_succeeded": len(durations),
        "saves_failed": len(errors),
        "error_samples": sorted(set(errors))[:5],
        "final_index_whole": valid,
        "final_index_from_saver": owner,
        "left_beside_folder": beside,
        "tmp_or_old_leftovers": [b for b in beside if ".tmp-" in b or ".old-" in b],
        "seconds": round(elapsed, 1),
        "longest_save_s": round(max(durations), 2) if durations else None,
        "median_save_s": round(float(np.median(durations)), 2) if durations else None,
    }

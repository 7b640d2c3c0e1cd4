"""Damaging an index folder and judging what loading it gives: shared by the index hardening
probes (`bench/hardening/index.py`) and the index safety tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def damage(path: Path, spec: dict) -> None:
    """Damage one file as `spec` says: {"truncate": n} keeps the first n bytes, {"offset": i,
    "xor": m} flips bits of byte i, {"offset": i, "put": hex} overwrites bytes from i."""
    data = bytearray(path.read_bytes())
    if "truncate" in spec:
        data = data[: spec["truncate"]]
    elif "xor" in spec:
        data[spec["offset"]] ^= spec["xor"]
    else:
        new = bytes.fromhex(spec["put"])
        data[spec["offset"] : spec["offset"] + len(new)] = new
    path.write_bytes(bytes(data))


def strip_checksums(folder: Path) -> None:
    """Make an index folder look as if saved before checksums existed."""
    import json

    meta = json.loads((folder / "index.json").read_text())
    for key in ("files", "meta_sha256"):
        meta.pop(key, None)
    (folder / "index.json").write_text(json.dumps(meta, indent=2) + "\n")


def run_in_child(fn, timeout: float) -> dict:
    """fn() -> dict run in a forked child; {"outcome": "crash"} if a signal killed it."""
    import json
    import os
    import select
    import signal
    import time

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(r)
        try:
            result = fn()
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            result = {"outcome": "unnamed", "detail": f"{type(exc).__name__}: {exc}"}
        os.write(w, json.dumps(result).encode())
        os._exit(0)
    os.close(w)
    chunks, deadline = [], time.monotonic() + timeout
    while True:
        ready, _, _ = select.select([r], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(r)
            return {"outcome": "hang"}
        chunk = os.read(r, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return {"outcome": "crash", "detail": signal.Signals(os.WTERMSIG(status)).name}
    if not chunks:
        return {"outcome": "crash", "detail": f"exit status {os.waitstatus_to_exitcode(status)}"}
    return json.loads(b"".join(chunks))


def load_and_check(folder: Path, expected) -> dict:
    """Load a damaged copy and classify what happened (run it in the child)."""
    import logging

    from ttmrpp.search.index import MusicIndex
    from ttmrpp.search.store import IndexDamagedError

    warnings: list[str] = []

    class Record(logging.Handler):
        def emit(self, record):
            warnings.append(record.getMessage())

    logging.getLogger("ttmrpp").addHandler(Record(logging.WARNING))
    logging.getLogger("ttmrpp").propagate = False  # keep the log quiet
    names = ("index.json", "tracks.jsonl", "embeddings.npy", "hnsw.bin")
    try:
        index = MusicIndex.load(folder)
    except IndexDamagedError as exc:
        return {"outcome": "named", "named": exc.path.name, "detail": str(exc)}
    except (ValueError, OSError) as exc:
        named = [n for n in names if n in str(exc)]
        return {"outcome": "named" if named else "unnamed", "named": ",".join(named),
                "detail": f"{type(exc).__name__}: {exc}"}  # fmt: skip
    result = {"warned": bool(warnings), "repaired": index.repaired}
    problem, drift = check_results(index, expected)
    if problem:
        return {"outcome": "wrong", "detail": problem, **result}
    if drift:  # vectors changed, results did not (possible only without checksums)
        return {"outcome": "altered", "detail": f"max change {drift:.2g}", **result}
    return {"outcome": "repaired" if index.repaired else "ok", **result}


def check_results(index, expected, min_recall: float = 0.9) -> tuple[str | None, float]:
    """(what is wrong with `index`'s results, or None; the largest change of an embedding)
    against (tracks, embeddings, queries, true top-10 paths): records must be identical,
    every hit's score its true cosine (within 1e-3), hits best first, and recall@10 against
    exact search at least `min_recall`."""
    tracks, emb, queries, truth = expected
    if index.tracks != tracks:
        return "tracks differ", 0.0
    got = index.embeddings
    if got.shape != emb.shape:
        return f"embeddings are {got.shape}, not {emb.shape}", np.inf
    drift = float(np.abs(got - emb).max())
    vec = {t["path"]: v for t, v in zip(tracks, emb)}
    recall = []
    for q, true in zip(queries, truth):
        hits = index.search_vector(q, k=10)
        scores = [h.score for h in hits]
        if any(abs(h.score - float(vec[h.track["path"]] @ q)) > 1e-3 for h in hits):
            return "a hit's score is not its cosine", drift
        if scores != sorted(scores, reverse=True) or [h.rank for h in hits] != list(range(1, 11)):
            return "hits out of order", drift
        recall.append(len(true & {h.track["path"] for h in hits}) / 10)
    if np.mean(recall) < min_recall:
        return f"recall@10 {np.mean(recall):.3f}", drift
    return None, drift

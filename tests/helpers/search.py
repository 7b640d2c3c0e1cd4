"""Helpers shared by the search-engine tests: a tiny model whose audio embeddings differ, and
real audio files written to disk."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

from tests.conftest import music_like

SR = 22050


@cache  # one per seed per test session; tests do not change the model
def discriminative_tiny_model(seed: int = 0):
    """`ttmrpp-tiny` with random weights whose BatchNorm statistics are set from a few clips.

    Fresh random weights shrink the signal through the ResNet until every track embeds to
    the same vector (cosine 1.0000); one training-mode pass over varied audio sets the
    running statistics so that different audio gives different embeddings, as a trained
    model's does. No weights are learned.
    """
    import torch

    import ttmrpp

    torch.manual_seed(seed)
    model = ttmrpp.create_model("ttmrpp-tiny")
    n = int(model.config.clip_seconds * model.config.sample_rate)
    clips = np.stack([music_like(model.config.clip_seconds, SR, 1000 + s)[:n] for s in range(8)])
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None  # cumulative average over the pass
    model.train()
    with torch.no_grad():
        model.encode_audio(torch.from_numpy(clips))
    return model.eval()


def write_track(path: Path, seed: int, seconds: float = 2.0, tags: dict | None = None) -> Path:
    """A toy song as WAV/FLAC/OGG (by suffix), with optional title/artist/album tags."""
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}[path.suffix]
    sf.write(str(path), music_like(seconds, SR, seed), SR, format=fmt)
    if tags:
        import mutagen

        f = mutagen.File(str(path), easy=True)
        for key, value in tags.items():
            f[key] = value
        f.save()
    return path


def unit_vectors(n: int, dim: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def virtual_records(start: int, n: int, **fields) -> list[dict]:
    """Track records for files that need not exist (for `MusicIndex.add_embeddings`)."""
    return [
        {"id": f"t{i}", "path": f"/virtual/{i}.wav", "size": 1, "mtime": 1, "genre": "ab"[i % 2]}
        | fields
        for i in range(start, start + n)
    ]


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


def damage_trials(folder: str, specs: list[dict], timeout: float = 120.0) -> list[dict]:
    """Load copies of the index at `folder`, each with one file damaged by a spec of `damage`
    (plus its "file"), each in a forked child so that a crash is seen as a crash. Meant to
    run in a fresh process (`python -c`), which imports no threads before forking.

    Returns per spec: outcome "ok" (loaded, results correct), "repaired" (the same after
    rebuilding a file), "altered" (loaded, embeddings changed but results still correct),
    "named" (an error naming a file: `named`), "wrong" (loaded, results
    wrong), "unnamed" (another error), "crash" (killed by a signal) or "hang"; `warned`: a
    warning was logged.
    """
    import shutil
    import tempfile

    from ttmrpp.search.backends.hnsw import exact_topk
    from ttmrpp.search.index import MusicIndex

    pristine = MusicIndex.load(folder)
    tracks, emb = pristine.tracks, pristine.embeddings
    queries = unit_vectors(20, pristine.dim, 99)
    truth = [{tracks[i]["path"] for i in row} for row in exact_topk(emb, queries, 10)[0].tolist()]
    expected = (tracks, emb, queries, truth)
    out = []
    with tempfile.TemporaryDirectory() as scratch:
        for n, spec in enumerate(specs):
            copy = Path(scratch) / f"trial{n}"
            shutil.copytree(folder, copy)
            damage(copy / spec["file"], spec)
            out.append(
                {**spec, **run_in_child(lambda c=copy: _load_and_check(c, expected), timeout)}
            )
            shutil.rmtree(copy)
    return out


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


def _load_and_check(folder: Path, expected) -> dict:
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

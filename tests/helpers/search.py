"""Helpers shared by the search-engine tests: a tiny model whose audio embeddings differ, and
real audio files written to disk."""

from __future__ import annotations

from pathlib import Path

from bench.fixtures import discriminative_tiny_model, write_track  # noqa: F401
from bench.hardening.index_damage import (  # noqa: F401 (re-exported for the tests)
    check_results,
    damage,
    load_and_check,
    run_in_child,
    strip_checksums,
)
from bench.hardening.index_fixtures import records as virtual_records  # noqa: F401
from bench.hardening.index_fixtures import unit_vectors

SR = 22050


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
    queries = unit_vectors(20, 99, pristine.dim)
    truth = [{tracks[i]["path"] for i in row} for row in exact_topk(emb, queries, 10)[0].tolist()]
    expected = (tracks, emb, queries, truth)
    out = []
    with tempfile.TemporaryDirectory() as scratch:
        for n, spec in enumerate(specs):
            copy = Path(scratch) / f"trial{n}"
            shutil.copytree(folder, copy)
            damage(copy / spec["file"], spec)
            out.append(
                {**spec, **run_in_child(lambda c=copy: load_and_check(c, expected), timeout)}
            )
            shutil.rmtree(copy)
    return out

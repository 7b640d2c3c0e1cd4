"""Hardening probes of the search index (`ttmrpp.search.index.MusicIndex`, its folder store).

    python -m bench.hardening.index [--seconds 20] [--trials 100] [--savers 10]

Prints one JSON object per probe:

- `concurrency` (one per search method: exact, HNSW, scan): for `--seconds`, threads add
  tracks (each searched for as soon as `add_embeddings` returns), remove tracks, search (with
  and without filters), read `tracks`/`embeddings`/`alive_rows`/`vectors_for`/`len`, and
  save. Counts exceptions, added tracks a search did not find, and whether the index ends
  holding exactly the tracks added and not removed.
- `damage` (one per index file, with checksums and as saved before checksums existed):
  `--trials` copies of an HNSW index, each with one file truncated at a random length or one
  random bit flipped (half each), each loaded in a forked child that then checks tracks,
  embeddings and 20 searches against the undamaged index. Outcomes: crashes (a signal killed
  the child), hangs, repaired (hnsw.bin rebuilt, results right), named errors (naming the
  damaged file), errors naming another file or none, loaded with right results, altered
  (embeddings changed, results right), silent wrong results.
- `saves` (threads, processes, both at once): `--savers` savers, each with its own index,
  save 3 times each into one folder at once. Counts failed saves, checks that the folder
  ends holding one saver's whole index and nothing beside it but the lock file.

Children are forked, so this needs a POSIX system. The damage probes run first, before any
thread is started. The concurrency probe lives in `index_concurrency.py`, the saves probe in
`index_saves.py`, the random indexes they use in `index_fixtures.py`.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

import ttmrpp.search.backends.choice as choice
from bench.hardening.index_concurrency import concurrency_probe
from bench.hardening.index_damage import damage, load_and_check, strip_checksums
from bench.hardening.index_damage import run_in_child as in_child
from bench.hardening.index_fixtures import make_index, unit_vectors
from bench.hardening.index_saves import saves_probe
from ttmrpp.search.backends.hnsw import exact_topk

FILES = ("index.json", "tracks.jsonl", "embeddings.npy", "hnsw.bin")
log = logging.getLogger("ttmrpp")


# -- damage -----------------------------------------------------------------------------------
def damage_probes(trials: int, scratch: Path) -> list[dict]:
    """One row per index file, with checksums and without: `trials` damaged copies of an HNSW
    index, each loaded and checked in a forked child (scratch space under `scratch`)."""
    pristine = scratch / "pristine"
    index = make_index(2000, "hnsw")
    index.remove_paths([f"/virtual/{i}.wav" for i in range(0, 2000, 23)])  # deleted rows too
    index.save(pristine)
    legacy = scratch / "legacy"
    shutil.copytree(pristine, legacy)
    strip_checksums(legacy)
    tracks, emb = index.tracks, index.embeddings
    queries = unit_vectors(20, 99)
    truth = [{tracks[i]["path"] for i in row} for row in exact_topk(emb, queries, 10)[0]]
    expected = (tracks, emb, queries, truth)
    rows = []
    for source, checksums in ((pristine, True), (legacy, False)):
        for name in FILES:
            rng = random.Random(f"{name}{checksums}")
            size = (source / name).stat().st_size
            outcomes, named_as, warned, details = Counter(), Counter(), 0, Counter()
            t0 = time.perf_counter()
            for t in range(trials):
                spec = (
                    {"truncate": rng.randrange(size)}
                    if t % 2 == 0
                    else {"offset": rng.randrange(size), "xor": 1 << rng.randrange(8)}
                )
                copy = scratch / "trial"
                shutil.copytree(source, copy)
                damage(copy / name, spec)
                result = in_child(lambda c=copy: load_and_check(c, expected), timeout=300)
                shutil.rmtree(copy)
                outcomes[result["outcome"]] += 1
                if result["outcome"] == "named":
                    named_as[result["named"]] += 1
                if result["outcome"] in ("wrong", "unnamed", "crash", "hang"):
                    details[str(result.get("detail"))[:120]] += 1
                warned += bool(result.get("warned"))
            rows.append(
                {
                    "probe": "damage",
                    "file": name,
                    "checksums": checksums,
                    "trials": trials,
                    "truncations": (trials + 1) // 2,
                    "bit_flips": trials // 2,
                    "crashes": outcomes["crash"],
                    "hangs": outcomes["hang"],
                    "repaired": outcomes["repaired"],
                    "repairs_warned": warned,
                    "named_errors": named_as[name],
                    "errors_naming_another_file": outcomes["named"] - named_as[name],
                    "errors_naming_no_file": outcomes["unnamed"],
                    "loaded_right_results": outcomes["ok"],
                    "loaded_altered_embeddings_right_results": outcomes["altered"],
                    "silent_wrong_results": outcomes["wrong"],
                    "problem_samples": dict(details.most_common(3)),
                    "seconds": round(time.perf_counter() - t0, 1),
                }
            )
    return rows


# -- all --------------------------------------------------------------------------------------
def probes(seconds: float = 20.0, trials: int = 100, savers: int = 10) -> list[dict]:
    """All probes at full size, one JSON-able row each (damage first: it forks)."""
    rows: list[dict] = []
    limit = choice.EXACT_LIMIT
    try:
        with tempfile.TemporaryDirectory() as tmp:
            scratch = Path(tmp)
            rows += damage_probes(trials, scratch)
            indexes = [make_index(1200 + i, "hnsw", seed=i, saver=i) for i in range(savers)]
            for mode in ("threads", "processes", "both"):
                rows.append(saves_probe(mode, indexes, scratch / "shared" / "idx"))
            for method in ("exact", "hnsw", "scan"):
                rows.append(concurrency_probe(method, seconds, scratch / f"live-{method}"))
    finally:
        choice.EXACT_LIMIT = limit
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each concurrency run")
    ap.add_argument("--trials", type=int, default=100, help="damaged copies per file")
    ap.add_argument("--savers", type=int, default=10, help="concurrent savers")
    args = ap.parse_args(argv)
    for row in probes(args.seconds, args.trials, args.savers):
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()

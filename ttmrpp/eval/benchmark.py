"""Score one model (or the paper's Random row) on a benchmark manifest: the Table-2 row.

    results = evaluate_model("runs/cpu/model", manifest="bench/manifest.jsonl")

Without a manifest the music world's default benchmark (seed 0, 1,000 held-out tracks) is
built once into the cache folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

CHANCE = "chance"  # the paper's Random row: the expected score of random rankings
PROTOCOLS = ("table2", "labels")


def default_benchmark() -> Path:
    """The default catalog's manifest (600 demo + 1000 benchmark tracks), built once and
    rebuilt when the music world's version changes (it is our cache)."""
    from ttmrpp.assets import cache_dir
    from ttmrpp.world.catalog import CatalogConfig, build_catalog

    return build_catalog(
        cache_dir() / "benchmark-seed0", CatalogConfig(), workers=0, replace_other=True
    )


def evaluate_model(
    spec: str | os.PathLike | None,
    manifest: str | os.PathLike | None = None,
    split: str = "test",
    *,
    official_config: str = "ttmrpp-paper",
    batch_size: int = 16,
    triplets: int = 500,
    seed: int = 0,
    draws: int = 200,
    protocol: str = "table2",
) -> dict[str, Any]:
    """Table-2 metrics of a model on a benchmark manifest.

    Args:
        spec: anything `ttmrpp.load_model` takes (None: the shipped model), or "chance".
        manifest: benchmark JSONL (None: the default benchmark, built once).
        split: evaluate the records of this split ("" for all); other splits' artists still
            count as known for artist similarity.
        official_config: architecture of an authors' `.pth` checkpoint.
        seed: seed of an untrained architecture's weights, or of the chance draws.
        draws: random rankings averaged for "chance".
        protocol: "table2" (the paper's protocols) or "labels" (per-label ROC-AUC by
            category and metadata retrieval: `ttmrpp.eval.labels`, e.g. for the real-music
            benchmark).

    Returns:
        {"model", "manifest", "benchmark_sha256", ...scores, "row"}.
    """
    from ttmrpp.data.records import read_manifest
    from ttmrpp.eval.table2 import chance, evaluate, known_artists
    from ttmrpp.fileio import file_sha256
    from ttmrpp.model.factory import load_model

    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}")
    is_chance = str(spec) == CHANCE
    if is_chance and protocol == "labels":
        raise ValueError("chance needs no run for the labels protocol: ROC-AUC 0.5 by definition")
    model = None if is_chance else load_model(spec, official_config=official_config, seed=seed)
    manifest = Path(manifest) if manifest else default_benchmark()
    everything = read_manifest(manifest, resolve_audio=True)
    records = [r for r in everything if not split or r.get("split") == split]
    if not records:
        raise ValueError(f"{manifest}: no records for split {split!r}")
    known = known_artists(everything, split) if split else None
    if protocol == "labels":
        from ttmrpp.eval.labels import evaluate_labels

        scores = evaluate_labels(model, records, batch_size)
    elif is_chance:
        scores = chance(records, known or None, triplets, draws, seed)
    else:
        scores = evaluate(model, records, known or None, batch_size, triplets)
    return {
        "model": str(spec) if spec is not None else "default",
        "manifest": str(manifest),
        "benchmark_sha256": file_sha256(manifest),
        **scores,
    }

"""Helpers shared by the search-engine tests: a tiny model whose audio embeddings differ, and
real audio files written to disk."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

from bench.hardening.index_damage import (  # noqa: F401 (re-exported for the tests)
    check_results,
    damage,
    load_and_check,
    run_in_child,
    strip_checksums,
)
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
                {**spec, **run_in_child(lambda c=copy: load_and_check(c, expected), timeout)}
            )
            shutil.rmtree(copy)
    return out

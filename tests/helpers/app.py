"""Helpers shared by the app tests: a tiny collection of generated tracks, indexed with a tiny
model whose audio embeddings differ, wrapped in `Services`."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.search import discriminative_tiny_model, write_track

GENRES = ["rock", "jazz", "ambient", "techno", "folk", "funk"]
INSTRUMENTS = ["electric guitar", "piano", "synthesizer", "drum machine", "acoustic guitar", "bass"]
MOODS = ["energetic", "calm", "dreamy", "dark", "happy", "groovy"]


def write_collection(folder: Path, n: int = 6, seconds: float = 2.5) -> Path:
    """`n` generated tracks (WAV) with a manifest in the shared format; returns the manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n):
        rel = f"audio/t{i:03d}.wav"
        write_track(folder / rel, seed=100 + i, seconds=seconds)
        lines.append(
            {
                "id": f"t{i:03d}",
                "audio": rel,
                "duration": seconds,
                "split": "train",
                "tags": {
                    "genre": [GENRES[i % len(GENRES)]],
                    "instrument": [INSTRUMENTS[i % len(INSTRUMENTS)]],
                    "mood": [MOODS[i % len(MOODS)]],
                },
                "title": f"Song {i}",
                "artist": f"Artist {i % 3}",
                "album": f"Album {i % 2}",
            }
        )
    manifest = folder / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in lines))
    return manifest


def make_services(folder: Path, n: int = 6, model=None, captioners=None):
    """Services over a fresh tiny collection in `folder` (index saved to `folder/index`)."""
    from ttmrpp.app.services.common import Services
    from ttmrpp.search.index import MusicIndex

    model = model or discriminative_tiny_model()
    manifest = write_collection(folder / "collection", n)
    index = MusicIndex.create(model, "ttmrpp-tiny")
    index.update(model, manifest, progress=False)
    index_dir = index.save(folder / "index")
    return Services(
        model=model,
        index=index,
        model_spec="ttmrpp-tiny",
        model_note="test model: random weights",
        collection_name=f"test collection ({n} tracks)",
        index_dir=index_dir,
        upload_dir=folder / "uploads",
        captioner_factory=captioners or template_only,
    )


def template_only() -> dict:
    """The caption lab with the template generator only (no LLM to load)."""
    from ttmrpp.text.captioning.generators import TemplateCaptioner

    return {"template": TemplateCaptioner()}

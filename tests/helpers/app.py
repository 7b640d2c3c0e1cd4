"""Helpers shared by the app tests: a tiny collection of generated tracks, indexed with a tiny
model whose audio embeddings differ, wrapped in `Services`."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

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


def make_services(folder: Path, n: int = 6, model=None, captioners=None, **settings):
    """Services over a fresh tiny collection in `folder` (index saved to `folder/index`,
    uploads kept in `folder/uploads`); `settings` are further `Services` fields."""
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
        **settings,
    )


def template_only() -> dict:
    """The caption lab with the template generator only (no LLM to load)."""
    from ttmrpp.text.captioning.generators import TemplateCaptioner

    return {"template": TemplateCaptioner()}


@contextmanager
def served(services, **build):
    """The app over `services`, launched on 127.0.0.1 as `serve` launches it (nothing in
    allowed_paths, the cache blocked: `launch_settings(services' cache folder)`); yields the
    base URL."""
    import os

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from tests.helpers.browser import free_port
    from ttmrpp.app.blocks import CSS, build_demo
    from ttmrpp.app.launch import launch_settings

    demo = build_demo(services, **build)
    port = free_port()
    cache = Path(services.index_dir).parent
    demo.queue(default_concurrency_limit=4).launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        css=CSS,
        **launch_settings(cache, services.limits),
    )
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


def file_status(base: str, path: str | Path) -> int:
    """The HTTP status of `/gradio_api/file=<path>` (what a browser would get for it)."""
    import httpx

    return httpx.get(f"{base}gradio_api/file={quote(str(path))}", timeout=30).status_code


def http_call(base: str, api: str, data: list) -> tuple[str, object]:
    """One event through Gradio's plain HTTP API (`/gradio_api/call/<api>`), the JSON body
    written by `json.dumps` (so NaN and Infinity go out as such); returns (SSE event, data)."""
    import httpx

    body = json.dumps({"data": data})  # allow_nan: NaN/Infinity literals, as a raw client may
    r = httpx.post(
        f"{base}gradio_api/call/{api}",
        content=body,
        headers={"content-type": "application/json"},
        timeout=30,
    )
    r.raise_for_status()
    stream = httpx.get(f"{base}gradio_api/call/{api}/{r.json()['event_id']}", timeout=120).text
    event = payload = None
    for line in stream.splitlines():
        if line.startswith("event: "):
            event = line[len("event: ") :]
        elif line.startswith("data: "):
            payload = json.loads(line[len("data: ") :])
    return event, payload

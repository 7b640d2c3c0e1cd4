"""The web app as the hardening probes launch it: a tiny model over a few generated tracks,
served on 127.0.0.1 as `ttmrpp.app.launch.serve` serves it, and the clients that call it
(`gradio_client` sessions and plain HTTP requests)."""

from __future__ import annotations

import json
import os
import socket
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from bench.fixtures import discriminative_tiny_model, write_track

TRACKS = 6
GENRES = ["rock", "jazz", "ambient", "techno", "folk", "funk"]
INSTRUMENTS = ["electric guitar", "piano", "synthesizer", "drum machine", "acoustic guitar", "bass"]


def make_services(root: Path):
    """Services over `TRACKS` generated tracks in `root/collection`, cache in `root/cache`,
    one allowed root `root/music`, the template captioner only."""
    from ttmrpp.app.services.common import Services
    from ttmrpp.search.index import MusicIndex
    from ttmrpp.text.captioning.generators import TemplateCaptioner

    collection = root / "collection"
    lines = []
    for i in range(TRACKS):
        write_track(collection / "audio" / f"t{i:03d}.wav", seed=100 + i, seconds=2.5)
        tags = {"genre": [GENRES[i]], "instrument": [INSTRUMENTS[i]]}
        lines.append(
            {
                "id": f"t{i:03d}",
                "audio": f"audio/t{i:03d}.wav",
                "duration": 2.5,
                "split": "train",
                "tags": tags,
                "title": f"Song {i}",
                "artist": f"Artist {i % 3}",
            }
        )
    manifest = collection / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in lines))
    model = discriminative_tiny_model()
    index = MusicIndex.create(model, "ttmrpp-tiny")
    index.update(model, manifest, progress=False)
    (root / "music").mkdir()
    write_track(root / "music" / "allowed.wav", seed=7)
    return Services(
        model=model,
        index=index,
        model_spec="ttmrpp-tiny",
        collection_name="hardening probe",
        index_dir=index.save(root / "cache" / "index"),
        upload_dir=root / "cache" / "uploads",
        captioner_factory=lambda: {"template": TemplateCaptioner()},
        allowed_roots=(root / "music",),
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def launched(services, cache: Path):
    """The app on 127.0.0.1 as `ttmrpp.app.launch.serve` launches it; yields its URL."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from ttmrpp.app.blocks import CSS, build_demo
    from ttmrpp.app.launch import CONCURRENCY, QUEUE_SIZE, launch_settings

    demo = build_demo(services)
    port = free_port()
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE).launch(
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


def client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False)


def file_status(url: str, path: str | Path) -> int:
    import httpx

    return httpx.get(f"{url}gradio_api/file={quote(str(path))}", timeout=30).status_code


def player_url(url: str, query: str) -> tuple[str, str]:
    """(the player's URL after a text search through the plain HTTP API, the top title)."""
    import httpx

    r = httpx.post(f"{url}gradio_api/call/search_text", json={"data": [query, 3]}, timeout=30)
    stream = httpx.get(f"{url}gradio_api/call/search_text/{r.json()['event_id']}", timeout=60)
    data = json.loads(stream.text.split("data: ", 1)[1].splitlines()[0])
    return data[2]["url"], data[1]["data"][0][2]

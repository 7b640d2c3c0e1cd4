"""Hardening probes for the web app: what a visitor on the internet can reach, and how the app
holds up under a mixed load.

Launches the real app (`ttmrpp.app.blocks.build_demo` over a tiny model and a few generated
tracks, launched with `ttmrpp.app.launch.launch_settings` as `serve` launches it) on
127.0.0.1 and drives it with real HTTP requests and `gradio_client` sessions:

- folder: `/index_folder` with paths outside the allowed root (system folders, a missing
  path, a file, a link out of the root), inside it, and with no root configured;
- file: the HTTP status of `/gradio_api/file=` for files a visitor must not get (a file
  beside an indexed track, the index files in the cache, another visitor's upload) and for the
  indexed track the player was handed after a search;
- upload_collision: two different files both named `song.wav`, with the same size;
- session_isolation: one visitor's uploads are not in another visitor's results;
- load: 10 clients for 30 s, each mixing text searches, uploads and template captions;
  requests, errors and p50/p95 latency per kind.

The app is set up and launched by `bench/hardening/app_server.py`; the load probe is
`bench/hardening/app_load.py`.

    python -m bench.hardening.app             # one JSON line per probe
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from contextlib import redirect_stdout
from pathlib import Path

from bench.fixtures import write_track
from bench.hardening.app_load import LOAD_CLIENTS, LOAD_SECONDS, load_probe
from bench.hardening.app_server import (
    client,
    file_status,
    launched,
    make_services,
    player_url,
)


def folder_probes(url: str, services, root: Path) -> list[dict]:
    from ttmrpp.app.services.collection import NOT_ALLOWED

    (root / "outside").mkdir(exist_ok=True)
    write_track(root / "outside" / "private.wav", seed=8)
    link = root / "music" / "way-out"
    if not link.exists():
        link.symlink_to(root / "outside", target_is_directory=True)
    c = client(url)
    cases = {
        "/etc": "/etc",
        "outside the root": str(root / "outside"),
        "missing path": str(root / "no-such-folder"),
        "a file": str(root / "music" / "allowed.wav"),
        "link out of the root": str(link),
        "root/../outside": str(root / "music" / ".." / "outside"),
    }
    rows = []
    before = len(services.index)
    for case, path in cases.items():
        message, _ = c.predict(path, api_name="/index_folder")
        rows.append(
            {
                "probe": "folder",
                "case": case,
                "answer": message,
                "ok": message == f"⚠️ {NOT_ALLOWED}",
            }
        )
    counted = len(services.index) - before
    message, _ = c.predict(str(root / "music"), api_name="/index_folder")
    rows.append(
        {
            "probe": "folder",
            "case": "inside the root",
            "answer": message.splitlines()[0],
            "ok": message.startswith("Indexed 1 new file") and counted == 0,
        }
    )
    roots, services.allowed_roots = services.allowed_roots, ()
    try:
        message, _ = c.predict(str(root / "music"), api_name="/index_folder")
    finally:
        services.allowed_roots = roots
    rows.append(
        {"probe": "folder", "case": "no roots set", "answer": message, "ok": "off" in message}
    )
    return rows


def file_probes(url: str, services, root: Path, other_upload: str | None) -> list[dict]:
    import httpx

    track = Path(services.index.tracks[0]["path"])
    secret = track.parent / "secret.txt"
    secret.write_text("a secret beside an indexed track")
    played, title = player_url(url, "jazz, piano")
    answer = httpx.get(played, timeout=30)
    top = next(t["path"] for t in services.index.tracks if t["title"] == title)
    rows = [
        {
            "probe": "file",
            "case": "indexed track, as handed to the player",
            "status": answer.status_code,
            "ok": answer.status_code == 200 and answer.content == Path(top).read_bytes(),
        }
    ]
    forbidden = {
        "file beside an indexed track": secret,
        "indexed track by its own path": track,
        "the track's folder": track.parent,
        "cache index.json": services.index_dir / "index.json",
        "cache embeddings.npy": services.index_dir / "embeddings.npy",
        "cache tracks.jsonl": services.index_dir / "tracks.jsonl",
        "catalog manifest": root / "collection" / "manifest.jsonl",
        "/etc/passwd": "/etc/passwd",
    }
    if other_upload:
        forbidden["another visitor's upload"] = other_upload
    for case, path in forbidden.items():
        status = file_status(url, path)
        rows.append({"probe": "file", "case": case, "status": status, "ok": status in (403, 404)})
    return rows


def upload_probes(url: str, services, root: Path) -> tuple[list[dict], str | None]:
    from gradio_client import handle_file

    one = write_track(root / "visitor" / "a" / "song.wav", seed=51)
    two = write_track(root / "visitor" / "b" / "song.wav", seed=52)
    alice, bob = client(url), client(url)
    shared = len(services.index)
    report, _ = alice.predict(
        [handle_file(str(one)), handle_file(str(two))], api_name="/index_files"
    )
    stored = sorted(str(p) for p in Path(services.upload_dir).rglob("song.wav"))
    tops = []
    for clip in (one, two):
        _, _, player = alice.predict(handle_file(str(clip)), 1, api_name="/search_audio")
        tops.append(Path(player).read_bytes() == clip.read_bytes())
    collision = {
        "probe": "upload_collision",
        "same_size": one.stat().st_size == two.stat().st_size,
        "report": report.splitlines()[0],
        "stored_files": len(stored),
        "each_plays_its_own": all(tops),
        "ok": len(stored) == 2 and all(tops) and "Indexed 2 new file(s)" in report,
    }
    _, table, _ = alice.predict("song", 10, api_name="/search_text")
    alice_sees = sum(row[2] == "song" for row in table["data"])
    _, table, _ = bob.predict("song", 10, api_name="/search_text")
    bob_sees = sum(row[2] == "song" for row in table["data"])
    _, table, _ = bob.predict(handle_file(str(one)), 5, api_name="/search_audio")
    bob_by_clip = sum(row[2] == "song" for row in table["data"])
    isolation = {
        "probe": "session_isolation",
        "alice_sees_her_uploads": alice_sees,
        "bob_sees_them_by_text": bob_sees,
        "bob_sees_them_by_clip": bob_by_clip,
        "shared_collection_unchanged": len(services.index) == shared,
        "ok": alice_sees == 2 and bob_sees == 0 and bob_by_clip == 0,
    }
    return [collision, isolation], stored[0] if stored else None


def probes(load_seconds: float = LOAD_SECONDS, load_clients: int = LOAD_CLIENTS) -> list[dict]:
    """Launch the app on 127.0.0.1 and run every probe; one JSON-able row per probe."""
    root = Path(tempfile.mkdtemp(prefix="ttmrpp-hardening-"))
    try:
        services = make_services(root)
        with launched(services, root / "cache") as url:
            rows = folder_probes(url, services, root)
            upload_rows, other_upload = upload_probes(url, services, root)
            rows += file_probes(url, services, root, other_upload)
            rows += upload_rows
            rows.append(load_probe(url, root, load_clients, load_seconds))
        return rows
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)  # as the app runs (`TTMRPP_TORCH_THREADS`, default 1)
    with redirect_stdout(sys.stderr):  # Gradio's own notices; stdout holds the JSON lines only
        rows = probes()
    for row in rows:
        print(json.dumps(row, ensure_ascii=False), flush=True)

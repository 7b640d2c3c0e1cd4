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

    python -m bench.hardening.app             # one JSON line per probe
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from urllib.parse import quote

import numpy as np

SR = 22050
TRACKS = 6
GENRES = ["rock", "jazz", "ambient", "techno", "folk", "funk"]
INSTRUMENTS = ["electric guitar", "piano", "synthesizer", "drum machine", "acoustic guitar", "bass"]
QUERIES = [
    "rock, electric guitar, energetic",
    "calm piano",
    "jazz, double bass",
    "dark techno with a drum machine",
    "happy acoustic folk",
    "funk groove with slap bass",
]
LOAD_CLIENTS = 10
LOAD_SECONDS = 30.0
LOAD_MAX_REQUESTS = 2000  # per client: the loop is bounded even if requests get very fast
UPLOADS_PER_CLIENT = 4  # distinct clips each client uploads (later uploads repeat them)


def music_like(seconds: float, seed: int, sr: int = SR) -> np.ndarray:
    """A toy song: decaying harmonic notes over noise bursts, deterministic per seed."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    out = 0.01 * rng.standard_normal(n)
    beat = int(0.25 * sr)
    for i, start in enumerate(range(0, n, beat)):
        f0 = 110.0 * 2 ** (rng.integers(0, 24) / 12)
        seg = slice(start, min(n, start + 2 * beat))
        tt = t[seg] - t[start]
        for h in range(1, 5):
            out[seg] += 0.2 / h * np.exp(-4 * tt) * np.sin(2 * np.pi * f0 * h * tt)
        if i % 2 == 0:
            out[start : start + 800] += 0.3 * rng.standard_normal(len(out[start : start + 800]))
    return (0.8 * out / np.abs(out).max()).astype(np.float32)


def write_clip(path: Path, seed: int, seconds: float = 2.0) -> Path:
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), music_like(seconds, seed), SR)
    return path


def tiny_model():
    """`ttmrpp-tiny` with random weights and BatchNorm statistics set from a few clips, so
    that different audio embeds differently (no weights are learned)."""
    import torch

    import ttmrpp

    torch.manual_seed(0)
    model = ttmrpp.create_model("ttmrpp-tiny")
    n = int(model.config.clip_seconds * model.config.sample_rate)
    clips = np.stack([music_like(model.config.clip_seconds, 1000 + s)[:n] for s in range(8)])
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None
    model.train()
    with torch.no_grad():
        model.encode_audio(torch.from_numpy(clips))
    return model.eval()


def make_services(root: Path):
    """Services over `TRACKS` generated tracks in `root/collection`, cache in `root/cache`,
    one allowed root `root/music`, the template captioner only."""
    from ttmrpp.app.services.common import Services
    from ttmrpp.search.index import MusicIndex
    from ttmrpp.text.captioning.generators import TemplateCaptioner

    collection = root / "collection"
    lines = []
    for i in range(TRACKS):
        write_clip(collection / "audio" / f"t{i:03d}.wav", seed=100 + i, seconds=2.5)
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
    model = tiny_model()
    index = MusicIndex.create(model, "ttmrpp-tiny")
    index.update(model, manifest, progress=False)
    (root / "music").mkdir()
    write_clip(root / "music" / "allowed.wav", seed=7)
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


# -- probes -------------------------------------------------------------------------------
def folder_probes(url: str, services, root: Path) -> list[dict]:
    from ttmrpp.app.services.collection import NOT_ALLOWED

    (root / "outside").mkdir(exist_ok=True)
    write_clip(root / "outside" / "private.wav", seed=8)
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

    one = write_clip(root / "visitor" / "a" / "song.wav", seed=51)
    two = write_clip(root / "visitor" / "b" / "song.wav", seed=52)
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


def load_probe(
    url: str, root: Path, clients: int = LOAD_CLIENTS, seconds: float = LOAD_SECONDS
) -> dict:
    """`clients` visitors for `seconds`, each mixing text searches (6 in 10 requests), template
    captions (3 in 10) and uploads (1 in 10); every answer is checked."""
    from gradio_client import handle_file

    clips = [
        [
            write_clip(root / "load" / f"c{c}" / f"clip{i}.wav", seed=5000 + 10 * c + i)
            for i in range(UPLOADS_PER_CLIENT)
        ]
        for c in range(clients)
    ]
    times: dict[str, list[float]] = {"search": [], "caption": [], "upload": []}
    errors: dict[str, int] = dict.fromkeys(times, 0)
    first_errors: list[str] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        rng = random.Random(n)
        c = client(url)
        end = time.time() + seconds
        uploads = 0
        for i in range(LOAD_MAX_REQUESTS):
            if time.time() >= end:
                break
            roll = (i + n) % 10
            kind = "search" if roll < 6 else "caption" if roll < 9 else "upload"
            t0 = time.perf_counter()
            try:
                if kind == "search":
                    message, table, _ = c.predict(rng.choice(QUERIES), 5, api_name="/search_text")
                    ok = "tracks for" in message and len(table["data"]) == 5
                elif kind == "caption":
                    tags = ", ".join(rng.sample(GENRES + INSTRUMENTS, 3))
                    out = c.predict(tags, "", api_name="/caption_compare")
                    ok = out["template"]["caption"].startswith("This music features")
                else:
                    clip = clips[n][uploads % UPLOADS_PER_CLIENT]
                    uploads += 1
                    report, _ = c.predict([handle_file(str(clip))], api_name="/index_files")
                    ok = report.startswith("Indexed")
                if not ok:
                    raise AssertionError(f"unexpected answer for {kind}")
                with lock:
                    times[kind].append(1000 * (time.perf_counter() - t0))
            except Exception as exc:  # counted and reported
                with lock:
                    errors[kind] += 1
                    if len(first_errors) < 3:
                        first_errors.append(f"{kind}: {type(exc).__name__}: {exc}"[:200])

    load_before = os.getloadavg()[0]
    threads = [threading.Thread(target=work, args=(n,)) for n in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    kinds = {}
    for kind, ms in times.items():
        ms.sort()
        kinds[kind] = {
            "requests": len(ms) + errors[kind],
            "errors": errors[kind],
            "p50_ms": round(statistics.median(ms), 1) if ms else None,
            "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 1) if ms else None,
        }
    requests = sum(k["requests"] for k in kinds.values())
    return {
        "probe": "load",
        "clients": clients,
        "seconds": round(wall, 1),
        "requests": requests,
        "errors": sum(errors.values()),
        "per_second": round(requests / wall, 1),
        "kinds": kinds,
        "loadavg_before": round(load_before, 2),
        "cpus": os.cpu_count(),
        "first_errors": first_errors,
        "ok": sum(errors.values()) == 0,
    }


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

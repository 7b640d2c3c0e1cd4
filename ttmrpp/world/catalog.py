"""The seeded catalog: a demo catalog for the app plus a held-out benchmark split.

Layout of the output folder:
    manifest.jsonl   one record per track (shared manifest format), demo then benchmark
    audio/<id>.opus  Ogg Opus, mono
    midi/<id>.mid    the score each track was rendered from
    artists.json     artist profiles, the similarity graph and which artists are held out
    catalog.json     the build settings (a rerun with other settings is refused)

Safe to interrupt: finished tracks are appended to manifest.partial.jsonl and skipped on rerun;
the final manifest is written to a temp file and renamed.
"""

from __future__ import annotations

import io
import json
import logging
import os
import random
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from ttmrpp.fileio import atomic_write_bytes, atomic_write_jsonl
from ttmrpp.world.captions import reference_captions
from ttmrpp.world.classical import composer_graph, make_classical_track
from ttmrpp.world.repertoire import PIECES, pieces_for_split
from ttmrpp.world.stream import WORLD_SEED, for_split, world

RECORD_KEYS = (
    "id",
    "audio",
    "duration",
    "split",
    "tags",
    "bpm",
    "key",
    "title",
    "artist",
    "album",
    "similar_artists",
    "captions",
)
logger = logging.getLogger(__name__)
GENERATOR_VERSION = "4"  # bump when the same settings would render different tracks
OPUS_RATE = 24000  # Opus encodes at 8/12/16/24/48 kHz; 24 kHz keeps everything below 11 kHz


@dataclass(frozen=True)
class CatalogConfig:
    """Build settings; the catalog is a pure function of them."""

    seed: int = 0  # drives every track
    tracks: int = 600  # demo catalog size (train + valid)
    benchmark_tracks: int = 1000  # held-out test split
    seconds: float = 20.0  # music length per track (the audio adds a short release tail)
    sample_rate: int = 22050  # render rate
    classical_fraction: float = 0.08  # share of corpus pieces
    bitrate: int = 20000  # Opus bits per second (mono, 24 kHz)
    world_seed: int = WORLD_SEED


@dataclass(frozen=True)
class Job:
    id: str
    split: str
    seed: int
    artist: str | None  # fictional artist name
    piece: int | None  # index into classical.PIECES


def plan(cfg: CatalogConfig) -> list[Job]:
    """Every track of the catalog, in manifest order."""
    arts = world(cfg.world_seed)
    train_art = [a.name for a in arts if not a.heldout]
    held_art = [a.name for a in arts if a.heldout]
    train_pieces = [PIECES.index(p) for p in pieces_for_split("train")]
    test_pieces = [PIECES.index(p) for p in pieces_for_split("test")]
    rng = random.Random(f"catalog-{cfg.seed}")
    jobs = []
    order = train_art[:]
    n_classical = int(round(cfg.tracks * cfg.classical_fraction))
    classical_at = set(rng.sample(range(cfg.tracks), n_classical)) if cfg.tracks else set()
    k = 0
    for i in range(cfg.tracks):
        split = "valid" if i % 10 == 9 else "train"
        if i in classical_at:
            jobs.append(
                Job(
                    f"t{i:06d}",
                    split,
                    rng.randrange(2**31),
                    None,
                    train_pieces[k % len(train_pieces)],
                )
            )
            k += 1
            continue
        if i % len(order) == 0:
            rng.shuffle(order)  # every artist gets tracks before any gets another
        jobs.append(Job(f"t{i:06d}", split, rng.randrange(2**31), order[i % len(order)], None))
    for i in range(cfg.benchmark_tracks):
        r = rng.random()
        if r < 0.1:
            jobs.append(
                Job(f"b{i:06d}", "test", rng.randrange(2**31), None, rng.choice(test_pieces))
            )
        else:
            pool = held_art if r < 0.6 else train_art
            jobs.append(Job(f"b{i:06d}", "test", rng.randrange(2**31), rng.choice(pool), None))
    return jobs


def encode_opus(audio: np.ndarray, sample_rate: int, bitrate: int = 20000) -> bytes:
    """Mono Ogg Opus bytes, bit-exact for the same input (fixed Ogg serial, no encoder tag)."""
    import av
    import soxr

    y = audio if sample_rate == OPUS_RATE else soxr.resample(audio, sample_rate, OPUS_RATE)
    y = np.ascontiguousarray(y, dtype=np.float32)[None, :]
    buf = io.BytesIO()
    with av.open(buf, "w", format="ogg", options={"fflags": "+bitexact"}) as out:
        st = out.add_stream("libopus", rate=OPUS_RATE)
        st.bit_rate = bitrate
        st.layout = "mono"
        st.options = {"compression_level": "5"}
        frame = av.AudioFrame.from_ndarray(y, format="flt", layout="mono")
        frame.sample_rate = OPUS_RATE
        for p in st.encode(frame):
            out.mux(p)
        for p in st.encode(None):
            out.mux(p)
    return buf.getvalue()


def render_job(job: Job, cfg: CatalogConfig, out: Path) -> dict:
    """Render one track, write its audio and MIDI, and return its manifest record."""
    from ttmrpp.world.track import make_track

    if job.piece is not None:
        t = make_classical_track(
            PIECES[job.piece], job.seed, seconds=cfg.seconds, sample_rate=cfg.sample_rate
        )
    else:
        artist = next(a for a in world(cfg.world_seed) if a.name == job.artist)
        t = make_track(job.seed, artist, seconds=cfg.seconds, sample_rate=cfg.sample_rate)
    audio_rel = f"audio/{job.id}.opus"
    atomic_write_bytes(out / audio_rel, encode_opus(t.audio, cfg.sample_rate, cfg.bitrate))
    midi = io.BytesIO()
    t.midi.write(midi)
    atomic_write_bytes(out / "midi" / f"{job.id}.mid", midi.getvalue())
    rec = {"id": job.id, "audio": audio_rel, "split": job.split, **t.record}
    rec = for_split(rec, job.split, cfg.world_seed)
    if job.split == "test":
        rec["captions"] = reference_captions(rec, random.Random(f"captions-{job.seed}"))
    return {k: rec[k] for k in RECORD_KEYS if k in rec}


def _worker(args: tuple[Job, CatalogConfig, str]) -> dict:
    job, cfg, out = args
    return render_job(job, cfg, Path(out))


def build_catalog(
    out: Path,
    cfg: CatalogConfig = CatalogConfig(),
    workers: int = 0,
    progress: bool = True,
    replace_other: bool = False,
) -> Path:
    """Build (or finish building) the catalog in `out`; returns the manifest path.

    Args:
        workers: processes to render with; 0 = all CPU cores.
        replace_other: a folder built with other settings (or by another music-world version)
            is deleted and rebuilt, with a warning; for caches. Otherwise it is refused.
    """
    out = Path(out)
    (out / "audio").mkdir(parents=True, exist_ok=True)
    (out / "midi").mkdir(exist_ok=True)
    settings = json.dumps({"generator": GENERATOR_VERSION, **asdict(cfg)}, indent=1, sort_keys=True)
    meta = out / "catalog.json"
    if meta.exists() and meta.read_text("utf-8") != settings:
        if not replace_other:
            raise ValueError(
                f"{out} holds a catalog built with other settings ({meta}); "
                "use another --out folder or delete it first"
            )
        logger.warning("rebuilding %s: it holds a catalog built with other settings", out)
        shutil.rmtree(out)
        return build_catalog(out, cfg, workers, progress)
    atomic_write_bytes(meta, settings.encode())
    manifest = out / "manifest.jsonl"
    partial = out / "manifest.partial.jsonl"
    jobs = plan(cfg)
    done = _finished_records(out, manifest, partial)
    todo = [j for j in jobs if j.id not in done]
    _write_artists(out / "artists.json", cfg)
    with (
        open(partial, "a", encoding="utf-8") as log,
        _progress_bar(len(jobs), len(jobs) - len(todo), progress) as bar,
    ):
        for rec in _rendered(todo, cfg, out, workers or os.cpu_count() or 1):
            done[rec["id"]] = rec
            log.write(json.dumps(rec, ensure_ascii=False) + "\n")
            log.flush()
            bar.update()
    atomic_write_jsonl(manifest, (done[j.id] for j in jobs))
    partial.unlink(missing_ok=True)
    return manifest


def _finished_records(out: Path, manifest: Path, partial: Path) -> dict[str, dict]:
    """Records of tracks an earlier run finished (from the manifest of a finished catalog and
    the partial log of an interrupted one) whose audio and MIDI files are still there."""
    done: dict[str, dict] = {}
    if manifest.exists():
        for line in manifest.read_text("utf-8").splitlines():
            rec = json.loads(line)
            done[rec["id"]] = rec
    if partial.exists():
        for line in partial.read_text("utf-8").splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by an interruption
            done[rec["id"]] = rec
    return {
        k: r
        for k, r in done.items()
        if (out / r["audio"]).is_file() and (out / "midi" / f"{k}.mid").is_file()
    }


def _progress_bar(total: int, initial: int, progress: bool):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc="catalog", unit="track", disable=not progress)


def _rendered(todo: list[Job], cfg: CatalogConfig, out: Path, workers: int) -> Iterator[dict]:
    """Render the jobs (in `workers` processes when there are several) and yield their records
    in job order."""
    args = [(j, cfg, str(out)) for j in todo]
    if workers > 1 and len(todo) > 1:
        with get_context("fork").Pool(workers) as pool:
            yield from pool.imap(_worker, args, chunksize=2)
    else:
        for a in args:
            yield _worker(a)


def _write_artists(path: Path, cfg: CatalogConfig) -> None:
    data = {
        "rule": "score = 0.5 J(genres) + 0.2 J(genre families) + 0.2 J(instrument palettes) + 0.05 "
        "tempo overlap + 0.05 (1 - |minor_a - minor_b|); each artist linked to its top 3, "
        "union of links (symmetric, >= 3 neighbours). Composers: same period 1, adjacent "
        "0.5, + 0.5 J(genres); top 3, union.",
        "artists": [a.profile() for a in world(cfg.world_seed)],
        "composers": composer_graph(),
    }
    atomic_write_bytes(path, json.dumps(data, indent=1, ensure_ascii=False).encode("utf-8"))

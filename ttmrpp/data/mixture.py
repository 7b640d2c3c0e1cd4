"""Training data: manifest readers for the public formats, and a weighted mixture of sources.

Every source yields `(waveform [clip_samples] float32, record)` where `record` follows the
JSONL manifest format (tags by category, title/artist/album, similar_artists,
pseudo_caption). The training text is built from the record by `ttmrpp.text.kg_text`.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ttmrpp.model.audio import AudioDecodeError, load_audio, rescale_minmax

Record = dict[str, Any]
Item = tuple[np.ndarray, Record]


# -- readers ----------------------------------------------------------------------------
def _parse_aspect_list(text: str) -> list[str]:
    """MusicCaps `aspect_list` is a Python-style list literal of quoted strings."""
    import ast

    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        value = [t.strip(" '\"") for t in text.strip("[]").split(",")]
    return [str(t).strip() for t in value if str(t).strip()]


def read_musiccaps_csv(path: str | Path, audio_dir: str | Path | None = None) -> list[Record]:
    """MusicCaps CSV (`ytid, start_s, end_s, ..., aspect_list, caption, ...`).

    Audio is looked up as `{audio_dir}/{ytid}.{wav,flac,mp3,ogg}` when `audio_dir` is given.
    """
    records = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            rec: Record = {
                "id": row["ytid"],
                "tags": {"aspect": _parse_aspect_list(row.get("aspect_list", ""))},
                "pseudo_caption": row.get("caption", "").strip(),
                "captions": [row.get("caption", "").strip()],
                "split": "test" if row.get("is_audioset_eval") == "True" else "train",
            }
            if audio_dir is not None:
                found = [
                    p
                    for e in ("wav", "flac", "mp3", "ogg")
                    if (p := Path(audio_dir) / f"{row['ytid']}.{e}").exists()
                ]
                rec["audio"] = str(found[0]) if found else None
            records.append(rec)
    return records


def read_jamendo_tsv(path: str | Path, audio_dir: str | Path | None = None) -> list[Record]:
    """MTG-Jamendo split TSV: `TRACK_ID, ARTIST_ID, ALBUM_ID, PATH, DURATION, TAGS...`."""
    records = []
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        if header[:5] != ["TRACK_ID", "ARTIST_ID", "ALBUM_ID", "PATH", "DURATION"]:
            raise ValueError(f"{path}: not an MTG-Jamendo TSV (header {header[:5]})")
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 5:
                continue
            tags: dict[str, list[str]] = {}
            for tag in cols[5:]:
                category, _, value = tag.partition("---")
                tags.setdefault(category, []).append(value)
            records.append(
                {
                    "id": cols[0],
                    "artist": cols[1],
                    "album": cols[2],
                    "audio": str(Path(audio_dir) / cols[3]) if audio_dir else cols[3],
                    "duration": float(cols[4]),
                    "tags": tags,
                }
            )
    return records


# -- sources ----------------------------------------------------------------------------
def random_clip(wav: np.ndarray, n: int, rng: random.Random) -> np.ndarray:
    """A random n-sample crop (short audio zero-padded, as in the authors' loader)."""
    if len(wav) <= n:
        out = np.zeros(n, dtype=np.float32)
        out[: len(wav)] = wav
        return out
    start = rng.randint(0, len(wav) - n)
    return wav[start : start + n].astype(np.float32)


class ManifestSource:
    """Endless random clips from a list of records with audio files.

    Undecodable files are skipped (and remembered in `failures`), never fatal. Decoded tracks
    are kept in memory up to `cache_bytes` (float32 after scaling), so a small training
    manifest is decoded once instead of once per clip.
    """

    def __init__(
        self,
        records: Sequence[Record],
        sample_rate: int,
        clip_seconds: float,
        seed: int = 0,
        split: str | None = "train",
        cache_bytes: int = 0,
    ) -> None:
        self.records = [
            r
            for r in records
            if r.get("audio") and (split is None or r.get("split", split) == split)
        ]
        if not self.records:
            raise ValueError(f"no records with audio for split {split!r}")
        self.sample_rate, self.n = sample_rate, int(round(clip_seconds * sample_rate))
        self.rng = random.Random(seed)
        self.failures: dict[str, str] = {}
        self.cache: dict[str, np.ndarray] = {}
        self.cache_bytes, self._cached = cache_bytes, 0

    def _waveform(self, path: str) -> np.ndarray:
        wav = self.cache.get(path)
        if wav is None:
            wav = rescale_minmax(load_audio(path, self.sample_rate)).astype(np.float32)
            if self._cached + wav.nbytes <= self.cache_bytes:
                self.cache[path] = wav
                self._cached += wav.nbytes
        return wav

    def __iter__(self) -> Iterator[Item]:
        while True:
            rec = self.rng.choice(self.records)
            if rec["audio"] in self.failures:
                if len(self.failures) == len(self.records):
                    raise RuntimeError("no audio file in the manifest could be decoded")
                continue
            try:
                wav = self._waveform(rec["audio"])
            except AudioDecodeError as exc:
                self.failures[rec["audio"]] = str(exc)
                continue
            yield random_clip(wav, self.n, self.rng), rec


class GeneratorSource:
    """Wraps a callable `make(seed) -> iterator of (waveform, record)`, e.g. the music world's
    streaming generator, so that every worker/process gets its own seed."""

    def __init__(self, make: Callable[[int], Iterator[Item]], seed: int = 0) -> None:
        self.make, self.seed = make, seed

    def __iter__(self) -> Iterator[Item]:
        for wav, rec in self.make(self.seed):
            yield rescale_minmax(wav), rec


class Mixture:
    """Draws each item from one of several sources with explicit sampling weights
    (the paper: MSD .40, AudioSet .25, Music4All .25, FMA .09, MusicCaps .01)."""

    def __init__(self, sources: Sequence[tuple[Any, float]], seed: int = 0) -> None:
        if not sources:
            raise ValueError("a mixture needs at least one source")
        weights = [float(w) for _, w in sources]
        if min(weights) < 0 or sum(weights) <= 0:
            raise ValueError(f"sampling weights must be >= 0 and not all 0: {weights}")
        self.sources = [s for s, _ in sources]
        self.weights = weights
        self.rng = random.Random(seed)

    def __iter__(self) -> Iterator[Item]:
        iterators = [iter(s) for s in self.sources]
        while True:
            (i,) = self.rng.choices(range(len(iterators)), weights=self.weights)
            yield next(iterators[i])

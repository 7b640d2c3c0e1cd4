"""What every service shares: the loaded `Services`, `QueryError`, input checks.

Every function takes a `Services` (the loaded model, index and helpers) and returns plain
data; bad input raises `QueryError` with a message meant for the person who typed it. The
Gradio layer (`ttmrpp.app.tabs`) only turns these into components.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ttmrpp.model.audio import AudioDecodeError, load_audio

MAX_QUERY_SECONDS = 600.0  # longer query clips are refused (a "more like this" needs seconds)
MIN_QUERY_SECONDS = 0.5  # the model needs this much audio
SILENCE_PEAK = 1e-4  # a clip whose peak is below this is treated as silent
DEFAULT_K = 10
MAX_K = 100
INDEX_BATCH_FILES = 4  # files embedded between progress reports

Progress = Callable[[int, int, str], None]  # (done, total, what) -> None


class QueryError(ValueError):
    """Input that cannot be searched or captioned; the message says what to change."""


@dataclass
class Services:
    """Everything the app's functions need, loaded once per process.

    Args:
        model: the retrieval model (`ttmrpp.TTMRPP`).
        index: the `MusicIndex` built with that model.
        model_spec: how the model was chosen (a folder, hub id or architecture name).
        model_note: a warning shown with the model (e.g. an untrained audio tower), or "".
        collection_name: what the collection is, for people.
        index_dir: where the index is saved after changes (None: kept in memory only).
        upload_dir: where uploaded files are copied before indexing (None: a temp folder).
        captioner_factory: returns name -> captioner for the caption lab (loaded lazily).
        folder_indexing: allow indexing folders on the server (a public Space turns it off:
            visitors could otherwise read any audio on the machine).
    """

    model: Any
    index: Any
    model_spec: str
    model_note: str = ""
    collection_name: str = "collection"
    index_dir: Path | None = None
    upload_dir: Path | None = None
    captioner_factory: Callable[[], Mapping[str, Any]] | None = None
    folder_indexing: bool = True  # whether server-side folders may be indexed (off on a Space)
    _captioners: Mapping[str, Any] | None = field(default=None, repr=False)
    _atlas: Any = field(default=None, repr=False)
    _atlas_version: int = field(default=-1, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _update_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _atlas_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def captioners_loaded(self) -> bool:
        return self._captioners is not None

    def captioners(self) -> Mapping[str, Any]:
        """The caption generators, loaded on first use (the LLM takes a few seconds)."""
        with self._lock:
            if self._captioners is None:
                if self.captioner_factory is None:
                    from ttmrpp.text.captioning.compare import default_captioners

                    self._captioners = default_captioners()
                else:
                    self._captioners = self.captioner_factory()
            return self._captioners


# -- search -------------------------------------------------------------------------------
def check_text(query: str | None) -> str:
    """The query text stripped, or "" when there is none. Raises for text with no words."""
    text = " ".join((query or "").split())
    if text and not re.search(r"\w", text):
        raise QueryError(
            f"The query {text!r} has no words to search for: try tags like "
            "'rock, electric guitar' or a sentence."
        )
    return text


def audio_duration(path: str | os.PathLike) -> float | None:
    """Seconds of audio in a file from its header (no decoding), or None if unknown."""
    try:
        import soundfile as sf

        info = sf.info(str(path))
        if info.samplerate and info.frames > 0:
            return info.frames / info.samplerate
    except Exception:  # not a libsndfile format: ask FFmpeg
        pass
    try:
        import av

        with av.open(str(path)) as c:
            if c.duration:
                return c.duration / 1_000_000
    except Exception:
        return None
    return None


def load_query_audio(path: str | os.PathLike, sample_rate: int) -> np.ndarray:
    """Decode an uploaded or recorded query clip, refusing what cannot make a useful query."""
    p = Path(path)
    name = p.name
    if not p.is_file():
        raise QueryError(f"The audio file {name} is missing; upload it again.")
    if p.stat().st_size == 0:
        raise QueryError(f"The audio file {name} is empty (0 bytes).")
    seconds = audio_duration(p)
    if seconds is not None and seconds > MAX_QUERY_SECONDS:
        raise QueryError(
            f"The clip {name} is {seconds / 60:.1f} minutes long; query clips can be at most "
            f"{MAX_QUERY_SECONDS / 60:.0f} minutes. Trim it to the part you want to match."
        )
    try:
        wav = load_audio(p, sample_rate)
    except AudioDecodeError as exc:
        raise QueryError(f"{name} is not audio we can read ({short_reason(exc, p)}).") from None
    if len(wav) > MAX_QUERY_SECONDS * sample_rate:
        raise QueryError(
            f"The clip {name} is {len(wav) / sample_rate / 60:.1f} minutes long; query clips "
            f"can be at most {MAX_QUERY_SECONDS / 60:.0f} minutes."
        )
    if len(wav) < MIN_QUERY_SECONDS * sample_rate:
        raise QueryError(
            f"The clip {name} is {len(wav) / sample_rate:.2f} s long; at least "
            f"{MIN_QUERY_SECONDS} s of audio is needed."
        )
    if float(np.abs(wav).max()) < SILENCE_PEAK:
        raise QueryError(f"The clip {name} is silent; record or upload some music.")
    return wav


def short_reason(exc: Exception | str, path: str | os.PathLike | None = None) -> str:
    """A decoder's error for people: no temporary paths, no stack of decoder messages."""
    text = str(exc)
    if path is not None:
        text = text.replace(str(path), Path(path).name)
    head, sep, tail = text.partition(": ")
    if sep and ("/" in head or "\\" in head or head == Path(str(path or "")).name):
        text = tail
    if text.startswith("cannot decode audio"):
        return "unknown or damaged audio format"
    return text


def check_count(k: int | float | None, default: int, maximum: int, what: str = "results") -> int:
    """`k` (default when None) as an int in 1..maximum, else a QueryError naming `what`."""
    k = default if k is None else int(k)
    if not 1 <= k <= maximum:
        raise QueryError(f"The number of {what} must be between 1 and {maximum}, not {k}.")
    return k


def check_k(k: int | float | None) -> int:
    """The number of results, checked."""
    return check_count(k, DEFAULT_K, MAX_K)

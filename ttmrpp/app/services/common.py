"""What every service shares: the loaded `Services`, `QueryError`, limits and input checks.

Every function takes a `Services` (the loaded model, index and helpers) and returns plain
data; bad input raises `QueryError` with a short message meant for the person who typed it
(never a server path). The Gradio layer (`ttmrpp.app.tabs`) only turns these into components.
"""

from __future__ import annotations

import math
import numbers
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
MAX_FILE_BYTES = 100 * 2**20  # one query clip or uploaded file
INDEX_BATCH_FILES = 4  # files embedded between progress reports

Progress = Callable[[int, int, str], None]  # (done, total, what) -> None


class QueryError(ValueError):
    """Input that cannot be searched or captioned; the message says what to change."""


@dataclass(frozen=True)
class Limits:
    """What one request or one visitor may ask of the server; all checked before decoding.

    Attributes:
        query_chars: characters in a text query.
        tag_chars: characters in a tag list (caption lab).
        reference_chars: characters in a reference caption (BERTScore).
        file_bytes: bytes in one query clip or uploaded file.
        upload_files: files in one upload request.
        upload_seconds: seconds of audio in one uploaded file (from its header).
        session_files: files one visitor may add.
        session_seconds: seconds of audio one visitor may add.
        session_bytes: bytes one visitor may add.
        stored_bytes: bytes of uploads kept on disk for all visitors together.
    """

    query_chars: int = 500
    tag_chars: int = 500
    reference_chars: int = 2000
    file_bytes: int = MAX_FILE_BYTES
    upload_files: int = 20
    upload_seconds: float = MAX_QUERY_SECONDS
    session_files: int = 100
    session_seconds: float = 2 * 3600.0
    session_bytes: int = 1 * 2**30
    stored_bytes: int = 10 * 2**30


@dataclass
class Services:
    """Everything the app's functions need, loaded once per process.

    Args:
        model: the retrieval model (`ttmrpp.TTMRPP`).
        index: the shared `MusicIndex` built with that model (every visitor searches it).
        model_spec: how the model was chosen (a folder, hub id or architecture name).
        model_note: a warning shown with the model (e.g. an untrained audio tower), or "".
        collection_name: what the collection is, for people.
        index_dir: where the index is saved after changes (None: kept in memory only).
        upload_dir: where uploaded files are kept, by content (None: a temp folder).
        captioner_factory: returns name -> captioner for the caption lab (loaded lazily).
        allowed_roots: server folders that visitors may index (resolved); empty: folder
            indexing is off (the default: visitors could otherwise read the machine's audio).
        shared_uploads: uploads join the shared collection (everyone sees them); otherwise
            each visitor's uploads are searched for that visitor only.
        limits: request and per-visitor limits.
    """

    model: Any
    index: Any
    model_spec: str
    model_note: str = ""
    collection_name: str = "collection"
    index_dir: Path | None = None
    upload_dir: Path | None = None
    captioner_factory: Callable[[], Mapping[str, Any]] | None = None
    allowed_roots: tuple[Path, ...] = ()
    shared_uploads: bool = False
    limits: Limits = field(default_factory=Limits)
    _captioners: Mapping[str, Any] | None = field(default=None, repr=False)
    _atlas: Any = field(default=None, repr=False)
    _atlas_version: int = field(default=-1, repr=False)
    _store: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _update_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _atlas_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.allowed_roots = tuple(Path(os.path.realpath(r)) for r in self.allowed_roots)

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


# -- messages -----------------------------------------------------------------------------
_PATH = re.compile(r"(?<![\w.:/\\])(?:[A-Za-z]:)?(?:[\\/][^\s'\"`,;:()\[\]{}<>|\\/]+)+[\\/]?")


def scrub_paths(text: str) -> str:
    """`text` with every absolute path replaced by its last part (`/srv/x/a.wav` -> `a.wav`)."""
    return _PATH.sub(lambda m: re.split(r"[\\/]", m.group(0).rstrip("/\\"))[-1] or "…", text)


def credit_line(track: Mapping[str, Any]) -> str:
    """A track's licence and credit as one line ("CC-BY-SA-3.0 · 2011, Obsidian Shell"); the
    credit is left out where it only repeats the artist; "" when neither is known."""
    licence = " ".join(str(track.get("licence") or "").split())
    credit = " ".join(str(track.get("credit") or "").split())
    if credit == " ".join(str(track.get("artist") or "").split()):
        credit = ""
    return " · ".join(part for part in (licence, credit) if part)


def shorten(text: Any, limit: int = 60) -> str:
    """`text` as one line of at most `limit` characters (an ellipsis marks a cut)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def public_reason(exc: BaseException, limit: int = 200) -> str:
    """An exception as a short line for people: its type and message, without server paths."""
    text = scrub_paths(str(exc))
    return shorten(f"{type(exc).__name__}: {text}" if text else type(exc).__name__, limit)


# -- input checks -------------------------------------------------------------------------
def check_length(text: Any, max_chars: int, what: str = "query") -> str:
    """`text` ("" for None) when it is a string of at most `max_chars`, else a QueryError."""
    if text is None:
        return ""
    if not isinstance(text, str):
        raise QueryError(f"The {what} must be text.")
    if len(text) > max_chars:
        raise QueryError(
            f"The {what} is {len(text):,} characters long; at most {max_chars:,} are allowed."
        )
    return text


def check_text(query: Any, max_chars: int = Limits.query_chars, what: str = "query") -> str:
    """The query stripped, or "" when there is none. Raises for text that is not text, too
    long, or has no words."""
    text = " ".join(check_length(query, max_chars, what).split())
    if text and not re.search(r"\w", text):
        raise QueryError(
            f"The {what} “{shorten(text, 40)}” has no words to search for: try tags like "
            "'rock, electric guitar' or a sentence."
        )
    return text


def check_count(k: Any, default: int, maximum: int, what: str = "results") -> int:
    """`k` (default when None) as an int in 1..maximum; anything else (text, NaN, infinity,
    a fraction, a bool) raises a QueryError naming `what`."""
    if k is None:
        return default
    value = None
    if isinstance(k, numbers.Integral) and not isinstance(k, bool):
        value = int(k)
    elif isinstance(k, numbers.Real) and not isinstance(k, bool):
        f = float(k)
        if math.isfinite(f) and f.is_integer():
            value = int(f)
    if value is None or not 1 <= value <= maximum:
        raise QueryError(
            f"The number of {what} must be a whole number between 1 and {maximum}, "
            f"not {shorten(repr(k), 24)}."
        )
    return value


def check_k(k: Any) -> int:
    """The number of results, checked."""
    return check_count(k, DEFAULT_K, MAX_K)


def check_weight(weight: Any) -> float:
    """An audio weight in 0..1 (a finite number), else a QueryError."""
    ok = isinstance(weight, numbers.Real) and not isinstance(weight, bool)
    if not ok or not 0.0 <= float(weight) <= 1.0:  # NaN fails the comparison
        raise QueryError(
            f"The audio weight must be a number between 0 and 1, not {shorten(repr(weight), 24)}."
        )
    return float(weight)


# -- audio files --------------------------------------------------------------------------
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


def file_size(path: str | os.PathLike, limit: int) -> int:
    """Bytes in a file that exists and is not larger than `limit`, else a QueryError."""
    p = Path(path)
    name = shorten(p.name, 80)
    if not p.is_file():
        raise QueryError(f"The audio file {name} is missing; upload it again.")
    size = p.stat().st_size
    if size == 0:
        raise QueryError(f"The audio file {name} is empty (0 bytes).")
    if size > limit:
        raise QueryError(
            f"The file {name} is {megabytes(size)}; files can be at most {megabytes(limit)}."
        )
    return size


def megabytes(n: float) -> str:
    """Bytes for people: "120 MB", "2.5 MB", "0.01 MB"."""
    mb = n / 2**20
    return f"{mb:.0f} MB" if mb >= 10 else f"{mb:.1f} MB" if mb >= 0.1 else f"{mb:.2g} MB"


def load_query_audio(
    path: str | os.PathLike, sample_rate: int, max_bytes: int = MAX_FILE_BYTES
) -> np.ndarray:
    """Decode an uploaded or recorded query clip, refusing what cannot make a useful query.

    Size and length (from the file's header) are checked before anything is decoded."""
    p = Path(path)
    name = shorten(p.name, 80)
    file_size(p, max_bytes)
    seconds = audio_duration(p)
    if seconds is not None and seconds > MAX_QUERY_SECONDS:
        raise QueryError(
            f"The clip {name} is {seconds / 60:.1f} minutes long; query clips can be at most "
            f"{MAX_QUERY_SECONDS / 60:.0f} minutes. Trim it to the part you want to match."
        )
    try:
        # The decoder enforces the limit itself, before and while decoding (a header can lie).
        wav = load_audio(p, sample_rate, max_seconds=MAX_QUERY_SECONDS + 1.0)
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
    """A decoder's error for people: no server paths, no stack of decoder messages."""
    text = str(exc)
    if path is not None:
        text = text.replace(str(path), Path(path).name)
    head, sep, tail = text.partition(": ")
    if sep and ("/" in head or "\\" in head or head == Path(str(path or "")).name):
        text = tail
    if text.startswith("cannot decode audio"):
        return "unknown or damaged audio format"
    return shorten(scrub_paths(text), 160)

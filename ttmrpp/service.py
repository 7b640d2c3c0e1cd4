"""What the app does, as plain functions with no UI code: search, captions, atlas, indexing.

Every function takes a `Services` (the loaded model, index and helpers) and returns plain
data; bad input raises `QueryError` with a message meant for the person who typed it. The
Gradio layer (`ttmrpp/ui.py`) only turns these into components.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ttmrpp.audio import AUDIO_EXTENSIONS, AudioDecodeError, load_audio

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
                    from ttmrpp.caption_compare import default_captioners

                    self._captioners = default_captioners()
                else:
                    self._captioners = self.captioner_factory()
            return self._captioners


@dataclass
class SearchResult:
    """Ranked tracks for one query, and the query's embedding (for the atlas marker)."""

    hits: list[dict[str, Any]]
    query_vector: np.ndarray
    query: str
    seconds: float

    @property
    def message(self) -> str:
        if not self.hits:
            return f"No tracks for {self.query}: the collection is empty."
        return f"{len(self.hits)} tracks for {self.query} ({1000 * self.seconds:.0f} ms)."


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
        raise QueryError(f"{name} is not audio we can read ({_short_reason(exc, p)}).") from None
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


def _short_reason(exc: Exception | str, path: str | os.PathLike | None = None) -> str:
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


def _check_k(k: int | float | None) -> int:
    return check_count(k, DEFAULT_K, MAX_K)


def search(
    services: Services,
    text: str | None = None,
    audio: str | os.PathLike | None = None,
    weight: float = 0.5,
    k: int = DEFAULT_K,
) -> SearchResult:
    """Search by text, by an audio clip, or both (`weight` is the audio's share, 0..1)."""
    from ttmrpp.index import EmptyQueryError

    t0 = time.perf_counter()
    text = check_text(text)
    k = _check_k(k)
    if not 0.0 <= float(weight) <= 1.0:
        raise QueryError(f"The audio weight must be between 0 and 1, not {weight}.")
    if not text and not audio:
        raise QueryError(
            "Nothing to search for: type a query (tags, a sentence, an artist) "
            "or give an audio clip."
        )
    wav = load_query_audio(audio, services.model.config.sample_rate) if audio else None
    try:
        q = services.index.query_vector(services.model, text or None, wav, float(weight))
    except EmptyQueryError as exc:
        raise QueryError(str(exc)) from None
    hits = [hit_row(h.to_dict()) for h in services.index.search_vector(q, k)]
    parts = [f"“{text}”"] if text else []
    if audio:
        parts.append(f"the clip {Path(audio).name}")
    label = " + ".join(parts)
    if text and audio:
        label += f" (audio weight {float(weight):.2f})"
    return SearchResult(hits, q, label, time.perf_counter() - t0)


def search_text(services: Services, query: str, k: int = DEFAULT_K) -> SearchResult:
    """Text-to-music search: tags, a caption sentence, "music track X by Y", an artist."""
    if not check_text(query):
        raise QueryError(
            "The query is empty: type tags, a sentence, or “music track TITLE by ARTIST”."
        )
    return search(services, text=query, k=k)


def search_audio(services: Services, audio: str | os.PathLike | None, k: int = DEFAULT_K):
    """Music-to-music search ("more like this") from an uploaded or recorded clip."""
    if not audio:
        raise QueryError("No audio clip: upload a file or record one first.")
    return search(services, audio=audio, k=k)


def search_hybrid(
    services: Services,
    query: str | None,
    audio: str | os.PathLike | None,
    weight: float = 0.5,
    k: int = DEFAULT_K,
) -> SearchResult:
    """Text and audio together: `(1 - weight) * text + weight * audio` in the joint space."""
    return search(services, text=query, audio=audio, weight=weight, k=k)


def hit_row(hit: dict[str, Any]) -> dict[str, Any]:
    """A result as shown: rank, score, title, artist, album, tags (one string), audio path."""
    tags = hit.get("tags") or {}
    flat = [
        t for values in tags.values() for t in (values if isinstance(values, list) else [values])
    ]
    return {
        "rank": hit["rank"],
        "score": round(float(hit["score"]), 4),
        "title": hit.get("title") or Path(hit["path"]).stem,
        "artist": hit.get("artist") or "",
        "album": hit.get("album") or "",
        "tags": ", ".join(dict.fromkeys(str(t) for t in flat)),
        "path": hit["path"],
        "id": hit.get("id", ""),
    }


RESULT_COLUMNS = ["#", "score", "title", "artist", "album", "tags"]


def result_table(result: SearchResult) -> list[list[Any]]:
    """Rows for a results table, in `RESULT_COLUMNS` order."""
    keys = ["rank", "score", "title", "artist", "album", "tags"]
    return [[h[k] for k in keys] for h in result.hits]


def example_queries(services: Services) -> list[str]:
    """One query of every kind the paper serves, built from tracks in the loaded collection."""
    tracks = services.index.tracks
    named = next((t for t in tracks if t.get("artist") and t.get("title")), None)
    cats: dict[str, Counter] = {}
    for t in tracks:
        for cat, values in (t.get("tags") or {}).items():
            vs = values if isinstance(values, list) else [values]
            cats.setdefault(cat, Counter()).update(str(v) for v in vs)

    def top(cat: str, default: str) -> str:
        return cats[cat].most_common(1)[0][0] if cats.get(cat) else default

    genre, instrument = top("genre", "rock"), top("instrument", "electric guitar")
    mood = top("mood", "energetic")
    out = [
        f"{genre}, {instrument}, {mood}",
        f"{'An' if mood[:1] in 'aeiou' else 'A'} {mood} {genre} track driven by {instrument}, "
        "good for a late drive.",
    ]
    if named:
        out.append(f"music track {named['title']} by {named['artist']}")
        out.append(f"similar with artist {named['artist']}")
    else:
        out += ["music track Neon Harbor by The Velvet Orbits", "similar with artist Ana Corvel"]
    out.append("sad piano with soft strings")
    out.append("happy acoustic guitar and whistling")
    return out


# -- captions -----------------------------------------------------------------------------
def parse_tag_text(tags: str | Sequence[str] | None) -> list[str]:
    """Tags from a comma-separated string (or a list); raises `QueryError` when there are none."""
    from ttmrpp.captioner import parse_tags

    items = parse_tags(tags or "") if isinstance(tags, str) or tags is None else list(tags)
    items = [t for t in items if re.search(r"\w", t)]
    if not items:
        raise QueryError("No tags: type a few comma-separated tags, e.g. 'jazz, piano, calm'.")
    return items


def caption_compare_stream(
    services: Services, tags: str | Sequence[str], reference: str | None = None
) -> Iterator[list[dict[str, Any]]]:
    """`caption_compare` as it happens: yields all rows each time a generator's text grows.

    Generators run one after another (base and LoRA share one model and its lock).
    """
    from ttmrpp.captioner import clean_caption

    items = parse_tag_text(tags)
    reference = (reference or "").strip() or None
    gens = services.captioners()
    rows = [
        {"name": n, "caption": "", "error": None, "latency_s": None, "bertscore_f1": None}
        for n in gens
    ]
    yield rows
    for row, cap in zip(rows, gens.values()):
        t0 = time.perf_counter()
        text = ""
        try:
            for piece in cap.stream(items):
                text += piece
                row["caption"] = text
                yield rows
        except Exception as exc:  # one broken generator should not hide the others
            row["error"] = f"{type(exc).__name__}: {exc}"
        row["latency_s"] = round(time.perf_counter() - t0, 3)
        if row["error"] is None:
            row["caption"] = clean_caption(text) if row["name"] != "template" else text
        yield rows
    if reference:
        from ttmrpp.bertscore import bertscore

        done = [r for r in rows if r["error"] is None and r["caption"]]
        scores = bertscore([r["caption"] for r in done], [reference] * len(done))
        for r, sc in zip(done, scores):
            r["bertscore_f1"] = round(float(sc.f1), 4)
        yield rows


def caption_compare(
    services: Services, tags: str | Sequence[str], reference: str | None = None
) -> list[dict[str, Any]]:
    """Each generator's caption for `tags` with its latency and, given a reference, BERTScore F1.

    Returns:
        one dict per generator: name, caption, error (or None), latency_s, bertscore_f1 (or None).
    """
    *_, rows = caption_compare_stream(services, tags, reference)
    return rows


def caption_stream(services: Services, tags: str | Sequence[str], generator: str) -> Iterator[str]:
    """The caption of one generator as it grows, token by token (each item is the text so far)."""
    from ttmrpp.captioner import clean_caption

    items = parse_tag_text(tags)
    gens = services.captioners()
    if generator not in gens:
        raise QueryError(f"No generator {generator!r}; available: {', '.join(gens)}.")
    text = ""
    for piece in gens[generator].stream(items):
        text += piece
        yield text
    final = clean_caption(text) if generator != "template" else text
    if final != text:
        yield final


# -- atlas --------------------------------------------------------------------------------
def atlas_points(services: Services, progress: bool = False):
    """The collection's 2-D map (`ttmrpp.atlas.Atlas`), fitted once and cached with the index."""
    from ttmrpp.atlas import get_atlas

    index = services.index
    with services._atlas_lock:
        if services._atlas is None or services._atlas_version != index.version:
            folder = (
                services.index_dir if services.index_dir and services.index_dir.is_dir() else None
            )
            services._atlas = get_atlas(index, folder)
            services._atlas_version = index.version
        return services._atlas


def atlas_figure(
    services: Services,
    color_by: str = "genre",
    query_vector: np.ndarray | None = None,
    query_label: str = "query",
):
    """A plotly figure of the map coloured by a tag category, with the query marked (if any)."""
    from ttmrpp.atlas import atlas_figure as draw
    from ttmrpp.atlas import place

    if not len(services.index):
        raise QueryError("The collection is empty: index some music first (Collection tab).")
    atlas = atlas_points(services)
    queries = []
    if query_vector is not None:
        q = np.asarray(query_vector, dtype=np.float32).reshape(-1)
        if q.shape != (services.index.dim,):
            raise QueryError(f"A query vector needs {services.index.dim} values, not {q.size}.")
        queries.append((query_label, place(services.index, atlas, q)[0]))
    return draw(services.index, atlas, color_by=color_by or "genre", queries=queries)


def tag_categories(services: Services) -> list[str]:
    """Tag categories present in the collection (genre, instrument, mood, ...), sorted."""
    cats = {c for t in services.index.tracks for c in (t.get("tags") or {})}
    return sorted(cats)


# -- collection ---------------------------------------------------------------------------
def collection_info(services: Services) -> dict[str, Any]:
    """What is loaded: model, collection, counts of tracks, artists, albums and tags."""
    tracks = services.index.tracks
    cfg = services.model.config
    tag_counts = {
        cat: len({v for t in tracks for v in _as_list((t.get("tags") or {}).get(cat))})
        for cat in tag_categories(services)
    }
    return {
        "model": cfg.name,
        "model_spec": services.model_spec,
        "model_note": services.model_note,
        "embed_dim": cfg.embed_dim,
        "collection": services.collection_name,
        "tracks": len(tracks),
        "artists": len({t["artist"] for t in tracks if t.get("artist")}),
        "albums": len({(t.get("artist"), t["album"]) for t in tracks if t.get("album")}),
        "hours": round(sum(float(t.get("duration") or 0) for t in tracks) / 3600, 2),
        "tags": tag_counts,
        "failed_files": len(services.index.failures),
        "search": {"hnsw": "HNSW", "scan": "compressed scan"}.get(
            services.index.search_method, "exact"
        ),
        "index_dir": str(services.index_dir) if services.index_dir else None,
    }


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


@dataclass
class IndexReport:
    """What an indexing run did."""

    added: list[str]
    failed: list[tuple[str, str]]  # (file name, reason)
    skipped: int  # files already in the index, unchanged
    ignored: int  # not audio by extension
    tracks: int  # tracks in the index afterwards
    seconds: float

    def summary(self) -> str:
        text = (
            f"Indexed {len(self.added)} new file(s) in {self.seconds:.1f} s; "
            f"{len(self.failed)} failed, {self.skipped} already indexed"
            + (f", {self.ignored} not audio (ignored)" if self.ignored else "")
            + f". The collection now has {self.tracks} tracks."
        )
        if self.failed:
            text += "\nFailed files:\n" + "\n".join(f"- {n}: {r}" for n, r in self.failed)
        return text


def index_uploaded_files(
    services: Services, paths: Sequence[str | os.PathLike] | None, progress: Progress | None = None
) -> IndexReport:
    """Copy uploaded files into the upload folder and add them to the index.

    Every file is tried; the ones that cannot be decoded are listed in the report.
    """
    paths = [Path(p) for p in (paths or [])]
    if not paths:
        raise QueryError("No files: choose one or more audio files to upload.")
    dest = services.upload_dir
    if dest is None:
        import tempfile

        dest = services.upload_dir = Path(tempfile.mkdtemp(prefix="ttmrpp-uploads-"))
    dest.mkdir(parents=True, exist_ok=True)
    kept = []
    for p in paths:
        if not p.is_file():
            continue
        target = dest / p.name
        if target.exists() and target.stat().st_size != p.stat().st_size:
            target = dest / f"{p.stem}-{int(time.time() * 1000) % 10**8}{p.suffix}"
        if not target.exists():
            shutil.copyfile(p, target)
        kept.append(target)
    return _index_paths(services, kept, progress, ignored=0)


def index_folder(
    services: Services, folder: str | os.PathLike | None, progress: Progress | None = None
) -> IndexReport:
    """Add the audio files under a server-side folder (recursively) to the index."""
    from ttmrpp.library import scan_folder

    if not services.folder_indexing:
        raise QueryError(
            "Indexing folders on the server is turned off here (a public Space); "
            "upload files instead."
        )
    if not folder or not str(folder).strip():
        raise QueryError("No folder: type the path of a folder on the server.")
    root = Path(str(folder).strip()).expanduser()
    if not root.is_dir():
        raise QueryError(f"{root} is not a folder on the server.")
    records, ignored = scan_folder(root)
    return _index_paths(services, [Path(r["path"]) for r in records], progress, ignored)


def _index_paths(
    services: Services, paths: list[Path], progress: Progress | None, ignored: int
) -> IndexReport:
    from ttmrpp.embed import embed_audio_files
    from ttmrpp.library import enrich, file_state

    t0 = time.perf_counter()
    index = services.index
    known = {t["path"]: (t.get("size"), t.get("mtime")) for t in index.tracks}
    todo, skipped = [], 0
    for p in paths:
        path = str(p.resolve())
        state = file_state(path)
        if state is not None and known.get(path) == state:
            skipped += 1
        else:
            todo.append((path, state))
    not_audio = [(p, s) for p, s in todo if Path(p).suffix.lower() not in AUDIO_EXTENSIONS]
    added: list[str] = []
    failed: list[tuple[str, str]] = []
    records, vectors = [], []
    total = len(todo)
    with services._update_lock:
        for start in range(0, total, INDEX_BATCH_FILES):
            group = todo[start : start + INDEX_BATCH_FILES]
            if progress:
                progress(start, total, Path(group[0][0]).name)
            vecs, fails = embed_audio_files(services.model, [p for p, _ in group], progress=False)
            reasons = dict(fails)
            it = iter(vecs)
            for path, state in group:
                name = Path(path).name
                if path in reasons:
                    why = _short_reason(reasons[path], path)
                    if (path, state) in not_audio:
                        why = f"not an audio file ({why})"
                    failed.append((name, why))
                    continue
                rec = {"id": name, "path": path, "size": state[0], "mtime": state[1]}
                records.append(enrich(rec))
                vectors.append(next(it).numpy())
                added.append(name)
        if progress:
            progress(total, total, "saving")
        if records:
            index.add_embeddings(records, np.stack(vectors))
            if services.index_dir is not None:
                index.save(services.index_dir)
    return IndexReport(added, failed, skipped, ignored, len(index), time.perf_counter() - t0)

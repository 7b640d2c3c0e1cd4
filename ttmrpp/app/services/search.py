"""Search: text, audio-clip and hybrid queries over the loaded collection."""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ttmrpp.app.services.common import (
    DEFAULT_K,
    QueryError,
    Services,
    check_k,
    check_text,
    check_weight,
    credit_line,
    load_query_audio,
    shorten,
)
from ttmrpp.app.services.uploads import VisitorUploads


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


def search(
    services: Services,
    text: str | None = None,
    audio: str | os.PathLike | None = None,
    weight: float = 0.5,
    k: int = DEFAULT_K,
    session: VisitorUploads | None = None,
) -> SearchResult:
    """Search by text, by an audio clip, or both (`weight` is the audio's share, 0..1).

    With a visitor's `session`, their own uploads are searched too (for them only); hits
    from both collections are merged by score."""
    from ttmrpp.search.index import EmptyQueryError

    t0 = time.perf_counter()
    text = check_text(text, services.limits.query_chars)
    k = check_k(k)
    weight = check_weight(weight)
    if audio is not None and not isinstance(audio, str | os.PathLike):
        raise QueryError("The audio clip must be an uploaded file.")
    if not text and not audio:
        raise QueryError(
            "Nothing to search for: type a query (tags, a sentence, an artist) "
            "or give an audio clip."
        )
    sr = services.model.config.sample_rate
    wav = load_query_audio(audio, sr, services.limits.file_bytes) if audio else None
    try:
        q = services.index.query_vector(services.model, text or None, wav, weight)
    except EmptyQueryError as exc:
        raise QueryError(str(exc)) from None
    found = [(h.score, h.to_dict()) for h in services.index.search_vector(q, k)]
    if session is not None and len(session):
        found += [
            (h.score, {**h.to_dict(), "yours": True}) for h in session.index.search_vector(q, k)
        ]
        found.sort(key=lambda pair: -pair[0])
    hits = [hit_row({**hit, "rank": i}) for i, (_, hit) in enumerate(found[:k], start=1)]
    parts = [f"“{shorten(text, 80)}”"] if text else []
    if audio:
        parts.append(f"the clip {shorten(Path(audio).name, 60)}")
    label = " + ".join(parts)
    if text and audio:
        label += f" (audio weight {weight:.2f})"
    return SearchResult(hits, q, label, time.perf_counter() - t0)


def search_text(
    services: Services, query: str, k: int = DEFAULT_K, session: VisitorUploads | None = None
) -> SearchResult:
    """Text-to-music search: tags, a caption sentence, "music track X by Y", an artist."""
    if not check_text(query, services.limits.query_chars):
        raise QueryError(
            "The query is empty: type tags, a sentence, or “music track TITLE by ARTIST”."
        )
    return search(services, text=query, k=k, session=session)


def search_audio(
    services: Services,
    audio: str | os.PathLike | None,
    k: int = DEFAULT_K,
    session: VisitorUploads | None = None,
) -> SearchResult:
    """Music-to-music search ("more like this") from an uploaded or recorded clip."""
    if not audio:
        raise QueryError("No audio clip: upload a file or record one first.")
    return search(services, audio=audio, k=k, session=session)


def search_hybrid(
    services: Services,
    query: str | None,
    audio: str | os.PathLike | None,
    weight: float = 0.5,
    k: int = DEFAULT_K,
    session: VisitorUploads | None = None,
) -> SearchResult:
    """Text and audio together: `(1 - weight) * text + weight * audio` in the joint space."""
    return search(services, text=query, audio=audio, weight=weight, k=k, session=session)


def playable(services: Services, path: str, session: VisitorUploads | None = None) -> bool:
    """Whether `path` is a track this visitor may play: in the shared collection or among
    their own uploads (the player never serves anything else)."""
    from ttmrpp.app.services.uploads import indexed

    if not isinstance(path, str) or not path:
        return False
    return indexed(services.index, path) or (session is not None and indexed(session.index, path))


def hit_row(hit: dict[str, Any]) -> dict[str, Any]:
    """A result as shown: rank, score, title, artist, album, tags (one string), licence and
    credit (attribution; generated tracks: `ttmrpp.app.real_demo.GENERATED_LICENCE`), audio
    path."""
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
        "licence": hit.get("licence") or "",
        "credit": hit.get("credit") or "",
        "path": hit["path"],
        "id": hit.get("id", ""),
        "yours": bool(hit.get("yours")),
    }


RESULT_COLUMNS = ["#", "score", "title", "artist", "album", "tags", "licence"]
RESULT_KEYS = ["rank", "score", "title", "artist", "album", "tags", "licence"]


def result_table(result: SearchResult) -> list[list[Any]]:
    """Rows for a results table, in `RESULT_COLUMNS` order."""
    return [[h[k] for k in RESULT_KEYS] for h in result.hits]


def now_playing(hit: dict[str, Any] | None) -> str:
    """The line under the player for a result row: "Now playing: title — artist · licence ·
    credit" (the attribution its licence asks for); "" when nothing plays."""
    if not hit:
        return ""
    title = hit.get("title") or Path(hit.get("path") or "track").stem
    who = f"{title} — {hit['artist']}" if hit.get("artist") else title
    credit = credit_line(hit)
    return f"Now playing: {who}" + (f" · {credit}" if credit else "")


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

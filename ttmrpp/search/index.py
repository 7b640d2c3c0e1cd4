"""`MusicIndex`: a searchable collection of track embeddings and their metadata, in one folder.

    index = MusicIndex.create(model)
    report = index.update(model, "~/Music")          # or a JSONL manifest; incremental
    index.save("my-index")                            # atomic: old folder intact until swap
    hits = MusicIndex.load("my-index").search(model, text="calm piano", k=10)

The folder layout, the atomic save and the checks on load live in `ttmrpp.search.store`;
moving an index's state in and out of it in `ttmrpp.search.persist`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ttmrpp.search.backends.hnsw import HNSW_EF_CONSTRUCTION, HNSW_M, exact_topk
from ttmrpp.search.locks import ReadWriteLock
from ttmrpp.search.persist import index_from_snapshot, load_folder, save_folder, snapshot_of
from ttmrpp.search.results import (
    EmptyQueryError,
    Hit,
    ModelMismatchError,
    UpdateReport,
    model_fingerprint,
)
from ttmrpp.search.rows import candidate_rows, live_mask
from ttmrpp.search.store import META_NAME, MODEL_DIR, IndexDamagedError, IndexSnapshot

if TYPE_CHECKING:
    from ttmrpp.search.backends.sign_scan import SignScan

__all__ = [
    "META_NAME",
    "MODEL_DIR",
    "EmptyQueryError",
    "Hit",
    "IndexDamagedError",
    "ModelMismatchError",
    "MusicIndex",
    "UpdateReport",
    "model_fingerprint",
]

FILTER_EXACT_LIMIT = 50_000  # a filter leaving at most this many tracks is searched exactly


class MusicIndex:
    """Track embeddings of one model with their metadata; exact, HNSW or scanned cosine search.

    Thread safety: every public method may be called from any thread. The index holds one
    readers-writer lock (`ttmrpp.search.locks.ReadWriteLock`, `_lock`):

    - readers (`search`, `search_vector`, `tracks`, `embeddings`, `tracks_and_embeddings`,
      `alive_rows`, `vectors_for`, `len`, `snapshot`, `save`) hold `_lock.read()` and run
      side by side;
    - writers (`add_embeddings`, `remove_paths`, and each step of `update` that changes the
      index) hold `_lock.write()`: no reader runs while rows, the graph or the scan's codes
      change, and a change is visible to every search that starts after it returns;
    - `update` embeds audio with no lock held (searches go on during a long update) and takes
      `_update_lock` so that two updates do not interleave;
    - `save` holds the read lock while it writes (searches go on, changes wait) and the lock
      file beside the folder (`ttmrpp.search.store`), so saves of one folder from several
      threads or processes run one at a time.

    What the readers return is the caller's own (arrays are copies, hits copy their records)
    except `tracks`, whose records are shared: do not change them. Internal helpers (names
    starting with `_`) expect the caller to hold the lock.
    """

    def __init__(self, fingerprint: str, dim: int = 128, model_spec: str | None = None) -> None:
        self.fingerprint = fingerprint
        self.dim = dim
        self.model_spec = model_spec  # how to load the model again (folder, hub id or name)
        self.records: list[dict[str, Any] | None] = []  # row -> record; None = deleted
        self.vectors = np.zeros((0, dim), dtype=np.float32)  # [rows, dim], unit norm
        self.failures: dict[str, dict[str, Any]] = {}  # path -> {"reason", "size", "mtime"}
        self.source: str | None = None
        self.folder: Path | None = None  # where it was loaded from or last saved
        self.version = 0  # bumped by every change (caches compare it)
        self.ef: int | None = None
        self.calibrated_recall: float | None = None
        self.hnsw_params = {"M": HNSW_M, "ef_construction": HNSW_EF_CONSTRUCTION}
        self._hnsw = None
        self._scan: SignScan | None = None
        self.scan_candidates: int | None = None  # calibrated survivors per scanned query
        # "auto": exact below EXACT_LIMIT tracks, the scan from SCAN_LIMIT, and in between
        # whichever of HNSW and the scan is faster here; or "hnsw" / "scan" to choose
        self.method = "auto"
        self.method_timings: dict[str, float] | None = None  # the last auto choice, measured
        self._by_path: dict[str, int] = {}
        self._alive: np.ndarray | None = None
        self.repaired: list[str] = []  # files found damaged on load and rebuilt (e.g. hnsw.bin)
        self._lock = ReadWriteLock()
        self._update_lock = threading.Lock()
        self._filter_cache: dict[Any, np.ndarray] = {}
        self._live_cache: tuple[Any, np.ndarray | None] = (None, None)

    # -- construction -------------------------------------------------------------------
    @classmethod
    def create(cls, model, model_spec: str | None = None) -> MusicIndex:
        """An empty index bound to `model`."""
        return cls(model_fingerprint(model), model.config.embed_dim, model_spec)

    def __len__(self) -> int:
        with self._lock.read():
            return len(self._by_path)

    @property
    def alive_rows(self) -> np.ndarray:
        """Row numbers of the live tracks, ascending (read-only)."""
        with self._lock.read():
            alive = self._alive
            if alive is None:  # readers may race to fill the cache; they compute the same
                alive = np.sort(np.fromiter(self._by_path.values(), np.int64, len(self._by_path)))
                alive.flags.writeable = False
                self._alive = alive
            return alive

    @property
    def tracks(self) -> list[dict[str, Any]]:
        """Records of the live tracks, in row order (shared with the index: do not change)."""
        with self._lock.read():
            return [self.records[r] for r in self.alive_rows]

    @property
    def embeddings(self) -> np.ndarray:
        """[len, dim] embeddings of the live tracks, in the order of `tracks` (a copy)."""
        with self._lock.read():
            return self.vectors[self.alive_rows]

    def tracks_and_embeddings(self) -> tuple[list[dict[str, Any]], np.ndarray, int]:
        """(`tracks`, `embeddings`, `version`) read together, so that they match even while
        another thread changes the index."""
        with self._lock.read():
            return self.tracks, self.embeddings, self.version

    def vectors_for(self, paths: list[str]) -> np.ndarray:
        """Embeddings [len(paths), dim] of tracks by path (KeyError for one not indexed)."""
        with self._lock.read():
            return self.vectors[[self._by_path[p] for p in paths]]

    @property
    def uses_hnsw(self) -> bool:
        return self._hnsw is not None

    @property
    def search_method(self) -> str:
        """How queries are answered: "exact", "hnsw" or "scan"."""
        with self._lock.read():
            if self._hnsw is not None:
                return "hnsw"
            return "scan" if self._scan is not None else "exact"

    def check_model(self, model) -> None:
        """Raise `ModelMismatchError` unless `model` is the model this index was built with."""
        fp = model_fingerprint(model)
        if fp != self.fingerprint:
            raise ModelMismatchError(
                f"model {getattr(model.config, 'name', '?')} (fingerprint {fp}) is not the model "
                f"this index was built with (fingerprint {self.fingerprint}"
                + (f", {self.model_spec}" if self.model_spec else "")
                + "); embeddings of different models cannot be mixed or compared. "
                "Use the index's model or build a new index."
            )

    # -- updates ------------------------------------------------------------------------
    def update(
        self,
        model,
        source: str | os.PathLike,
        batch_size: int = 16,
        progress: bool = True,
        group_size: int = 16,
        checkpoint: Callable[[MusicIndex], None] | None = None,
    ) -> UpdateReport:
        """Bring the index in line with `source`, a folder (scanned recursively) or a JSONL
        manifest: new and changed files (by path + size + mtime) are embedded, deleted ones
        dropped, files that failed before and have not changed are not retried.

        Args:
            batch_size: clips per forward pass.
            group_size: files embedded and added to the index at a time.
            checkpoint: called with the index after each group (e.g. to save now and then).
        """
        from ttmrpp.search.update import update_index

        return update_index(self, model, source, batch_size, progress, group_size, checkpoint)

    def add_embeddings(self, records: list[dict[str, Any]], vectors: np.ndarray) -> None:
        """Add tracks with precomputed embeddings [n, dim] (of this index's model); each record
        needs a unique `path`. An existing path is replaced."""
        vectors = np.asarray(vectors, dtype=np.float32)
        vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        paths = [r["path"] for r in records]
        if len(set(paths)) != len(paths):
            raise ValueError("records have repeated paths")
        with self._lock.write():
            self._remove([self._by_path[p] for p in paths if p in self._by_path])
            self._append([dict(r) for r in records], vectors)
            self._changed()
            self._maintain(force_tune=True)

    def remove_paths(self, paths: list[str]) -> int:
        """Drop tracks by path; returns how many were in the index."""
        with self._lock.write():
            rows = [self._by_path[p] for p in paths if p in self._by_path]
            self._remove(rows)
            if rows:
                self._changed()
                self._maintain(force_tune=True)
            return len(rows)

    def _changed(self) -> None:
        self.version += 1
        self._filter_cache.clear()

    def _remove(self, rows: list[int]) -> None:
        self._alive = None
        for row in rows:
            rec = self.records[row]
            if rec is None:
                continue
            del self._by_path[rec["path"]]
            self.records[row] = None
            self.vectors[row] = 0.0
            if self._hnsw is not None:
                self._hnsw.mark_deleted(row)
            # a scanned row stays coded; searches pass the mask of live rows

    def _append(self, records: list[dict[str, Any]], vecs: np.ndarray) -> None:
        if not records:
            return
        if vecs.shape != (len(records), self.dim):
            raise ValueError(f"expected {len(records)} x {self.dim} vectors, got {vecs.shape}")
        self._alive = None
        start = len(self.records)
        rows = np.arange(start, start + len(records))
        self.records.extend(records)
        self.vectors = np.concatenate([self.vectors, vecs])
        for row, rec in zip(rows, records):
            self._by_path[rec["path"]] = int(row)
        if self._hnsw is not None:
            need = start + len(records)
            if need > self._hnsw.get_max_elements():
                self._hnsw.resize_index(max(need, int(1.25 * self._hnsw.get_max_elements())))
            self._hnsw.add_items(vecs, rows)
        if self._scan is not None:
            self._scan.add(vecs)

    def _maintain(self, force_tune: bool = False) -> None:
        """Compact deleted rows; choose the search method; recalibrate (`backends.choice`)."""
        from ttmrpp.search.backends.choice import maintain

        maintain(self, force_tune)

    def _live_mask(self, rows: np.ndarray | None = None) -> np.ndarray | None:
        """Bool mask over rows of `rows` (default: the live rows); None when that is all."""
        return live_mask(self, rows)

    # -- queries ------------------------------------------------------------------------
    def search_vector(
        self,
        query: np.ndarray,
        k: int = 10,
        filters: dict[str, Any] | None = None,
        exclude: set[str] | None = None,
    ) -> list[Hit]:
        """Top-`k` tracks by cosine similarity to a query embedding [dim]."""
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        if q.shape != (self.dim,):
            raise ValueError(f"query has {q.size} values; this index holds {self.dim}-d vectors")
        norm = float(np.linalg.norm(q))
        if not np.isfinite(norm) or norm == 0:
            raise EmptyQueryError("query vector is zero or not finite")
        q = q / norm
        if k < 1:
            raise ValueError(f"k must be at least 1, not {k}")
        with self._lock.read():
            if not self._by_path:
                return []
            rows = self._candidate_rows(filters, exclude)
            want = min(k, len(rows)) if rows is not None else min(k, len(self))
            if want == 0:
                return []
            exact = self.search_method == "exact"
            if not exact and rows is not None and len(rows) <= FILTER_EXACT_LIMIT:
                exact = True
            if self._scan is not None and not exact:
                found, scores = self._scan.search(
                    q, want, self.scan_candidates, self.vectors, self._live_mask(rows)
                )
                exact = len(found) < want  # too few survivors (a very narrow filter): exact
            if exact:
                rows = self.alive_rows if rows is None else rows
                idx, scores = exact_topk(self.vectors[rows], q[None], want)
                found, scores = rows[idx[0]], scores[0]
            elif self._hnsw is not None:  # hnswlib searches with max(ef, k); ef is set on tuning
                allowed = None if rows is None else self._live_mask(rows).__getitem__
                labels, dists = self._hnsw.knn_query(q[None], k=want, filter=allowed)
                found, scores = labels[0].astype(np.int64), 1.0 - dists[0]
            return [
                Hit(i + 1, float(s), dict(self.records[r]))
                for i, (r, s) in enumerate(zip(found, scores))
            ]

    def _candidate_rows(self, filters, exclude) -> np.ndarray | None:
        """Live rows left by `filters` and `exclude`; None when neither is given."""
        return candidate_rows(self, filters, exclude)

    def query_vector(
        self,
        model,
        text: str | None = None,
        audio: str | os.PathLike | np.ndarray | None = None,
        weight: float = 0.5,
    ) -> np.ndarray:
        """The query embedding for text, audio (a file or a waveform at the model's rate), or
        both: `(1 - weight) * text + weight * audio`, renormalised (`ttmrpp.search.query`)."""
        from ttmrpp.search.query import query_vector

        return query_vector(self, model, text, audio, weight)

    def audio_vector(self, model, audio: str | os.PathLike | np.ndarray) -> np.ndarray:
        """Embedding of an audio file (reused from the index when unchanged in it) or of a
        waveform at `model.config.sample_rate`."""
        from ttmrpp.search.query import audio_vector

        return audio_vector(self, model, audio)

    def search(
        self,
        model,
        text: str | None = None,
        audio: str | os.PathLike | np.ndarray | None = None,
        weight: float = 0.5,
        k: int = 10,
        filters: dict[str, Any] | None = None,
        exclude: set[str] | None = None,
    ) -> list[Hit]:
        """Search by text, by an audio example ("more like this") or both (hybrid)."""
        return self.search_vector(
            self.query_vector(model, text, audio, weight), k, filters, exclude
        )

    # -- persistence (`ttmrpp.search.persist`) --------------------------------------------
    def save(self, folder: str | os.PathLike, model=None) -> Path:
        """Write the index to `folder` atomically: everything goes to a temporary folder beside
        it, which then replaces the old one; a crash or Ctrl-C part-way leaves the previous
        index intact. With `model`, the model is saved into the index (`model/`) as well.
        """
        return save_folder(self, folder, model)

    def snapshot(self) -> IndexSnapshot:
        """The index as plain data (shares arrays with the index: hold `_lock.read()` while
        it is used)."""
        with self._lock.read():
            return snapshot_of(self)

    @classmethod
    def load(cls, folder: str | os.PathLike) -> MusicIndex:
        """Load an index folder written by `save`, verifying each file against the checksums
        in `index.json`.

        A damaged `hnsw.bin` is not loaded: the graph is rebuilt from the embeddings (a
        warning is logged and `index.repaired` lists the file; saving writes a sound one).

        Raises:
            FileNotFoundError: `folder` is not an index folder.
            IndexDamagedError: `index.json`, `tracks.jsonl` or `embeddings.npy` is damaged
                (the error's `path` names the file).
        """
        return load_folder(cls, folder)

    @classmethod
    def from_snapshot(cls, snap: IndexSnapshot) -> MusicIndex:
        """An index over a snapshot's data (the scan's codes are rebuilt from the vectors,
        and the HNSW graph too when the snapshot has none)."""
        return index_from_snapshot(cls, snap)

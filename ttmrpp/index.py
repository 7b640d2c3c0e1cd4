"""`MusicIndex`: a searchable collection of track embeddings and their metadata, in one folder.

    index = MusicIndex.create(model)
    report = index.update(model, "~/Music")          # or a JSONL manifest; incremental
    index.save("my-index")                            # atomic: old folder intact until swap
    hits = MusicIndex.load("my-index").search(model, text="calm piano", k=10)

The folder layout and the atomic save live in `ttmrpp.index_store`.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm.auto import tqdm

from ttmrpp.ann import (
    EXACT_LIMIT,
    HNSW_EF_CONSTRUCTION,
    HNSW_M,
    build_hnsw,
    calibration_queries,
    exact_topk,
    tune_ef,
)
from ttmrpp.index_store import HNSW_NAME, META_NAME, MODEL_DIR, load_index, save_index
from ttmrpp.library import enrich, matches, read_manifest, scan_folder

if TYPE_CHECKING:
    from ttmrpp.scan import SignScan

__all__ = [
    "META_NAME",
    "MODEL_DIR",
    "EmptyQueryError",
    "Hit",
    "ModelMismatchError",
    "MusicIndex",
    "UpdateReport",
    "model_fingerprint",
]

FILTER_EXACT_LIMIT = 50_000  # a filter leaving at most this many tracks is searched exactly
# From this many tracks on, a compressed full scan (ttmrpp.scan) replaces the HNSW graph: it
# builds in seconds where the graph takes tens of minutes on a small machine, and its latency
# does not depend on how clustered the embeddings are (about 0.8 ms at a million on 2 cores).
# A scanned collection goes back to HNSW only below 80% of this, so it does not flip-flop.
SCAN_LIMIT = 250_000
COMPACT_FRACTION = 0.2  # rebuild once this fraction of rows are deleted


class ModelMismatchError(ValueError):
    """The model differs from the one whose embeddings the index holds."""


class EmptyQueryError(ValueError):
    """A query with neither text nor audio."""


def model_fingerprint(model) -> str:
    """A short hash of a model's config and weights (cached on the model object).

    Two models give the same fingerprint only if they compute the same embeddings.
    """
    cached = getattr(model, "_ttmrpp_fingerprint", None)
    if cached:
        return cached
    h = hashlib.sha256()
    cfg = {k: v for k, v in model.config.to_dict().items() if k not in ("name", "text_pretrained")}
    h.update(json.dumps(cfg, sort_keys=True).encode())
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        h.update(t.view(-1).view(dtype=_byte_dtype()).numpy().tobytes() if t.numel() else b"")
    digest = h.hexdigest()[:16]
    model._ttmrpp_fingerprint = digest
    return digest


def _byte_dtype():
    import torch

    return torch.uint8


@dataclass
class UpdateReport:
    """What an update did. `embedded` counts the files decoded and embedded in this run."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    metadata_updated: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # tried in this run
    known_failures: int = 0  # failed before and unchanged since: not retried
    ignored_files: int = 0  # non-audio files in a scanned folder
    embedded: int = 0

    @property
    def touched(self) -> int:
        return len(self.added) + len(self.changed) + len(self.removed)

    def summary(self) -> str:
        return (
            f"added {len(self.added)}, changed {len(self.changed)}, removed "
            f"{len(self.removed)}, unchanged {self.unchanged}, failed {len(self.failures)}"
            + (f" (+{self.known_failures} known, not retried)" if self.known_failures else "")
            + f"; embedded {self.embedded} files"
        )


@dataclass
class Hit:
    rank: int
    score: float
    track: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"rank": self.rank, "score": round(self.score, 6), **self.track}


class MusicIndex:
    """Track embeddings of one model with their metadata; exact, HNSW or scanned cosine search.

    Thread safety: searches and changes to the index take one lock, so adding items never
    runs alongside a query (hnswlib does not allow it); embedding new files happens outside
    the lock, so searches keep working during a long update.
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
        self._lock = threading.RLock()
        self._update_lock = threading.Lock()
        self._filter_cache: dict[Any, np.ndarray] = {}
        self._live_cache: tuple[Any, np.ndarray | None] = (None, None)

    # -- construction -------------------------------------------------------------------
    @classmethod
    def create(cls, model, model_spec: str | None = None) -> MusicIndex:
        """An empty index bound to `model`."""
        return cls(model_fingerprint(model), model.config.embed_dim, model_spec)

    def __len__(self) -> int:
        return len(self._by_path)

    @property
    def alive_rows(self) -> np.ndarray:
        """Row numbers of the live tracks, ascending."""
        if self._alive is None:
            self._alive = np.sort(np.fromiter(self._by_path.values(), np.int64, len(self)))
        return self._alive

    @property
    def tracks(self) -> list[dict[str, Any]]:
        """Records of the live tracks, in row order."""
        return [self.records[r] for r in self.alive_rows]

    @property
    def embeddings(self) -> np.ndarray:
        """[len, dim] embeddings of the live tracks, in the order of `tracks`."""
        return self.vectors[self.alive_rows]

    def vectors_for(self, paths: list[str]) -> np.ndarray:
        """Embeddings [len(paths), dim] of tracks by path (KeyError for one not indexed)."""
        with self._lock:
            return self.vectors[[self._by_path[p] for p in paths]]

    @property
    def uses_hnsw(self) -> bool:
        return self._hnsw is not None

    @property
    def search_method(self) -> str:
        """How queries are answered: "exact", "hnsw" or "scan"."""
        return "hnsw" if self._hnsw is not None else "scan" if self._scan is not None else "exact"

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
        from ttmrpp.embed import embed_audio_files

        self.check_model(model)
        source = Path(source).expanduser()
        report = UpdateReport()
        if source.is_dir():
            incoming, report.ignored_files = scan_folder(source)
        elif source.is_file():
            incoming = read_manifest(source)
        else:
            raise FileNotFoundError(f"{source}: no such folder or manifest")

        with self._update_lock:
            to_embed, keep, failures, seen = [], {}, {}, set()
            for rec in incoming:
                path = rec["path"]
                if path in seen:
                    report.failures.append((path, f"{path}: listed twice in {source}"))
                    continue
                seen.add(path)
                state = (rec["size"], rec["mtime"])
                if rec["size"] is None:
                    failures[path] = {"reason": f"{path}: no such file", "size": None}
                    report.failures.append((path, failures[path]["reason"]))
                    continue
                row = self._by_path.get(path)
                old = self.records[row] if row is not None else None
                if old is not None and (old["size"], old["mtime"]) == state:
                    keep[row] = rec
                    continue
                prev = self.failures.get(path)
                if prev and (prev.get("size"), prev.get("mtime")) == state:
                    failures[path] = prev
                    report.known_failures += 1
                    continue
                to_embed.append(rec)
                (report.changed if old is not None else report.added).append(path)

            changed = set(report.changed)
            with self._lock:
                gone = [
                    p for p, row in self._by_path.items() if row not in keep and p not in changed
                ]
                report.removed = gone
                self._remove([self._by_path[p] for p in gone])
                for row, rec in keep.items():
                    merged = _merge_metadata(self.records[row], rec)
                    if merged != self.records[row]:
                        self.records[row] = merged
                        report.metadata_updated += 1
                report.unchanged = len(keep)
                self.failures = failures
                self.source = str(source.resolve())
                if gone or report.metadata_updated:
                    self._changed()

            # Embed in small groups, each added as soon as it is done: searches see new tracks
            # early and `checkpoint` can save, so an interrupted first index keeps its work.
            bar = tqdm(total=len(to_embed), desc="embedding", unit="file", disable=not progress)
            for start in range(0, len(to_embed), group_size):
                group = to_embed[start : start + group_size]
                vecs, failed = embed_audio_files(
                    model, [r["path"] for r in group], batch_size=batch_size, progress=False
                )
                reasons = dict(failed)
                ok = [enrich(r) for r in group if r["path"] not in reasons]
                with self._lock:
                    self._remove(
                        [self._by_path[r["path"]] for r in group if r["path"] in self._by_path]
                    )
                    self._append(ok, vecs.numpy().astype(np.float32))
                    for rec in group:
                        path = rec["path"]
                        if path not in reasons:
                            continue
                        self.failures[path] = {
                            "reason": reasons[path], "size": rec["size"], "mtime": rec["mtime"]
                        }  # fmt: skip
                        report.failures.append((path, reasons[path]))
                        if path in changed:  # was indexed, now unreadable: it leaves the index
                            report.changed.remove(path)
                            report.removed.append(path)
                        else:
                            report.added.remove(path)
                    self._changed()
                    self._maintain()
                report.embedded += len(group)
                bar.update(len(group))
                if checkpoint is not None:
                    checkpoint(self)
            bar.close()
            with self._lock:
                self._maintain(force_tune=bool(report.touched))
        return report

    def add_embeddings(self, records: list[dict[str, Any]], vectors: np.ndarray) -> None:
        """Add tracks with precomputed embeddings [n, dim] (of this index's model); each record
        needs a unique `path`. An existing path is replaced."""
        vectors = np.asarray(vectors, dtype=np.float32)
        vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        paths = [r["path"] for r in records]
        if len(set(paths)) != len(paths):
            raise ValueError("records have repeated paths")
        with self._lock:
            self._remove([self._by_path[p] for p in paths if p in self._by_path])
            self._append([dict(r) for r in records], vectors)
            self._changed()
            self._maintain(force_tune=True)

    def remove_paths(self, paths: list[str]) -> int:
        """Drop tracks by path; returns how many were in the index."""
        with self._lock:
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
        """Compact deleted rows; choose between exact search, HNSW and the scan; recalibrate
        `ef` or the scan's survivor count."""
        dead = len(self.records) - len(self)
        if len(self) < EXACT_LIMIT:
            self._hnsw = self._scan = None
            self.ef = self.calibrated_recall = self.scan_candidates = None
            self.method_timings = None
            if dead:
                self._compact()
            return
        want = self._wanted_method()
        if (
            self.search_method == "exact"
            or dead > COMPACT_FRACTION * len(self.records)
            or want not in ("auto", self.search_method)
        ):
            self._compact()
            self._build(want)
        elif force_tune:
            self._tune()

    def _wanted_method(self) -> str:
        """ "hnsw", "scan", or "auto" (build both, keep the faster at the calibrated recall)."""
        from ttmrpp.scan import MAX_DIM  # numba: imported only where large collections need it

        if self.dim > MAX_DIM:
            return "hnsw"
        if self.method != "auto":
            return self.method
        limit = SCAN_LIMIT * (0.8 if self._scan is not None else 1.0)
        return "scan" if len(self) >= limit else "auto"

    def _build(self, want: str) -> None:
        if want in ("hnsw", "auto"):
            self._hnsw = build_hnsw(
                self.vectors,
                m=self.hnsw_params["M"],
                ef_construction=self.hnsw_params["ef_construction"],
            )
        if want in ("scan", "auto"):
            from ttmrpp.scan import SignScan

            self._scan = SignScan(self.dim)
            self._scan.add(self.vectors)
        recall = self._tune()
        self.method_timings = None
        if self._hnsw is not None and self._scan is not None:
            # both reach the recall target; keep the one that answers faster on this machine
            # and this collection (a graph wins on clustered embeddings, the scan on
            # structureless ones)
            queries = calibration_queries(self.vectors[self.alive_rows], 100, seed=1)
            hnsw_ms = _median_ms(lambda q: self._hnsw.knn_query(q[None], k=10), queries)
            scan_ms = _median_ms(
                lambda q: self._scan.search(q, 10, self.scan_candidates, self.vectors), queries
            )
            self.method_timings = {"hnsw_ms": round(hnsw_ms, 4), "scan_ms": round(scan_ms, 4)}
            if scan_ms < hnsw_ms:
                self._hnsw, self.ef = None, None
            else:
                self._scan, self.scan_candidates = None, None
            self.calibrated_recall = recall[self.search_method]

    def _tune(self) -> dict[str, float]:
        """Calibrate `ef` and/or the survivor count; returns each method's calibrated recall."""
        rows = self.alive_rows
        recall: dict[str, float] = {}
        self.ef = self.scan_candidates = None
        if self._hnsw is not None:
            self.ef, recall["hnsw"] = tune_ef(self._hnsw, self.vectors[rows], labels=rows)
        if self._scan is not None:
            from ttmrpp.scan import tune_candidates

            self.scan_candidates, recall["scan"] = tune_candidates(
                self._scan, self.vectors, rows, allowed=self._live_mask()
            )
        self.calibrated_recall = recall.get(self.search_method)
        return recall

    def _compact(self) -> None:
        rows = self.alive_rows
        self.records = [self.records[r] for r in rows]
        self.vectors = np.ascontiguousarray(self.vectors[rows])
        self._by_path = {rec["path"]: i for i, rec in enumerate(self.records)}
        self._alive = None
        self._hnsw = self._scan = None

    def _live_mask(self, rows: np.ndarray | None = None) -> np.ndarray | None:
        """Bool mask over rows of `rows` (default: the live rows); None when that is all."""
        if rows is None:
            if len(self) == len(self.records):
                return None
            key = (self.version, len(self.records))
            if self._live_cache[0] != key:
                self._live_cache = (key, self._live_mask(self.alive_rows))
            return self._live_cache[1]
        mask = np.zeros(len(self.records), dtype=bool)
        mask[rows] = True
        return mask

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
        with self._lock:
            if not len(self):
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
            elif self._hnsw is not None:
                self._hnsw.set_ef(max(self.ef or 0, want))
                allowed = None if rows is None else self._live_mask(rows).__getitem__
                labels, dists = self._hnsw.knn_query(q[None], k=want, filter=allowed)
                found, scores = labels[0].astype(np.int64), 1.0 - dists[0]
            return [
                Hit(i + 1, float(s), dict(self.records[r]))
                for i, (r, s) in enumerate(zip(found, scores))
            ]

    def _candidate_rows(self, filters, exclude) -> np.ndarray | None:
        if not filters and not exclude:
            return None
        key = (self.version, json.dumps(filters or {}, sort_keys=True, default=list))
        rows = self._filter_cache.get(key)
        if rows is None:
            rows = np.array(
                [r for r in self.alive_rows if matches(self.records[r], filters or {})],
                dtype=np.int64,
            )
            self._filter_cache = {key: rows}
        if exclude:
            drop = {self._by_path[p] for p in exclude if p in self._by_path}
            rows = np.array([r for r in rows if r not in drop], dtype=np.int64)
        return rows

    def query_vector(
        self,
        model,
        text: str | None = None,
        audio: str | os.PathLike | np.ndarray | None = None,
        weight: float = 0.5,
    ) -> np.ndarray:
        """The query embedding for text, audio (a file or a waveform at the model's rate), or
        both: `(1 - weight) * text + weight * audio`, renormalised.

        Raises:
            EmptyQueryError: neither text (non-blank) nor audio given.
            ModelMismatchError: `model` is not this index's model.
        """
        import torch

        text = text.strip() if isinstance(text, str) else text
        if not text and audio is None:
            raise EmptyQueryError("empty query: give a text, an audio example, or both")
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"weight must be between 0 and 1, not {weight}")
        self.check_model(model)
        parts = []
        if text:
            with torch.inference_mode():
                parts.append((1.0 - weight, model.encode_text([text])[0].cpu().numpy()))
        if audio is not None:
            parts.append((weight, self.audio_vector(model, audio)))
        if len(parts) == 1:
            return parts[0][1].astype(np.float32)
        q = sum(w * v for w, v in parts)
        return (q / max(np.linalg.norm(q), 1e-12)).astype(np.float32)

    def audio_vector(self, model, audio: str | os.PathLike | np.ndarray) -> np.ndarray:
        """Embedding of an audio file (reused from the index when the file is unchanged in
        it) or of a waveform at `model.config.sample_rate`."""
        from ttmrpp.audio import AudioDecodeError
        from ttmrpp.embed import embed_audio_files, embed_waveform

        if isinstance(audio, str | os.PathLike):
            path = str(Path(audio).expanduser().resolve())
            with self._lock:
                row = self._by_path.get(path)
                rec = self.records[row] if row is not None else None
                st = os.stat(path) if os.path.exists(path) else None
                if (
                    rec is not None
                    and st
                    and (rec["size"], rec["mtime"]) == (st.st_size, st.st_mtime_ns)
                ):
                    return self.vectors[row].copy()
            vecs, failed = embed_audio_files(model, [path], progress=False)
            if failed:
                raise AudioDecodeError(failed[0][1])
            return vecs[0].numpy()
        wav = audio.detach().cpu().numpy() if hasattr(audio, "detach") else np.asarray(audio)
        wav = wav.astype(np.float32).reshape(-1)
        if wav.size == 0 or not np.all(np.isfinite(wav)):
            raise EmptyQueryError("audio query is empty or not finite")
        return embed_waveform(model, wav).numpy()

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

    # -- persistence --------------------------------------------------------------------
    def save(self, folder: str | os.PathLike, model=None) -> Path:
        """Write the index to `folder` atomically: everything goes to a temporary folder beside
        it, which then replaces the old one; a crash or Ctrl-C part-way leaves the previous
        index intact. With `model`, the model is saved into the index (`model/`) as well.
        """
        return save_index(self, folder, model)

    def _write_hnsw(self, tmp: Path) -> None:
        if self._hnsw is not None:
            self._hnsw.save_index(str(tmp / HNSW_NAME))

    @classmethod
    def load(cls, folder: str | os.PathLike) -> MusicIndex:
        """Load an index folder written by `save`."""
        return load_index(cls, folder)


def _median_ms(fn: Callable[[np.ndarray], Any], queries: np.ndarray) -> float:
    """Median wall time of fn(q) over the queries, after one warm-up call."""
    fn(queries[0])
    times = []
    for q in queries:
        t0 = time.perf_counter()
        fn(q)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1e3


def _merge_metadata(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """A source's fresh record, keeping what was read from the file's tags before."""
    merged = dict(new)
    for key in ("title", "artist", "album", "duration"):
        if merged.get(key) in (None, "") and old.get(key) not in (None, ""):
            merged[key] = old[key]
    return merged

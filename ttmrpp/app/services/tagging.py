"""The app's auto-tagging tab as plain functions: which taggers are at hand, tag one clip with
several of them, a side-by-side table and bar chart, and the tags a caption is written from.

Taggers are offered only when their weights are on disk (the app never downloads): in
`$TTMRPP_TAGGER_WEIGHTS` and in the tagger cache (`~/.cache/ttmrpp/taggers`, or
`$TTMRPP_CACHE/taggers`, where `ttmrpp tag` keeps what it fetched). Both are laid out like
upstream's `models/`: `<dataset>/<model>/best_model.pth`; a folder written by
`train/train_tagger.py` (with its `tagger.json`) placed as `<name>/<model>/` is offered too.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ttmrpp.app.services.common import (
    Progress,
    QueryError,
    check_count,
    load_query_audio,
    public_reason,
    shorten,
)

log = logging.getLogger(__name__)

WEIGHTS_ENV = "TTMRPP_TAGGER_WEIGHTS"  # folder of tagger weights the app offers
DEFAULT_TOP_K = 5
MAX_TOP_K = 20
MODEL_LABELS = {
    "fcn": "FCN",
    "musicnn": "Musicnn",
    "crnn": "CRNN",
    "sample": "SampleCNN",
    "se": "SampleCNN+SE",
    "short_res": "Short-chunk ResNet",
    "attention": "CNN+self-attention",
    "hcnn": "Harmonic CNN",
}
DATASET_LABELS = {"jamendo": "MTG-Jamendo", "mtat": "MagnaTagATune", "msd": "Million Song"}
HOW_TO_GET_WEIGHTS = (
    "Download `best_model.pth` files from "
    "[minzwon/sota-music-tagging-models](https://github.com/minzwon/sota-music-tagging-models) "
    "(`models/<dataset>/<model>/best_model.pth`, e.g. `models/jamendo/fcn/best_model.pth`) into "
    "a folder with the same layout and start the app with `TTMRPP_TAGGER_WEIGHTS=<that folder>`; "
    "or run `ttmrpp tag SOME_MUSIC --models fcn,musicnn` once with internet, which caches them. "
    "A tagger trained with `train/train_tagger.py` works too: put its output folder at "
    "`<weights folder>/<any name>/<model>/`."
)


@dataclass(frozen=True)
class TaggerChoice:
    """One tagger the app can offer: published weights or a run of `train/train_tagger.py`."""

    key: str  # "<dataset or run name>/<model>", e.g. "jamendo/fcn"
    model: str  # architecture key
    dataset: str  # published vocabulary, or the run folder's name for a trained tagger
    path: Path  # best_model.pth (published) or the run folder (trained)
    trained: bool = False  # a train_tagger.py run (its tagger.json holds the vocabulary)

    @property
    def label(self) -> str:
        source = DATASET_LABELS.get(self.dataset, self.dataset)
        return f"{MODEL_LABELS.get(self.model, self.model)} · {source}" + (
            " (trained here)" if self.trained else ""
        )


def weights_dirs(weights_dir: str | os.PathLike | None = None) -> list[Path]:
    """Folders searched for tagger weights: `weights_dir` (else `$TTMRPP_TAGGER_WEIGHTS`), then
    the tagger cache."""
    from ttmrpp.taggers.tagger import default_cache_dir

    first = weights_dir or os.environ.get(WEIGHTS_ENV)
    folders = [Path(first).expanduser()] if first else []
    return folders + [default_cache_dir()]


def find_taggers(folders: Sequence[Path]) -> list[TaggerChoice]:
    """Every tagger whose weights lie in `folders` (earlier folders win a repeated key)."""
    from ttmrpp.taggers import ARCHITECTURES, DATASETS
    from ttmrpp.taggers.tagger import META_FILE, WEIGHTS_FILE

    found: dict[str, TaggerChoice] = {}
    for root in folders:
        if not root.is_dir():
            continue
        for weights in sorted(root.glob(f"*/*/{WEIGHTS_FILE}")):
            run, model, group = weights.parent, weights.parent.name, weights.parent.parent.name
            key = f"{group}/{model}"
            if model not in ARCHITECTURES or key in found:
                continue
            if (run / META_FILE).is_file():
                found[key] = TaggerChoice(key, model, group, run, trained=True)
            elif group in DATASETS:
                found[key] = TaggerChoice(key, model, group, weights)
    order = {m: i for i, m in enumerate(ARCHITECTURES)}
    return sorted(found.values(), key=lambda c: (c.trained, c.dataset, order[c.model]))


@dataclass
class TaggerZoo:
    """The taggers at hand, loaded on first use and kept (one lock: loading is quick)."""

    choices: list[TaggerChoice]
    folders: list[Path] = field(default_factory=list)  # where they were looked for
    _loaded: dict[str, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_env(cls, weights_dir: str | os.PathLike | None = None) -> TaggerZoo:
        """The taggers in `weights_dir` / `$TTMRPP_TAGGER_WEIGHTS` and the tagger cache."""
        folders = weights_dirs(weights_dir)
        return cls(find_taggers(folders), folders)

    def by_key(self) -> dict[str, TaggerChoice]:
        return {c.key: c for c in self.choices}

    def get(self, key: str):
        """The loaded `Tagger` for a choice key (strict loading; raises TaggerWeightsError)."""
        from ttmrpp.taggers import load_tagger

        choice = self.by_key().get(key) if isinstance(key, str) else None
        if choice is None:
            raise QueryError(
                f"No tagger {shorten(repr(key), 40)}; available: "
                f"{', '.join(self.by_key()) or 'none'}."
            )
        with self._lock:
            if key not in self._loaded:
                kwargs = {"dataset": choice.dataset} if not choice.trained else {}
                self._loaded[key] = load_tagger(choice.model, checkpoint=choice.path, **kwargs)
            return self._loaded[key]

    def missing_message(self) -> str:
        """What the tab shows when no weights are at hand."""
        looked = ", ".join(f"`{p}`" for p in self.folders) or "(nowhere)"
        return f"**No tagger weights found** (looked in {looked}). {HOW_TO_GET_WEIGHTS}"


@dataclass
class TagResult:
    """One tagger's top tags for a clip."""

    key: str
    label: str
    tags: list[tuple[str, float]]  # (tag, probability), most probable first
    seconds: float  # time to run the model (loading included on first use)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_top_k(k: int | float | None) -> int:
    return check_count(k, DEFAULT_TOP_K, MAX_TOP_K, "tags")


def tag_clip(
    zoo: TaggerZoo,
    audio: str | os.PathLike | None,
    keys: Sequence[str] | None,
    k: int = DEFAULT_TOP_K,
    progress: Progress | None = None,
) -> list[TagResult]:
    """Each chosen tagger's top-`k` tags for a clip (whole-track, chunk-averaged).

    Probabilities are the models' own outputs: one sigmoid per tag, so they do not sum to 1.
    A tagger that fails is reported in its result's `error`; the others still run.

    Raises:
        QueryError: no tagger chosen or unknown, bad `k`, or a clip that cannot be tagged.
    """
    from ttmrpp.taggers import TAGGER_SAMPLE_RATE

    if not zoo.choices:
        raise QueryError(zoo.missing_message())
    if isinstance(keys, str) or not all(isinstance(key, str) for key in keys or []):
        raise QueryError("Pick tagger models from the list.")
    keys = list(dict.fromkeys(keys or []))
    if not keys:
        raise QueryError("Pick at least one tagger model.")
    unknown = [key for key in keys if key not in zoo.by_key()]
    if unknown:
        raise QueryError(f"Unknown tagger(s) {shorten(', '.join(unknown), 60)}; reload the page.")
    k = _check_top_k(k)
    if not audio:
        raise QueryError("Upload or record a clip first.")
    if not isinstance(audio, str | os.PathLike):
        raise QueryError("The clip must be an uploaded file.")
    report = progress or (lambda done, total, what: None)
    report(0, len(keys) + 1, "decoding the clip")
    wave = load_query_audio(audio, TAGGER_SAMPLE_RATE)
    results = []
    for i, key in enumerate(keys, start=1):
        choice = zoo.by_key()[key]
        report(i, len(keys) + 1, f"running {choice.label}")
        t0 = time.perf_counter()
        try:
            tagger = zoo.get(key)
            tags = tagger.top_k(tagger.predict_waveform(wave), k)
            error = None
        except Exception as exc:  # one broken checkpoint should not hide the others
            log.exception("tagger %s failed", key)
            tags, error = [], public_reason(exc)
        results.append(TagResult(key, choice.label, tags, time.perf_counter() - t0, error))
    report(len(keys) + 1, len(keys) + 1, "done")
    return results


def tag_table(results: Sequence[TagResult]) -> tuple[list[str], list[list[Any]]]:
    """(headers, rows) with the models side by side: rank, then a tag and its probability
    column per model."""
    headers = ["rank"]
    for r in results:
        headers += [r.label, f"{r.label}: p"]
    depth = max((len(r.tags) for r in results), default=0)
    rows = []
    for rank in range(depth):
        row: list[Any] = [rank + 1]
        for r in results:
            tag, p = r.tags[rank] if rank < len(r.tags) else ("", None)
            row += [tag, None if p is None else round(p, 4)]
        rows.append(row)
    return headers, rows


def tag_figure(results: Sequence[TagResult]):
    """A plotly figure: one horizontal bar chart of top tags per model (probability 0-1)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    results = [r for r in results if r.tags] or list(results)
    cols = max(1, min(4, len(results)))
    nrows = max(1, -(-len(results) // cols))
    fig = make_subplots(
        rows=nrows,
        cols=cols,
        subplot_titles=[r.label for r in results] or ["no results"],
        horizontal_spacing=0.22,
        vertical_spacing=0.12,
    )
    for i, r in enumerate(results):
        tags = list(reversed(r.tags))  # most probable on top
        fig.add_trace(
            go.Bar(
                x=[p for _, p in tags],
                y=[t for t, _ in tags],
                orientation="h",
                text=[f"{p:.2f}" for _, p in tags],
                textposition="auto",
                name=r.label,
                hovertemplate="%{y}: %{x:.4f}<extra></extra>",
            ),
            row=i // cols + 1,
            col=i % cols + 1,
        )
    fig.update_xaxes(range=[0, 1], title_text="probability")
    depth = max((len(r.tags) for r in results), default=1)
    fig.update_layout(
        showlegend=False,
        template="plotly_white",
        height=max(260, 60 + nrows * (60 + 28 * depth)),
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    return fig


def caption_tags(
    results: Sequence[TagResult | dict[str, Any]], key: str | None = None, n: int | None = None
) -> list[str]:
    """The top tags of one tagger's result (`key`, else the first with tags) as words for the
    captioner ("genre---hiphop" → "hip hop"), at most `n`.

    Raises:
        QueryError: nothing tagged yet, or `key` has no tags.
    """
    from ttmrpp.taggers import readable_tag

    rows = [r.to_dict() if isinstance(r, TagResult) else r for r in results or []]
    rows = [r for r in rows if r.get("tags") and (key is None or r["key"] == key)]
    if not rows:
        raise QueryError("No predicted tags to caption: tag a clip first (and pick its model).")
    words = [readable_tag(t) for t, _ in rows[0]["tags"][: n or None]]
    return list(dict.fromkeys(w for w in words if w))

"""The demo's cache, piece by piece: the retrieval model, the rendered demo catalog, the
index loaded from the cache (or nothing, when it is missing or damaged), the index built and
saved, and the atlas loaded or fitted. `ttmrpp.app.launch.prepare` puts them together."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ttmrpp.app.real_demo import demo_manifest
from ttmrpp.app.services.common import Progress, Services
from ttmrpp.fileio import read_jsonl

log = logging.getLogger("ttmrpp.app.launch")  # the messages are the launch's own

FALLBACK_SEED = 0  # seeds the random audio tower of the fallback model


def load_retrieval_model(spec: str):
    """`ttmrpp.load_model(spec)`; an architecture name is seeded with `FALLBACK_SEED`."""
    from ttmrpp.model.factory import load_model

    return load_model(spec, seed=FALLBACK_SEED)


def build_catalog_into(folder: Path, tracks: int, seconds: float, progress: bool = True) -> Path:
    """Render the demo catalog (no benchmark split) into `folder`; returns its manifest."""
    from ttmrpp.world.catalog import CatalogConfig, build_catalog

    cfg = CatalogConfig(tracks=tracks, benchmark_tracks=0, seconds=seconds)
    # Built by another version of the music world: it is our cache, so it is rebuilt.
    return build_catalog(folder, cfg, workers=0, progress=progress, replace_other=True)


def load_cached_index(index_dir: Path, model_spec: str, report: Progress) -> tuple[Any, Any, bool]:
    """(index, model, damaged) from the cache folder `index_dir`; (None, None, damaged) when
    there is nothing usable there, and then the folder is removed so that no stale file
    outlives the rebuild. `damaged`: the cache was damaged (not merely for another model)."""
    from ttmrpp.search.index import ModelMismatchError, MusicIndex

    if not (index_dir / "index.json").is_file():
        if not index_dir.exists():
            return None, None, False
        log.warning("cached index %s has no index.json; rebuilding it", index_dir)
        shutil.rmtree(index_dir, ignore_errors=True)
        return None, None, True
    report(0, 4, "loading the index from the cache")
    try:
        index = MusicIndex.load(index_dir)
        saved_model = index_dir / "model"
        model = load_retrieval_model(str(saved_model) if saved_model.is_dir() else model_spec)
        index.check_model(model)
        return index, model, False
    except ModelMismatchError as exc:
        log.warning("cached index %s is for another model (%s); rebuilding it", index_dir, exc)
        damaged = False
    except Exception:  # broad on purpose: any damage to our own cache means rebuild
        log.warning("cached index %s is damaged; rebuilding it", index_dir, exc_info=True)
        damaged = True
    shutil.rmtree(index_dir, ignore_errors=True)  # no stale file outlives the rebuild
    return None, None, damaged


def build_demo_index(
    catalog: Path,
    index_dir: Path,
    model_spec: str,
    tracks: int,
    seconds: float,
    report: Progress,
    tqdm_bars: bool = True,
    real: Sequence[Path] = (),
) -> tuple[Any, Any]:
    """(index, model): render the demo catalog into `catalog`, embed it with the real
    recordings of the manifests `real` (`ttmrpp.app.real_demo`) and save the index in
    `index_dir` (with the model's weights when `model_spec` is an architecture name). The
    manifest of both is written beside `catalog` (`manifest-<settings>.jsonl`)."""
    from ttmrpp.model.factory import is_architecture, spec_for_index
    from ttmrpp.search.index import MusicIndex

    report(0, 4, f"rendering the demo catalog ({tracks} tracks)")
    generated = build_catalog_into(catalog, tracks, seconds, progress=tqdm_bars)
    name = index_dir.name.removeprefix("index-")
    manifest = demo_manifest(catalog.parent / f"manifest-{name}.jsonl", generated, real)
    report(1, 4, "loading the retrieval model")
    model = load_retrieval_model(model_spec)
    count = len(read_jsonl(manifest))
    report(2, 4, f"embedding {count} tracks")
    index = MusicIndex.create(model, spec_for_index(model_spec))
    result = index.update(model, manifest, progress=tqdm_bars)
    if result.failures:
        log.warning("demo collection: %d tracks failed to embed", len(result.failures))
    # An architecture name has random audio weights: keep them with the index.
    index.save(index_dir, model=model if is_architecture(model_spec) else None)
    return index, model


def fit_atlas(services: Services, tqdm_bars: bool = True) -> None:
    """Load or fit the atlas of `services`' index; a damaged cached map is fitted again.
    Without the atlas module (optional for search) this only logs a warning."""
    try:
        from ttmrpp.app.services.atlas import atlas_points
    except ImportError as exc:  # the atlas module is optional for search
        log.warning("atlas unavailable: %s", exc)
        return
    try:
        atlas_points(services, progress=tqdm_bars)
    except Exception:  # a damaged cached map: fitted again
        log.warning(
            "cached atlas of %s is damaged; fitting it again", services.index_dir, exc_info=True
        )
        from ttmrpp.search.atlas import ATLAS_NAME

        (services.index_dir / ATLAS_NAME).unlink(missing_ok=True)
        atlas_points(services, progress=tqdm_bars)

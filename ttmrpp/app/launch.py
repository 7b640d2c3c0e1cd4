"""The app's demo set-up: the default model, and the demo catalog, index and atlas in a cache.

The first launch on a fresh machine renders the demo catalog (the embedded music world), adds
the real recordings of a few Debian packages (`ttmrpp.app.real_demo`; `TTMRPP_REAL_DEMO=0`
leaves them out), embeds it all into an index and computes the atlas, reporting progress;
later launches load all of it from the cache folder (`TTMRPP_CACHE`, default
`~/.cache/ttmrpp`).

    loader = DemoLoader()                 # nothing happens yet
    services = loader.get(progress)       # builds or loads, once per process
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from ttmrpp.app.demo_cache import build_demo_index, fit_atlas, load_cached_index
from ttmrpp.app.real_demo import RealSource, fetch_real_tracks, real_demo_enabled, real_suffix
from ttmrpp.app.services.common import Limits, Progress, Services
from ttmrpp.assets import cache_dir, has_shipped_model
from ttmrpp.data.debian_packages import MusicPackage
from ttmrpp.model.factory import DEFAULT

log = logging.getLogger(__name__)

FALLBACK_MODEL = "ttmrpp-cpu"  # the architecture with the packaged MiniLM text tower
UNTRAINED_NOTE = (
    "The retrieval model's audio tower is untrained: the shipped trained model is not installed, so "
    "the app runs the `ttmrpp-cpu` architecture with random audio weights (the text tower is "
    "the pretrained MiniLM). Everything works, but rankings are not meaningful yet."
)
DEFAULT_TRACKS = 160  # demo catalog size: renders, embeds and maps in ~3 minutes on 2 cores
DEFAULT_SECONDS = 20.0  # music per demo track


def default_model_spec() -> tuple[str, str]:
    """(model spec, note): the shipped trained model, else the architecture with a warning.

    `TTMRPP_MODEL` (a folder, hub id or architecture name) overrides the choice.
    """
    chosen = os.environ.get("TTMRPP_MODEL")
    if chosen:
        return chosen, ""
    if has_shipped_model():
        return DEFAULT, ""
    return FALLBACK_MODEL, UNTRAINED_NOTE


def demo_tracks() -> int:
    """Demo catalog size: `TTMRPP_DEMO_TRACKS` or `DEFAULT_TRACKS`."""
    value = os.environ.get("TTMRPP_DEMO_TRACKS")
    n = int(value) if value else DEFAULT_TRACKS
    if n < 1:
        raise ValueError(f"TTMRPP_DEMO_TRACKS must be at least 1, not {n}")
    return n


ROOTS_ENV = "TTMRPP_ALLOWED_ROOTS"  # server folders visitors may index (os.pathsep-separated)
SHARED_UPLOADS_ENV = "TTMRPP_SHARED_UPLOADS"  # 1: uploads join everyone's collection
QUEUE_SIZE = 64  # requests waiting beyond this are turned away ("queue full")
CONCURRENCY = 4  # events run at once by default (clip decoding and indexing run fewer)
DAMAGED_NOTE = "The cached index was damaged, so it was rebuilt."


def allowed_roots(extra: Sequence[str | os.PathLike] = ()) -> tuple[Path, ...]:
    """The folders visitors may index: `TTMRPP_ALLOWED_ROOTS` (os.pathsep-separated) and
    `extra` (`--allow-root`), resolved. None: folder indexing is off.

    Raises:
        ValueError: a root that is not an existing folder.
    """
    named = [r for r in os.environ.get(ROOTS_ENV, "").split(os.pathsep) if r.strip()]
    return resolve_roots([*named, *extra])


def resolve_roots(roots: Sequence[str | os.PathLike]) -> tuple[Path, ...]:
    """Folders resolved (symbolic links, `..`, `~`), without repeats; ValueError for one
    that is not an existing folder."""
    resolved: list[Path] = []
    for root in roots:
        path = Path(os.path.realpath(Path(str(root).strip()).expanduser()))
        if not path.is_dir():
            raise ValueError(f"allowed root {root} is not a folder")
        if path not in resolved:
            resolved.append(path)
    return tuple(resolved)


def shared_uploads(flag: bool | None = None) -> bool:
    """Whether visitors' uploads join the shared collection: `flag` (`--shared-uploads`),
    else `TTMRPP_SHARED_UPLOADS` (1/true/yes), else no (each visitor keeps their own)."""
    if flag is not None:
        return flag
    return os.environ.get(SHARED_UPLOADS_ENV, "").strip().lower() in ("1", "true", "yes")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", Path(text).name or text).strip("-").lower()


def real_source(real: bool | RealSource | None = None) -> RealSource | None:
    """Where the demo's real recordings come from, or None when they are off: `real` (a
    `RealSource`, or True for the default one), else `TTMRPP_REAL_DEMO` (on by default)."""
    if isinstance(real, RealSource):
        return real
    return RealSource() if real_demo_enabled(real) else None


def cached_index_dir(
    cache: Path | None = None,
    model_spec: str | None = None,
    tracks: int | None = None,
    seconds: float = DEFAULT_SECONDS,
    real: bool | RealSource | None = None,
) -> Path:
    """Where `prepare` keeps the demo index for these settings (it may not exist yet); with
    the real recordings (`real_source(real)`) the name says which."""
    source = real_source(real)
    return _index_dir(
        cache, model_spec, tracks, seconds, source.packages.values() if source else ()
    )


def _index_dir(
    cache: Path | None,
    model_spec: str | None,
    tracks: int | None,
    seconds: float,
    packages: Iterable[MusicPackage],
) -> Path:
    cache = Path(cache) if cache is not None else cache_dir()
    model_spec = model_spec or default_model_spec()[0]
    tracks = demo_tracks() if tracks is None else tracks
    return cache / f"index-{_slug(model_spec)}-{tracks}x{seconds:g}s{real_suffix(packages)}"


def is_cached(**settings) -> bool:
    """Whether `prepare(**settings)` would load from the cache rather than build."""
    return (cached_index_dir(**settings) / "index.json").is_file()


def prepare(
    cache: Path | None = None,
    model_spec: str | None = None,
    tracks: int | None = None,
    seconds: float = DEFAULT_SECONDS,
    progress: Progress | None = None,
    tqdm_bars: bool = True,
    roots: Sequence[str | os.PathLike] | None = None,
    shared: bool | None = None,
    real: bool | RealSource | None = None,
) -> Services:
    """Load the demo services from the cache, building what is missing; a damaged cached
    index (an empty or corrupt file, a broken manifest, ...) is rebuilt and the model note
    says so.

    Args:
        cache: cache folder (default `cache_dir()`).
        model_spec: retrieval model (default `default_model_spec()`).
        tracks: demo catalog size (default `demo_tracks()`).
        seconds: music per demo track.
        progress: called with (step, steps, what) between stages.
        tqdm_bars: show tqdm bars for the long stages (rendering, embedding, atlas).
        roots: folders visitors may index (default `allowed_roots()`: the environment).
        shared: uploads join the shared collection (default `shared_uploads()`).
        real: add the real recordings (`real_source`: default on unless
            `TTMRPP_REAL_DEMO=0`). Packages that cannot be had are left out, the note says
            so, and the next launch tries again.
    """
    cache = Path(cache) if cache is not None else cache_dir()
    note = ""
    if model_spec is None:
        model_spec, note = default_model_spec()
    tracks = demo_tracks() if tracks is None else tracks
    report = progress or (lambda done, total, what: None)
    source = real_source(real)
    wanted = list(source.packages.values()) if source else []
    index_dir = _index_dir(cache, model_spec, tracks, seconds, wanted)
    t0 = time.perf_counter()

    roots = allowed_roots() if roots is None else resolve_roots(roots)
    index, model, damaged = load_cached_index(index_dir, model_spec, report)
    real_manifests: list[Path] = []
    if index is None and source is not None:
        report(0, 4, "getting the real recordings (Debian packages)")
        got = fetch_real_tracks(cache, source, progress=tqdm_bars)
        real_manifests = list(got.manifests.values())
        if got.missing:  # the demo without them has its own cache folder
            log.warning("real demo tracks: %s", got.note)
            note = f"{note} {got.note}".strip()
            index_dir = _index_dir(cache, model_spec, tracks, seconds, got.packages.values())
            index, model, damaged_too = load_cached_index(index_dir, model_spec, report)
            damaged = damaged or damaged_too
    if damaged:
        note = f"{note} {DAMAGED_NOTE}".strip()
    if index is None:
        catalog = cache / f"catalog-{tracks}x{seconds:g}s"
        index, model = build_demo_index(
            catalog, index_dir, model_spec, tracks, seconds, report, tqdm_bars, real_manifests
        )
    services = Services(
        model=model,
        index=index,
        model_spec=model_spec,
        model_note=note,
        collection_name=collection_name(index, tracks),
        index_dir=index_dir,
        upload_dir=cache / "uploads",
        allowed_roots=roots,
        shared_uploads=shared_uploads(shared),
    )
    report(3, 4, "computing the atlas")
    fit_atlas(services, tqdm_bars)
    report(4, 4, f"ready in {time.perf_counter() - t0:.0f} s")
    return services


def collection_name(index, tracks: int) -> str:
    """What the demo collection is: generated tracks, and the real recordings it holds."""
    packages = {t["package"] for t in index.tracks if t.get("package")}
    real = sum(1 for t in index.tracks if t.get("package"))
    if not real:
        return f"demo catalog ({tracks} generated tracks)"
    source = f"{len(packages)} Debian package" + ("s" if len(packages) > 1 else "")
    return f"demo catalog ({tracks} generated tracks + {real} real recordings from {source})"


class DemoLoader:
    """Builds or loads the demo services once per process, on first request (thread-safe).

    Args:
        make: the function that builds the services (default: `prepare` with the defaults).
    """

    def __init__(self, make: Callable[..., Services] | None = None) -> None:
        self._make = make or prepare
        self._services: Services | None = None
        self._lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def ready(self) -> bool:
        return self._services is not None

    def get(self, progress: Progress | None = None) -> Services:
        """The services, building them now (or waiting for a build under way) if needed."""
        if self._services is None:
            with self._lock:
                if self._services is None:
                    self._services = self._make(progress=progress)
        return self._services

    def start(self) -> None:
        """Start building in a background thread, unless built or being built."""
        with self._start_lock:
            if self._services is None and self._thread is None:
                self._thread = threading.Thread(target=self._build_quietly, daemon=True)
                self._thread.start()

    def _build_quietly(self) -> None:
        try:
            self.get()
        except Exception:  # the next start() or get() tries again
            log.exception("preparing the demo failed")
            with self._start_lock:
                self._thread = None


def offline_environment(model_spec: str | None = None) -> None:
    """No analytics or telemetry; Hugging Face stays offline unless a hub id is chosen.

    Call it before gradio or transformers are imported (they read these at import time).
    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    from ttmrpp.model.factory import is_hub_id  # imports no transformers

    if not (model_spec and is_hub_id(model_spec)):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def launch_settings(cache: Path, limits: Limits | None = None) -> dict:
    """`Blocks.launch` arguments that keep the server's files to itself.

    Nothing is in `allowed_paths`: the player is handed copies in Gradio's own cache, made
    only for indexed tracks (`ttmrpp.app.tabs.context.player_file` says why). The cache
    folder (index, embeddings, catalog, visitors' uploads) is in `blocked_paths` as well, so
    no later setting can expose it, unless Gradio's temp folder lies inside it. Uploads larger
    than the per-file limit are refused by Gradio before they reach the app.
    """
    from gradio.utils import get_upload_folder, is_in_or_equal

    limits = limits or Limits()
    blocked = []
    if not is_in_or_equal(get_upload_folder(), cache):
        blocked.append(str(Path(os.path.realpath(cache))))
    else:
        log.warning("GRADIO_TEMP_DIR lies inside the cache %s: the cache is not blocked", cache)
    return {
        "allowed_paths": [],
        "blocked_paths": blocked,
        "max_file_size": limits.file_bytes,
    }


def serve(
    prepare_only: bool = False,
    server_name: str | None = None,
    server_port: int | None = None,
    roots: Sequence[str | os.PathLike] = (),
    shared: bool | None = None,
) -> None:
    """Launch the app on the demo set-up (host and port default to `GRADIO_SERVER_NAME` /
    `GRADIO_SERVER_PORT`, else 127.0.0.1:7860), or with `prepare_only` just fill the cache.

    Args:
        roots: folders visitors may index, besides `TTMRPP_ALLOWED_ROOTS` (default: none, so
            folder indexing is off).
        shared: uploads join the shared collection (default `TTMRPP_SHARED_UPLOADS`, else no).

    Raises:
        ValueError: an allowed root that is not an existing folder (before anything starts).
    """
    root_dirs = allowed_roots(roots)
    shared = shared_uploads(shared)
    offline_environment(os.environ.get("TTMRPP_MODEL"))
    import torch

    # One thread per request: small queries gain nothing from more, and on a busy machine
    # (or with concurrent requests) intra-op threads fight for cores. Measured on 2 shared
    # cores under load: a whole text search 8 ms with 1 thread, the text encoder alone 126 ms
    # with 2; embedding 0.4 vs 0.7 s per demo track.
    torch.set_num_threads(int(os.environ.get("TTMRPP_TORCH_THREADS") or 1))
    if prepare_only:
        services = prepare()
        print(f"ready: {len(services.index)} tracks indexed in {services.index_dir}")
        return
    from ttmrpp.app.blocks import CSS, build_demo

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for root in root_dirs:
        log.info("visitors may index folders inside %s", root)
    log.info("uploads %s", "join the shared collection" if shared else "stay with each visitor")
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    loader = DemoLoader(functools.partial(prepare, roots=root_dirs, shared=shared))
    if is_cached():
        loader.start()  # warm: load while the server starts; cold: build on the first page load
    demo = build_demo(loader)
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE).launch(
        server_name=server_name,
        server_port=server_port,
        footer_links=["api"],
        css=CSS,
        **launch_settings(cache),
    )

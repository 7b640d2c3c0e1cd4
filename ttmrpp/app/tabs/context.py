"""What every tab builder shares: how to reach the services, the tagger zoo, the visitor's
uploads, the player's files, and the guard that keeps server errors off the page."""

from __future__ import annotations

import functools
import inspect
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from ttmrpp.app import services as service
from ttmrpp.app.services.common import Progress, QueryError, Services
from ttmrpp.app.services.tagging import TaggerZoo
from ttmrpp.app.services.uploads import VisitorUploads

log = logging.getLogger("ttmrpp.app")
GENERIC_ERROR = (
    "Something went wrong on the server (it has been logged). Try again or change the input."
)

GENERATORS = ("template", "base", "lora")
GENERATOR_LABELS = {"template": "Template", "base": "Base LLM", "lora": "LoRA LLM"}
DEFAULT_CATEGORIES = ["genre", "instrument", "mood", "tempo"]


@dataclass
class AppContext:
    """Shared by the tab builders.

    Attributes:
        get: `get(progress)` builds or loads the services and waits for them.
        current: the services when ready; otherwise starts the build and raises `QueryError`.
        zoo: the auto-taggers offered.
        demo: the Blocks being built.
        uploads: the visitor's session state: their `VisitorUploads` (None before the first
            upload); closed when the session ends.
    """

    get: Callable[..., Services]
    current: Callable[[], Services]
    zoo: TaggerZoo
    demo: gr.Blocks
    uploads: gr.State

    def session(self, services: Services, uploads: VisitorUploads | None) -> VisitorUploads:
        """The visitor's uploads, made on their first upload."""
        return uploads if isinstance(uploads, VisitorUploads) else VisitorUploads(services)


def player_file(services: Services, path: Any, uploads: VisitorUploads | None) -> str | None:
    """What the player may be handed for a track: a copy in Gradio's cache of an indexed
    track (shared, or the visitor's own upload), or None for anything else.

    Why a copy: Gradio 6 serves `/gradio_api/file=P` only when P is inside `allowed_paths`,
    inside its own upload/cache folder (`GRADIO_TEMP_DIR`, where it keeps visitors' uploads
    and the copies of files that handlers return), or a static path; and a handler may only
    return a file that passes the same test (or lies in the working or temp folder), which
    Gradio then copies into that cache anyway. Allowing the tracks' folders would make every
    file in them downloadable (a `secret.txt` beside a track, the index files in the cache),
    and single-file allowed paths would grow a list that Gradio scans on every request. So
    nothing is allowed at launch; the player gets the copy Gradio would make itself, at
    `<cache>/<seeded sha256 of the bytes>/<name>` (the seed is the installation's secret, so
    the address cannot be guessed), and only after checking that the path is an indexed
    track. Gradio's `delete_cache` removes the copies later.
    """
    from gradio import processing_utils, utils

    if not service.playable(services, path, uploads):
        if path:
            log.warning("refused to play a file that is not an indexed track: %r", path)
        return None
    if not os.path.isfile(path):
        log.warning("indexed track %s is gone from the disk; nothing to play", path)
        return None
    return processing_utils.save_file_to_cache(path, cache_dir=utils.get_upload_folder())


def guarded(on_error: Callable[[str], Any], what: str | None = None):
    """Decorate an event handler (plain or generator): a `QueryError` becomes
    `on_error(its message)`, any other exception is logged with its traceback and becomes
    `on_error(GENERIC_ERROR)`; raw exception text never reaches the page."""

    def wrap(fn):
        name = what or fn.__name__
        if inspect.isgeneratorfunction(fn):

            @functools.wraps(fn)
            def stream(*args, **kwargs):
                try:
                    yield from fn(*args, **kwargs)
                except QueryError as exc:
                    yield on_error(str(exc))
                except Exception:
                    log.exception("%s failed", name)
                    yield on_error(GENERIC_ERROR)

            return stream

        @functools.wraps(fn)
        def call(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except QueryError as exc:
                return on_error(str(exc))
            except Exception:
                log.exception("%s failed", name)
                return on_error(GENERIC_ERROR)

        return call

    return wrap


def api_error(message: str):
    """`on_error` for API-only endpoints: a Gradio error with the short message."""
    raise gr.Error(message)


def provider(services) -> tuple[Callable[..., Services], Callable[[], Services]]:
    """(get, current) for a ready `Services` or a loader (`ttmrpp.app.launch.DemoLoader`):
    `current()` never makes a request wait minutes on a first launch."""
    if isinstance(services, Services):
        return (lambda progress=None: services), (lambda: services)

    def current() -> Services:
        if services.ready:
            return services.get()
        services.start()
        raise QueryError(
            "The collection is still being prepared (progress at the top of the page); "
            "try again in a moment."
        )

    return services.get, current


def clip_input(label: str, elem_id: str) -> gr.Audio:
    """An audio clip the user uploads or records; handlers receive a file path."""
    return gr.Audio(sources=["upload", "microphone"], type="filepath", label=label, elem_id=elem_id)


def progress_callback(progress: gr.Progress) -> Progress:
    """A services progress callback that drives a Gradio progress bar."""

    def report(done: int, total: int, what: str) -> None:
        progress(done / total if total else 0.0, desc=what)

    return report


def warn(message: Exception | str) -> str:
    """Show a short warning toast and return the same text for a message box."""
    gr.Warning(str(message))
    return f"⚠️ {message}"

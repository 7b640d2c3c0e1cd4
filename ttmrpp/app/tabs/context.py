"""What every tab builder shares: how to reach the services, the tagger zoo, small helpers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from ttmrpp.app.services.common import Progress, QueryError, Services
from ttmrpp.app.services.tagging import TaggerZoo

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
        demo: the Blocks being built (the player's allowed paths live on it).
    """

    get: Callable[..., Services]
    current: Callable[[], Services]
    zoo: TaggerZoo
    demo: gr.Blocks

    def allow(self, paths: list[str]) -> None:
        """Let the player serve indexed tracks from folders added after launch (only tracks
        that are in the index are ever handed to the player)."""
        allowed = self.demo.allowed_paths
        for folder in {str(Path(p).parent) for p in paths}:
            if not any(folder == a or folder.startswith(a.rstrip("/") + "/") for a in allowed):
                allowed.append(folder)


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


def warn(exc: Exception) -> str:
    """Show a short warning toast and return the same text for a message box."""
    gr.Warning(str(exc))
    return f"⚠️ {exc}"

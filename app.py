"""The ttmrpp app (and the Hugging Face Space's entry point): `python app.py`.

Serves at once; the first page load builds the demo catalog, index and atlas into the cache
(`TTMRPP_CACHE`, default `~/.cache/ttmrpp`) with a progress bar, later launches load them.
Settings from the environment: `GRADIO_SERVER_NAME` / `GRADIO_SERVER_PORT` (host, port),
`TTMRPP_MODEL` (a model folder, hub id or architecture name), `TTMRPP_DEMO_TRACKS`.
Offline by default: no analytics, no CDN, and no hub access unless a hub model is chosen.
"""

from __future__ import annotations

import argparse
import os


def offline_environment(model_spec: str | None) -> None:
    """Turn off analytics and telemetry; keep Hugging Face offline unless a hub id is chosen."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    from pathlib import Path

    wants_hub = bool(model_spec) and model_spec.count("/") == 1 and not Path(model_spec).exists()
    if not wants_hub:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Launch the ttmrpp app.")
    parser.add_argument("--prepare-only", action="store_true", help="build the cache and exit")
    args = parser.parse_args(argv)
    offline_environment(os.environ.get("TTMRPP_MODEL"))

    from ttmrpp.demo import DemoLoader, cache_dir, is_cached, prepare

    if args.prepare_only:
        prepare()
        return
    from ttmrpp.ui import CSS, build_demo

    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    loader = DemoLoader()
    if is_cached():
        loader.start()  # a warm launch loads while the server starts; a cold one builds on
        # the first page load, where its progress is shown
    demo = build_demo(loader)
    demo.queue(default_concurrency_limit=4).launch(
        allowed_paths=[str(cache)],  # the demo catalog's audio and uploads are played from here
        max_file_size="500mb",
        footer_links=["api"],
        css=CSS,
    )


if __name__ == "__main__":
    main()

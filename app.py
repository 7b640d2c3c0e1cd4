"""The ttmrpp app (and the Hugging Face Space's entry point): `python app.py`.

Serves at once; the first page load builds the demo catalog, index and atlas into the cache
(`TTMRPP_CACHE`, default `~/.cache/ttmrpp`) with a progress bar, later launches load them.
Settings from the environment: `GRADIO_SERVER_NAME` / `GRADIO_SERVER_PORT` (host, port),
`TTMRPP_MODEL` (a model folder, hub id or architecture name), `TTMRPP_DEMO_TRACKS`,
`TTMRPP_TAGGER_WEIGHTS` (auto-tagger weights, `<dataset>/<model>/best_model.pth`),
`TTMRPP_ALLOWED_ROOTS` (server folders visitors may index; none by default) and
`TTMRPP_SHARED_UPLOADS=1` (uploads join everyone's collection; by default each visitor's
uploads are theirs alone). Offline by default: no analytics, no CDN, and no hub access unless
a hub model is chosen. `python app.py --prepare-only` builds the cache with progress bars and
exits; `--allow-root DIR` (repeatable) and `--shared-uploads` do what the variables do.
"""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> None:
    from ttmrpp.cli.app import add_safety_options

    parser = argparse.ArgumentParser(description="Launch the ttmrpp app.")
    parser.add_argument("--prepare-only", action="store_true", help="build the cache and exit")
    add_safety_options(parser)
    args = parser.parse_args(argv)
    from ttmrpp.app.launch import serve

    serve(
        prepare_only=args.prepare_only,
        roots=args.allow_root,
        shared=True if args.shared_uploads else None,
    )


if __name__ == "__main__":
    main()

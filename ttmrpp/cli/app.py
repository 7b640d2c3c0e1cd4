"""`ttmrpp app`: launch the web app on the demo set-up, or build its cache with progress bars."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    from ttmrpp.app.launch import serve

    serve(
        prepare_only=args.prepare_only,
        server_name=args.host,
        server_port=args.port,
        roots=args.allow_root,
        shared=True if args.shared_uploads else None,
    )
    return 0


def add_safety_options(p: argparse.ArgumentParser) -> None:
    """`--allow-root DIR` (repeatable) and `--shared-uploads`, shared with `python app.py`."""
    p.add_argument(
        "--allow-root",
        action="append",
        default=[],
        metavar="DIR",
        help="a server folder visitors may index (repeatable; also TTMRPP_ALLOWED_ROOTS, "
        "os.pathsep-separated). Without one, indexing server folders is off.",
    )
    p.add_argument(
        "--shared-uploads",
        action="store_true",
        help="uploads join the collection everyone searches (also TTMRPP_SHARED_UPLOADS=1); "
        "by default each visitor's uploads are searched for that visitor only",
    )


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "app",
        help="launch the web app (search, caption lab, atlas) on the demo catalog",
        description="Launch the Gradio app. The first launch builds the demo catalog, index and "
        "atlas into TTMRPP_CACHE (default ~/.cache/ttmrpp); later launches load them.",
    )
    p.add_argument("--host", default=None, help="address (default GRADIO_SERVER_NAME or 127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=None, help="port (default GRADIO_SERVER_PORT or 7860)"
    )
    p.add_argument(
        "--prepare-only", action="store_true", help="build the demo cache (tqdm progress) and exit"
    )
    add_safety_options(p)
    p.set_defaults(func=run)

"""The `ttmrpp` command line: one sub-command module per feature.

Each module listed in `COMMAND_MODULES` exposes `register(subparsers)`, which adds its
sub-command(s) and sets `func(args) -> int | None` as the parser default. Modules are imported
only when the CLI starts, so heavy dependencies stay out of `import ttmrpp`.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES: list[str] = [
    "ttmrpp.cli.embed",
    "ttmrpp.cli.tag",
    "ttmrpp.cli.search",
    "ttmrpp.cli.catalog",
    "ttmrpp.cli.caption",
    "ttmrpp.cli.app",
    "ttmrpp.cli.evaluate",
    "ttmrpp.cli.real_music",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ttmrpp",
        description="TTMR++ text-to-music retrieval: search, captions, training data.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    code = args.func(args)
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())

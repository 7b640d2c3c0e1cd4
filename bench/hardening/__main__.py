"""Every hardening probe, one JSON line each: decoding, the index, the running app.

    python -m bench.hardening              # all of them (several minutes)
    python -m bench.hardening decode app   # some of them

Each area's probes also run alone: `python -m bench.hardening.decode`, `.index`, `.app`.
"""

from __future__ import annotations

import importlib
import json
import sys

AREAS = ("decode", "index", "app")


def main(argv: list[str] | None = None) -> int:
    areas = list(argv if argv is not None else sys.argv[1:]) or list(AREAS)
    unknown = set(areas) - set(AREAS)
    if unknown:
        print(f"unknown areas {sorted(unknown)}; choose from {', '.join(AREAS)}", file=sys.stderr)
        return 2
    failed = 0
    for area in areas:
        for row in importlib.import_module(f"bench.hardening.{area}").probes():
            print(json.dumps({"area": area, **row}, ensure_ascii=False), flush=True)
            failed += row.get("ok") is False
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

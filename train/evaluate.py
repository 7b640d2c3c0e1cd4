"""The paper's Table-2 evaluation of one model (same as `ttmrpp evaluate`).

    python -m train.evaluate runs/cpu/model --manifest runs/world/bench/manifest.jsonl

Protocols: `ttmrpp/evaluation.py` and docs/RESULTS.md.
"""

from __future__ import annotations

import argparse

from ttmrpp.commands.evaluate import add_arguments, results_for


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(p)
    return results_for(p.parse_args(argv))


if __name__ == "__main__":
    main()

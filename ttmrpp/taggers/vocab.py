"""Output vocabularies of the published taggers, shipped with the package.

`jamendo.txt`: MTG-Jamendo top-50 (`category---tag`, alphabetical: the models' output order);
`mtat.txt`: MagnaTagATune top-50 and `msd.txt`: Million Song Dataset top-50, both in the output
order of minzwon/sota-music-tagging-models (`split/mtat/tags.npy`, `split/msd/50tagList.txt`).
"""

from __future__ import annotations

from functools import cache
from importlib import resources

DATASETS: tuple[str, ...] = ("jamendo", "mtat", "msd")


@cache
def _read(dataset: str) -> tuple[str, ...]:
    text = resources.files("ttmrpp.taggers").joinpath("vocab", f"{dataset}.txt").read_text("utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def vocabulary(dataset: str) -> list[str]:
    """The 50 output tags of the published `dataset` taggers, index i = output i."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown tag vocabulary {dataset!r}; choose from {', '.join(DATASETS)}")
    return list(_read(dataset))

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


# Listener words that name a published tag differently (after lower-casing and dropping spaces,
# hyphens and "&"): ours -> theirs.
_ALIASES: dict[str, str] = {
    "vocals": "voice",
    "vocal": "voice",
    "singing": "voice",
    "singer": "voice",
    "synth": "synthesizer",
    "synths": "synthesizer",
    "synthesizers": "synthesizer",
    "keyboards": "keyboard",
    "keys": "keyboard",
    "electricbass": "bass",
    "bassguitar": "bass",
    "drumkit": "drums",
    "beats": "drummachine",
    "rap": "hiphop",
    "calm": "relaxing",
    "relaxed": "relaxing",
    "cinematic": "film",
    "emotive": "emotional",
    "upbeat": "energetic",
}
_CATEGORY_PREFIX = {"genre": "genre---", "instrument": "instrument---", "mood": "mood/theme---"}


def _squash(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def map_tags(tags: dict[str, list[str]], dataset: str) -> list[str]:
    """Map our manifest tags ({"genre": [...], "instrument": [...], "mood": [...], ...}) onto a
    published vocabulary; tags with no counterpart are dropped.

    Jamendo tags are matched within their category ("electric guitar" → instrument---electricguitar,
    "hip hop" → genre---hiphop, mood → mood/theme---*); MTAT/MSD tags by name in any category.
    """
    vocab = vocabulary(dataset)
    out: set[str] = set()
    if dataset == "jamendo":
        by_key = {t: t for t in vocab}
        for category, words in tags.items():
            prefix = _CATEGORY_PREFIX.get(category.split("/")[0].lower())
            if prefix is None:
                continue
            for word in words:
                key = _squash(word)
                for cand in (key, _ALIASES.get(key, key)):
                    if prefix + cand in by_key:
                        out.add(prefix + cand)
                        break
    else:
        by_key = {_squash(t): t for t in vocab}
        for words in tags.values():
            for word in words:
                key = _squash(word)
                hit = by_key.get(key) or by_key.get(_ALIASES.get(key, key))
                if hit:
                    out.add(hit)
    return sorted(out, key=vocab.index)


# Jamendo writes multi-word tags without spaces; these are the ones in its top-50.
_JAMENDO_WORDS = {
    "acousticguitar": "acoustic guitar",
    "drummachine": "drum machine",
    "easylistening": "easy listening",
    "electricguitar": "electric guitar",
    "electricpiano": "electric piano",
    "hiphop": "hip hop",
    "instrumentalpop": "instrumental pop",
    "newage": "new age",
    "popfolk": "pop folk",
    "poprock": "pop rock",
    "triphop": "trip hop",
}


def readable_tag(tag: str) -> str:
    """A tagger label as words for people and the captioner: the `category---` prefix dropped,
    Jamendo's joined words spaced ("instrument---electricguitar" → "electric guitar")."""
    word = tag.rsplit("---", 1)[-1].strip()
    return _JAMENDO_WORDS.get(word.lower(), word.lower())

"""Keep only the faithful part of an LLM pseudo-caption.

A small captioner (SmolLM2-135M + LoRA) writes MusicCaps-style paragraphs that often name
genres or instruments the track does not have ("jazz", "piano") and add use-case filler
("could be used in a video game"). LP-MusicCaps filters its pseudo-captions for the same
reason. We filter by sentence: a sentence is kept when it names at least one of the track's
tags and no other term of the tag vocabulary. The vocabulary is the union of all tags in the
manifest being captioned, so the filter works for any dataset's tag set.

No library does tag-vocabulary matching of this kind, hence the few regular expressions here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


class TagMatcher:
    """Finds which vocabulary terms a text names (longest term first, plurals allowed)."""

    def __init__(self, vocabulary: Iterable[str]) -> None:
        terms = sorted({t.strip().lower() for t in vocabulary if t and t.strip()}, key=len)
        self.patterns = [
            (t, re.compile(r"\b" + re.escape(t) + r"(?:s|es)?\b")) for t in reversed(terms)
        ]

    def __call__(self, text: str) -> set[str]:
        text, found = text.lower(), set()
        for term, pattern in self.patterns:
            if pattern.search(text):
                found.add(term)
                text = pattern.sub(" ", text)  # "synth bass" must not also count as "bass"
        return found


def split_sentences(text: str) -> list[str]:
    """Sentences of a caption (split after . ! or ? followed by white space)."""
    return [s.strip() for s in _SENTENCE.split(text.strip()) if s.strip()]


def faithful_caption(caption: str, tags: Sequence[str], matcher: TagMatcher) -> str:
    """The sentences of `caption` that name one of `tags` and no other vocabulary term.

    Returns "" when no sentence qualifies (the record then trains on its other sources).
    """
    own = {t.strip().lower() for t in tags}
    kept = []
    for sentence in split_sentences(caption):
        named = matcher(sentence)
        if named and named <= own:
            kept.append(sentence)
    return " ".join(kept)


def filter_records(records: list[dict]) -> dict[str, int]:
    """Replace each record's `pseudo_caption` by its faithful part, in place.

    The generator's text is kept as `pseudo_caption_raw` (and re-filtered from there when
    present, so filtering twice changes nothing). A record left without a faithful sentence
    loses `pseudo_caption` and trains on its other text sources.

    Returns:
        counts: captioned (records with a caption), kept, emptied, other_tags (generated
        captions naming a vocabulary tag the track does not have), the mean share of a track's
        tags its generated caption names, and the mean number of words before and after.
    """
    from ttmrpp.text.kg_text import flat_tags

    matcher = TagMatcher(t for r in records for t in flat_tags(r.get("tags") or []))
    counts = {"captioned": 0, "kept": 0, "emptied": 0, "other_tags": 0}
    words_before = words_after = coverage = 0.0
    for rec in records:
        raw = rec.get("pseudo_caption_raw") or rec.get("pseudo_caption")
        if not raw:
            continue
        counts["captioned"] += 1
        own = {t.strip().lower() for t in flat_tags(rec.get("tags") or [])}
        named = matcher(raw)
        counts["other_tags"] += bool(named - own)
        coverage += len(named & own) / max(len(own), 1)
        text = faithful_caption(raw, sorted(own), matcher)
        rec["pseudo_caption_raw"] = raw
        words_before += len(raw.split())
        if text:
            rec["pseudo_caption"] = text
            counts["kept"] += 1
            words_after += len(text.split())
        else:
            rec.pop("pseudo_caption", None)
            counts["emptied"] += 1
    n = max(counts["captioned"], 1)
    return {
        **counts,
        "mean_tag_coverage": round(coverage / n, 3),
        "mean_words_before": round(words_before / n, 1),
        "mean_words_after": round(words_after / max(counts["kept"], 1), 1),
    }

"""The caption lab: each generator's caption for a tag list, streamed, with BERTScore."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence
from typing import Any

from ttmrpp.app.services.common import (
    Limits,
    QueryError,
    Services,
    check_length,
    public_reason,
    shorten,
)

log = logging.getLogger(__name__)
MAX_TAGS = 50


def parse_tag_text(
    tags: str | Sequence[str] | None, max_chars: int = Limits.tag_chars
) -> list[str]:
    """Tags from a comma-separated string (or a list); raises `QueryError` when there are none,
    when the text is longer than `max_chars`, or when there are more than `MAX_TAGS`."""
    from ttmrpp.text.captioning.generators import parse_tags

    if tags is None or isinstance(tags, str):
        items = parse_tags(check_length(tags, max_chars, "tag list"))
    elif isinstance(tags, list | tuple) and all(isinstance(t, str) for t in tags):
        check_length(", ".join(tags), max_chars, "tag list")
        items = list(tags)
    else:
        raise QueryError("Tags must be text: a few comma-separated tags.")
    items = [t for t in items if re.search(r"\w", t)]
    if not items:
        raise QueryError("No tags: type a few comma-separated tags, e.g. 'jazz, piano, calm'.")
    if len(items) > MAX_TAGS:
        raise QueryError(f"{len(items)} tags; at most {MAX_TAGS} at a time.")
    return items


def check_reference(services: Services, reference: Any) -> str | None:
    """The reference caption stripped (None when empty), within the length limit."""
    text = check_length(reference, services.limits.reference_chars, "reference caption")
    return " ".join(text.split()) or None


def caption_compare_stream(
    services: Services, tags: str | Sequence[str], reference: str | None = None
) -> Iterator[list[dict[str, Any]]]:
    """`caption_compare` as it happens: yields all rows each time a generator's text grows.

    Generators run one after another (base and LoRA share one model and its lock).
    """
    from ttmrpp.text.captioning.generators import clean_caption

    items = parse_tag_text(tags, services.limits.tag_chars)
    reference = check_reference(services, reference)
    gens = services.captioners()
    rows = [
        {"name": n, "caption": "", "error": None, "latency_s": None, "bertscore_f1": None}
        for n in gens
    ]
    yield rows
    for row, cap in zip(rows, gens.values()):
        t0 = time.perf_counter()
        text = ""
        try:
            for piece in cap.stream(items):
                text += piece
                row["caption"] = text
                yield rows
        except Exception as exc:  # one broken generator should not hide the others
            log.exception("caption generator %s failed", row["name"])
            row["error"] = public_reason(exc)
        row["latency_s"] = round(time.perf_counter() - t0, 3)
        if row["error"] is None:
            row["caption"] = clean_caption(text) if row["name"] != "template" else text
        yield rows
    if reference:
        from ttmrpp.text.captioning.bertscore import bertscore

        done = [r for r in rows if r["error"] is None and r["caption"]]
        scores = bertscore([r["caption"] for r in done], [reference] * len(done))
        for r, sc in zip(done, scores):
            r["bertscore_f1"] = round(float(sc.f1), 4)
        yield rows


def caption_compare(
    services: Services, tags: str | Sequence[str], reference: str | None = None
) -> list[dict[str, Any]]:
    """Each generator's caption for `tags` with its latency and, given a reference, BERTScore F1.

    Returns:
        one dict per generator: name, caption, error (or None), latency_s, bertscore_f1 (or None).
    """
    *_, rows = caption_compare_stream(services, tags, reference)
    return rows


def caption_stream(services: Services, tags: str | Sequence[str], generator: str) -> Iterator[str]:
    """The caption of one generator as it grows, token by token (each item is the text so far)."""
    from ttmrpp.text.captioning.generators import clean_caption

    items = parse_tag_text(tags, services.limits.tag_chars)
    gens = services.captioners()
    if not isinstance(generator, str) or generator not in gens:
        raise QueryError(
            f"No generator {shorten(repr(generator), 30)}; available: {', '.join(gens)}."
        )
    text = ""
    for piece in gens[generator].stream(items):
        text += piece
        yield text
    final = clean_caption(text) if generator != "template" else text
    if final != text:
        yield final

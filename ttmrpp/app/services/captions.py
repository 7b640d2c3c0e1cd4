"""The caption lab: each generator's caption for a tag list, streamed, with BERTScore."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from typing import Any

from ttmrpp.app.services.common import QueryError, Services


def parse_tag_text(tags: str | Sequence[str] | None) -> list[str]:
    """Tags from a comma-separated string (or a list); raises `QueryError` when there are none."""
    from ttmrpp.text.captioning.generators import parse_tags

    items = parse_tags(tags or "") if isinstance(tags, str) or tags is None else list(tags)
    items = [t for t in items if re.search(r"\w", t)]
    if not items:
        raise QueryError("No tags: type a few comma-separated tags, e.g. 'jazz, piano, calm'.")
    return items


def caption_compare_stream(
    services: Services, tags: str | Sequence[str], reference: str | None = None
) -> Iterator[list[dict[str, Any]]]:
    """`caption_compare` as it happens: yields all rows each time a generator's text grows.

    Generators run one after another (base and LoRA share one model and its lock).
    """
    from ttmrpp.text.captioning.generators import clean_caption

    items = parse_tag_text(tags)
    reference = (reference or "").strip() or None
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
            row["error"] = f"{type(exc).__name__}: {exc}"
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

    items = parse_tag_text(tags)
    gens = services.captioners()
    if generator not in gens:
        raise QueryError(f"No generator {generator!r}; available: {', '.join(gens)}.")
    text = ""
    for piece in gens[generator].stream(items):
        text += piece
        yield text
    final = clean_caption(text) if generator != "template" else text
    if final != text:
        yield final

"""Side-by-side comparison of caption generators (for the app and quick checks)."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ttmrpp.text.captioning.generators import (
    DEFAULT_ADAPTER,
    Captioner,
    LLMCaptioner,
    TemplateCaptioner,
    clean_tags,
)

log = logging.getLogger(__name__)


def build_captioners(
    model: str | Path | None = None, adapter: str | Path | None = DEFAULT_ADAPTER
) -> dict[str, Captioner]:
    """Template, base LLM and (when the adapter exists) LoRA, the last two sharing one model.

    The base generator is `lora.base_view()`: the adapter is switched off with peft's
    `disable_adapter()` under the shared lock, so the LLM weights are loaded once.
    """
    out: dict[str, Captioner] = {"template": TemplateCaptioner()}
    if adapter is not None and (Path(adapter) / "adapter_config.json").is_file():
        lora = LLMCaptioner(model, adapter=adapter)
        out["base"] = lora.base_view()
        out["lora"] = lora
    else:
        log.warning("no LoRA adapter at %s: comparing template and base only", adapter)
        out["base"] = LLMCaptioner(model)
    return out


@functools.lru_cache(maxsize=1)
def default_captioners() -> dict[str, Captioner]:
    """The offline default set (SmolLM2 + shipped adapter), loaded once per process."""
    return build_captioners()


def compare_captioners(
    tags: Sequence[str],
    reference: str | None = None,
    captioners: Mapping[str, Captioner] | None = None,
) -> dict[str, dict[str, Any]]:
    """Each generator's caption for `tags`, its latency and (with a reference) its BERTScore.

    Args:
        tags: the tag list (an empty list raises ValueError).
        reference: a human caption to score against, or None.
        captioners: name → captioner; default `default_captioners()`.

    Returns:
        name → {"caption": str, "latency_s": float, "bertscore": {"precision", "recall", "f1"}
        or None}; a generator that fails gets {"error": message} instead of failing the rest.
    """
    clean_tags(tags)  # refuse bad input before any model work
    gens = default_captioners() if captioners is None else captioners
    results: dict[str, dict[str, Any]] = {}
    for name, cap in gens.items():
        t0 = time.perf_counter()
        try:
            caption = cap.generate(tags)
        except Exception as e:  # one broken generator should not hide the others
            log.exception("captioner %s failed", name)
            results[name] = {"error": f"{type(e).__name__}: {e}"}
            continue
        results[name] = {
            "caption": caption,
            "latency_s": time.perf_counter() - t0,
            "bertscore": None,
        }
    if reference:
        from ttmrpp.text.captioning.bertscore import bertscore

        names = [n for n, r in results.items() if "caption" in r]
        scores = bertscore([results[n]["caption"] for n in names], [reference] * len(names))
        for n, s in zip(names, scores, strict=True):
            results[n]["bertscore"] = s.as_dict()
    return results

"""The Caption lab tab: every generator's caption for a tag list, side by side."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ttmrpp.app import services as service
from ttmrpp.app.tabs.context import (
    GENERATOR_LABELS,
    GENERATORS,
    AppContext,
    api_error,
    guarded,
    warn,
)
from ttmrpp.app.tabs.search import SearchTab


def build_caption_tab(ctx: AppContext, search: SearchTab, tabs: gr.Tabs) -> None:
    """Lay out the Caption lab and wire `/caption_lab`, `/caption_stream`, `/caption_stop`,
    `/caption_compare` (API only) and the "search with this caption" buttons."""

    def failed(message: str) -> tuple:
        return ("",) * len(GENERATORS) + (warn(message),) + ("",) * (len(GENERATORS) - 1)

    @guarded(failed)
    def caption_lab(tags: str, reference: str, progress=gr.Progress(track_tqdm=True)):  # noqa: B008
        s = ctx.current()
        service.parse_tag_text(tags, s.limits.tag_chars)
        if not s.captioners_loaded:
            wait = "_loading the caption models (first use only, about a minute)…_"
            yield ("",) * len(GENERATORS) + (wait,) * len(GENERATORS)
        for rows in service.caption_compare_stream(s, tags, reference):
            yield caption_outputs(rows)

    @guarded(api_error)
    def caption_compare_api(tags: str, reference: str = "") -> dict:
        rows = service.caption_compare(ctx.current(), tags, reference)
        return {r["name"]: r for r in rows}

    @guarded(api_error)
    def caption_stream_api(tags: str, generator: str):
        yield from service.caption_stream(ctx.current(), tags, generator)

    gr.Markdown(
        "Turn tags into a caption with each generator, side by side. Base and LoRA "
        "share one model, so requests run one at a time."
    )
    with gr.Row():
        tags_in = gr.Textbox(
            label="Tags (comma-separated)",
            value="jazz, piano, double bass, calm, slow tempo",
            elem_id="tags",
            scale=3,
        )
        reference = gr.Textbox(
            label="Reference caption (optional, for BERTScore)", elem_id="reference", scale=3
        )
    with gr.Row():
        caption_btn = gr.Button(
            "Generate captions", variant="primary", elem_id="caption-btn", scale=4
        )
        stop_btn = gr.Button("Stop", elem_id="caption-stop", scale=1)
    boxes, stats, sends = [], [], []
    with gr.Row():
        for name in GENERATORS:
            with gr.Column():
                boxes.append(
                    gr.Textbox(
                        label=GENERATOR_LABELS[name],
                        lines=6,
                        interactive=False,
                        elem_id=f"caption-{name}",
                    )
                )
                stats.append(gr.Markdown(elem_id=f"stats-{name}"))
                sends.append(
                    gr.Button("Search with this caption", size="sm", elem_id=f"send-{name}")
                )
    gr.Markdown("Stream one generator's tokens (API: `/caption_stream`):")
    with gr.Row():
        stream_gen = gr.Radio(list(GENERATORS), value="template", label="Generator")
        stream_btn = gr.Button("Stream")
    stream_out = gr.Textbox(label="Streamed caption", interactive=False, lines=3)

    llm = {"concurrency_id": "llm", "concurrency_limit": 1}
    event = caption_btn.click(
        caption_lab, [tags_in, reference], boxes + stats, api_name="caption_lab", **llm
    )
    stream_btn.click(
        caption_stream_api, [tags_in, stream_gen], stream_out, api_name="caption_stream", **llm
    )
    stop_btn.click(None, None, None, cancels=[event], api_name="caption_stop")
    # API-only: every generator's caption, latency and BERTScore in one JSON answer.
    gr.api(caption_compare_api, api_name="caption_compare", **llm)
    for name, box, send in zip(GENERATORS, boxes, sends):
        search.send_from(send, box, tabs, f"caption_{name}")


def caption_outputs(rows: list[dict[str, Any]]) -> tuple:
    """Caption texts then stats lines, one per generator, for the lab's boxes."""
    by_name = {r["name"]: r for r in rows}
    texts, stats = [], []
    for name in GENERATORS:
        r = by_name.get(name)
        if r is None:
            texts.append("")
            stats.append(
                "_not available: no LoRA adapter shipped_" if name == "lora" else "_not loaded_"
            )
            continue
        texts.append(r["error"] and f"error: {r['error']}" or r["caption"])
        parts = []
        if r["latency_s"] is not None:
            parts.append(f"latency **{r['latency_s']:.2f} s**")
        if r["bertscore_f1"] is not None:
            parts.append(f"BERTScore F1 **{r['bertscore_f1']:.3f}**")
        stats.append(" · ".join(parts) or "_generating…_")
    return (*texts, *stats)

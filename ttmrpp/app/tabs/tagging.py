"""The Auto-tagging tab: published taggers side by side on a clip; captions from their tags."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import gradio as gr
import pandas as pd

from ttmrpp.app import services as service
from ttmrpp.app.services import tagging as tagging_service
from ttmrpp.app.services.tagging import TaggerZoo
from ttmrpp.app.tabs.context import (
    GENERATORS,
    AppContext,
    clip_input,
    guarded,
    progress_callback,
    warn,
)
from ttmrpp.app.tabs.search import SearchTab


def _tag_failed(message: str) -> tuple:
    """The outputs of tagging that failed: the warning and an empty "tags from" list."""
    return warn(message), None, None, [], gr.Dropdown(choices=[], value=None)


def _tagged(results: list[tagging_service.TagResult]) -> tuple:
    """The tagging outputs: message, table, figure, results, and the "tags from" choices."""
    headers, rows = tagging_service.tag_table(results)
    done = [r for r in results if r.tags]
    lines = [f"{len(done)} of {len(results)} models tagged the clip."]
    lines += [f"- ⚠️ {r.label}: {r.error}" for r in results if r.error]
    sources = [(r.label, r.key) for r in done]
    return (
        "\n".join(lines),
        pd.DataFrame(rows, columns=headers),
        tagging_service.tag_figure(results),
        [r.to_dict() for r in results],
        gr.Dropdown(choices=sources, value=sources[0][1] if sources else None),
    )


def tagging_handlers(ctx: AppContext) -> tuple[Callable[..., tuple], Callable[..., Iterator]]:
    """(tag_clip, tag_caption): the Auto-tagging tab's handlers over `ctx`'s taggers and
    services."""
    zoo = ctx.zoo

    @guarded(_tag_failed)
    def tag_clip(audio: str | None, keys: list[str], k: float, progress=gr.Progress()):  # noqa: B008
        results = tagging_service.tag_clip(zoo, audio, keys, k, progress_callback(progress))
        return _tagged(results)

    @guarded(lambda message: ("", warn(message)))
    def tag_caption(results: list[dict[str, Any]], key: str | None, generator: str):
        tags = tagging_service.caption_tags(results, key)
        text = ", ".join(tags)
        s = ctx.current()
        if generator != "template" and not s.captioners_loaded:
            yield text, "_loading the caption model (first use only, about a minute)…_"
        for caption in service.caption_stream(s, tags, generator):
            yield text, caption

    return tag_clip, tag_caption


@dataclass
class _TaggingLayout:
    """The Auto-tagging tab's components."""

    audio: gr.Audio
    models: gr.CheckboxGroup
    k: gr.Slider
    button: gr.Button
    message: gr.Markdown
    table: gr.Dataframe
    plot: gr.Plot
    results: gr.State
    source: gr.Dropdown
    generator: gr.Radio
    caption_btn: gr.Button
    words: gr.Textbox
    caption: gr.Textbox
    send: gr.Button


def _tagger_column(zoo: TaggerZoo) -> tuple[gr.Audio, gr.CheckboxGroup, gr.Slider, gr.Button]:
    """The clip, the tagger models, tags per model and the Tag button."""
    with gr.Row():
        tag_audio = clip_input("Clip to tag (upload or record)", "tag-clip")
        with gr.Column():
            tagger_pick = gr.CheckboxGroup(
                [(c.label, c.key) for c in zoo.choices],
                value=[c.key for c in zoo.choices[:2]],
                label="Tagger models (weights found on this machine)",
                elem_id="tagger-models",
            )
            tag_k = gr.Slider(
                1,
                tagging_service.MAX_TOP_K,
                value=tagging_service.DEFAULT_TOP_K,
                step=1,
                label="Tags per model",
            )
            tag_btn = gr.Button(
                "Tag clip", variant="primary", elem_id="tag-btn", interactive=bool(zoo.choices)
            )
    return tag_audio, tagger_pick, tag_k, tag_btn


def _caption_row() -> tuple[gr.Dropdown, gr.Radio, gr.Button]:
    """Where the caption's tags come from, the generator and the caption button."""
    gr.Markdown("**Caption from predicted tags** (for music that has no tags):")
    with gr.Row():
        tag_source = gr.Dropdown(choices=[], label="Tags from", elem_id="tag-source", scale=2)
        tag_gen = gr.Radio(
            list(GENERATORS), value="lora", label="Generator", elem_id="tag-gen", scale=2
        )
        tag_caption_btn = gr.Button("Caption from these tags", elem_id="tag-caption-btn", scale=1)
    return tag_source, tag_gen, tag_caption_btn


def _lay_out_tagging(zoo: TaggerZoo) -> _TaggingLayout:
    """Lay out the Auto-tagging tab (no events)."""
    gr.Markdown(
        "Tag a clip with published music auto-taggers (Won et al. 2020) side by "
        "side. Probabilities are each model's own outputs, one per tag (they do not "
        "sum to 1). Tag lists can be turned into a caption for untagged music."
    )
    if not zoo.choices:
        gr.Markdown(
            f"⚠️ {zoo.missing_message()}", elem_classes=["ttmrpp-note"], elem_id="tagger-missing"
        )
    tag_audio, tagger_pick, tag_k, tag_btn = _tagger_column(zoo)
    tag_message = gr.Markdown(elem_id="tag-message")
    tag_table = gr.Dataframe(interactive=False, label="Top tags per model", elem_id="tag-table")
    tag_plot = gr.Plot(label="Top tags per model", elem_id="tag-plot")
    tag_results = gr.State([])
    tag_source, tag_gen, tag_caption_btn = _caption_row()
    tag_words = gr.Textbox(label="Tags used", interactive=False)
    tag_caption_out = gr.Textbox(label="Caption", lines=4, interactive=False, elem_id="tag-caption")
    tag_send = gr.Button("Search with this caption", size="sm", elem_id="tag-send")
    return _TaggingLayout(
        audio=tag_audio,
        models=tagger_pick,
        k=tag_k,
        button=tag_btn,
        message=tag_message,
        table=tag_table,
        plot=tag_plot,
        results=tag_results,
        source=tag_source,
        generator=tag_gen,
        caption_btn=tag_caption_btn,
        words=tag_words,
        caption=tag_caption_out,
        send=tag_send,
    )


def _wire_tagging(ui: _TaggingLayout, tag_clip: Callable, tag_caption: Callable) -> None:
    """Wire `/tag_clip` and `/tag_caption`, one request at a time each."""
    ui.button.click(
        tag_clip,
        [ui.audio, ui.models, ui.k],
        [ui.message, ui.table, ui.plot, ui.results, ui.source],
        api_name="tag_clip",
        concurrency_id="tagger",
        concurrency_limit=1,
    )
    ui.caption_btn.click(
        tag_caption,
        [ui.results, ui.source, ui.generator],
        [ui.words, ui.caption],
        api_name="tag_caption",
        concurrency_id="llm",
        concurrency_limit=1,
    )


def build_tagging_tab(ctx: AppContext, search: SearchTab, tabs: gr.Tabs) -> None:
    """Lay out the Auto-tagging tab and wire `/tag_clip`, `/tag_caption` and the
    "search with this caption" button."""
    tag_clip, tag_caption = tagging_handlers(ctx)
    ui = _lay_out_tagging(ctx.zoo)
    _wire_tagging(ui, tag_clip, tag_caption)
    search.send_from(ui.send, ui.caption, tabs, "tag_caption")

"""The Search tab: text, audio-clip and hybrid queries, results table, player."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from ttmrpp.app import services as service
from ttmrpp.app.services.common import Services
from ttmrpp.app.tabs.context import AppContext, clip_input, guarded, player_file, warn

EXAMPLE_PLACEHOLDER = [
    "rock, electric guitar, energetic",
    "A calm piano piece with soft strings for a rainy evening.",
    "music track TITLE by ARTIST",
    "similar with artist NAME",
    "sad violin and piano",
]


@dataclass
class SearchTab:
    """The components other tabs send queries to or read the last query from."""

    query: gr.Textbox
    k: gr.Slider
    examples: gr.Dataset
    outputs: list[gr.components.Component]  # message, results, player, hits, vector, label
    query_vector: gr.State
    query_label: gr.State
    search_text: Callable[..., tuple]  # (query, k, the visitor's uploads) -> outputs
    uploads: gr.State  # the visitor's uploads (searched for them too)

    def send_from(self, button: gr.Button, text: gr.Textbox, tabs: gr.Tabs, name: str) -> None:
        """`button` puts `text` in the query box, switches to this tab and searches."""
        button.click(
            lambda value: (value, gr.Tabs(selected="search")),
            text,
            [self.query, tabs],
            api_name=f"use_{name}",
        ).then(
            self.search_text,
            [self.query, self.k, self.uploads],
            self.outputs,
            api_name=f"search_{name}",
        )


def build_search_tab(ctx: AppContext) -> SearchTab:
    """Lay out the Search tab and wire its events (`/search_text`, `/search_audio`,
    `/search_hybrid`, `/play`, `/example`)."""

    def failed(message: str):
        return warn(message), [], None, [], None, ""

    def run(search: Callable[[Services], service.SearchResult], uploads):
        s = ctx.current()
        result = search(s)
        top = player_file(s, result.hits[0]["path"], uploads) if result.hits else None
        table = service.result_table(result)
        return result.message, table, top, result.hits, result.query_vector, result.query

    @guarded(failed)
    def search_text(query: str, k: float, uploads=None):
        return run(lambda s: service.search_text(s, query, k, uploads), uploads)

    @guarded(failed)
    def search_audio(audio: str | None, k: float, uploads=None):
        return run(lambda s: service.search_audio(s, audio, k, uploads), uploads)

    @guarded(failed)
    def search_hybrid(query: str, audio: str | None, weight: float, k: float, uploads=None):
        return run(lambda s: service.search_hybrid(s, query, audio, weight, k, uploads), uploads)

    @guarded(lambda message: None)
    def play(hits: list[dict[str, Any]], uploads, evt: gr.SelectData):
        row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        if not hits or not isinstance(row, int) or not 0 <= row < len(hits):
            return None
        return player_file(ctx.current(), hits[row]["path"], uploads)

    with gr.Row():
        query = gr.Textbox(
            label="Query",
            placeholder="e.g. upbeat funk with slap bass and horns",
            scale=5,
            elem_id="query",
            lines=1,
            max_lines=3,
        )
        k = gr.Slider(1, 50, value=10, step=1, label="Results", scale=1)
    examples = gr.Dataset(
        components=[query],
        samples=[[q] for q in EXAMPLE_PLACEHOLDER],
        label="Example queries (click to use)",
        elem_id="examples",
    )
    with gr.Row():
        search_btn = gr.Button("Search", variant="primary", elem_id="search-btn")
    with gr.Accordion("Query by audio clip (and hybrid)", open=False):
        with gr.Row():
            clip = clip_input("Audio clip (upload or record)", "clip")
            with gr.Column():
                weight = gr.Slider(
                    0.0,
                    1.0,
                    value=0.5,
                    step=0.05,
                    label="Hybrid: audio weight (0 = text only, 1 = audio only)",
                )
                audio_btn = gr.Button("Search by clip", elem_id="audio-btn")
                hybrid_btn = gr.Button("Search by text + clip", elem_id="hybrid-btn")
    message = gr.Markdown(elem_id="search-message")
    results = gr.Dataframe(
        headers=service.RESULT_COLUMNS,
        datatype=["number", "number", "str", "str", "str", "str"],
        interactive=False,
        wrap=True,
        label="Results (select a row to play it)",
        elem_id="results",
    )
    player = gr.Audio(label="Player", type="filepath", interactive=False, elem_id="player")
    hits, query_vector, query_label = gr.State([]), gr.State(None), gr.State("")

    outputs = [message, results, player, hits, query_vector, query_label]
    uploads = ctx.uploads
    examples.click(lambda sample: sample[0], examples, query, api_name="example")
    for trigger in (search_btn.click, query.submit):
        trigger(search_text, [query, k, uploads], outputs, api_name="search_text")
    # Decoding a clip takes memory and CPU: two at a time (text searches are light).
    decoding = {"concurrency_id": "clip", "concurrency_limit": 2}
    audio_btn.click(search_audio, [clip, k, uploads], outputs, api_name="search_audio", **decoding)
    hybrid_btn.click(
        search_hybrid,
        [query, clip, weight, k, uploads],
        outputs,
        api_name="search_hybrid",
        **decoding,
    )
    results.select(play, [hits, uploads], player, api_name="play")
    return SearchTab(query, k, examples, outputs, query_vector, query_label, search_text, uploads)

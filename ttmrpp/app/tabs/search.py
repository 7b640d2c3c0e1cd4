"""The Search tab: text, audio-clip and hybrid queries, results table, player."""

from __future__ import annotations

import re
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
    # message, results, player, hits, vector, label, playing (states are not in the API)
    outputs: list[gr.components.Component]
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


@dataclass
class SearchHandlers:
    """The Search tab's event handlers (plain functions, guarded)."""

    search_text: Callable[..., tuple]  # (query, k, uploads) -> outputs
    search_audio: Callable[..., tuple]  # (clip, k, uploads) -> outputs
    search_hybrid: Callable[..., tuple]  # (query, clip, weight, k, uploads) -> outputs
    play: Callable[..., tuple]  # (hits, uploads, selection) -> (player's file, track playing)


def _player(services: Services, hit: dict[str, Any] | None, uploads: Any) -> tuple:
    """(the player's file, the track now playing) for `hit`; (None, None) when there is
    nothing it may play."""
    path = player_file(services, hit["path"], uploads) if hit else None
    return (path, hit) if path is not None else (None, None)


def _failed(message: str) -> tuple:
    """The outputs of a search that failed: the warning and nothing else."""
    return warn(message), [], None, [], None, "", None


def _run(
    ctx: AppContext, search: Callable[[Services], service.SearchResult], uploads: Any
) -> tuple:
    """Run `search` on the current services; its outputs, the top hit in the player."""
    s = ctx.current()
    result = search(s)
    top, playing = _player(s, result.hits[0] if result.hits else None, uploads)
    table = service.result_table(result)
    return result.message, table, top, result.hits, result.query_vector, result.query, playing


def search_handlers(ctx: AppContext) -> SearchHandlers:
    """The handlers of the Search tab, each searching `ctx`'s services."""

    @guarded(_failed)
    def search_text(query: str, k: float, uploads=None):
        return _run(ctx, lambda s: service.search_text(s, query, k, uploads), uploads)

    @guarded(_failed)
    def search_audio(audio: str | None, k: float, uploads=None):
        return _run(ctx, lambda s: service.search_audio(s, audio, k, uploads), uploads)

    @guarded(_failed)
    def search_hybrid(query: str, audio: str | None, weight: float, k: float, uploads=None):
        return _run(
            ctx, lambda s: service.search_hybrid(s, query, audio, weight, k, uploads), uploads
        )

    @guarded(lambda message: (None, None))
    def play(hits: list[dict[str, Any]], uploads, evt: gr.SelectData):
        row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        if not hits or not isinstance(row, int) or not 0 <= row < len(hits):
            return None, None
        return _player(ctx.current(), hits[row], uploads)

    return SearchHandlers(search_text, search_audio, search_hybrid, play)


@dataclass
class _SearchLayout:
    """The Search tab's components."""

    query: gr.Textbox
    k: gr.Slider
    examples: gr.Dataset
    search_btn: gr.Button
    clip: gr.Audio
    weight: gr.Slider
    audio_btn: gr.Button
    hybrid_btn: gr.Button
    message: gr.Markdown
    results: gr.Dataframe
    player: gr.Audio
    credit: gr.Markdown  # under the player: what is playing, its licence and credit
    hits: gr.State
    query_vector: gr.State
    query_label: gr.State
    playing: gr.State  # the result row in the player (None: nothing)

    @property
    def outputs(self) -> list[gr.components.Component]:
        """What every search fills: message, results, player, hits, vector, label, playing
        (the states are not part of the API: clients get message, results and player)."""
        return [
            self.message,
            self.results,
            self.player,
            self.hits,
            self.query_vector,
            self.query_label,
            self.playing,
        ]


def _query_row() -> tuple[gr.Textbox, gr.Slider, gr.Dataset, gr.Button]:
    """The query box, the results slider, the example queries and the Search button."""
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
    return query, k, examples, search_btn


def _clip_accordion() -> tuple[gr.Audio, gr.Slider, gr.Button, gr.Button]:
    """The clip, the hybrid weight and the clip and hybrid search buttons."""
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
    return clip, weight, audio_btn, hybrid_btn


def _lay_out_search() -> _SearchLayout:
    """Lay out the Search tab (no events)."""
    query, k, examples, search_btn = _query_row()
    clip, weight, audio_btn, hybrid_btn = _clip_accordion()
    message = gr.Markdown(elem_id="search-message")
    results = gr.Dataframe(
        headers=service.RESULT_COLUMNS,
        datatype=["number", "number", "str", "str", "str", "str", "str"],
        interactive=False,
        wrap=True,
        label="Results (select a row to play it)",
        elem_id="results",
    )
    player = gr.Audio(label="Player", type="filepath", interactive=False, elem_id="player")
    credit = gr.Markdown(elem_id="now-playing")
    hits, query_vector, query_label = gr.State([]), gr.State(None), gr.State("")
    playing = gr.State(None)
    return _SearchLayout(
        query=query,
        k=k,
        examples=examples,
        search_btn=search_btn,
        clip=clip,
        weight=weight,
        audio_btn=audio_btn,
        hybrid_btn=hybrid_btn,
        message=message,
        results=results,
        player=player,
        credit=credit,
        hits=hits,
        query_vector=query_vector,
        query_label=query_label,
        playing=playing,
    )


def _wire_search(ui: _SearchLayout, on: SearchHandlers, uploads: gr.State) -> None:
    """Wire the Search tab's events to `on`'s handlers."""
    query, k, outputs = ui.query, ui.k, ui.outputs
    ui.examples.click(lambda sample: sample[0], ui.examples, query, api_name="example")
    for trigger in (ui.search_btn.click, query.submit):
        trigger(on.search_text, [query, k, uploads], outputs, api_name="search_text")
    # Decoding a clip takes memory and CPU: two at a time (text searches are light).
    decoding = {"concurrency_id": "clip", "concurrency_limit": 2}
    ui.audio_btn.click(
        on.search_audio, [ui.clip, k, uploads], outputs, api_name="search_audio", **decoding
    )
    ui.hybrid_btn.click(
        on.search_hybrid,
        [query, ui.clip, ui.weight, k, uploads],
        outputs,
        api_name="search_hybrid",
        **decoding,
    )
    ui.results.select(on.play, [ui.hits, uploads], [ui.player, ui.playing], api_name="play")
    # Attribution for whatever the player holds (CC-BY-SA asks for it), whichever event put
    # it there: title — artist · licence · credit.
    ui.playing.change(
        lambda hit: _escape(service.now_playing(hit)),
        ui.playing,
        ui.credit,
        api_name="now_playing",
        show_progress="hidden",
    )


def _escape(text: str) -> str:
    """`text` shown as it is in a Markdown component (no emphasis, links or HTML)."""
    return re.sub(r"([\\`*_{}\[\]()<>#+!|~-])", r"\\\1", text)


def build_search_tab(ctx: AppContext) -> SearchTab:
    """Lay out the Search tab and wire its events (`/search_text`, `/search_audio`,
    `/search_hybrid`, `/play`, `/example`)."""
    on = search_handlers(ctx)
    ui = _lay_out_search()
    _wire_search(ui, on, ctx.uploads)
    return SearchTab(
        ui.query,
        ui.k,
        ui.examples,
        ui.outputs,
        ui.query_vector,
        ui.query_label,
        on.search_text,
        ctx.uploads,
    )

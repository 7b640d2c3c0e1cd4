"""The Atlas tab: the collection's UMAP map, coloured by a tag category, with the last query."""

from __future__ import annotations

import gradio as gr

from ttmrpp.app import services as service
from ttmrpp.app.tabs.context import DEFAULT_CATEGORIES, AppContext, guarded, warn
from ttmrpp.app.tabs.search import SearchTab


def build_atlas_tab(ctx: AppContext, search: SearchTab, tab: gr.Tab) -> gr.Dropdown:
    """Lay out the Atlas tab and wire `/atlas`, `/atlas_recolor`, `/atlas_open`; returns the
    colour-by dropdown (filled with the collection's categories at startup)."""

    def failed(message: str):
        warn(message)

    @guarded(failed)
    def atlas(color_by: str, query_vector=None, query_label: str = ""):
        if not isinstance(color_by, str) or len(color_by) > 100:
            color_by = "genre"
        s = ctx.current()
        return service.atlas_figure(s, color_by, query_vector, query_label or "query")

    with gr.Row():
        color_by = gr.Dropdown(DEFAULT_CATEGORIES, value="genre", label="Colour by", scale=2)
        atlas_btn = gr.Button("Draw map", elem_id="atlas-btn", scale=1)
    gr.Markdown("Hover a point for its metadata; the star is your last search.")
    plot = gr.Plot(label="Collection map", elem_id="atlas-plot")

    inputs = [color_by, search.query_vector, search.query_label]
    atlas_btn.click(atlas, inputs, plot, api_name="atlas")
    color_by.change(atlas, inputs, plot, api_name="atlas_recolor")
    tab.select(atlas, inputs, plot, api_name="atlas_open")
    return color_by

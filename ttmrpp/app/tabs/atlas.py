"""The Atlas tab: the collection's UMAP map, coloured by a tag category, with the last query."""

from __future__ import annotations

import gradio as gr

from ttmrpp.app import services as service
from ttmrpp.app.services.common import QueryError
from ttmrpp.app.tabs.context import DEFAULT_CATEGORIES, AppContext, warn
from ttmrpp.app.tabs.search import SearchTab


def build_atlas_tab(ctx: AppContext, search: SearchTab, tab: gr.Tab) -> gr.Dropdown:
    """Lay out the Atlas tab and wire `/atlas`, `/atlas_recolor`, `/atlas_open`; returns the
    colour-by dropdown (filled with the collection's categories at startup)."""

    def atlas(color_by: str, query_vector=None, query_label: str = ""):
        try:
            s = ctx.current()
            return service.atlas_figure(s, color_by, query_vector, query_label or "query")
        except QueryError as exc:
            warn(exc)
            return None

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

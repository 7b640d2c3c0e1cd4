"""The Gradio app: `build_demo` assembles the tabs of `ttmrpp.app.tabs`, each of which wires
its events to the plain functions of `ttmrpp.app.services`. No search or model logic lives here.

Every event has an `api_name`, so `gradio_client` can drive the app: `/startup`,
`/search_text`, `/search_audio`, `/search_hybrid`, `/play`, `/now_playing`, `/example`,
`/caption_lab`, `/caption_compare`, `/caption_stream`, `/use_caption_*`, `/search_caption_*`,
`/tag_clip`, `/tag_caption`, `/atlas`, `/atlas_open`, `/atlas_recolor`, `/collection_info`,
`/index_files`, `/index_folder`.
"""

from __future__ import annotations

import gradio as gr

from ttmrpp.app import services as service
from ttmrpp.app.services.tagging import TaggerZoo
from ttmrpp.app.tabs.atlas import build_atlas_tab
from ttmrpp.app.tabs.captions import build_caption_tab
from ttmrpp.app.tabs.collection import build_collection_tab, info_markdown
from ttmrpp.app.tabs.context import (
    DEFAULT_CATEGORIES,
    AppContext,
    guarded,
    progress_callback,
    provider,
)
from ttmrpp.app.tabs.search import build_search_tab
from ttmrpp.app.tabs.tagging import build_tagging_tab

TITLE = "ttmrpp · text-to-music search"
CSS = """
#results table { font-size: 0.9em; }
.ttmrpp-note { border-left: 4px solid #d97706; padding-left: 0.75em; }
"""


def build_demo(services, taggers: TaggerZoo | None = None) -> gr.Blocks:
    """The app's Blocks.

    Args:
        services: a ready `Services`, or a loader with `get(progress) -> Services` (e.g.
            `ttmrpp.app.launch.DemoLoader`) that builds them on the first page load.
        taggers: the auto-taggers offered (default: the weights in `$TTMRPP_TAGGER_WEIGHTS`
            and the tagger cache, `TaggerZoo.from_env()`).
    """
    get, current = provider(services)
    zoo = taggers if taggers is not None else TaggerZoo.from_env()
    # Gradio's cache (visitors' uploads, the player's copies) is swept hourly of files older
    # than a day: a long-lived public server must not fill its disk.
    with gr.Blocks(title=TITLE, delete_cache=(3600, 86400)) as demo:
        uploads = gr.State(None, delete_callback=service.close_uploads)
        ctx = AppContext(get, current, zoo, demo, uploads)
        gr.Markdown(
            f"# {TITLE}\nDescribe music in words (tags, a sentence, a track or an artist) or "
            "play a clip; results come from the loaded collection."
        )
        status = gr.Markdown(
            "⏳ Loading the model and the collection. The first launch on a new machine builds "
            "the demo catalog (generated music and real recordings from Debian packages), its "
            "index and map first; progress shows here.",
            elem_id="status",
            min_height=90,
        )
        note = gr.Markdown(visible=False, elem_classes=["ttmrpp-note"], elem_id="model-note")
        with gr.Tabs() as tabs:
            with gr.Tab("Search", id="search"):
                search = build_search_tab(ctx)
            with gr.Tab("Caption lab", id="captions"):
                build_caption_tab(ctx, search, tabs)
            with gr.Tab("Auto-tagging", id="tagging"):
                build_tagging_tab(ctx, search, tabs)
            with gr.Tab("Atlas", id="atlas") as atlas_tab:
                color_by = build_atlas_tab(ctx, search, atlas_tab)
            with gr.Tab("Collection", id="collection"):
                info = build_collection_tab(ctx)
        demo.load(
            _startup(ctx),
            None,
            [status, note, info, search.examples, color_by],
            api_name="startup",
            show_progress="full",
        )
    return demo


def _startup(ctx: AppContext):
    """The page-load handler: build or load the services, then fill the collection's
    example queries, categories and summary."""

    def failed(message: str) -> tuple:
        text = f"❌ Preparing the collection failed: {message}"
        return gr.Markdown(text), gr.skip(), gr.skip(), gr.skip(), gr.skip()

    @guarded(failed, "preparing the collection")  # logged; the next page load tries again
    def startup(progress=gr.Progress(track_tqdm=True)):  # noqa: B008 (Gradio idiom)
        s = ctx.get(progress_callback(progress))
        note = f"⚠️ {s.model_note}" if s.model_note else ""
        cats = service.tag_categories(s) or DEFAULT_CATEGORIES
        color = "genre" if "genre" in cats else cats[0]
        samples = [[q] for q in service.example_queries(s)]
        return (
            gr.Markdown(visible=False),
            gr.Markdown(note, visible=bool(note)),
            info_markdown(service.collection_info(s)),
            gr.Dataset(samples=samples),
            gr.Dropdown(choices=cats, value=color),
        )

    return startup

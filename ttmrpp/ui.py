"""The Gradio app: one function, `build_demo`, that lays out the tabs and wires events to the
plain functions of `ttmrpp.service`. No search or model logic lives here.

Every event has an `api_name`, so `gradio_client` can drive the app: `/startup`,
`/search_text`, `/search_audio`, `/search_hybrid`, `/play`, `/example`, `/caption_lab`,
`/caption_compare`, `/caption_stream`, `/use_caption_*`, `/search_caption_*`, `/tag_clip`,
`/tag_caption`, `/atlas`, `/atlas_open`, `/atlas_recolor`, `/collection_info`, `/index_files`,
`/index_folder`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from ttmrpp import service, tagging_service
from ttmrpp.service import QueryError, Services
from ttmrpp.tagging_service import TaggerZoo

TITLE = "ttmrpp · text-to-music search"
GENERATORS = ("template", "base", "lora")
GENERATOR_LABELS = {"template": "Template", "base": "Base LLM", "lora": "LoRA LLM"}
DEFAULT_CATEGORIES = ["genre", "instrument", "mood", "tempo"]
EXAMPLE_PLACEHOLDER = [
    "rock, electric guitar, energetic",
    "A calm piano piece with soft strings for a rainy evening.",
    "music track TITLE by ARTIST",
    "similar with artist NAME",
    "sad violin and piano",
]
CSS = """
#results table { font-size: 0.9em; }
.ttmrpp-note { border-left: 4px solid #d97706; padding-left: 0.75em; }
"""


def _clip_input(label: str, elem_id: str) -> gr.Audio:
    """An audio clip the user uploads or records; handlers receive a file path."""
    return gr.Audio(sources=["upload", "microphone"], type="filepath", label=label, elem_id=elem_id)


def _provider(services) -> tuple[Callable[..., Services], Callable[[], Services]]:
    """(get, current): `get(progress)` builds or loads the services and waits for them;
    `current()` returns them when ready and otherwise starts the build in the background and
    raises `QueryError` ("still preparing"), so no request waits minutes on a first launch."""
    if isinstance(services, Services):
        return (lambda progress=None: services), (lambda: services)

    def current() -> Services:
        if services.ready:
            return services.get()
        services.start()
        raise QueryError(
            "The collection is still being prepared (progress at the top of the page); "
            "try again in a moment."
        )

    return services.get, current


def _progress_callback(progress: gr.Progress) -> service.Progress:
    def report(done: int, total: int, what: str) -> None:
        progress(done / total if total else 0.0, desc=what)

    return report


def _warn(exc: Exception) -> str:
    gr.Warning(str(exc))
    return f"⚠️ {exc}"


def build_demo(services, taggers: TaggerZoo | None = None) -> gr.Blocks:
    """The app's Blocks.

    Args:
        services: a ready `Services`, or a loader with `get(progress) -> Services` (e.g.
            `ttmrpp.demo.DemoLoader`) that builds them on the first page load.
        taggers: the auto-taggers offered (default: the weights in `$TTMRPP_TAGGER_WEIGHTS`
            and the tagger cache, `TaggerZoo.from_env()`).
    """
    get, current = _provider(services)
    zoo = taggers if taggers is not None else TaggerZoo.from_env()

    def startup(progress=gr.Progress(track_tqdm=True)):  # noqa: B008 (Gradio idiom)
        try:
            s = get(_progress_callback(progress))
        except Exception as exc:  # shown on the page; the next page load tries again
            failed = f"❌ Preparing the collection failed: {type(exc).__name__}: {exc}"
            return gr.Markdown(failed), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        info = service.collection_info(s)
        note = f"⚠️ {s.model_note}" if s.model_note else ""
        cats = service.tag_categories(s) or DEFAULT_CATEGORIES
        color = "genre" if "genre" in cats else cats[0]
        samples = [[q] for q in service.example_queries(s)]
        return (
            gr.Markdown(visible=False),
            gr.Markdown(note, visible=bool(note)),
            _info_markdown(info),
            gr.Dataset(samples=samples),
            gr.Dropdown(choices=cats, value=color),
        )

    # -- search ---------------------------------------------------------------------------
    def _search_outputs(run: Callable[[Services], service.SearchResult]):
        try:
            result = run(current())
        except QueryError as exc:
            return _warn(exc), [], None, [], None, ""
        _allow([h["path"] for h in result.hits])
        top = result.hits[0]["path"] if result.hits else None
        return (
            result.message,
            service.result_table(result),
            top,
            result.hits,
            result.query_vector,
            result.query,
        )

    def _allow(paths: list[str]) -> None:
        """Let the player serve indexed tracks from folders added after launch (only tracks
        that are in the index are ever handed to the player)."""
        allowed = demo.allowed_paths
        for folder in {str(Path(p).parent) for p in paths}:
            if not any(folder == a or folder.startswith(a.rstrip("/") + "/") for a in allowed):
                allowed.append(folder)

    def search_text(query: str, k: float):
        return _search_outputs(lambda s: service.search_text(s, query, int(k)))

    def search_audio(audio: str | None, k: float):
        return _search_outputs(lambda s: service.search_audio(s, audio, int(k)))

    def search_hybrid(query: str, audio: str | None, weight: float, k: float):
        return _search_outputs(lambda s: service.search_hybrid(s, query, audio, weight, int(k)))

    def play(hits: list[dict[str, Any]], evt: gr.SelectData):
        row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        if not hits or row is None or not 0 <= int(row) < len(hits):
            return None
        return hits[int(row)]["path"]

    # -- captions -------------------------------------------------------------------------
    def caption_lab(tags: str, reference: str, progress=gr.Progress(track_tqdm=True)):  # noqa: B008
        try:
            s = current()
            service.parse_tag_text(tags)
            if not s.captioners_loaded:
                wait = "_loading the caption models (first use only, about a minute)…_"
                yield ("",) * len(GENERATORS) + (wait,) * len(GENERATORS)
            for rows in service.caption_compare_stream(s, tags, reference):
                yield _caption_outputs(rows)
        except QueryError as exc:
            msg = _warn(exc)
            yield ("",) * len(GENERATORS) + (msg,) + ("",) * (len(GENERATORS) - 1)

    def caption_compare_api(tags: str, reference: str = "") -> dict:
        try:
            rows = service.caption_compare(current(), tags, reference)
        except QueryError as exc:
            raise gr.Error(str(exc)) from None
        return {r["name"]: r for r in rows}

    def caption_stream_api(tags: str, generator: str):
        try:
            yield from service.caption_stream(current(), tags, generator)
        except QueryError as exc:
            raise gr.Error(str(exc)) from None

    # -- auto-tagging ---------------------------------------------------------------------
    def tag_clip(audio: str | None, keys: list[str], k: float, progress=gr.Progress()):  # noqa: B008
        try:
            results = tagging_service.tag_clip(
                zoo, audio, keys, int(k), _progress_callback(progress)
            )
        except QueryError as exc:
            return _warn(exc), None, None, [], gr.Dropdown(choices=[], value=None)
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

    def tag_caption(results: list[dict[str, Any]], key: str | None, generator: str):
        try:
            tags = tagging_service.caption_tags(results, key)
            text = ", ".join(tags)
            s = current()
            if generator != "template" and not s.captioners_loaded:
                yield text, "_loading the caption model (first use only, about a minute)…_"
            for caption in service.caption_stream(s, tags, generator):
                yield text, caption
        except QueryError as exc:
            yield "", _warn(exc)

    # -- atlas ----------------------------------------------------------------------------
    def atlas(color_by: str, query_vector=None, query_label: str = ""):
        try:
            return service.atlas_figure(current(), color_by, query_vector, query_label or "query")
        except QueryError as exc:
            _warn(exc)
            return None

    # -- collection -----------------------------------------------------------------------
    def collection_info():
        try:
            return _info_markdown(service.collection_info(current()))
        except QueryError as exc:
            return str(exc)

    def collection_info_api() -> dict:
        try:
            return service.collection_info(current())
        except QueryError as exc:
            raise gr.Error(str(exc)) from None

    def index_files(files, progress=gr.Progress()):  # noqa: B008
        paths = [getattr(f, "name", f) for f in (files or [])]
        try:
            report = service.index_uploaded_files(current(), paths, _progress_callback(progress))
        except QueryError as exc:
            return _warn(exc), collection_info()
        return report.summary(), collection_info()

    def index_folder(folder: str, progress=gr.Progress()):  # noqa: B008
        try:
            report = service.index_folder(current(), folder, _progress_callback(progress))
        except QueryError as exc:
            return _warn(exc), collection_info()
        return report.summary(), collection_info()

    # -- layout ---------------------------------------------------------------------------
    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(
            f"# {TITLE}\nDescribe music in words (tags, a sentence, a track or an artist) or "
            "play a clip; results come from the loaded collection."
        )
        status = gr.Markdown(
            "⏳ Loading the model and the collection. The first launch on a new machine builds "
            "the demo catalog, its index and map first; progress shows here.",
            elem_id="status",
            min_height=90,
        )
        note = gr.Markdown(visible=False, elem_classes=["ttmrpp-note"], elem_id="model-note")
        hits = gr.State([])
        query_vector = gr.State(None)
        query_label = gr.State("")
        with gr.Tabs() as tabs:
            with gr.Tab("Search", id="search"):
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
                        clip = _clip_input("Audio clip (upload or record)", "clip")
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
                player = gr.Audio(
                    label="Player", type="filepath", interactive=False, elem_id="player"
                )

            with gr.Tab("Caption lab", id="captions"):
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
                        label="Reference caption (optional, for BERTScore)",
                        elem_id="reference",
                        scale=3,
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
                                gr.Button(
                                    "Search with this caption",
                                    size="sm",
                                    elem_id=f"send-{name}",
                                )
                            )
                gr.Markdown("Stream one generator's tokens (API: `/caption_stream`):")
                with gr.Row():
                    stream_gen = gr.Radio(list(GENERATORS), value="template", label="Generator")
                    stream_btn = gr.Button("Stream")
                stream_out = gr.Textbox(label="Streamed caption", interactive=False, lines=3)

            with gr.Tab("Auto-tagging", id="tagging"):
                gr.Markdown(
                    "Tag a clip with published music auto-taggers (Won et al. 2020) side by "
                    "side. Probabilities are each model's own outputs, one per tag (they do not "
                    "sum to 1). Tag lists can be turned into a caption for untagged music."
                )
                if not zoo.choices:
                    gr.Markdown(
                        f"⚠️ {zoo.missing_message()}",
                        elem_classes=["ttmrpp-note"],
                        elem_id="tagger-missing",
                    )
                with gr.Row():
                    tag_audio = _clip_input("Clip to tag (upload or record)", "tag-clip")
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
                            "Tag clip",
                            variant="primary",
                            elem_id="tag-btn",
                            interactive=bool(zoo.choices),
                        )
                tag_message = gr.Markdown(elem_id="tag-message")
                tag_table = gr.Dataframe(
                    interactive=False, label="Top tags per model", elem_id="tag-table"
                )
                tag_plot = gr.Plot(label="Top tags per model", elem_id="tag-plot")
                tag_results = gr.State([])
                gr.Markdown("**Caption from predicted tags** (for music that has no tags):")
                with gr.Row():
                    tag_source = gr.Dropdown(
                        choices=[], label="Tags from", elem_id="tag-source", scale=2
                    )
                    tag_gen = gr.Radio(
                        list(GENERATORS),
                        value="lora",
                        label="Generator",
                        elem_id="tag-gen",
                        scale=2,
                    )
                    tag_caption_btn = gr.Button(
                        "Caption from these tags", elem_id="tag-caption-btn", scale=1
                    )
                tag_words = gr.Textbox(label="Tags used", interactive=False)
                tag_caption_out = gr.Textbox(
                    label="Caption", lines=4, interactive=False, elem_id="tag-caption"
                )
                tag_send = gr.Button("Search with this caption", size="sm", elem_id="tag-send")

            with gr.Tab("Atlas", id="atlas") as atlas_tab:
                with gr.Row():
                    color_by = gr.Dropdown(
                        DEFAULT_CATEGORIES, value="genre", label="Colour by", scale=2
                    )
                    atlas_btn = gr.Button("Draw map", elem_id="atlas-btn", scale=1)
                gr.Markdown("Hover a point for its metadata; the star is your last search.")
                plot = gr.Plot(label="Collection map", elem_id="atlas-plot")

            with gr.Tab("Collection", id="collection"):
                info = gr.Markdown(elem_id="collection-info")
                with gr.Row():
                    with gr.Column():
                        uploads = gr.File(
                            file_count="multiple", type="filepath", label="Audio files to add"
                        )
                        files_btn = gr.Button("Index uploaded files", elem_id="index-files-btn")
                    with gr.Column():
                        folder = gr.Textbox(
                            label="Folder on the server", placeholder="/path/to/music"
                        )
                        folder_btn = gr.Button("Index folder", elem_id="index-folder-btn")
                index_report = gr.Markdown(elem_id="index-report")

        # -- events -----------------------------------------------------------------------
        search_out = [message, results, player, hits, query_vector, query_label]
        demo.load(
            startup,
            None,
            [status, note, info, examples, color_by],
            api_name="startup",
            show_progress="full",
        )
        examples.click(lambda sample: sample[0], examples, query, api_name="example")
        for trigger in (search_btn.click, query.submit):
            trigger(search_text, [query, k], search_out, api_name="search_text")
        audio_btn.click(search_audio, [clip, k], search_out, api_name="search_audio")
        hybrid_btn.click(
            search_hybrid, [query, clip, weight, k], search_out, api_name="search_hybrid"
        )
        results.select(play, hits, player, api_name="play")

        caption_event = caption_btn.click(
            caption_lab,
            [tags_in, reference],
            boxes + stats,
            api_name="caption_lab",
            concurrency_id="llm",
            concurrency_limit=1,
        )
        stream_btn.click(
            caption_stream_api,
            [tags_in, stream_gen],
            stream_out,
            api_name="caption_stream",
            concurrency_id="llm",
            concurrency_limit=1,
        )
        stop_btn.click(None, None, None, cancels=[caption_event], api_name="caption_stop")
        # API-only: every generator's caption, latency and BERTScore in one JSON answer.
        gr.api(
            caption_compare_api,
            api_name="caption_compare",
            concurrency_id="llm",
            concurrency_limit=1,
        )
        for name, box, send in zip(GENERATORS, boxes, sends):
            send.click(
                lambda text: (text, gr.Tabs(selected="search")),
                box,
                [query, tabs],
                api_name=f"use_caption_{name}",
            ).then(search_text, [query, k], search_out, api_name=f"search_caption_{name}")

        tag_btn.click(
            tag_clip,
            [tag_audio, tagger_pick, tag_k],
            [tag_message, tag_table, tag_plot, tag_results, tag_source],
            api_name="tag_clip",
            concurrency_id="tagger",
            concurrency_limit=1,
        )
        tag_caption_btn.click(
            tag_caption,
            [tag_results, tag_source, tag_gen],
            [tag_words, tag_caption_out],
            api_name="tag_caption",
            concurrency_id="llm",
            concurrency_limit=1,
        )
        tag_send.click(
            lambda text: (text, gr.Tabs(selected="search")),
            tag_caption_out,
            [query, tabs],
            api_name="use_tag_caption",
        ).then(search_text, [query, k], search_out, api_name="search_tag_caption")

        atlas_in = [color_by, query_vector, query_label]
        atlas_btn.click(atlas, atlas_in, plot, api_name="atlas")
        color_by.change(atlas, atlas_in, plot, api_name="atlas_recolor")
        atlas_tab.select(atlas, atlas_in, plot, api_name="atlas_open")

        files_btn.click(
            index_files,
            uploads,
            [index_report, info],
            api_name="index_files",
            concurrency_id="index",
            concurrency_limit=1,
        )
        folder_btn.click(
            index_folder,
            folder,
            [index_report, info],
            api_name="index_folder",
            concurrency_id="index",
            concurrency_limit=1,
        )
        gr.api(collection_info_api, api_name="collection_info")
    return demo


def _caption_outputs(rows: list[dict[str, Any]]) -> tuple:
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


def _info_markdown(info: dict[str, Any]) -> str:
    tags = ", ".join(f"{n} {cat}" for cat, n in info["tags"].items()) or "none"
    lines = [
        "### Loaded",
        f"- **Model:** `{info['model']}` from `{info['model_spec']}` "
        f"({info['embed_dim']}-d joint space)",
    ]
    if info["model_note"]:
        lines.append(f"- ⚠️ {info['model_note']}")
    lines += [
        f"- **Collection:** {info['collection']}",
        f"- **Tracks:** {info['tracks']} ({info['hours']} h) · **artists:** {info['artists']} · "
        f"**albums:** {info['albums']}",
        f"- **Distinct tags:** {tags}",
        f"- **Search:** {info['search']} · files that failed to index: {info['failed_files']}",
    ]
    if info.get("index_dir"):
        lines.append(f"- **Index folder:** `{info['index_dir']}`")
    return "\n".join(lines)

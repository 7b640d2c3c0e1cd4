"""The Collection tab: what is loaded, and adding uploaded files or a server folder."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ttmrpp.app import services as service
from ttmrpp.app.services.common import QueryError
from ttmrpp.app.tabs.context import AppContext, progress_callback, warn


def build_collection_tab(ctx: AppContext) -> gr.Markdown:
    """Lay out the Collection tab and wire `/index_files`, `/index_folder` and
    `/collection_info` (API only); returns the info box (filled at startup)."""

    def collection_info():
        try:
            return info_markdown(service.collection_info(ctx.current()))
        except QueryError as exc:
            return str(exc)

    def collection_info_api() -> dict:
        try:
            return service.collection_info(ctx.current())
        except QueryError as exc:
            raise gr.Error(str(exc)) from None

    def index_files(files, progress=gr.Progress()):  # noqa: B008
        paths = [getattr(f, "name", f) for f in (files or [])]
        try:
            s = ctx.current()
            report = service.index_uploaded_files(s, paths, progress_callback(progress))
        except QueryError as exc:
            return warn(exc), collection_info()
        return report.summary(), collection_info()

    def index_folder(folder: str, progress=gr.Progress()):  # noqa: B008
        try:
            report = service.index_folder(ctx.current(), folder, progress_callback(progress))
        except QueryError as exc:
            return warn(exc), collection_info()
        return report.summary(), collection_info()

    info = gr.Markdown(elem_id="collection-info")
    with gr.Row():
        with gr.Column():
            uploads = gr.File(file_count="multiple", type="filepath", label="Audio files to add")
            files_btn = gr.Button("Index uploaded files", elem_id="index-files-btn")
        with gr.Column():
            folder = gr.Textbox(label="Folder on the server", placeholder="/path/to/music")
            folder_btn = gr.Button("Index folder", elem_id="index-folder-btn")
    index_report = gr.Markdown(elem_id="index-report")

    one_at_a_time = {"concurrency_id": "index", "concurrency_limit": 1}
    files_btn.click(
        index_files, uploads, [index_report, info], api_name="index_files", **one_at_a_time
    )
    folder_btn.click(
        index_folder, folder, [index_report, info], api_name="index_folder", **one_at_a_time
    )
    gr.api(collection_info_api, api_name="collection_info")
    return info


def info_markdown(info: dict[str, Any]) -> str:
    """The collection summary as Markdown."""
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

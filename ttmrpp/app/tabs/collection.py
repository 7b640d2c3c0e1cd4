"""The Collection tab: what is loaded, and adding uploaded files or a server folder."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ttmrpp.app import services as service
from ttmrpp.app.tabs.context import AppContext, api_error, guarded, progress_callback, warn


def build_collection_tab(ctx: AppContext) -> gr.Markdown:
    """Lay out the Collection tab and wire `/index_files`, `/index_folder` and
    `/collection_info` (API only); returns the info box (filled at startup).

    Uploads go to the visitor's own collection (their session state) unless the operator
    shares them; folders can be indexed only inside the operator's allowed roots."""

    @guarded(lambda message: message)
    def collection_info(uploads=None):
        return info_markdown(service.collection_info(ctx.current(), uploads))

    @guarded(api_error)
    def collection_info_api() -> dict:
        return service.collection_info(ctx.current())

    @guarded(lambda message: (warn(message), gr.skip(), gr.skip()))
    def index_files(files, uploads, progress=gr.Progress()):  # noqa: B008
        if files is not None and not isinstance(files, list | tuple):
            files = [files]
        paths = [getattr(f, "name", f) for f in (files or [])]
        if not all(isinstance(p, str) for p in paths):
            return warn("Choose audio files to upload."), gr.skip(), gr.skip()
        s = ctx.current()
        session = ctx.session(s, uploads)
        try:
            report = service.index_uploaded_files(s, paths, progress_callback(progress), session)
        except BaseException:
            if session is not uploads:
                session.close()  # a session made for this request holds nothing afterwards
            raise
        return report.summary(), collection_info(session), session

    @guarded(lambda message: (warn(message), gr.skip()))
    def index_folder(folder: str, uploads=None, progress=gr.Progress()):  # noqa: B008
        report = service.index_folder(ctx.current(), folder, progress_callback(progress))
        return report.summary(), collection_info(uploads)

    info = gr.Markdown(elem_id="collection-info")
    with gr.Row():
        with gr.Column():
            uploads = gr.File(file_count="multiple", type="filepath", label="Audio files to add")
            files_btn = gr.Button("Index uploaded files", elem_id="index-files-btn")
        with gr.Column():
            folder = gr.Textbox(
                label="Folder on the server (inside the folders the operator allows)",
                placeholder="/path/to/music",
                max_length=service.collection.MAX_PATH_CHARS,
            )
            folder_btn = gr.Button("Index folder", elem_id="index-folder-btn")
    index_report = gr.Markdown(elem_id="index-report")

    one_at_a_time = {"concurrency_id": "index", "concurrency_limit": 1}
    files_btn.click(
        index_files,
        [uploads, ctx.uploads],
        [index_report, info, ctx.uploads],
        api_name="index_files",
        **one_at_a_time,
    )
    folder_btn.click(
        index_folder,
        [folder, ctx.uploads],
        [index_report, info],
        api_name="index_folder",
        **one_at_a_time,
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
    ]
    if info.get("real_tracks"):
        packages = ", ".join(f"{p} ({n})" for p, n in info["real_packages"].items())
        lines.append(
            f"- **Real recordings:** {info['real_tracks']} tracks from {packages}; each is "
            "listed and played with its licence and credit"
        )
    lines += [
        f"- **Search:** {info['search']} · files that failed to index: {info['failed_files']}",
    ]
    if info.get("uploads") == "shared":
        lines.append("- **Uploads:** join the shared collection (everyone can find them)")
    else:
        lines.append(
            f"- **Your uploads:** {info.get('your_uploads', 0)} tracks, searched for you only "
            "until you close the page"
        )
    if not info.get("folder_indexing"):
        lines.append("- **Server folders:** indexing is turned off here")
    return "\n".join(lines)

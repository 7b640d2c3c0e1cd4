"""The Blocks builder: every event is reachable by name, and the layout has the five tabs."""

from __future__ import annotations

import pytest

pytest.importorskip("gradio")
pytest.importorskip("hnswlib")

from tests.helpers.app import make_services  # noqa: E402


def test_every_event_has_an_api_name(tmp_path):
    from ttmrpp.app.blocks import build_demo

    demo = build_demo(make_services(tmp_path, n=3))
    names = [fn.api_name for fn in demo.fns.values()]
    assert names and all(isinstance(n, str) and n for n in names), names
    for wanted in (
        "startup",
        "search_text",
        "search_audio",
        "search_hybrid",
        "play",
        "caption_lab",
        "caption_compare",
        "caption_stream",
        "use_caption_template",
        "tag_clip",
        "tag_caption",
        "use_tag_caption",
        "atlas",
        "collection_info",
        "index_files",
        "index_folder",
    ):
        assert wanted in names
    config = demo.get_config_file()
    tabs = [c["props"].get("label") for c in config["components"] if c["type"] == "tabitem"]
    assert tabs == ["Search", "Caption lab", "Auto-tagging", "Atlas", "Collection"]

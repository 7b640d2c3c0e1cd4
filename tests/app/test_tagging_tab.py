"""The app's Auto-tagging tab, driven through its api_names with `gradio_client` and in
headless Chromium: tag a clip with two taggers, caption the predicted tags, send the caption to
search; and the tab without any tagger weights."""

from __future__ import annotations

import json
import os

import pytest

pytest.importorskip("gradio")
pytest.importorskip("hnswlib")
sf = pytest.importorskip("soundfile")

from tests.helpers.app import make_services  # noqa: E402
from tests.helpers.browser import CHROMIUM, CHROMIUM_FLAGS, free_port, screenshot  # noqa: E402
from tests.helpers.clips import save_random_weights  # noqa: E402


@pytest.fixture(scope="module")
def tagging_app(tmp_path_factory):
    """The app over a tiny collection, offering two randomly initialised Musicnn taggers."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from gradio_client import Client

    from ttmrpp.app.blocks import build_demo
    from ttmrpp.app.services.tagging import TaggerZoo

    root = tmp_path_factory.mktemp("tagapp")
    save_random_weights(root / "weights", "jamendo", "musicnn")
    save_random_weights(root / "weights", "mtat", "musicnn", seed=1)
    zoo = TaggerZoo.from_env(root / "weights")
    demo = build_demo(make_services(root, n=3), taggers=zoo)
    port = free_port()
    demo.queue().launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        yield Client(url, verbose=False), root, url
    finally:
        demo.close()


def test_tag_clip_then_caption_its_tags(tagging_app, tmp_path):
    from gradio_client import handle_file

    from tests.conftest import music_like

    client, *_ = tagging_app
    clip = tmp_path / "clip.wav"
    sf.write(clip, music_like(4.0, sr=16000), 16000)
    keys = ["jamendo/musicnn", "mtat/musicnn"]
    message, table, plot, source = client.predict(
        handle_file(str(clip)), keys, 3, api_name="/tag_clip"
    )
    assert message.startswith("2 of 2 models tagged the clip")
    assert table["headers"][:3] == ["rank", "Musicnn · MTG-Jamendo", "Musicnn · MTG-Jamendo: p"]
    assert [row[0] for row in table["data"]] == [1, 2, 3]
    probs = [row[2] for row in table["data"]]
    assert probs == sorted(probs, reverse=True) and all(0 < p < 1 for p in probs)
    assert table["data"][0][1].startswith(("genre---", "instrument---", "mood/theme---"))
    figure = json.loads(plot["plot"])
    assert plot["type"] == "plotly" and [t["type"] for t in figure["data"]] == ["bar", "bar"]
    assert source["value"] == "jamendo/musicnn" and [c[1] for c in source["choices"]] == keys

    words, caption = client.predict("mtat/musicnn", "template", api_name="/tag_caption")
    assert words and caption == f"This music features {_listed(words.split(', '))}."
    sent = client.predict(caption, api_name="/use_tag_caption")
    assert (sent[0] if isinstance(sent, list | tuple) else sent) == caption
    message, table, _ = client.predict(caption, 2, api_name="/search_tag_caption")
    assert message.startswith("2 tracks for") and len(table["data"]) == 2


def test_bad_clip_and_no_model_give_messages(tagging_app, tmp_path):
    from gradio_client import handle_file

    client, *_ = tagging_app
    junk = tmp_path / "junk.ogg"
    junk.write_bytes(os.urandom(2048))
    message, *_ = client.predict(handle_file(str(junk)), ["mtat/musicnn"], 3, api_name="/tag_clip")
    assert "junk.ogg is not audio we can read" in message
    message, *_ = client.predict(handle_file(str(junk)), [], 3, api_name="/tag_clip")
    assert "Pick at least one tagger" in message


def test_without_weights_the_tab_says_how_to_get_them(tmp_path, monkeypatch):
    from ttmrpp.app.blocks import build_demo
    from ttmrpp.app.services.tagging import TaggerZoo

    monkeypatch.setenv("TTMRPP_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("TTMRPP_TAGGER_WEIGHTS", raising=False)
    demo = build_demo(make_services(tmp_path, n=2), taggers=TaggerZoo.from_env())
    comps = {c.get("props", {}).get("elem_id"): c for c in demo.get_config_file()["components"]}
    note = comps["tagger-missing"]["props"]["value"]
    assert "No tagger weights found" in note and "TTMRPP_TAGGER_WEIGHTS" in note
    assert comps["tag-btn"]["props"]["interactive"] is False
    assert comps["tagger-models"]["props"]["choices"] == []
    tag = next(f for f in demo.fns.values() if f.api_name == "tag_clip").fn
    message, *_ = tag(None, [], 5)
    assert "No tagger weights found" in message


def test_browser_tags_a_clip_and_captions_it(tagging_app, tmp_path):
    from tests.conftest import music_like

    if CHROMIUM is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    *_, url = tagging_app
    clip = tmp_path / "clip.wav"
    sf.write(clip, music_like(4.0, sr=16000), 16000)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(30_000)
            page.goto(url)
            page.get_by_role("tab", name="Auto-tagging").click()
            page.locator("#tag-clip input[type=file]").set_input_files(str(clip))
            page.click("#tag-btn")
            page.locator("#tag-message").get_by_text("2 of 2 models tagged").wait_for()
            page.wait_for_selector("#tag-plot .main-svg")
            assert "Musicnn · MagnaTagATune" in page.inner_text("#tag-table")
            page.locator("#tag-gen").get_by_text("template").click()
            page.click("#tag-caption-btn")
            page.wait_for_function(
                "() => document.querySelector('#tag-caption textarea')?.value"
                ".startsWith('This music features ')"
            )
            screenshot(page, "auto-tagging")
        finally:
            browser.close()


def _listed(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]

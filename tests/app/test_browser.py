"""The launched app, driven end to end: by `gradio_client` through the api_names, and by a real
headless Chromium (Debian's `chromium`, driven with playwright; no browser download).

Screenshots of every tab are written to `build/test-artifacts/` (or `TTMRPP_TEST_ARTIFACTS`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest

pytest.importorskip("gradio")
pytest.importorskip("hnswlib")
sf = pytest.importorskip("soundfile")
pytest.importorskip(
    "ttmrpp.text.captioning.generators", reason="the caption lab needs the caption generators"
)

from tests.conftest import music_like  # noqa: E402
from tests.helpers.app import make_services, served  # noqa: E402
from tests.helpers.browser import CHROMIUM, CHROMIUM_FLAGS, screenshot  # noqa: E402


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The app over a tiny model and six generated tracks, served on 127.0.0.1 as `serve`
    serves it (nothing in allowed_paths), with `music/` as the one folder visitors may index."""
    root = tmp_path_factory.mktemp("app")
    (root / "music").mkdir()
    services = make_services(root, n=6, allowed_roots=(root / "music",))
    with served(services) as url:
        yield url, services, root


# -- gradio_client ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client(app):
    from gradio_client import Client

    return Client(app[0], verbose=False)


def test_client_search_text_audio_and_hybrid(client, app, tmp_path):
    from gradio_client import handle_file

    _, services, _ = app
    message, table, player = client.predict("jazz, piano, calm", 3, api_name="/search_text")
    assert message.startswith("3 tracks for")
    rows = table["data"]
    assert len(rows) == 3 and [r[0] for r in rows] == [1, 2, 3]
    assert rows[0][1] >= rows[1][1] >= rows[2][1]
    assert Path(player).stat().st_size > 1000  # the top hit's audio, downloaded

    track = services.index.tracks[4]
    clip = tmp_path / "clip.wav"
    shutil.copyfile(track["path"], clip)
    message, table, _ = client.predict(handle_file(str(clip)), 2, api_name="/search_audio")
    assert table["data"][0][2] == track["title"] and "clip.wav" in message
    message, table, _ = client.predict(
        "calm piano", handle_file(str(clip)), 1.0, 2, api_name="/search_hybrid"
    )
    assert table["data"][0][2] == track["title"] and "audio weight 1.00" in message


def test_client_bad_input_gives_a_message_and_the_app_stays_up(client, tmp_path):
    from gradio_client import handle_file

    message, table, player = client.predict("   ", 5, api_name="/search_text")
    assert "empty" in message and not table["data"] and player is None
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(os.urandom(4096))
    message, _, _ = client.predict(handle_file(str(junk)), 5, api_name="/search_audio")
    assert "junk.mp3 is not audio we can read" in message
    zero = tmp_path / "zero.wav"
    zero.write_bytes(b"")
    message, _, _ = client.predict(handle_file(str(zero)), 5, api_name="/search_audio")
    assert "empty (0 bytes)" in message
    long_clip = tmp_path / "long.wav"
    sf.write(str(long_clip), np.zeros(20 * 60 * 8000, dtype=np.int16), 8000, subtype="PCM_16")
    message, _, _ = client.predict(handle_file(str(long_clip)), 5, api_name="/search_audio")
    assert "20.0 minutes long" in message
    message, table, _ = client.predict("rock", 2, api_name="/search_text")
    assert len(table["data"]) == 2  # still serving


def test_client_caption_compare_stream_atlas_and_collection(client, app, tmp_path):
    from gradio_client import handle_file

    result = client.predict("jazz, piano", "A calm jazz piano piece.", api_name="/caption_compare")
    assert result["template"]["caption"] == "This music features jazz and piano."
    assert 0 < result["template"]["bertscore_f1"] <= 1
    job = client.submit("rock, drums", "template", api_name="/caption_stream")
    assert job.result() == "This music features rock and drums."
    plot = client.predict("mood", api_name="/atlas")
    assert plot["type"] == "plotly" and "calm" in plot["plot"]
    info = client.predict(api_name="/collection_info")
    assert info["tracks"] == 6 and info["model"] == "ttmrpp-tiny"

    new = tmp_path / "upload-me.wav"
    sf.write(str(new), music_like(2.0, 22050, seed=77), 22050)
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    report, _ = client.predict(
        [handle_file(str(new)), handle_file(str(bad))], api_name="/index_files"
    )
    assert "Indexed 1 new file" in report and "bad.wav" in report
    assert "for you only" in report  # this visitor's, not everyone's
    assert client.predict(api_name="/collection_info")["tracks"] == 6
    _, table, player = client.predict(handle_file(str(new)), 1, api_name="/search_audio")
    assert table["data"][0][2] == "upload-me" and Path(player).read_bytes() == new.read_bytes()


def test_concurrent_clients_get_their_own_answers(app):
    """Six clients searching at once for 3 s: no errors, every answer is the asker's own."""
    import threading
    import time

    from gradio_client import Client

    from ttmrpp.app import services as service

    url, services, _ = app
    queries = ["rock", "calm piano", "jazz, bass", "dark techno", "happy folk", "funk groove"]
    expected = {q: [h["title"] for h in service.search_text(services, q, 6).hits] for q in queries}
    results, errors = [], []

    def work(q: str) -> None:
        client = Client(url, verbose=False)
        end = time.time() + 3
        while time.time() < end:
            try:
                message, table, _ = client.predict(q, 6, api_name="/search_text")
                results.append((q, message, [row[2] for row in table["data"]]))
            except Exception as exc:
                errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(q,)) for q in queries]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) >= len(queries)
    for q, message, titles in results:
        assert f"“{q}”" in message and titles == expected[q]


def test_client_index_folder_then_play_from_it(client, app):
    """A folder inside the allowed root, indexed after launch, plays; nothing was added to
    Gradio's allowed paths for it."""
    url, services, root = app
    track = root / "music" / "late" / "late-addition.wav"
    track.parent.mkdir()
    sf.write(str(track), music_like(2.0, 22050, seed=4242), 22050)
    report, info = client.predict(str(track.parent), api_name="/index_folder")
    assert "Indexed 1 new file" in report and "late-addition.wav" not in info
    try:
        from gradio_client import handle_file

        _, table, player = client.predict(handle_file(str(track)), 1, api_name="/search_audio")
        assert table["data"][0][2] == "late-addition"
        assert Path(player).read_bytes() == track.read_bytes()
        message, _ = client.predict(str(root / "music" / "nope"), api_name="/index_folder")
        assert "not inside the folders this server allows" in message
    finally:
        services.index.remove_paths([str(track.resolve())])


# -- the browser --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser_page(app, tmp_path_factory):
    if CHROMIUM is None:
        pytest.skip(
            "chromium is not installed (Debian: apt-get install chromium chromium-driver); "
            "the real-browser test needs it"
        )
    sync_api = pytest.importorskip("playwright.sync_api")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 1000},
        )
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.outside_requests = []
        host = urlparse(app[0]).netloc

        def note(request):
            url = urlparse(request.url)
            if url.scheme in ("http", "https", "ws", "wss") and url.netloc != host:
                page.outside_requests.append(request.url)

        page.on("request", note)
        try:
            yield page
        finally:
            context.close()


def test_browser_search_plays_audio_and_every_tab_renders(browser_page, app, tmp_path):
    page = browser_page
    url, services, _ = app
    page.goto(url)
    page.wait_for_selector("#query textarea")
    # the startup event fills the example queries from the collection
    page.get_by_text("similar with artist Artist", exact=False).first.wait_for()

    page.fill("#query textarea", "rock, electric guitar, energetic")
    page.click("#search-btn")
    page.get_by_text("6 tracks for", exact=False).wait_for()
    rows = page.locator("#results [role=row].virtual-row")
    rows.first.wait_for()
    assert rows.count() == 6
    titles = {t["title"] for t in services.index.tracks}
    assert cell(page, 0, 2) in titles and cell(page, 0, 0) == "1"

    # the player holds the top hit, served by the app and decodable by the browser
    audio_src = _player_source(page)
    assert urlparse(audio_src).netloc == urlparse(url).netloc
    status = page.evaluate(
        "async (src) => { const r = await fetch(src); const b = await r.arrayBuffer();"
        " const ctx = new OfflineAudioContext(1, 1, 22050);"
        " const buf = await ctx.decodeAudioData(b); return [r.status, buf.duration]; }",
        audio_src,
    )
    assert status[0] == 200 and status[1] > 1.0
    # the line under the player credits what it plays
    page.locator("#now-playing").get_by_text(f"Now playing: {cell(page, 0, 2)}").wait_for()
    screenshot(page, "search")

    # selecting another row loads that track into the player
    page.click("#results [data-testid=cell-2-2]")
    third_title = cell(page, 2, 2)
    third = next(t for t in services.index.tracks if t["title"] == third_title)
    page.wait_for_function(
        "(name) => { const a = document.querySelector('#player a[download]');"
        " return a && a.getAttribute('download') === name; }",
        arg=Path(third["path"]).name,
    )
    page.locator("#now-playing").get_by_text(
        f"Now playing: {third_title} — {third['artist']}"
    ).wait_for()

    page.get_by_role("tab", name="Caption lab").click()
    page.fill("#tags textarea", "jazz, piano")
    page.click("#caption-btn")
    page.wait_for_function(
        "() => document.querySelector('#caption-template textarea')?.value"
        " === 'This music features jazz and piano.'"
    )
    page.locator("#stats-template").get_by_text("latency", exact=False).wait_for()
    screenshot(page, "caption-lab")
    # one click sends the caption to Search and runs it
    page.click("#send-template")
    page.get_by_text("tracks for “This music features jazz and piano.”", exact=False).wait_for()
    assert page.input_value("#query textarea") == "This music features jazz and piano."

    page.get_by_role("tab", name="Atlas").click()
    page.click("#atlas-btn")
    page.wait_for_selector("#atlas-plot .main-svg")
    page.locator("#atlas-plot").get_by_text("rock", exact=False).first.wait_for()
    # the last query is marked on the map
    page.locator("#atlas-plot").get_by_text(
        "query: “This music features", exact=False
    ).first.wait_for()
    # hovering a track shows its metadata
    page.locator("#atlas-plot .scatterlayer .point").first.hover(force=True)
    page.locator("#atlas-plot .hoverlayer").get_by_text("Artist", exact=False).first.wait_for()
    screenshot(page, "atlas")

    page.get_by_role("tab", name="Collection").click()
    page.locator("#collection-info").get_by_text("Tracks:", exact=False).wait_for()
    assert "ttmrpp-tiny" in page.inner_text("#collection-info")
    screenshot(page, "collection")

    # an empty query gives a message, not an error page
    page.get_by_role("tab", name="Search").click()
    page.fill("#query textarea", "   ")
    page.click("#search-btn")
    page.locator("#search-message").get_by_text("TITLE by ARTIST", exact=False).wait_for()
    screenshot(page, "search-empty-query")

    # query by clip: a file that is not audio gets a message; a real clip finds its track
    page.get_by_text("Query by audio clip", exact=False).click()
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(bytes(range(256)) * 16)
    page.locator("#clip input[type=file]").set_input_files(str(junk))
    page.click("#audio-btn")
    page.locator("#search-message").get_by_text(
        "junk.mp3 is not audio we can read", exact=False
    ).wait_for()
    track = services.index.tracks[3]
    clip = tmp_path / "my-clip.wav"
    shutil.copyfile(track["path"], clip)
    page.locator("#clip").get_by_role("button", name="Clear").click()
    page.locator("#clip input[type=file]").set_input_files(str(clip))
    page.click("#audio-btn")
    page.get_by_text("tracks for the clip my-clip.wav", exact=False).wait_for()
    assert cell(page, 0, 2) == track["title"]
    screenshot(page, "search-by-clip")

    assert page.outside_requests == []  # offline: nothing fetched from anywhere else


def cell(page, row: int, col: int) -> str:
    """The text of a results-table cell (Gradio's virtual table draws divs, not <td>s)."""
    return page.inner_text(f"#results [data-testid=cell-{row}-{col}]").strip()


def _player_source(page) -> str:
    link = page.locator("#player a[download]")
    link.wait_for(state="attached")
    return link.get_attribute("href")

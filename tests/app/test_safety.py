"""The app is safe to put on the internet: driven as a visitor would, through a real server on
127.0.0.1 with real HTTP requests and `gradio_client` sessions.

- server folders: indexed only inside the operator's roots, refused with one message that does
  not tell what exists;
- file serving: the player serves the indexed tracks and nothing else (no file beside a track,
  no index or cache file, no other visitor's upload);
- uploads: kept by content (two songs with one name are both kept), searched for their
  visitor only;
- bad input: short messages, no server paths, no raw exception text.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

pytest.importorskip("gradio")
pytest.importorskip("hnswlib")
sf = pytest.importorskip("soundfile")

from tests.conftest import music_like  # noqa: E402
from tests.helpers.app import file_status, http_call, make_services, served  # noqa: E402
from ttmrpp.app import services as service  # noqa: E402

SR = 22050


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The app over four tracks, one allowed root (`music/`) holding one more track, a folder
    outside the root, and a secret beside the indexed tracks."""
    root = tmp_path_factory.mktemp("safe")
    music, outside = root / "music", root / "outside"
    music.mkdir()
    outside.mkdir()
    sf.write(str(music / "allowed.wav"), music_like(2.0, SR, seed=31), SR)
    sf.write(str(outside / "private.wav"), music_like(2.0, SR, seed=32), SR)
    (outside / "notes.txt").write_text("not for visitors")
    (music / "way-out").symlink_to(outside, target_is_directory=True)
    services = make_services(root, n=4, allowed_roots=(music,))
    secret = Path(services.index.tracks[0]["path"]).parent / "secret.txt"
    secret.write_text("a secret beside an indexed track")
    with served(services) as url:
        yield {"url": url, "services": services, "root": root, "secret": secret}


def client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False)


def player_url(result) -> str:
    """The URL the page's player would load, from a raw `/search_*` answer."""
    return result[2]["url"]


# -- server folders -----------------------------------------------------------------------
def test_index_folder_refuses_every_path_outside_the_roots_with_one_message(app):
    services, root = app["services"], app["root"]
    c = client(app["url"])
    tracks = len(services.index)
    refused = [
        "/etc",
        "/",
        str(root / "outside"),  # exists, outside the root
        str(root / "music" / "way-out"),  # a link in the root pointing out of it
        str(root / "music" / ".." / "outside"),
        str(root / "music" / "missing"),
        str(root / "nothing-here"),
        str(root / "music" / "allowed.wav"),  # a file
        str(app["secret"]),
        "~",
    ]
    answers = {c.predict(path, api_name="/index_folder")[0] for path in refused}
    assert answers == {f"⚠️ {service.NOT_ALLOWED}"}
    assert len(services.index) == tracks  # /etc was neither accepted nor counted

    report, _ = c.predict(str(root / "music"), api_name="/index_folder")
    assert "Indexed 1 new file" in report and len(services.index) == tracks + 1
    assert not any("private" in t["path"] for t in services.index.tracks)

    services.allowed_roots = ()  # no roots named by the operator: folder indexing is off
    try:
        message, _ = c.predict(str(root / "music"), api_name="/index_folder")
        assert "turned off" in message
    finally:
        services.allowed_roots = ((root / "music").resolve(),)


# -- file serving -------------------------------------------------------------------------
def test_the_player_serves_indexed_tracks_and_nothing_else(app):
    url, services, root = app["url"], app["services"], app["root"]
    event, result = http_call(url, "search_text", ["jazz, piano", 4])
    assert event == "complete" and result[0].startswith("4 tracks for")
    played = player_url(result)
    import httpx

    answer = httpx.get(played, timeout=30)
    assert answer.status_code == 200
    titles = {t["title"]: t["path"] for t in services.index.tracks}
    top = titles[result[1]["data"][0][2]]
    assert answer.content == Path(top).read_bytes()  # the indexed track itself

    forbidden = [
        app["secret"],  # beside an indexed track: 403 before and after a search
        top,  # the track's own path: only the player's copy is served
        Path(top).parent,
        services.index_dir / "index.json",
        services.index_dir / "embeddings.npy",
        services.index_dir / "tracks.jsonl",
        root / "collection" / "manifest.jsonl",
        root / "outside" / "notes.txt",
        "/etc/passwd",
    ]
    statuses = {str(p): file_status(url, p) for p in forbidden}
    assert set(statuses.values()) <= {403, 404}, statuses
    assert services.index_dir.parent.resolve() != Path("/")  # the blocked cache is ours


# -- uploads ------------------------------------------------------------------------------
def test_uploads_are_kept_by_content_and_searched_for_their_visitor_only(app, tmp_path):
    from gradio_client import handle_file

    url, services = app["url"], app["services"]
    one, two = tmp_path / "one" / "song.wav", tmp_path / "two" / "song.wav"
    for path, seed in ((one, 41), (two, 42)):
        path.parent.mkdir()
        sf.write(str(path), music_like(2.0, SR, seed=seed), SR)
    assert one.stat().st_size == two.stat().st_size
    shared = len(services.index)
    alice, bob = client(url), client(url)

    report, info = alice.predict(
        [handle_file(str(one)), handle_file(str(two))], api_name="/index_files"
    )
    assert "Indexed 2 new file(s)" in report and "for you only" in report
    assert "Your uploads:** 2 tracks" in info
    assert len(services.index) == shared  # not in everyone's collection
    stored = sorted(p for p in services.upload_dir.rglob("*.wav"))
    assert len(stored) == 2 and {p.name for p in stored} == {"song.wav"}

    for clip in (one, two):
        message, table, player = alice.predict(handle_file(str(clip)), 1, api_name="/search_audio")
        assert table["data"][0][2] == "song" and table["data"][0][1] == pytest.approx(1, abs=1e-3)
        assert Path(player).read_bytes() == clip.read_bytes()  # each plays its own music
        _, table, _ = bob.predict(handle_file(str(clip)), 5, api_name="/search_audio")
        assert "song" not in [row[2] for row in table["data"]]  # Bob never sees Alice's songs
    _, table, _ = bob.predict("song", 10, api_name="/search_text")
    assert len(table["data"]) == shared and "song" not in [row[2] for row in table["data"]]

    for path in stored:  # another visitor's upload is not served
        assert file_status(url, path) in {403, 404}


# -- bad input ----------------------------------------------------------------------------
def test_bad_input_gets_short_messages_without_server_paths(app):
    url, root = app["url"], app["root"]
    c = client(url)
    message, table, player = c.predict("rock " * 200_000, 5, api_name="/search_text")
    assert message == "⚠️ The query is 1,000,000 characters long; at most 500 are allowed."
    assert not table["data"] and player is None
    message, *_ = c.predict("rock", 2.5, api_name="/search_text")
    assert "whole number between 1 and 100" in message

    event, data = http_call(url, "search_text", ["rock", float("nan")])
    assert event == "complete" and "whole number between 1 and 100, not nan" in data[0]
    for bad_k in (float("inf"), "abc", -1):  # Gradio's slider refuses these itself
        event, data = http_call(url, "search_text", ["rock", bad_k])
        assert event == "error"
        assert data["error"] is None or (len(data["error"]) < 80 and "/" not in data["error"])
    event, data = http_call(url, "caption_compare", ["jazz, " * 200, ""])
    assert event == "error" and data["error"].startswith("The tag list is 1,200 characters")
    event, data = http_call(url, "caption_stream", ["r" * 100_000, "template"])
    assert event == "error" and data["error"].startswith("The tag list is 100,000 characters")
    event, data = http_call(url, "index_folder", ["/" + "x" * 100_000])
    assert event == "complete" and data[0] == f"⚠️ {service.NOT_ALLOWED}"
    info = c.predict(api_name="/collection_info")
    assert str(root) not in repr(info) and "index_dir" not in info
    message, *_ = c.predict("rock", 3, api_name="/search_text")  # still serving
    assert message.startswith("3 tracks")


def test_an_unexpected_error_is_logged_and_shown_as_a_generic_message(caplog):
    from ttmrpp.app.tabs.context import GENERIC_ERROR, guarded

    @guarded(lambda message: ("shown", message))
    def handler(x):
        raise RuntimeError(f"cannot open /srv/private/{x}")

    @guarded(lambda message: ("shown", message))
    def streaming(x):
        yield ("first", x)
        raise KeyError("/srv/private/key")

    @guarded(lambda message: ("shown", message))
    def refused(x):
        raise service.QueryError(f"bad {x}")

    with caplog.at_level(logging.ERROR, logger="ttmrpp.app"):
        assert handler("a.wav") == ("shown", GENERIC_ERROR)
        assert list(streaming("b")) == [("first", "b"), ("shown", GENERIC_ERROR)]
    assert refused("x") == ("shown", "bad x")
    logged = [r for r in caplog.records if r.name == "ttmrpp.app"]
    assert len(logged) == 2 and all(r.exc_info for r in logged)
    assert "/srv/private/a.wav" in caplog.text  # the details go to the log only
    assert "/" not in GENERIC_ERROR


def test_a_track_gone_from_disk_gives_results_without_a_player(tmp_path):
    services = make_services(tmp_path, n=2)
    gone = services.index.tracks
    moved = tmp_path / "moved"
    shutil.move(str(Path(gone[0]["path"]).parent), moved)
    with served(services) as url:
        message, table, player = client(url).predict("rock", 2, api_name="/search_text")
    assert message.startswith("2 tracks") and len(table["data"]) == 2 and player is None

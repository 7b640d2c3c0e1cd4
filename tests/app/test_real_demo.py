"""Real recordings in the demo: on a first launch `prepare` adds the music of Debian packages
(installed under a folder laid out like `/`, or from a `.deb` in the cache) to the generated
catalog; without them it goes on with generated music and says so; every listing and the
player credit each track. Offline: a tiny package built here with dpkg-deb, never apt-get."""

from __future__ import annotations

import shutil

import pytest

pytest.importorskip("hnswlib")
pytest.importorskip("debian", reason="python-debian reads the packages")
pytest.importorskip("ttmrpp.world.catalog", reason="the music world (ttmrpp.world)")

from tests.data.tiny_deb import (  # noqa: E402
    DEB_NAME,
    DPKG_DEB_MISSING,
    TINY,
    build_tiny_deb,
    install_into,  # noqa: E402
)
from ttmrpp.app import launch as demo  # noqa: E402
from ttmrpp.app import services as service  # noqa: E402
from ttmrpp.app.real_demo import (  # noqa: E402
    GENERATED_LICENCE,
    REAL_DEMO_ENV,
    RealSource,
    real_demo_enabled,
)
from ttmrpp.data.debian_packages import DEMO  # noqa: E402

SETTINGS = dict(model_spec="ttmrpp-tiny", tracks=2, seconds=2.0, tqdm_bars=False)


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """(folder of the tiny .deb, a root where it is installed); then a PATH without apt-get
    (or any tool): nothing can be downloaded, and nothing tries."""
    if DPKG_DEB_MISSING:
        pytest.skip("dpkg-deb builds the test package")
    debs = build_tiny_deb(tmp_path)
    root = install_into(debs / DEB_NAME, tmp_path / "installed")
    empty = tmp_path / "no-tools"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    return debs, root


def _steps(cache, real):
    steps = []
    services = demo.prepare(
        cache, progress=lambda d, t, what: steps.append(what), real=real, **SETTINGS
    )
    return services, steps


def test_installed_packages_join_the_demo_with_their_licences(tmp_path, tiny):
    _, root = tiny
    source = RealSource({"tiny-data": TINY}, root)
    services, steps = _steps(tmp_path / "cache", source)
    assert "getting the real recordings (Debian packages)" in steps
    assert len(services.index) == 4 and services.model_note == ""
    assert "+real-" in services.index_dir.name
    assert services.collection_name == (
        "demo catalog (2 generated tracks + 2 real recordings from 1 Debian package)"
    )
    licences = {t.get("package", "generated"): set() for t in services.index.tracks}
    for t in services.index.tracks:
        licences[t.get("package", "generated")].add(t["licence"])
    assert licences == {"generated": {GENERATED_LICENCE}, "tiny-data": {"CC-BY-SA-3.0", "GPL-2+"}}
    info = service.collection_info(services)
    assert info["real_tracks"] == 2 and info["real_packages"] == {"tiny-data": 2}

    # Listed with the licence, played with title, artist, licence and credit, mapped with it.
    hits = service.search_text(services, "music track Relax One by Ana Corvel", k=4).hits
    calm = next(h for h in hits if h["title"] == "Relax One")
    row = service.result_table(service.SearchResult([calm], None, "q", 0.0))[0]
    assert row[service.RESULT_COLUMNS.index("licence")] == "CC-BY-SA-3.0"
    assert service.now_playing(calm) == (
        "Now playing: Relax One — Ana Corvel · CC-BY-SA-3.0 · 2021 Ana Corvel"
    )
    fig = service.atlas_figure(services, "genre")
    hover = " ".join(h for t in fig.data for h in t.hovertext)
    assert "licence: CC-BY-SA-3.0 · 2021 Ana Corvel" in hover
    assert f"licence: {GENERATED_LICENCE}" in hover

    # The Search tab plays the top hit (or a selected row) and keeps it as "now playing",
    # which the line under the player credits (the API still gives the player's file).
    import gradio as gr

    from ttmrpp.app.tabs.context import AppContext
    from ttmrpp.app.tabs.search import search_handlers

    on = search_handlers(AppContext(lambda p=None: services, lambda: services, None, None, None))
    message, table, player, hits, _, _, playing = on.search_text("music track Relax One", 4)
    assert player.endswith(".ogg") or player.endswith(".opus")
    assert playing == hits[0] and [r[6] for r in table] == [h["licence"] for h in hits]
    row = next(i for i, h in enumerate(hits) if h["title"] == "Relax One")
    played, playing = on.play(hits, None, gr.SelectData(None, {"index": [row, 2], "value": ""}))
    assert playing["path"] == calm["path"] and played.endswith("calm-relax.ogg")
    assert on.play(hits, None, gr.SelectData(None, {"index": [99, 0], "value": ""})) == (None, None)

    # The next launch loads it all from the cache: nothing is fetched or extracted again.
    again, steps = _steps(tmp_path / "cache", source)
    assert steps[0] == "loading the index from the cache" and not any("real" in s for s in steps)
    assert again.index_dir == services.index_dir and len(again.index) == 4


def test_a_deb_in_the_cache_is_read_when_the_package_is_not_installed(tmp_path, tiny):
    debs, _ = tiny
    cache = tmp_path / "cache"
    (cache / "debs").mkdir(parents=True)
    shutil.copy(debs / DEB_NAME, cache / "debs")
    services, _ = _steps(cache, RealSource({"tiny-data": TINY}, tmp_path / "empty-root"))
    assert len(services.index) == 4 and services.model_note == ""
    assert service.collection_info(services)["real_packages"] == {"tiny-data": 2}


def test_without_the_packages_the_demo_has_generated_music_and_says_so(tmp_path, tiny):
    root = tmp_path / "root"
    root.mkdir()
    source = RealSource({"tiny-data": TINY}, root)
    services, _ = _steps(tmp_path / "cache", source)
    assert len(services.index) == 2 and "+real" not in services.index_dir.name
    assert services.model_note == (
        "No real recordings in the demo (not installed, and no apt-get to fetch it): "
        "it has generated music only."
    )
    assert services.collection_name == "demo catalog (2 generated tracks)"
    assert {t["licence"] for t in services.index.tracks} == {GENERATED_LICENCE}

    # Installed later: the next launch adds them (a fresh cache folder; the catalog is reused).
    shutil.copytree(tiny[1], root, dirs_exist_ok=True)
    again, steps = _steps(tmp_path / "cache", source)
    assert len(again.index) == 4 and again.model_note == ""
    assert again.index_dir != services.index_dir


def test_the_setting_turns_the_real_recordings_off_and_names_the_cache(tmp_path, monkeypatch):
    monkeypatch.delenv(REAL_DEMO_ENV)
    assert real_demo_enabled() is True
    for off in ("0", "false", "No", "off"):
        monkeypatch.setenv(REAL_DEMO_ENV, off)
        assert real_demo_enabled() is False and demo.real_source() is None
    assert real_demo_enabled(True) is True
    monkeypatch.setenv(REAL_DEMO_ENV, "1")
    assert dict(demo.real_source().packages) == DEMO
    kw = dict(cache=tmp_path, model_spec="ttmrpp-tiny", tracks=3)
    with_real, without = demo.cached_index_dir(**kw), demo.cached_index_dir(real=False, **kw)
    assert without.name == "index-ttmrpp-tiny-3x20s"  # as before: old caches still load
    assert with_real.name.startswith(without.name + "+real-")  # old caches rebuild with them
    other = RealSource({"tiny-data": TINY})
    assert demo.cached_index_dir(real=other, **kw) not in (with_real, without)


def test_the_line_under_the_player_credits_the_track():
    fear = {
        "title": "Fear",
        "artist": "Obsidian Shell",
        "licence": "CC-BY-SA-3.0",
        "credit": "2011, Obsidian Shell",
        "path": "/x/03_fear.ogg",
    }
    assert service.now_playing(fear) == (
        "Now playing: Fear — Obsidian Shell · CC-BY-SA-3.0 · 2011, Obsidian Shell"
    )
    cello = {**fear, "title": "Ave Maria", "artist": "John Michel", "credit": "John Michel"}
    assert service.now_playing(cello) == "Now playing: Ave Maria — John Michel · CC-BY-SA-3.0"
    assert service.now_playing({"path": "/up/my-song.wav"}) == "Now playing: my-song"
    assert service.now_playing(None) == ""


def test_a_damaged_deb_in_the_cache_is_left_out_and_removed(tmp_path, tiny):
    from ttmrpp.app.real_demo import fetch_real_tracks

    cache = tmp_path / "cache"
    (cache / "debs").mkdir(parents=True)
    (cache / "debs" / DEB_NAME).write_bytes(b"!<arch>\nnot really a package")
    got = fetch_real_tracks(cache, RealSource({"tiny-data": TINY}, tmp_path / "empty"), False)
    assert got.manifests == {} and got.missing == {"tiny-data": "unreadable"}
    assert got.note == "No real recordings in the demo (unreadable): it has generated music only."
    assert not (cache / "debs" / DEB_NAME).exists()  # fetched afresh on the next launch

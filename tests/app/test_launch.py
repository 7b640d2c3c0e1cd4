"""The demo set-up: first launch builds catalog, index and atlas into the cache; later
launches load them; the loader builds once and never makes a request wait on a first launch."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

pytest.importorskip("hnswlib")
pytest.importorskip("ttmrpp.world.catalog", reason="the music world (ttmrpp.world)")

from ttmrpp.app import launch as demo  # noqa: E402
from ttmrpp.app import services as service  # noqa: E402
from ttmrpp.app.services.common import QueryError  # noqa: E402


def test_first_launch_builds_the_cache_and_later_launches_load_it(tmp_path):
    steps = []
    kw = dict(cache=tmp_path, model_spec="ttmrpp-tiny", tracks=3, seconds=3.0, tqdm_bars=False)
    cold = demo.prepare(progress=lambda d, t, what: steps.append(what), **kw)
    assert any("rendering the demo catalog" in s for s in steps)
    assert steps[-1].startswith("ready")
    assert len(cold.index) == 3
    index_dir = cold.index_dir
    assert (index_dir / "index.json").is_file() and (index_dir / "atlas.npz").is_file()
    assert (index_dir / "model" / "model.safetensors").is_file()  # random weights are kept
    hits = service.search_text(cold, "music track x by y", k=3).hits
    assert {h["title"] for h in hits} == {t["title"] for t in cold.index.tracks}

    steps.clear()
    warm = demo.prepare(progress=lambda d, t, what: steps.append(what), **kw)
    assert steps[0] == "loading the index from the cache"
    assert not any("rendering" in s for s in steps)
    assert warm.index.fingerprint == cold.index.fingerprint
    q = "calm piano"
    assert np.allclose(
        service.search_text(warm, q).query_vector, service.search_text(cold, q).query_vector
    )


@pytest.mark.parametrize(
    "damage",
    [
        ("embeddings.npy", b""),
        ("embeddings.npy", b"\x93NUMPY garbage"),
        ("index.json", b"{not json"),
        ("tracks.jsonl", b'{"path": 1}\n[]\n'),
        ("atlas.npz", b"PK\x03\x04 not a zip"),
    ],
)
def test_a_damaged_cache_is_rebuilt_and_the_note_says_so(tmp_path, damage):
    kw = dict(cache=tmp_path, model_spec="ttmrpp-tiny", tracks=2, seconds=2.0, tqdm_bars=False)
    cold = demo.prepare(**kw)
    assert cold.model_note == ""
    name, data = damage
    (cold.index_dir / name).write_bytes(data)
    steps = []
    again = demo.prepare(progress=lambda d, t, what: steps.append(what), **kw)
    assert len(again.index) == 2 and service.search_text(again, "calm piano", k=2).hits
    if name == "atlas.npz":  # the map is fitted again; the index itself was fine
        assert not any("rendering" in s for s in steps) and again.model_note == ""
        assert service.atlas_points(again).coords.shape == (2, 2)
    else:
        assert any("embedding" in s for s in steps)
        assert again.model_note == demo.DAMAGED_NOTE
    third = demo.prepare(progress=lambda d, t, what: steps.append(what), **kw)
    assert third.model_note == "" and len(third.index) == 2  # the rebuilt cache loads


def test_allowed_roots_and_shared_uploads_settings(monkeypatch, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (tmp_path / "link").symlink_to(a, target_is_directory=True)
    monkeypatch.delenv(demo.ROOTS_ENV, raising=False)
    monkeypatch.delenv(demo.SHARED_UPLOADS_ENV, raising=False)
    assert demo.allowed_roots() == ()  # nothing named: folder indexing is off
    monkeypatch.setenv(demo.ROOTS_ENV, os.pathsep.join([str(tmp_path / "link"), ""]))
    assert demo.allowed_roots([str(b), str(a)]) == (a.resolve(), b.resolve())
    monkeypatch.setenv(demo.ROOTS_ENV, str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="is not a folder"):
        demo.allowed_roots()
    assert demo.shared_uploads() is False
    monkeypatch.setenv(demo.SHARED_UPLOADS_ENV, "1")
    assert demo.shared_uploads() is True and demo.shared_uploads(False) is False
    monkeypatch.delenv(demo.ROOTS_ENV)
    services = demo.prepare(
        cache=tmp_path / "c", model_spec="ttmrpp-tiny", tracks=1, seconds=2.0, tqdm_bars=False
    )
    assert services.allowed_roots == () and services.shared_uploads is True


def test_app_and_cli_take_roots_and_shared_uploads(tmp_path, monkeypatch):
    import app as space_app
    from ttmrpp.cli.main import build_parser

    args = build_parser().parse_args(
        ["app", "--allow-root", "/a", "--allow-root", "/b", "--shared-uploads"]
    )
    assert args.allow_root == ["/a", "/b"] and args.shared_uploads
    plain = build_parser().parse_args(["app"])
    assert plain.allow_root == [] and not plain.shared_uploads
    monkeypatch.delenv(demo.ROOTS_ENV, raising=False)

    def cli(argv: list[str]) -> int:
        args = build_parser().parse_args(["app", *argv])
        return args.func(args)

    for main in (space_app.main, cli):
        with pytest.raises(ValueError, match="missing is not a folder"):
            main(["--allow-root", str(tmp_path / "missing")])  # refused before serving


def test_launch_settings_allow_nothing_and_block_the_cache(tmp_path):
    settings = demo.launch_settings(tmp_path)
    assert settings["allowed_paths"] == []
    assert settings["blocked_paths"] == [str(tmp_path.resolve())]
    assert settings["max_file_size"] == service.Limits().file_bytes


def test_default_model_spec(monkeypatch, tmp_path):
    monkeypatch.delenv("TTMRPP_MODEL", raising=False)
    monkeypatch.setenv("TTMRPP_ASSETS", str(tmp_path / "absent"))
    spec, note = demo.default_model_spec()
    assert spec == "ttmrpp-cpu" and "untrained" in note
    shipped = tmp_path / "assets" / "ttmrpp-cpu"
    shipped.mkdir(parents=True)
    (shipped / "model.safetensors").write_bytes(b"x")
    (shipped / "config.json").write_text("{}")
    monkeypatch.setenv("TTMRPP_ASSETS", str(tmp_path / "assets"))
    assert demo.default_model_spec() == ("default", "")
    monkeypatch.setenv("TTMRPP_MODEL", "ttmrpp-tiny")
    assert demo.default_model_spec() == ("ttmrpp-tiny", "")
    monkeypatch.setenv("TTMRPP_CACHE", str(tmp_path / "c"))
    assert demo.cache_dir() == tmp_path / "c"
    monkeypatch.setenv("TTMRPP_DEMO_TRACKS", "0")
    with pytest.raises(ValueError, match="at least 1"):
        demo.demo_tracks()


def test_requests_during_a_first_launch_get_a_message_not_a_wait():
    from ttmrpp.app.tabs.context import provider as _provider

    release = threading.Event()
    built = []

    def make(progress=None):
        release.wait(10)
        built.append(1)
        return "services"

    loader = demo.DemoLoader(make)
    get, current = _provider(loader)
    with pytest.raises(QueryError, match="still being prepared"):
        current()  # starts the build in the background
    with pytest.raises(QueryError, match="still being prepared"):
        current()  # does not start a second one
    release.set()
    for _ in range(100):
        if loader.ready:
            break
        time.sleep(0.05)
    assert current() == "services" == get() and built == [1]


def test_offline_environment(monkeypatch):
    for name in ("GRADIO_ANALYTICS_ENABLED", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    demo.offline_environment("ttmrpp-cpu")
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    monkeypatch.delenv("HF_HUB_OFFLINE")
    demo.offline_environment("someone/some-hub-model")  # a hub model may be downloaded
    assert "HF_HUB_OFFLINE" not in os.environ


def test_a_catalog_from_another_music_world_version_is_rebuilt(tmp_path):
    folder = tmp_path / "catalog"
    folder.mkdir()
    (folder / "catalog.json").write_text('{"settings": "of another version"}')
    from ttmrpp.app.demo_cache import build_catalog_into

    manifest = build_catalog_into(folder, tracks=1, seconds=2.0, progress=False)
    assert len(manifest.read_text().splitlines()) == 1

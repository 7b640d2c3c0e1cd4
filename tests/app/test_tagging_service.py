"""The app's auto-tagging functions: which taggers are offered, tagging a clip with several
side by side, the table and chart, and the tags a caption is written from."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from tests.helpers.clips import save_random_weights
from ttmrpp.app.services.common import QueryError
from ttmrpp.app.services.tagging import (
    WEIGHTS_ENV,
    TaggerZoo,
    caption_tags,
    find_taggers,
    tag_clip,
    tag_figure,
    tag_table,
)
from ttmrpp.taggers import build_model, load_tagger, readable_tag
from ttmrpp.text.captioning.generators import TemplateCaptioner


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory):
    root = tmp_path_factory.mktemp("weights")
    save_random_weights(root, "jamendo", "musicnn")
    save_random_weights(root, "mtat", "musicnn", seed=1)
    return root


@pytest.fixture(scope="module")
def piano_wav(tmp_path_factory):
    from tests.helpers.clips import solo_piano

    path = tmp_path_factory.mktemp("clips") / "piano.wav"
    sf.write(path, solo_piano(8.0), 16000)
    return path


def test_readable_tags():
    assert readable_tag("instrument---electricguitar") == "electric guitar"
    assert readable_tag("genre---hiphop") == "hip hop"
    assert readable_tag("mood/theme---happy") == "happy"
    assert readable_tag("tempo---medium tempo") == "medium tempo"
    assert readable_tag("no vocals") == "no vocals"


def test_find_taggers_offers_published_and_trained_weights_only(random_weights, tmp_path):
    root = tmp_path / "w"
    save_random_weights(root, "jamendo", "fcn")
    run = root / "world" / "musicnn"
    run.mkdir(parents=True)
    (run / "best_model.pth").write_bytes(b"x")
    (run / "tagger.json").write_text(json.dumps({"model": "musicnn", "tags": ["a---b"]}))
    (root / "jamendo" / "vggish").mkdir()
    (root / "jamendo" / "vggish" / "best_model.pth").write_bytes(b"x")  # not an architecture
    (root / "mine" / "fcn").mkdir(parents=True)
    (root / "mine" / "fcn" / "best_model.pth").write_bytes(b"x")  # no tagger.json, no dataset
    (root / "jamendo" / "musicnn").mkdir()  # no weights file
    choices = find_taggers([root, random_weights])
    assert [c.key for c in choices] == [
        "jamendo/fcn",
        "jamendo/musicnn",
        "mtat/musicnn",
        "world/musicnn",
    ]
    assert choices[0].label == "FCN · MTG-Jamendo"
    assert choices[-1].trained and choices[-1].path == run
    assert choices[-1].label == "Musicnn · world (trained here)"


def test_zoo_from_env_reads_the_weights_variable(random_weights, tmp_path, monkeypatch):
    monkeypatch.setenv("TTMRPP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv(WEIGHTS_ENV, str(random_weights))
    zoo = TaggerZoo.from_env()
    assert [c.key for c in zoo.choices] == ["jamendo/musicnn", "mtat/musicnn"]
    assert zoo.folders == [random_weights, tmp_path / "cache" / "taggers"]
    monkeypatch.delenv(WEIGHTS_ENV)
    empty = TaggerZoo.from_env()
    assert empty.choices == []
    message = empty.missing_message()
    assert "No tagger weights found" in message and WEIGHTS_ENV in message
    assert "sota-music-tagging-models" in message and str(tmp_path / "cache") in message
    with pytest.raises(QueryError, match="No tagger weights found"):
        tag_clip(empty, "x.wav", ["jamendo/fcn"])


def test_tag_clip_gives_each_models_true_probabilities(random_weights, piano_wav):
    zoo = TaggerZoo(find_taggers([random_weights]))
    seen = []
    results = tag_clip(
        zoo, piano_wav, ["jamendo/musicnn", "mtat/musicnn"], 4, lambda *a: seen.append(a)
    )
    assert [r.key for r in results] == ["jamendo/musicnn", "mtat/musicnn"]
    assert [s[2] for s in seen] == [
        "decoding the clip",
        "running Musicnn · MTG-Jamendo",
        "running Musicnn · MagnaTagATune",
        "done",
    ]
    direct = load_tagger("musicnn", "jamendo", weights_dir=random_weights, download=False)
    expected = direct.top_k(direct.predict_file(piano_wav), 4)
    assert [t for t, _ in results[0].tags] == [t for t, _ in expected]
    np.testing.assert_allclose([p for _, p in results[0].tags], [p for _, p in expected], 1e-5)
    assert all(r.error is None and len(r.tags) == 4 for r in results)
    assert zoo.get("jamendo/musicnn") is zoo.get("jamendo/musicnn")  # loaded once

    headers, rows = tag_table(results)
    assert headers == [
        "rank",
        "Musicnn · MTG-Jamendo",
        "Musicnn · MTG-Jamendo: p",
        "Musicnn · MagnaTagATune",
        "Musicnn · MagnaTagATune: p",
    ]
    assert [r[0] for r in rows] == [1, 2, 3, 4]
    assert rows[0][1] == results[0].tags[0][0] and rows[0][4] == round(results[1].tags[0][1], 4)
    fig = tag_figure(results)
    assert len(fig.data) == 2 and list(fig.data[0].y) == [t for t, _ in results[0].tags][::-1]
    assert tuple(fig.layout.xaxis.range) == (0, 1)


def test_a_broken_checkpoint_does_not_hide_the_others(random_weights, piano_wav, tmp_path):
    root = tmp_path / "w"
    (root / "jamendo" / "fcn").mkdir(parents=True)
    torch.save(build_model("crnn").state_dict(), root / "jamendo" / "fcn" / "best_model.pth")
    zoo = TaggerZoo(find_taggers([root, random_weights]))
    bad, good = tag_clip(zoo, piano_wav, ["jamendo/fcn", "jamendo/musicnn"], 3)
    assert bad.tags == [] and "does not fit" in bad.error
    assert good.error is None and len(good.tags) == 3
    headers, rows = tag_table([bad, good])
    assert rows[0][1:3] == ["", None] and len(rows) == 3
    assert caption_tags([bad, good]) == [readable_tag(t) for t, _ in good.tags]


def test_tag_clip_refuses_bad_input_with_messages(random_weights, tmp_path):
    zoo = TaggerZoo(find_taggers([random_weights]))
    key = ["jamendo/musicnn"]
    silent, junk = tmp_path / "silent.wav", tmp_path / "junk.mp3"
    sf.write(silent, np.zeros(16000, dtype=np.float32), 16000)
    junk.write_bytes(b"\x00 not audio " * 100)
    for audio, keys, k, message in [
        (silent, [], 5, "Pick at least one tagger"),
        (silent, ["jamendo/hcnn"], 5, "Unknown tagger"),
        (silent, key, 0, "between 1 and 20"),
        (None, key, 5, "Upload or record a clip"),
        (silent, key, 5, "silent"),
        (junk, key, 5, "junk.mp3 is not audio we can read"),
        (tmp_path / "gone.wav", key, 5, "missing"),
    ]:
        with pytest.raises(QueryError, match=message):
            tag_clip(zoo, audio, keys, k)


def test_caption_from_predicted_tags(random_weights, piano_wav):
    zoo = TaggerZoo(find_taggers([random_weights]))
    results = [r.to_dict() for r in tag_clip(zoo, piano_wav, ["mtat/musicnn"], 3)]
    words = caption_tags(results, "mtat/musicnn")
    assert words == [t for t, _ in results[0]["tags"]]  # MTAT tags are words already
    assert TemplateCaptioner().generate(words).startswith("This music features ")
    with pytest.raises(QueryError, match="tag a clip first"):
        caption_tags(results, "jamendo/musicnn")
    with pytest.raises(QueryError, match="tag a clip first"):
        caption_tags([])


def test_published_taggers_find_the_piano(shared_dir, piano_wav):
    weights = shared_dir / "models" / "sota-music-tagging"
    if not weights.is_dir():
        pytest.skip(f"published tagger weights not found at {weights}")
    zoo = TaggerZoo.from_env(weights)
    assert {"jamendo/fcn", "jamendo/musicnn", "jamendo/crnn", "mtat/fcn"} <= set(zoo.by_key())
    results = tag_clip(zoo, piano_wav, ["jamendo/fcn", "jamendo/musicnn"], 5)
    for r in results:
        probs = [p for _, p in r.tags]
        assert probs == sorted(probs, reverse=True) and all(0 <= p <= 1 for p in probs)
        assert "instrument---piano" in [t for t, _ in r.tags]
    assert "piano" in caption_tags(results, "jamendo/fcn")

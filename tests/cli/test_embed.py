"""`ttmrpp embed` and `ttmrpp index` without `--model` use the shipped trained model."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

import ttmrpp
from tests.conftest import music_like
from ttmrpp.cli.main import main
from ttmrpp.model.audio import rescale_minmax


@pytest.fixture(scope="module")
def shipped():
    return ttmrpp.load_model()


def test_embed_is_deterministic_and_equals_the_shipped_models_encode_audio(tmp_path, shipped):
    wav = music_like(10.0, seed=3)  # exactly one 10 s chunk
    sf.write(tmp_path / "a.wav", wav, 22050, subtype="FLOAT")
    outs = []
    for i in range(2):
        out = tmp_path / f"e{i}.npy"
        assert main(["embed", str(tmp_path / "a.wav"), "--out", str(out)]) == 0
        outs.append(np.load(out))
    np.testing.assert_array_equal(outs[0], outs[1])
    with torch.no_grad():
        want = shipped.encode_audio(torch.from_numpy(rescale_minmax(wav))[None])[0].numpy()
    np.testing.assert_allclose(outs[0][0], want, atol=1e-5)


def test_index_without_model_uses_the_shipped_model(tmp_path, shipped, capsys):
    from ttmrpp.search.index import MusicIndex
    from ttmrpp.search.results import model_fingerprint

    music = tmp_path / "music"
    music.mkdir()
    for i in range(3):
        sf.write(music / f"{i}.wav", music_like(3.0, seed=i), 22050)
    assert main(["index", str(music), "--out", str(tmp_path / "idx"), "--quiet"]) == 0
    index = MusicIndex.load(tmp_path / "idx")
    assert index.fingerprint == model_fingerprint(shipped) and len(index) == 3
    assert index.model_spec == "default" and not (tmp_path / "idx" / "model").exists()
    assert main(["search", "calm piano", "--index", str(tmp_path / "idx"), "--json"]) == 0


def test_architecture_name_warns_that_it_is_untrained():
    with pytest.warns(ttmrpp.UntrainedModelWarning, match="random weights"):
        a = ttmrpp.load_model("ttmrpp-tiny", seed=1)
    with pytest.warns(ttmrpp.UntrainedModelWarning):
        b = ttmrpp.load_model("ttmrpp-tiny", seed=1)
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(x, y), name  # seeded: the same weights every time
    with pytest.raises(FileNotFoundError, match="no such model folder"):
        ttmrpp.load_model("no-such-model")

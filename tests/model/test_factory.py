import json
import warnings

import pytest
import torch

import ttmrpp
from ttmrpp import assets
from ttmrpp.model.dual_encoder import TTMRPP, CheckpointError
from ttmrpp.model.factory import (
    DEFAULT,
    UntrainedModelWarning,
    is_architecture,
    is_hub_id,
    load_model,
    spec_for_index,
)


def same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.skipif(not assets.has_shipped_model(), reason="the shipped model is not installed")
def test_default_is_the_shipped_model():
    folder = assets.shipped_model_dir()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UntrainedModelWarning)
        model = load_model()
        named = load_model(DEFAULT)
    assert model.config.name == "ttmrpp-cpu" and not model.training
    assert same_weights(model, TTMRPP.from_pretrained(folder))
    assert same_weights(named, model)
    assert ttmrpp.load_model is load_model


def test_a_folder_loads_what_was_saved(tmp_path, tiny_model):
    tiny_model.save_pretrained(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert same_weights(loaded, tiny_model)
    assert same_weights(load_model(str(tmp_path / "m")), tiny_model)


def test_an_architecture_warns_and_is_seeded():
    with pytest.warns(UntrainedModelWarning, match="ttmrpp-tiny is an architecture"):
        a = load_model("ttmrpp-tiny")
    with pytest.warns(UntrainedModelWarning):
        b = load_model("ttmrpp-tiny")
    with pytest.warns(UntrainedModelWarning, match="seed 1"):
        c = load_model("ttmrpp-tiny", seed=1)
    assert same_weights(a, b) and not same_weights(a, c)
    assert a.config.name == "ttmrpp-tiny"


def test_a_config_json_is_an_architecture(tmp_path, tiny_model):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(tiny_model.config.to_dict()))
    assert is_architecture(path) and is_architecture("ttmrpp-tiny")
    assert not is_architecture(tmp_path) and not is_architecture("ttmrpp-huge")
    with pytest.warns(UntrainedModelWarning):
        model = load_model(path)
    assert model.config.embed_dim == tiny_model.config.embed_dim


def test_unknown_names_are_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="ttmrpp-huge: no such model.*ttmrpp-tiny"):
        load_model("ttmrpp-huge")
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "nope" / "x")
    with pytest.raises(CheckpointError, match="expected a model folder"):
        (tmp_path / "weights.txt").write_text("x")
        load_model(tmp_path / "weights.txt")


def test_assets_elsewhere_without_a_model_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TTMRPP_ASSETS", str(tmp_path))
    assert assets.shipped_model_dir() == tmp_path / assets.MODEL_NAME
    with pytest.raises(FileNotFoundError, match="shipped trained model is not installed") as exc:
        load_model()
    assert str(tmp_path / assets.MODEL_NAME) in str(exc.value) and "TTMRPP_ASSETS" in str(exc.value)
    with pytest.raises(FileNotFoundError, match="not installed"):
        load_model(DEFAULT)


def test_hub_ids_and_index_specs(tmp_path):
    assert is_hub_id("user/model") and not is_hub_id("./user/model")
    assert not is_hub_id(tmp_path) and not is_hub_id("a/b/c") and not is_hub_id("ttmrpp-tiny")
    assert spec_for_index(None) == spec_for_index(DEFAULT) == DEFAULT
    assert spec_for_index(tmp_path) == str(tmp_path.resolve())
    assert spec_for_index("ttmrpp-tiny") == "ttmrpp-tiny"
    assert spec_for_index("user/model") == "user/model"

import json
from dataclasses import fields

import pytest

from ttmrpp.model.config import CONFIG_DIR, ModelConfig, get_config, list_configs

SHIPPED = sorted(CONFIG_DIR.glob("*.json"))


def test_shipped_architectures_are_listed():
    assert list_configs() == sorted(p.stem for p in SHIPPED)
    assert {"ttmrpp-paper", "ttmrpp-cpu", "ttmrpp-tiny"} <= set(list_configs())


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_config_loads_and_round_trips(path, tmp_path):
    raw = json.loads(path.read_text())
    config = get_config(path.stem)
    assert config.name == path.stem
    assert get_config(path) == config  # by path as by name
    as_dict = config.to_dict()
    assert set(as_dict) == {f.name for f in fields(ModelConfig)}
    assert {k: as_dict[k] for k in raw} == raw  # every value in the file is kept as written
    assert ModelConfig.from_dict(as_dict) == config
    copy = tmp_path / "copy.json"
    copy.write_text(json.dumps(as_dict))
    assert get_config(copy) == config


def test_missing_fields_take_the_defaults():
    tiny = json.loads((CONFIG_DIR / "ttmrpp-tiny.json").read_text())
    assert "mel_clamp" not in tiny
    assert get_config("ttmrpp-tiny").mel_clamp == "clip"
    assert ModelConfig.from_dict({"name": "bare"}) == ModelConfig(name="bare")


def test_unknown_fields_and_names_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"unknown model config fields: \['colour', 'size'\]"):
        ModelConfig.from_dict({"name": "x", "size": 3, "colour": "red"})
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "bad", "n_mel": 64}))
    with pytest.raises(ValueError, match="n_mel"):
        get_config(bad)
    with pytest.raises(ValueError, match="unknown model config 'ttmrpp-huge'; available"):
        get_config("ttmrpp-huge")
    with pytest.raises(ValueError, match="unknown model config"):
        get_config(tmp_path / "missing.json")


def test_to_dict_is_a_copy():
    config = get_config("ttmrpp-tiny")
    d = config.to_dict()
    d["layers"].append(99)
    d["text_config"]["hidden_size"] = 1
    assert config.layers == [1, 1, 1, 1] and config.text_config["hidden_size"] == 32

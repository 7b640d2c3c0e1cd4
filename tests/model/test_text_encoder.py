from pathlib import Path

import pytest
import torch

from ttmrpp.model.config import get_config
from ttmrpp.model.text_encoder import (
    build_text_encoder,
    first_token_features,
    load_tokenizer,
    resolve_text_source,
)

BUILTIN = "builtin:all-MiniLM-L6-v2"


@pytest.fixture(scope="module")
def tiny_encoder():
    torch.manual_seed(0)
    cfg = get_config("ttmrpp-tiny")
    encoder, hf_config = build_text_encoder(cfg.text_model, cfg.text_config, pretrained=False)
    return encoder.eval(), hf_config


def test_builtin_source_resolves_to_the_packaged_model():
    folder = Path(resolve_text_source(BUILTIN))
    assert (folder / "config.json").is_file()
    assert resolve_text_source("builtin:ALL-MiniLM-L6-v2") == str(folder)
    assert resolve_text_source("roberta-base") == "roberta-base"  # hub ids pass through
    assert resolve_text_source("/some/folder") == "/some/folder"
    with pytest.raises(ValueError, match="unknown builtin text model 'bert-large'"):
        resolve_text_source("builtin:bert-large")


def test_encoder_built_from_config_has_no_pooler(tiny_encoder):
    encoder, hf_config = tiny_encoder
    assert hf_config["model_type"] == "bert" and hf_config["hidden_size"] == 32
    assert encoder.config.num_hidden_layers == 2
    assert encoder.pooler is None
    assert not any(k.startswith("pooler.") for k in encoder.state_dict())


def test_pretrained_encoder_loads_the_builtin_weights():
    a, a_config = build_text_encoder(BUILTIN, None, pretrained=True)
    b, _ = build_text_encoder(BUILTIN, None, pretrained=True)
    assert a_config["hidden_size"] == 384 and a.pooler is None
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), name  # the same file, not a random init
    random, _ = build_text_encoder(BUILTIN, None, pretrained=False)  # config from the folder
    assert random.config.hidden_size == 384
    w = "embeddings.word_embeddings.weight"
    assert not torch.equal(random.state_dict()[w], a.state_dict()[w])


def test_first_token_features_ignore_padding(tiny_encoder):
    encoder, _ = tiny_encoder
    tok = load_tokenizer(BUILTIN)
    texts = ["calm piano", "a loud and fast heavy metal song with screaming vocals"]
    batch = tok(texts, padding="longest", return_tensors="pt")
    with torch.inference_mode():
        both = first_token_features(encoder, batch["input_ids"], batch["attention_mask"])
        out = encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        one = tok(texts[:1], return_tensors="pt")
        alone = first_token_features(encoder, one["input_ids"], one["attention_mask"])
    assert both.shape == (2, 32)
    torch.testing.assert_close(both, out.last_hidden_state[:, 0])
    assert batch["attention_mask"][0].sum() < batch["attention_mask"][1].sum()  # padded
    torch.testing.assert_close(both[0], alone[0], atol=1e-5, rtol=1e-4)


def test_tokenizer_errors_name_the_source(tmp_path):
    assert load_tokenizer(BUILTIN)("rock")["input_ids"][0] == 101  # [CLS]
    with pytest.raises(OSError, match="cannot load the tokenizer"):
        load_tokenizer(tmp_path / "no-tokenizer-here")

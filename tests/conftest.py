"""Shared fixtures: paths to ../shared (skipping when absent) and small generated audio."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.fixtures import music_like  # noqa: F401 (the tests import it from here)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The development data folder beside the checkout; tests that need it skip without it."""
    if not SHARED.is_dir():
        pytest.skip(
            f"../shared not found at {SHARED} (development data; not needed by the product)"
        )
    return SHARED


@pytest.fixture(scope="session")
def tiny_model():
    import ttmrpp

    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    return ttmrpp.create_model("ttmrpp-tiny")


@pytest.fixture(scope="session")
def tiny_llm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 2-layer Llama saved with the SmolLM2 tokenizer (from its GGUF)."""
    pytest.importorskip("gguf")
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from ttmrpp.text.captioning.generators import DEFAULT_GGUF_FILE, default_gguf_dir

    try:
        gguf_dir = default_gguf_dir()
    except FileNotFoundError as e:
        pytest.skip(str(e))
    tok = AutoTokenizer.from_pretrained(str(gguf_dir), gguf_file=DEFAULT_GGUF_FILE)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        tie_word_embeddings=True,
    )
    out = tmp_path_factory.mktemp("tiny_llm")
    LlamaForCausalLM(config).save_pretrained(out)
    tok.save_pretrained(out)
    return out

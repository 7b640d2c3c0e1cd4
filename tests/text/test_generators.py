"""Captioners: tag handling, template, LLM + LoRA on a tiny random Llama, comparison."""

from __future__ import annotations

import logging

import pytest
import torch

from ttmrpp.text.captioning.compare import compare_captioners
from ttmrpp.text.captioning.generators import (
    MAX_TAGS,
    GenerationSettings,
    LLMCaptioner,
    TemplateCaptioner,
    build_messages,
    clean_caption,
    clean_tags,
    parse_tags,
)

TAGS = ["rock", "electric guitar", "energetic"]


# ------------------------------------------------------------------------------- pure parts
def test_empty_tag_list_is_refused_with_a_clear_message():
    for bad in ([], ["", "  "]):
        with pytest.raises(ValueError, match="empty tag list"):
            clean_tags(bad)
        with pytest.raises(ValueError, match="empty tag list"):
            TemplateCaptioner().generate(bad)
    with pytest.raises(ValueError, match="not one string"):
        clean_tags("rock, pop")


def test_long_tag_lists_are_truncated(caplog):
    many = [f"tag {i}" for i in range(500)]
    with caplog.at_level(logging.WARNING):
        out = clean_tags(many)
    assert out == many[:MAX_TAGS] and "truncated" in caplog.text
    assert len(clean_tags(["x" * 1000])[0]) == 64
    assert clean_tags([" Rock ", "rock", "jazz  fusion"]) == ["Rock", "jazz fusion"]


def test_prompt_holds_the_tags():
    user = build_messages(TAGS)[1]["content"]
    assert "rock, electric guitar, energetic" in user and "description" in user


def test_parse_tags():
    assert parse_tags("rock, electric guitar ,energetic,, ") == TAGS


def test_template_is_deterministic_and_reads_as_a_sentence():
    cap = TemplateCaptioner()
    a = cap.generate(TAGS)
    assert a == cap.generate(list(TAGS)) == cap.generate_batch([TAGS, TAGS])[1]
    assert a == "This music features rock, electric guitar and energetic."
    assert cap.generate(["piano"]) == "This music features piano."


def test_clean_caption_makes_one_paragraph():
    raw = 'Description: "A calm song.\n\nIt has soft piano and'
    assert clean_caption(raw) == "A calm song."
    assert clean_caption("A song with\n drums.  Slow tempo.") == "A song with drums. Slow tempo."
    assert clean_caption("no full stop at all") == "no full stop at all"


# ----------------------------------------------------------------------- tiny LLM and LoRA
SETTINGS = GenerationSettings(max_new_tokens=6)


@pytest.fixture(scope="module")
def tiny_adapter(tiny_llm_dir, tmp_path_factory):
    """A LoRA adapter with random (non-zero) weights saved in peft format; and its logits."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(tiny_llm_dir)
    config = LoraConfig(
        r=4,
        lora_alpha=8,
        target_modules=["q_proj", "v_proj"],
        init_lora_weights=False,
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(base, config).eval()
    ids = torch.tensor([[1, 5, 42, 300, 7, 99]])
    with torch.no_grad():
        lora_logits = model(input_ids=ids).logits
        with model.disable_adapter():
            base_logits = model(input_ids=ids).logits
    out = tmp_path_factory.mktemp("adapter")
    model.save_pretrained(out)
    return out, ids, lora_logits, base_logits


def test_adapter_save_load_gives_identical_logits(tiny_llm_dir, tiny_adapter):
    path, ids, lora_logits, base_logits = tiny_adapter
    cap = LLMCaptioner(tiny_llm_dir, adapter=path, settings=SETTINGS)
    with torch.no_grad():
        loaded = cap.model(input_ids=ids).logits
    assert torch.equal(loaded, lora_logits)
    assert not torch.allclose(lora_logits, base_logits)  # the adapter does something
    base = cap.base_view()
    assert base.model is cap.model and base.lock is cap.lock  # one model, one lock
    with torch.no_grad(), base._context():
        assert torch.equal(base.model(input_ids=ids).logits, base_logits)
    assert cap.name == "lora" and base.name == "base"


def test_llm_captioner_generates_streams_and_truncates(tiny_llm_dir):
    cap = LLMCaptioner(tiny_llm_dir, settings=SETTINGS)
    one = cap.generate(TAGS)
    assert isinstance(one, str) and "\n" not in one
    assert cap.generate(TAGS) == one  # greedy decoding is deterministic
    assert clean_caption("".join(cap.stream(TAGS))) == one
    batch = cap.generate_batch([TAGS, ["jazz"], [f"tag {i}" for i in range(400)]])
    assert len(batch) == 3
    enc = cap._encode([[f"a very long tag number {i}" for i in range(400)]])
    assert enc["input_ids"].shape[1] <= SETTINGS.max_prompt_tokens
    with pytest.raises(ValueError, match="empty tag list"):
        cap.generate([])
    with pytest.raises(ValueError, match="empty tag list"):
        next(iter(cap.stream([])))


def test_closing_a_stream_stops_generation_and_frees_the_lock(tiny_llm_dir):
    cap = LLMCaptioner(tiny_llm_dir, settings=GenerationSettings(max_new_tokens=200))
    stream = cap.stream(TAGS)
    next(stream)
    stream.close()  # stops early instead of writing 200 tokens
    assert cap.lock.acquire(timeout=5)
    cap.lock.release()


def test_missing_adapter_is_named(tiny_llm_dir, tmp_path):
    with pytest.raises(FileNotFoundError, match="adapter_config.json"):
        LLMCaptioner(tiny_llm_dir, adapter=tmp_path)


def test_compare_captioners(tiny_llm_dir, tiny_adapter):
    lora = LLMCaptioner(tiny_llm_dir, adapter=tiny_adapter[0], settings=SETTINGS)
    caps = {"template": TemplateCaptioner(), "base": lora.base_view(), "lora": lora}
    ref = "An energetic rock song with electric guitar."
    res = compare_captioners(TAGS, reference=ref, captioners=caps)
    assert list(res) == ["template", "base", "lora"]
    for r in res.values():
        assert isinstance(r["caption"], str) and r["latency_s"] >= 0
        assert 0 <= r["bertscore"]["f1"] <= 1.0001
    assert res["template"]["caption"] == TemplateCaptioner().generate(TAGS)
    no_ref = compare_captioners(TAGS, captioners={"template": TemplateCaptioner()})
    assert no_ref["template"]["bertscore"] is None
    with pytest.raises(ValueError, match="empty tag list"):
        compare_captioners([], captioners=caps)

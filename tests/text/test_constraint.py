"""Tag-constrained decoding: banned vocabulary terms, favoured own tags, in real generation."""

import torch
from transformers import AutoTokenizer

from ttmrpp.text.captioning.constraint import TagConstraint, spellings, token_sequences
from ttmrpp.text.captioning.filter import TagMatcher
from ttmrpp.text.captioning.generators import GenerationSettings, LLMCaptioner

VOCAB = ["rock", "jazz", "electric guitar", "piano", "electric piano", "drums", "happy", "sad"]


def test_spellings_cover_case_space_and_plural():
    forms = spellings("Drum")
    assert {"drum", " drum", "Drum", " Drum", "drums", " drums"} <= set(forms)
    assert "basss" not in spellings("bass")


def test_banned_terms_are_masked_and_own_tags_favoured(tiny_llm_dir):
    tok = AutoTokenizer.from_pretrained(tiny_llm_dir)
    rows = [["rock", "electric guitar", "happy"], ["jazz", "piano"]]
    rule = TagConstraint(tok, rows, VOCAB, prompt_length=2, bias=3.0)
    ids = torch.tensor([[5, 6], [5, 6]])
    scores = rule(ids, torch.zeros(2, len(tok)))
    (jazz,) = [s for s in token_sequences(tok, "jazz") if len(s) == 1 and tok.decode(s) == " jazz"]
    (rock,) = [s for s in token_sequences(tok, "rock") if len(s) == 1 and tok.decode(s) == " rock"]
    assert scores[0, jazz[0]] == -float("inf") and scores[0, rock[0]] == 3.0
    assert scores[1, rock[0]] == -float("inf") and scores[1, jazz[0]] == 3.0
    # "piano" is the second row's own tag, but "electric piano" is another instrument: its
    # last token cannot follow " electric" in either row.
    (epiano,) = [
        s for s in token_sequences(tok, "electric piano") if tok.decode(s) == " electric piano"
    ]
    after = torch.tensor([[5, 6, *epiano[:-1]], [5, 6, *epiano[:-1]]])
    scores = rule(after, torch.zeros(2, len(tok)))
    assert scores[0, epiano[-1]] == -float("inf") and scores[1, epiano[-1]] == -float("inf")
    # Once a tag is named, it is no longer pushed.
    named = torch.tensor([[5, 6, rock[0]], [5, 6, jazz[0]]])
    scores = rule(named, torch.zeros(2, len(tok)))
    assert scores[0, rock[0]] == 0.0 and scores[1, jazz[0]] == 0.0


def test_constrained_generation_never_names_another_tag(tiny_llm_dir):
    cap = LLMCaptioner(tiny_llm_dir, settings=GenerationSettings(max_new_tokens=40))
    cap.constrain_vocabulary = VOCAB
    rows = [["rock", "drums"], ["jazz", "sad"]]
    matcher = TagMatcher(VOCAB)
    for tags, text in zip(rows, cap.generate_batch(rows), strict=True):
        named = matcher(text)
        assert named <= set(tags), (tags, text)
        assert named, (tags, text)  # a random 2-layer model names its tags only when pushed

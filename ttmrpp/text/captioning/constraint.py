"""Tag-constrained decoding for the pseudo-captioner: name the track's tags, never another tag.

A 135M captioner names about a quarter of the tags it is given and often names tags the track
does not have (`docs/RESULTS.md`). Filtering afterwards (`filter.py`) can only delete.
This steers the generation instead. Each row of a batch gets its own rules:

- every vocabulary term that is not one of the row's tags is banned (its token sequence cannot
  be completed), in the spellings the model would write it: with and without a leading space,
  lower case and capitalised, singular and plural;
- each of the row's tags that the caption has not named yet gets `bias` added to the logit of
  its first token, and a started tag gets `bias` on its next token, so the model tends to name
  every tag once and then moves on.

transformers has `bad_words_ids` and `sequence_bias`, but they apply one rule set to the whole
batch and a constant bias forever. Per-row rules, and a bias that stops once a tag is named, are
why this small processor exists.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import torch
from transformers import LogitsProcessor


def spellings(term: str) -> list[str]:
    """How a tag may appear in running text: ±leading space, ±capital, singular and plural."""
    term = term.strip().lower()
    forms = {term, term + "s"} if not term.endswith("s") else {term}
    out = []
    for f in sorted(forms):
        for g in (f, f[:1].upper() + f[1:]):
            out += [g, " " + g]
    return out


def token_sequences(tokenizer: Any, term: str, word_initial: bool = False) -> list[tuple[int, ...]]:
    """The distinct token-id sequences of a term's spellings (`word_initial`: only those
    with a leading space, which start a new word)."""
    forms = [s for s in spellings(term) if s.startswith(" ") or not word_initial]
    seqs = {tuple(tokenizer.encode(s, add_special_tokens=False)) for s in forms}
    return sorted(s for s in seqs if s)


def _covers(own: Iterable[str], term: str) -> bool:
    """Whether naming `term` is fine for a track with tags `own`: it is one of them, or a
    word of one ("guitar" for "electric guitar"). A longer term that contains an own tag
    ("electric piano" for "piano") is another instrument and stays banned."""
    return any(term == t or term in t.split() for t in own)


class TagConstraint(LogitsProcessor):
    """Per-row banned terms and wanted tags for `model.generate(logits_processor=[...])`.

    Args:
        tokenizer: the captioner's tokenizer.
        batch_tags: the tags of each row of the batch (the prompt's tags).
        vocabulary: every tag term of the dataset; the ones a row lacks are banned for it.
        prompt_length: the (padded) prompt length, where generated tokens start.
        bias: logit bonus for a wanted tag's next token (only word-initial spellings, with a
            leading space, are pushed, so the model is never pushed into the middle of a word).
    """

    def __init__(
        self,
        tokenizer: Any,
        batch_tags: Sequence[Sequence[str]],
        vocabulary: Iterable[str],
        prompt_length: int,
        bias: float = 3.0,
    ) -> None:
        vocab = sorted({v.strip().lower() for v in vocabulary if v and v.strip()})
        cache: dict[str, list[tuple[int, ...]]] = {}

        def seqs(term: str) -> list[tuple[int, ...]]:
            if term not in cache:
                cache[term] = token_sequences(tokenizer, term)
            return cache[term]

        self.single: list[torch.Tensor] = []  # banned one-token spellings, per row
        self.multi: list[dict[tuple[int, ...], list[int]]] = []  # prefix -> banned next tokens
        self.wanted: list[list[tuple[list[tuple[int, ...]], list[tuple[int, ...]]]]] = []
        for tags in batch_tags:
            own = {t.strip().lower() for t in tags if t and t.strip()}
            single, multi = set(), {}
            for v in vocab:
                if _covers(own, v):
                    continue
                for sq in seqs(v):
                    if len(sq) == 1:
                        single.add(sq[0])
                    else:
                        multi.setdefault(sq[:-1], []).append(sq[-1])
            self.single.append(torch.tensor(sorted(single), dtype=torch.long))
            self.multi.append(multi)
            wanted = []
            for t in sorted(own):
                wanted.append((seqs(t), token_sequences(tokenizer, t, word_initial=True)))
            self.wanted.append(wanted)
        self.prefix_lengths = [sorted({len(k) for k in m}) for m in self.multi]
        self.prompt_length = prompt_length
        self.bias = bias

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        for row in range(input_ids.shape[0]):
            made = input_ids[row, self.prompt_length :].tolist()
            if len(self.single[row]):
                scores[row, self.single[row]] = -float("inf")
            for k in self.prefix_lengths[row]:
                if len(made) >= k:
                    for tok in self.multi[row].get(tuple(made[-k:]), ()):
                        scores[row, tok] = -float("inf")
            boost = set()  # each token once, though several spellings may start with it
            for named, push in self.wanted[row]:
                if any(_contains(made, sq) for sq in named):
                    continue  # this tag is named already
                boost.update(sq[_started(made, sq)] for sq in push)
            for tok in boost:
                if scores[row, tok] > -float("inf"):
                    scores[row, tok] += self.bias
        return scores


def _contains(seq: list[int], sub: tuple[int, ...]) -> bool:
    n = len(sub)
    return any(tuple(seq[i : i + n]) == sub for i in range(len(seq) - n + 1))


def _started(made: list[int], s: tuple[int, ...]) -> int:
    """How many leading tokens of `s` the text ends with (0 when none): the next to boost."""
    for k in range(len(s) - 1, 0, -1):
        if len(made) >= k and tuple(made[-k:]) == s[:k]:
            return k
    return 0

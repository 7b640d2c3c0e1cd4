"""Tag → caption training examples for LoRA fine-tuning: token ids with the prompt masked out
of the labels, right-padded batches, the seeded order of rows per step, and the held-out loss."""

from __future__ import annotations

import random
from typing import Any

import torch

from ttmrpp.text.captioning.generators import SYSTEM_PROMPT, build_messages
from ttmrpp.text.captioning.pairs import CaptionPair

IGNORE = -100  # label of a token left out of the loss (the prompt, padding)


def encode_pair(tokenizer: Any, pair: CaptionPair, max_length: int) -> dict[str, list[int]]:
    """Token ids of prompt + caption; labels mask the prompt so only the caption is learned."""
    if pair.instruction:
        messages = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": f"{pair.instruction}\n\n{', '.join(pair.tags)}"},
        ]
    else:
        messages = build_messages(pair.tags)
    if getattr(tokenizer, "chat_template", None):
        prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        end = tokenizer.eos_token or ""
        add_special = False
    else:
        prompt = f"{messages[0]['content']}\n\n{messages[1]['content']}\n\nDescription:"
        end = tokenizer.eos_token or ""
        add_special = True
    prompt_ids = tokenizer(prompt, add_special_tokens=add_special)["input_ids"]
    answer_ids = tokenizer(
        " " * (not getattr(tokenizer, "chat_template", None)) + pair.caption + end,
        add_special_tokens=False,
    )["input_ids"]
    prompt_ids = prompt_ids[-(max_length // 2) :]  # keep room for the answer
    ids = (prompt_ids + answer_ids)[:max_length]
    labels = ([IGNORE] * len(prompt_ids) + answer_ids)[:max_length]
    return {"input_ids": ids, "labels": labels}


def collate(rows: list[dict[str, list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a batch; padding is masked out of attention and loss."""
    n = max(len(r["input_ids"]) for r in rows)
    ids = torch.full((len(rows), n), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), n), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(rows), n), dtype=torch.long)
    for i, r in enumerate(rows):
        k = len(r["input_ids"])
        ids[i, :k] = torch.tensor(r["input_ids"])
        labels[i, :k] = torch.tensor(r["labels"])
        mask[i, :k] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


def batch_indices(step: int, batch_size: int, n: int, seed: int) -> list[int]:
    """Row indices of `step`: epochs are seeded permutations, so resuming needs only the step."""
    out = []
    for pos in range(step * batch_size, (step + 1) * batch_size):
        epoch, i = divmod(pos, n)
        perm = list(range(n))
        random.Random(seed * 100_003 + epoch).shuffle(perm)
        out.append(perm[i])
    return out


@torch.no_grad()
def eval_loss(model: Any, examples: list[dict[str, list[int]]], pad_id: int, bs: int) -> float:
    """Mean per-token loss of the caption tokens."""
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(examples), bs):
        batch = collate(examples[i : i + bs], pad_id)
        n = int((batch["labels"][:, 1:] != IGNORE).sum())
        total += float(model(**batch).loss) * n
        count += n
    model.train()
    return total / max(count, 1)

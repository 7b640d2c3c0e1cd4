"""What the index hands back and the errors it raises: hits, update reports, the model
fingerprint that ties an index to the model that built it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any


class ModelMismatchError(ValueError):
    """The model differs from the one whose embeddings the index holds."""


class EmptyQueryError(ValueError):
    """A query with neither text nor audio."""


def model_fingerprint(model) -> str:
    """A short hash of a model's config and weights (cached on the model object).

    Two models give the same fingerprint only if they compute the same embeddings.
    """
    cached = getattr(model, "_ttmrpp_fingerprint", None)
    if cached:
        return cached
    h = hashlib.sha256()
    cfg = {k: v for k, v in model.config.to_dict().items() if k not in ("name", "text_pretrained")}
    h.update(json.dumps(cfg, sort_keys=True).encode())
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        h.update(t.view(-1).view(dtype=_byte_dtype()).numpy().tobytes() if t.numel() else b"")
    digest = h.hexdigest()[:16]
    model._ttmrpp_fingerprint = digest
    return digest


def _byte_dtype():
    import torch

    return torch.uint8


@dataclass
class UpdateReport:
    """What an update did. `embedded` counts the files decoded and embedded in this run."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    metadata_updated: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # tried in this run
    known_failures: int = 0  # failed before and unchanged since: not retried
    ignored_files: int = 0  # non-audio files in a scanned folder
    embedded: int = 0

    @property
    def touched(self) -> int:
        return len(self.added) + len(self.changed) + len(self.removed)

    def summary(self) -> str:
        return (
            f"added {len(self.added)}, changed {len(self.changed)}, removed "
            f"{len(self.removed)}, unchanged {self.unchanged}, failed {len(self.failures)}"
            + (f" (+{self.known_failures} known, not retried)" if self.known_failures else "")
            + f"; embedded {self.embedded} files"
        )


@dataclass
class Hit:
    rank: int
    score: float
    track: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"rank": self.rank, "score": round(self.score, 6), **self.track}

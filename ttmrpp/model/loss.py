"""Symmetric InfoNCE with a learnable temperature; negatives gathered across processes."""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

MAX_LOGIT_SCALE = 100.0


class _GatherWithGrad(torch.autograd.Function):
    """all_gather whose backward returns this rank's slice of the summed gradient."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        out = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(out, x.contiguous())
        ctx.batch = x.shape[0]
        return torch.cat(out, dim=0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous()
        dist.all_reduce(grad)
        rank = dist.get_rank()
        return grad[rank * ctx.batch : (rank + 1) * ctx.batch]


def gather_features(x: torch.Tensor) -> torch.Tensor:
    """Concatenate `x` from every process (a no-op without torch.distributed)."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        return _GatherWithGrad.apply(x)
    return x


def infonce_loss(
    audio_features: torch.Tensor, text_features: torch.Tensor, logit_scale: torch.Tensor
) -> torch.Tensor:
    """Symmetric InfoNCE over cosine similarities.

    Args:
        audio_features, text_features: [B, D] paired embeddings (normalised here).
        logit_scale: log of the inverse temperature; the scale is clamped at 100.
    """
    a = F.normalize(gather_features(audio_features), dim=-1)
    t = F.normalize(gather_features(text_features), dim=-1)
    scale = logit_scale.exp().clamp(max=MAX_LOGIT_SCALE).to(a.dtype)
    logits = scale * a @ t.T  # [N, N]
    labels = torch.arange(len(logits), device=logits.device)
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


class InfoNCELoss(nn.Module):
    """Takes exactly the model's forward outputs: `loss_fn(**model(audio, text))`."""

    def forward(self, audio_features, text_features, logit_scale) -> torch.Tensor:
        return infonce_loss(audio_features, text_features, logit_scale)

"""Building blocks of the tagger zoo, with the attribute names of the published checkpoints.

Every block mirrors minzwon/sota-music-tagging-models (MIT) `training/modules.py` and
`training/attention_modules.py` closely enough that the published state dicts load strictly;
the forward passes use tensor reductions in place of pooling layers built on the fly.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class Conv1dBlock(nn.Module):
    """Conv1d → BN → ReLU → MaxPool (upstream `Conv_1d`)."""

    def __init__(self, c_in: int, c_out: int, shape: int = 3, stride: int = 1, pooling: int = 2):
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, shape, stride=stride, padding=shape // 2)
        self.bn = nn.BatchNorm1d(c_out)
        self.relu = nn.ReLU()
        self.mp = nn.MaxPool1d(pooling)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mp(self.relu(self.bn(self.conv(x))))


class Conv2dBlock(nn.Module):
    """Conv2d 3×3 → BN → ReLU → MaxPool (upstream `Conv_2d`)."""

    def __init__(self, c_in: int, c_out: int, shape: int = 3, stride: int = 1, pooling=2):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, shape, stride=stride, padding=shape // 2)
        self.bn = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU()
        self.mp = nn.MaxPool2d(pooling)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mp(self.relu(self.bn(self.conv(x))))


class Res2dBlock(nn.Module):
    """Residual 2-D block with a strided projection shortcut (upstream `Res_2d`)."""

    def __init__(self, c_in: int, c_out: int, shape: int = 3, stride=2):
        super().__init__()
        self.conv_1 = nn.Conv2d(c_in, c_out, shape, stride=stride, padding=shape // 2)
        self.bn_1 = nn.BatchNorm2d(c_out)
        self.conv_2 = nn.Conv2d(c_out, c_out, shape, padding=shape // 2)
        self.bn_2 = nn.BatchNorm2d(c_out)
        self.diff = stride != 1 or c_in != c_out
        if self.diff:
            self.conv_3 = nn.Conv2d(c_in, c_out, shape, stride=stride, padding=shape // 2)
            self.bn_3 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn_2(self.conv_2(self.relu(self.bn_1(self.conv_1(x)))))
        if self.diff:
            x = self.bn_3(self.conv_3(x))
        return self.relu(x + out)


class Res2dPoolBlock(nn.Module):
    """Residual 2-D block (identity shortcut) followed by max pooling (upstream `Res_2d_mp`)."""

    def __init__(self, c_in: int, c_out: int, pooling=2):
        super().__init__()
        self.conv_1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.bn_1 = nn.BatchNorm2d(c_out)
        self.conv_2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.bn_2 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU()
        self.mp = nn.MaxPool2d(pooling)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn_2(self.conv_2(self.relu(self.bn_1(self.conv_1(x)))))
        return self.mp(self.relu(x + out))


class ResSE1dBlock(nn.Module):
    """Residual 1-D block with squeeze-and-excitation (upstream `ResSE_1d`)."""

    def __init__(self, c_in: int, c_out: int, shape: int = 3, stride: int = 1, pooling: int = 3):
        super().__init__()
        self.conv_1 = nn.Conv1d(c_in, c_out, shape, stride=stride, padding=shape // 2)
        self.bn_1 = nn.BatchNorm1d(c_out)
        self.conv_2 = nn.Conv1d(c_out, c_out, shape, padding=shape // 2)
        self.bn_2 = nn.BatchNorm1d(c_out)
        self.dense1 = nn.Linear(c_out, c_out)
        self.dense2 = nn.Linear(c_out, c_out)
        self.diff = stride != 1 or c_in != c_out
        if self.diff:
            self.conv_3 = nn.Conv1d(c_in, c_out, shape, stride=stride, padding=shape // 2)
            self.bn_3 = nn.BatchNorm1d(c_out)
        self.relu = nn.ReLU()
        self.sigmoid = nn.Sigmoid()
        self.mp = nn.MaxPool1d(pooling)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn_2(self.conv_2(self.relu(self.bn_1(self.conv_1(x)))))  # (b, c, t)
        se = self.sigmoid(self.dense2(self.relu(self.dense1(out.mean(dim=-1)))))  # (b, c)
        out = out * se.unsqueeze(-1)
        if self.diff:
            x = self.bn_3(self.conv_3(x))
        return self.mp(self.relu(x + out))


class VerticalConv(nn.Module):
    """Musicnn timbral filter: tall 2-D conv, then max over frequency (upstream `Conv_V`)."""

    def __init__(self, c_in: int, c_out: int, filter_shape: tuple[int, int]):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, filter_shape, padding=(0, filter_shape[1] // 2))
        self.bn = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (b, 1, mels, t) -> (b, c_out, t)
        return self.relu(self.bn(self.conv(x))).amax(dim=2)


class HorizontalConv(nn.Module):
    """Musicnn temporal filter: mean over frequency, then a long 1-D conv (upstream `Conv_H`)."""

    def __init__(self, c_in: int, c_out: int, filter_length: int):
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, filter_length, padding=filter_length // 2)
        self.bn = nn.BatchNorm1d(c_out)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (b, 1, mels, t) -> (b, c_out, t)
        return self.relu(self.bn(self.conv(x.mean(dim=2))))


# --- BERT encoder of the self-attention tagger -------------------------------------------------
# Written out rather than taken from `transformers` so the module names (query/key/value,
# LayerNorm, intermediate/output) stay exactly those of the published checkpoints and the
# inference path does not import the transformers stack.


class BertSelfAttention(nn.Module):
    def __init__(self, hidden: int, heads: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.dropout = nn.Dropout(dropout)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        return x.view(b, t, self.heads, d // self.heads).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self._split(self.query(x)), self._split(self.key(x)), self._split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.size(-1))
        probs = self.dropout(scores.softmax(dim=-1))
        out = probs @ v  # (b, heads, t, d_head)
        b, h, t, dh = out.shape
        return out.transpose(1, 2).reshape(b, t, h * dh)


class BertResidualOutput(nn.Module):
    """Linear → dropout → LayerNorm(x + residual) (upstream `BertSelfOutput` / `BertOutput`)."""

    def __init__(self, d_in: int, hidden: int, dropout: float):
        super().__init__()
        self.dense = nn.Linear(d_in, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=1e-12)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class BertAttention(nn.Module):
    def __init__(self, hidden: int, heads: int, attn_dropout: float, dropout: float):
        super().__init__()
        self.self = BertSelfAttention(hidden, heads, attn_dropout)
        self.output = BertResidualOutput(hidden, hidden, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.self(x), x)


class BertIntermediate(nn.Module):
    def __init__(self, hidden: int, ffn: int):
        super().__init__()
        self.dense = nn.Linear(hidden, ffn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.dense(x))  # erf GELU, as upstream


class BertLayer(nn.Module):
    def __init__(self, hidden: int, heads: int, ffn: int, attn_dropout: float, dropout: float):
        super().__init__()
        self.attention = BertAttention(hidden, heads, attn_dropout, dropout)
        self.intermediate = BertIntermediate(hidden, ffn)
        self.output = BertResidualOutput(ffn, hidden, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.attention(x)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    """A stack of BERT layers without embeddings (no positional encoding, as upstream)."""

    def __init__(
        self,
        hidden: int = 256,
        layers: int = 2,
        heads: int = 8,
        ffn: int = 1024,
        attn_dropout: float = 0.5,
        dropout: float = 0.4,
    ):
        super().__init__()
        self.layer = nn.ModuleList(
            [BertLayer(hidden, heads, ffn, attn_dropout, dropout) for _ in range(layers)]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layer:
            x = layer(x)
        return x


class BertPooler(nn.Module):
    """tanh(Linear(first token))."""

    def __init__(self, hidden: int = 256):
        super().__init__()
        self.dense = nn.Linear(hidden, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.dense(x[:, 0]))

"""The eight tagging architectures of Won et al. 2020 with their published state-dict layouts.

Each model maps a batch of 16 kHz mono chunks (batch, input_length) to tag probabilities
(batch, n_class): the sigmoid is part of the model, as in the published code, so callers must
not apply another one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ttmrpp.taggers.frontend import HarmonicSTFT, MelSpectrogram, amplitude_to_db
from ttmrpp.taggers.layers import (
    BertEncoder,
    BertPooler,
    Conv1dBlock,
    Conv2dBlock,
    HorizontalConv,
    Res2dBlock,
    Res2dPoolBlock,
    ResSE1dBlock,
    VerticalConv,
)


class _MelTagger(nn.Module):
    """Shared mel front end: `spec` (power mel) → dB → `spec_bn` (BatchNorm2d(1))."""

    def __init__(self, n_mels: int):
        super().__init__()
        self.spec = MelSpectrogram(n_mels=n_mels)
        self.spec_bn = nn.BatchNorm2d(1)

    def mel(self, wave: torch.Tensor) -> torch.Tensor:
        # (b, samples) -> (b, 1, n_mels, frames)
        return self.spec_bn(amplitude_to_db(self.spec(wave)).unsqueeze(1))


class FCN(_MelTagger):
    """Fully convolutional network (Choi et al. 2016); 29 s chunks, 96 mels."""

    def __init__(self, n_class: int = 50):
        super().__init__(n_mels=96)
        self.layer1 = Conv2dBlock(1, 64, pooling=(2, 4))
        self.layer2 = Conv2dBlock(64, 128, pooling=(2, 4))
        self.layer3 = Conv2dBlock(128, 128, pooling=(2, 4))
        self.layer4 = Conv2dBlock(128, 128, pooling=(3, 5))
        self.layer5 = Conv2dBlock(128, 64, pooling=(4, 4))
        self.dense = nn.Linear(64, n_class)
        self.dropout = nn.Dropout(0.5)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        x = self.mel(wave)
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4, self.layer5):
            x = layer(x)
        x = x.reshape(x.size(0), -1)  # (b, 64): the 29 s chunk pools to 1×1
        return torch.sigmoid(self.dense(self.dropout(x)))


class Musicnn(_MelTagger):
    """Musically motivated front end + residual 1-D back end (Pons et al. 2018); 3 s chunks.

    The MSD model has a wider back end (512 channels) and dense layer (500) than the
    MagnaTagATune / Jamendo ones (64 and 200).
    """

    def __init__(self, n_class: int = 50, dataset: str = "jamendo"):
        super().__init__(n_mels=96)
        self.layers = nn.ModuleList(
            [
                VerticalConv(1, 204, (int(0.7 * 96), 7)),
                VerticalConv(1, 204, (int(0.4 * 96), 7)),
                HorizontalConv(1, 51, 129),
                HorizontalConv(1, 51, 65),
                HorizontalConv(1, 51, 33),
            ]
        )
        backend = 512 if dataset == "msd" else 64
        self.layer1 = Conv1dBlock(561, backend, 7, 1, 1)
        self.layer2 = Conv1dBlock(backend, backend, 7, 1, 1)
        self.layer3 = Conv1dBlock(backend, backend, 7, 1, 1)
        dense = 500 if dataset == "msd" else 200
        self.dense1 = nn.Linear((561 + backend * 3) * 2, dense)
        self.bn = nn.BatchNorm1d(dense)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(0.5)
        self.dense2 = nn.Linear(dense, n_class)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        x = self.mel(wave)
        out = torch.cat([layer(x) for layer in self.layers], dim=1)  # (b, 561, t)
        res1 = self.layer1(out)
        res2 = self.layer2(res1) + res1
        res3 = self.layer3(res2) + res2
        out = torch.cat([out, res1, res2, res3], dim=1)
        out = torch.cat([out.amax(dim=2), out.mean(dim=2)], dim=1)
        out = self.dropout(self.relu(self.bn(self.dense1(out))))
        return torch.sigmoid(self.dense2(out))


class CRNN(_MelTagger):
    """Convolutional recurrent network (Choi et al. 2017); 29 s chunks, 2-layer GRU."""

    def __init__(self, n_class: int = 50):
        super().__init__(n_mels=96)
        self.layer1 = Conv2dBlock(1, 64, pooling=(2, 2))
        self.layer2 = Conv2dBlock(64, 128, pooling=(3, 3))
        self.layer3 = Conv2dBlock(128, 128, pooling=(4, 4))
        self.layer4 = Conv2dBlock(128, 128, pooling=(4, 4))
        self.layer5 = nn.GRU(128, 32, 2, batch_first=True)
        self.dropout = nn.Dropout(0.5)
        self.dense = nn.Linear(32, n_class)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        x = self.mel(wave)
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(x)
        x = x.squeeze(2).permute(0, 2, 1)  # (b, t, 128)
        x, _ = self.layer5(x)
        return torch.sigmoid(self.dense(self.dropout(x[:, -1, :])))


_SAMPLE_PLAN = [  # (c_in, c_out, shape, stride, pooling) of SampleCNN's eleven layers
    (1, 128, 3, 3, 1),
    (128, 128, 3, 1, 3),
    (128, 128, 3, 1, 3),
    (128, 256, 3, 1, 3),
    (256, 256, 3, 1, 3),
    (256, 256, 3, 1, 3),
    (256, 256, 3, 1, 3),
    (256, 256, 3, 1, 3),
    (256, 256, 3, 1, 3),
    (256, 512, 3, 1, 3),
    (512, 512, 1, 1, 1),
]


class SampleCNN(nn.Module):
    """Sample-level CNN on the raw waveform (Lee et al. 2017); 59,049-sample chunks."""

    def __init__(self, n_class: int = 50):
        super().__init__()
        for i, (c_in, c_out, shape, stride, pool) in enumerate(_SAMPLE_PLAN, start=1):
            setattr(self, f"layer{i}", Conv1dBlock(c_in, c_out, shape, stride, pool))
        self.dropout = nn.Dropout(0.5)
        self.dense = nn.Linear(512, n_class)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        x = wave.unsqueeze(1)
        for i in range(1, 12):
            x = getattr(self, f"layer{i}")(x)
        x = x.squeeze(-1)  # (b, 512)
        return torch.sigmoid(self.dense(self.dropout(x)))


class SampleCNNSE(nn.Module):
    """Sample-level CNN with residual squeeze-excitation blocks (Kim et al. 2018)."""

    def __init__(self, n_class: int = 50):
        super().__init__()
        for i, (c_in, c_out, shape, stride, pool) in enumerate(_SAMPLE_PLAN, start=1):
            setattr(self, f"layer{i}", ResSE1dBlock(c_in, c_out, shape, stride, pool))
        self.dropout = nn.Dropout(0.5)
        self.dense1 = nn.Linear(512, 512)
        self.bn = nn.BatchNorm1d(512)
        self.dense2 = nn.Linear(512, n_class)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        x = wave.unsqueeze(1)
        for i in range(1, 12):
            x = getattr(self, f"layer{i}")(x)
        x = torch.relu(self.bn(self.dense1(x.squeeze(-1))))
        return torch.sigmoid(self.dense2(self.dropout(x)))


class ShortChunkResCNN(_MelTagger):
    """Short-chunk CNN with residual blocks (Won et al. 2020); 59,049 samples, 128 mels."""

    def __init__(self, n_class: int = 50, n_channels: int = 128):
        super().__init__(n_mels=128)
        c = n_channels
        plan = [(1, c), (c, c), (c, 2 * c), (2 * c, 2 * c), (2 * c, 2 * c), (2 * c, 2 * c)]
        plan.append((2 * c, 4 * c))
        for i, (c_in, c_out) in enumerate(plan, start=1):
            setattr(self, f"layer{i}", Res2dBlock(c_in, c_out, stride=2))
        self.dense1 = nn.Linear(4 * c, 4 * c)
        self.bn = nn.BatchNorm1d(4 * c)
        self.dense2 = nn.Linear(4 * c, n_class)
        self.dropout = nn.Dropout(0.5)
        self.relu = nn.ReLU()

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        x = self.mel(wave)
        for i in range(1, 8):
            x = getattr(self, f"layer{i}")(x)
        x = x.squeeze(2).amax(dim=-1)  # global max pool over time: (b, 512)
        x = self.dropout(self.relu(self.bn(self.dense1(x))))
        return torch.sigmoid(self.dense2(x))


class CNNSA(_MelTagger):
    """CNN front end + self-attention (BERT) back end (Won et al. 2019); 15 s chunks, 128 mels.

    A fixed pseudo-random [CLS] vector (numpy seed 0, as upstream; not part of the state dict)
    is prepended to the sequence; there is no positional embedding.
    """

    def __init__(self, n_class: int = 50, n_channels: int = 128):
        super().__init__(n_mels=128)
        c = n_channels
        self.layer1 = Res2dBlock(1, c, stride=2)
        self.layer2 = Res2dBlock(c, c, stride=2)
        self.layer3 = Res2dBlock(c, 2 * c, stride=2)
        for i in range(4, 8):
            setattr(self, f"layer{i}", Res2dBlock(2 * c, 2 * c, stride=(2, 1)))
        self.encoder = BertEncoder(hidden=2 * c, layers=2, heads=8, ffn=1024)
        self.pooler = BertPooler(2 * c)
        cls = np.random.RandomState(0).random_sample((1, 2 * c)).astype(np.float32)
        self.register_buffer("vec_cls", torch.from_numpy(cls), persistent=False)
        self.dropout = nn.Dropout(0.5)
        self.dense = nn.Linear(2 * c, n_class)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        x = self.mel(wave)
        for i in range(1, 8):
            x = getattr(self, f"layer{i}")(x)
        x = x.squeeze(2).permute(0, 2, 1)  # (b, t, 256)
        cls = self.vec_cls.expand(x.size(0), 1, -1)
        x = self.pooler(self.encoder(torch.cat([cls, x], dim=1)))
        return torch.sigmoid(self.dense(self.dropout(x)))


class HarmonicCNN(nn.Module):
    """Harmonic CNN (Won et al. 2020): learnable harmonic filterbank + residual CNN; 5 s chunks."""

    def __init__(self, n_class: int = 50, n_channels: int = 128, n_harmonic: int = 6):
        super().__init__()
        c = n_channels
        self.hstft = HarmonicSTFT(n_harmonic=n_harmonic, semitone_scale=2)
        self.hstft_bn = nn.BatchNorm2d(n_harmonic)
        self.layer1 = Conv2dBlock(n_harmonic, c, pooling=2)
        self.layer2 = Res2dPoolBlock(c, c, pooling=2)
        self.layer3 = Res2dPoolBlock(c, c, pooling=2)
        self.layer4 = Res2dPoolBlock(c, c, pooling=2)
        self.layer5 = Conv2dBlock(c, 2 * c, pooling=2)
        self.layer6 = Res2dPoolBlock(2 * c, 2 * c, pooling=(2, 3))
        self.layer7 = Res2dPoolBlock(2 * c, 2 * c, pooling=(2, 3))
        self.dense1 = nn.Linear(2 * c, 2 * c)
        self.bn = nn.BatchNorm1d(2 * c)
        self.dense2 = nn.Linear(2 * c, n_class)
        self.dropout = nn.Dropout(0.5)
        self.relu = nn.ReLU()

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        x = self.hstft_bn(self.hstft(wave))  # (b, 6, 128, frames)
        for i in range(1, 8):
            x = getattr(self, f"layer{i}")(x)
        x = x.squeeze(2).amax(dim=-1)  # (b, 256)
        x = self.dropout(self.relu(self.bn(self.dense1(x))))
        return torch.sigmoid(self.dense2(x))


@dataclass(frozen=True)
class ArchSpec:
    """What the zoo needs to know about one architecture."""

    name: str  # key used on the command line and in the upstream weights folder
    cls: type[nn.Module]  # the model class
    input_length: int  # samples per chunk at 16 kHz (published training/eval length)
    description: str  # one line for help texts and reports


ARCHITECTURES: dict[str, ArchSpec] = {
    s.name: s
    for s in [
        ArchSpec("fcn", FCN, 29 * 16000, "fully convolutional network, 29 s, 96 mels"),
        ArchSpec("musicnn", Musicnn, 3 * 16000, "Musicnn, 3 s, 96 mels"),
        ArchSpec("crnn", CRNN, 29 * 16000, "CNN + GRU, 29 s, 96 mels"),
        ArchSpec("sample", SampleCNN, 59049, "sample-level CNN on the raw wave"),
        ArchSpec("se", SampleCNNSE, 59049, "sample-level CNN + squeeze-excitation"),
        ArchSpec("short_res", ShortChunkResCNN, 59049, "short-chunk residual CNN, 128 mels"),
        ArchSpec("attention", CNNSA, 15 * 16000, "CNN + self-attention, 15 s, 128 mels"),
        ArchSpec("hcnn", HarmonicCNN, 5 * 16000, "harmonic CNN, 5 s"),
    ]
}


def build_model(name: str, n_class: int = 50, dataset: str = "jamendo") -> nn.Module:
    """A freshly initialised model of architecture `name` with `n_class` outputs.

    `dataset` matters only for Musicnn, whose MSD variant is wider.
    """
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown tagger {name!r}; choose from {', '.join(ARCHITECTURES)}")
    cls = ARCHITECTURES[name].cls
    if cls is Musicnn:
        return Musicnn(n_class=n_class, dataset=dataset)
    return cls(n_class=n_class)


def count_parameters(model: nn.Module) -> int:
    """Number of learnable parameters (buffers such as the mel filterbank excluded)."""
    return sum(p.numel() for p in model.parameters())

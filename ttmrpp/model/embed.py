"""Whole-track embedding: decode files, cut into clips, embed in batches, average per track."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ttmrpp.model.audio import (
    MAX_SECONDS,
    AudioDecodeError,
    chunk_waveform,
    load_audio,
    rescale_minmax,
)
from ttmrpp.model.dual_encoder import TTMRPP


def track_chunks(model: TTMRPP, wav: np.ndarray) -> np.ndarray:
    """A whole track's model input, [n_chunks, clip_samples], level-normalised as in training."""
    cfg = model.config
    return chunk_waveform(rescale_minmax(wav), cfg.sample_rate, cfg.clip_seconds)


# no_grad, not inference_mode: the results are ordinary tensors that callers can combine
# with anything (`text @ embs.T` with a grad-tracking text embedding fails on inference tensors).
@torch.no_grad()
def embed_waveform(model: TTMRPP, wav: np.ndarray, batch_size: int = 16) -> torch.Tensor:
    """One track of any length >= 0.5 s -> [embed_dim] unit vector (mean over its chunks)."""
    chunks = torch.from_numpy(track_chunks(model, wav))
    z = torch.cat([model.encode_audio(b, normalize=False) for b in chunks.split(batch_size)])
    return F.normalize(z.mean(0), dim=-1).cpu()


@torch.no_grad()
def embed_audio_files(
    model: TTMRPP,
    paths: Sequence[str | os.PathLike],
    batch_size: int = 16,
    progress: bool = True,
    num_workers: int = 2,
    max_seconds: float = MAX_SECONDS,
) -> tuple[torch.Tensor, list[tuple[str, str]]]:
    """Embed audio files of any length and format.

    Args:
        max_seconds: longer files fail (checked from the header before decoding, and while
            decoding: `ttmrpp.load_audio`).

    Returns:
        (embeddings [N, embed_dim], failures): one unit vector per file that decoded, in input
        order with the failed files left out; `failures` lists `(path, reason)` for the rest.
    """
    sr = model.config.sample_rate

    def decode(path):
        try:
            return track_chunks(model, load_audio(path, sr, max_seconds=max_seconds)), None
        except AudioDecodeError as exc:
            return None, str(exc)
        except Exception as exc:  # a bad file must never stop a batch job
            return None, f"{path}: {type(exc).__name__}: {exc}"

    out: list[torch.Tensor] = []
    failures: list[tuple[str, str]] = []
    window = max(4 * num_workers, 8)
    bar = tqdm(total=len(paths), desc="embedding", unit="file", disable=not progress)
    with ThreadPoolExecutor(max_workers=max(1, num_workers)) as pool:
        for start in range(0, len(paths), window):
            group = list(paths[start : start + window])
            decoded = list(pool.map(decode, group))
            ok = [(p, c) for p, (c, _) in zip(group, decoded) if c is not None]
            failures += [(str(p), err) for p, (c, err) in zip(group, decoded) if c is None]
            if ok:
                parts = [c for _, c in ok]
                chunks = torch.from_numpy(parts[0] if len(parts) == 1 else np.concatenate(parts))
                z = torch.cat(
                    [model.encode_audio(b, normalize=False) for b in chunks.split(batch_size)]
                )
                for part in z.split([len(c) for _, c in ok]):
                    out.append(F.normalize(part.mean(0), dim=-1).cpu())
            bar.update(len(group))
    bar.close()
    dim = model.config.embed_dim
    return (torch.stack(out) if out else torch.zeros(0, dim)), failures

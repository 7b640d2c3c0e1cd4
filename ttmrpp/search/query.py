"""Query embeddings: a text, an audio example (a file or a waveform), or both blended."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ttmrpp.search.results import EmptyQueryError

if TYPE_CHECKING:
    from ttmrpp.search.index import MusicIndex


def query_vector(
    index: MusicIndex,
    model,
    text: str | None = None,
    audio: str | os.PathLike | np.ndarray | None = None,
    weight: float = 0.5,
) -> np.ndarray:
    """The query embedding for text, audio (a file or a waveform at the model's rate), or
    both: `(1 - weight) * text + weight * audio`, renormalised.

    Raises:
        EmptyQueryError: neither text (non-blank) nor audio given.
        ModelMismatchError: `model` is not this index's model.
    """
    import torch

    text = text.strip() if isinstance(text, str) else text
    if not text and audio is None:
        raise EmptyQueryError("empty query: give a text, an audio example, or both")
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must be between 0 and 1, not {weight}")
    index.check_model(model)
    parts = []
    if text:
        with torch.inference_mode():
            parts.append((1.0 - weight, model.encode_text([text])[0].cpu().numpy()))
    if audio is not None:
        parts.append((weight, audio_vector(index, model, audio)))
    if len(parts) == 1:
        return parts[0][1].astype(np.float32)
    q = sum(w * v for w, v in parts)
    return (q / max(np.linalg.norm(q), 1e-12)).astype(np.float32)


def audio_vector(index: MusicIndex, model, audio: str | os.PathLike | np.ndarray) -> np.ndarray:
    """Embedding of an audio file (reused from the index when the file is unchanged in
    it) or of a waveform at `model.config.sample_rate`."""
    from ttmrpp.model.audio import AudioDecodeError
    from ttmrpp.model.embed import embed_audio_files, embed_waveform

    if isinstance(audio, str | os.PathLike):
        path = str(Path(audio).expanduser().resolve())
        with index._lock.read():
            row = index._by_path.get(path)
            rec = index.records[row] if row is not None else None
            st = os.stat(path) if os.path.exists(path) else None
            if (
                rec is not None
                and st
                and (rec["size"], rec["mtime"]) == (st.st_size, st.st_mtime_ns)
            ):
                return index.vectors[row].copy()
        vecs, failed = embed_audio_files(model, [path], progress=False)
        if failed:
            raise AudioDecodeError(failed[0][1])
        return vecs[0].numpy()
    wav = audio.detach().cpu().numpy() if hasattr(audio, "detach") else np.asarray(audio)
    wav = wav.astype(np.float32).reshape(-1)
    if wav.size == 0 or not np.all(np.isfinite(wav)):
        raise EmptyQueryError("audio query is empty or not finite")
    return embed_waveform(model, wav).numpy()

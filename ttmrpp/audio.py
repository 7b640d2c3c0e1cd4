"""Audio decoding, resampling, chunking and the TTMR++ log-mel front end."""

from __future__ import annotations

SAMPLE_RATE = 22050  # the model's rate (TTMR++ release config)
CLIP_SECONDS = 10.0  # the model's training clip length


class AudioDecodeError(Exception):
    """An audio file could not be decoded; the message names the file and the reason."""

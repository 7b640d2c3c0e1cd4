"""ttmrpp: TTMR++ text-to-music retrieval.

Public API::

    model = ttmrpp.create_model("ttmrpp-cpu")          # or ttmrpp.load_model(folder_or_hub_id)
    text = model.encode_text(["upbeat rock with electric guitar"])   # [N, 128], unit norm
    audio = model.encode_audio(waveforms)                            # [B, T] -> [B, 128]
    embs, failures = ttmrpp.embed_audio_files(model, paths)          # whole tracks
"""

from ttmrpp.audio import SAMPLE_RATE, AudioDecodeError, load_audio
from ttmrpp.checkpoint import load_official_checkpoint
from ttmrpp.config import ModelConfig, get_config, list_configs
from ttmrpp.embed import embed_audio_files, embed_waveform
from ttmrpp.model import TTMRPP, CheckpointError, create_model, load_model

__version__ = "0.1.0"

__all__ = [
    "SAMPLE_RATE",
    "TTMRPP",
    "AudioDecodeError",
    "CheckpointError",
    "ModelConfig",
    "create_model",
    "embed_audio_files",
    "embed_waveform",
    "get_config",
    "list_configs",
    "load_audio",
    "load_model",
    "load_official_checkpoint",
]

"""ttmrpp: TTMR++ text-to-music retrieval.

Public API::

    model = ttmrpp.load_model()        # the shipped trained model; or a folder, hub id, .pth
    text = model.encode_text(["upbeat rock with electric guitar"])   # [N, 128], unit norm
    audio = model.encode_audio(waveforms)                            # [B, T] -> [B, 128]
    embs, failures = ttmrpp.embed_audio_files(model, paths)          # whole tracks
"""

from ttmrpp.model.audio import SAMPLE_RATE, AudioDecodeError, load_audio
from ttmrpp.model.config import ModelConfig, get_config, list_configs
from ttmrpp.model.dual_encoder import TTMRPP, CheckpointError
from ttmrpp.model.embed import embed_audio_files, embed_waveform
from ttmrpp.model.factory import UntrainedModelWarning, create_model, load_model
from ttmrpp.model.foreign import load_official_checkpoint

__version__ = "0.2.0"

__all__ = [
    "SAMPLE_RATE",
    "TTMRPP",
    "AudioDecodeError",
    "CheckpointError",
    "ModelConfig",
    "UntrainedModelWarning",
    "create_model",
    "embed_audio_files",
    "embed_waveform",
    "get_config",
    "list_configs",
    "load_audio",
    "load_model",
    "load_official_checkpoint",
]

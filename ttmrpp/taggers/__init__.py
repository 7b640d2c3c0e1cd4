"""Music auto-tagger zoo: eight published architectures (Won et al. 2020) on 16 kHz audio.

from ttmrpp.taggers import load_tagger
tagger = load_tagger("fcn", dataset="jamendo", weights_dir=Path("models"))
probs = tagger.predict_file("song.mp3")          # (50,) probabilities
tagger.top_k(probs, 5)                           # [("genre---rock", 0.41), ...]
"""

from ttmrpp.taggers.architectures import ARCHITECTURES, build_model, count_parameters
from ttmrpp.taggers.frontend import SAMPLE_RATE as TAGGER_SAMPLE_RATE
from ttmrpp.taggers.tagger import (
    Tagger,
    TaggerWeightsError,
    load_audio_16k,
    load_tagger,
    resolve_weights,
)
from ttmrpp.taggers.vocab import DATASETS, readable_tag, vocabulary

TAGGER_NAMES: tuple[str, ...] = tuple(ARCHITECTURES)

__all__ = [
    "ARCHITECTURES",
    "DATASETS",
    "TAGGER_NAMES",
    "TAGGER_SAMPLE_RATE",
    "Tagger",
    "TaggerWeightsError",
    "build_model",
    "count_parameters",
    "load_audio_16k",
    "load_tagger",
    "readable_tag",
    "resolve_weights",
    "vocabulary",
]

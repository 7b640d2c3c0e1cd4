"""Tagger zoo: published layouts, strict loading, front end, whole-track inference."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf
import torch

from ttmrpp.taggers import (
    ARCHITECTURES,
    TAGGER_NAMES,
    TAGGER_SAMPLE_RATE,
    TaggerWeightsError,
    build_model,
    count_parameters,
    load_tagger,
    vocabulary,
)
from ttmrpp.taggers.frontend import mel_filterbank

# Parameter counts of the published models (Won et al. 2020; ../shared/notes/taggers.md).
PUBLISHED_PARAMS = {
    "fcn": 447_732,
    "musicnn": 784_300,
    "crnn": 394_100,
    "sample": 1_869_874,
    "se": 6_951_858,
    "short_res": 12_104_244,
    "attention": 10_521_652,
    "hcnn": 3_631_551,
}
SHARED_WEIGHTS = [
    ("jamendo", "fcn"),
    ("jamendo", "crnn"),
    ("jamendo", "musicnn"),
    ("mtat", "fcn"),
    ("mtat", "crnn"),
    ("mtat", "musicnn"),
    ("msd", "fcn"),
    ("msd", "crnn"),
]


@pytest.fixture(scope="session")
def weights_dir(shared_dir):
    path = shared_dir / "models" / "sota-music-tagging"
    if not path.is_dir():
        pytest.skip(f"published tagger weights not found at {path}")
    return path


def test_api_constants():
    assert TAGGER_SAMPLE_RATE == 16000
    assert set(TAGGER_NAMES) == set(PUBLISHED_PARAMS)


@pytest.mark.parametrize("name", list(PUBLISHED_PARAMS))
def test_parameter_counts_match_published(name):
    assert count_parameters(build_model(name)) == PUBLISHED_PARAMS[name]


def test_msd_musicnn_is_wider():
    model = build_model("musicnn", dataset="msd")
    assert model.layer1.conv.out_channels == 512 and model.dense1.out_features == 500


@pytest.mark.parametrize("name", list(PUBLISHED_PARAMS))
def test_forward_gives_probabilities_for_one_chunk(name):
    torch.manual_seed(0)
    model = build_model(name, n_class=7).eval()
    wave = 0.1 * torch.randn(2, ARCHITECTURES[name].input_length)
    with torch.no_grad():
        out = model(wave)
    assert out.shape == (2, 7)
    assert torch.all((out >= 0) & (out <= 1))


def test_vocabularies():
    jamendo = vocabulary("jamendo")
    assert len(jamendo) == 50 and jamendo == sorted(jamendo)
    assert sum(t.startswith("genre---") for t in jamendo) == 31
    assert sum(t.startswith("instrument---") for t in jamendo) == 14
    assert sum(t.startswith("mood/theme---") for t in jamendo) == 5
    assert vocabulary("mtat")[:3] == ["guitar", "classical", "slow"]
    assert vocabulary("msd")[:3] == ["rock", "pop", "alternative"]
    assert vocabulary("mtat") != vocabulary("msd")
    with pytest.raises(ValueError, match="unknown tag vocabulary"):
        vocabulary("gtzan")


def test_shipped_vocabularies_match_shared(shared_dir):
    top50 = (shared_dir / "data" / "mtg-jamendo" / "top50.txt").read_text().split("\n")
    assert vocabulary("jamendo") == [t for t in top50 if t]
    mtat = np.load(shared_dir / "data" / "tag-vocabularies" / "mtat-tags.npy", allow_pickle=True)
    assert vocabulary("mtat") == [str(t) for t in mtat]


@pytest.mark.parametrize(("dataset", "name"), SHARED_WEIGHTS)
def test_published_weights_load_strictly(weights_dir, dataset, name):
    tagger = load_tagger(name, dataset=dataset, weights_dir=weights_dir, download=False)
    assert tagger.tags == vocabulary(dataset)
    assert not tagger.model.training
    stored = torch.load(
        weights_dir / dataset / name / "best_model.pth", map_location="cpu", weights_only=True
    )
    # our HTK filterbank is the one torchaudio computed when the weights were saved
    ours = mel_filterbank(257, 0.0, 8000.0, 96, 16000)
    torch.testing.assert_close(ours, stored["spec.mel_scale.fb"], atol=1e-4, rtol=0)


def test_mismatched_weights_fail_strictly(weights_dir, tmp_path):
    target = tmp_path / "jamendo" / "fcn"
    target.mkdir(parents=True)
    shutil.copy(weights_dir / "jamendo" / "musicnn" / "best_model.pth", target)
    with pytest.raises(TaggerWeightsError, match="does not fit FCN"):
        load_tagger("fcn", weights_dir=tmp_path, download=False)


def test_missing_weights_offline_names_the_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("TTMRPP_CACHE", str(tmp_path / "cache"))
    with pytest.raises(TaggerWeightsError, match=r"jamendo/hcnn/best_model\.pth"):
        load_tagger("hcnn", weights_dir=tmp_path / "w", download=False)
    with pytest.raises(ValueError, match="unknown tagger"):
        load_tagger("vggish")


@pytest.fixture(scope="module")
def jamendo_fcn(weights_dir):
    return load_tagger("fcn", dataset="jamendo", weights_dir=weights_dir, download=False)


@pytest.fixture(scope="module")
def jamendo_musicnn(weights_dir):
    return load_tagger("musicnn", dataset="jamendo", weights_dir=weights_dir, download=False)


def test_chunking_covers_the_track(jamendo_musicnn):
    length = jamendo_musicnn.input_length  # 3 s
    assert list(jamendo_musicnn.chunk_starts(length // 2)) == [0]
    starts = jamendo_musicnn.chunk_starts(10 * length)
    assert len(starts) == 10 and starts[0] == 0 and starts[-1] == 9 * length
    starts = jamendo_musicnn.chunk_starts(100 * length)
    assert len(starts) == 16 and starts[-1] == 99 * length
    assert np.all(np.diff(starts) > 0)


def test_short_audio_is_padded_and_outputs_are_true_probabilities(jamendo_fcn):
    rng = np.random.default_rng(0)
    probs = jamendo_fcn.predict_waveform(0.1 * rng.standard_normal(16000).astype(np.float32))
    assert probs.shape == (50,)
    # one sigmoid only: most Jamendo tags are unlikely for any input (a second sigmoid
    # would squeeze everything into 0.5-0.73)
    assert probs.min() < 0.1 and np.median(probs) < 0.2
    with pytest.raises(ValueError, match="empty"):
        jamendo_fcn.predict_waveform(np.zeros(0, dtype=np.float32))
    with pytest.raises(ValueError, match="NaN"):
        jamendo_fcn.predict_waveform(np.full(1000, np.nan, dtype=np.float32))


def test_predict_file_downmixes_and_resamples(jamendo_musicnn, tmp_path):
    import soxr
    from tagger_clips import solo_piano

    mono = solo_piano(seconds=8.0, sample_rate=16000)
    up = soxr.resample(mono, 16000, 44100)
    stereo_44k = np.stack([0.6 * up, 1.4 * up], axis=1)  # channel mean == the mono signal
    path = tmp_path / "piano.flac"
    sf.write(path, stereo_44k, 44100)
    from_file = jamendo_musicnn.predict_file(path)
    from_wave = jamendo_musicnn.predict_waveform(mono)
    assert np.abs(from_file - from_wave).max() < 0.02
    assert jamendo_musicnn.top_k(from_file, 1)[0][0] == jamendo_musicnn.top_k(from_wave, 1)[0][0]


@pytest.fixture(scope="module")
def clips():
    from tagger_clips import rock_band, solo_piano

    return {"piano": solo_piano(seconds=12.0), "rock": rock_band(seconds=12.0)}


@pytest.mark.parametrize("fixture", ["jamendo_fcn", "jamendo_musicnn"])
def test_published_taggers_hear_piano_and_rock(fixture, clips, request):
    tagger = request.getfixturevalue(fixture)
    piano = tagger.predict_waveform(clips["piano"])
    assert "instrument---piano" in [t for t, _ in tagger.top_k(piano, 5)]
    rock = tagger.predict_waveform(clips["rock"])
    tags = tagger.tags
    assert rock[tags.index("genre---rock")] > rock[tags.index("genre---classical")]
    assert piano[tags.index("genre---classical")] > rock[tags.index("genre---classical")]


def test_weights_are_fetched_from_the_url_template(weights_dir, tmp_path, monkeypatch):
    mirror = (weights_dir / "{dataset}" / "{model}" / "best_model.pth").as_uri()
    mirror = mirror.replace("%7B", "{").replace("%7D", "}")
    monkeypatch.setenv("TTMRPP_TAGGER_URL", mirror)
    monkeypatch.setenv("TTMRPP_CACHE", str(tmp_path / "cache"))
    tagger = load_tagger("crnn", dataset="mtat", weights_dir=tmp_path / "w")
    assert tagger.weights == tmp_path / "w" / "mtat" / "crnn" / "best_model.pth"
    assert tagger.weights.is_file()
    with pytest.raises(TaggerWeightsError, match="fetching .*hcnn.* failed"):
        load_tagger("hcnn", dataset="mtat", weights_dir=tmp_path / "w")
    assert not (tmp_path / "w" / "mtat" / "hcnn").exists() or not any(
        (tmp_path / "w" / "mtat" / "hcnn").iterdir()
    )

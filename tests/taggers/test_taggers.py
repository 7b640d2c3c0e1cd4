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
    # short audio is repeated to fill the chunk by default; zero padding is an option
    clip = 0.1 * rng.standard_normal(16000).astype(np.float32)
    tiled = jamendo_fcn.predict_waveform(np.resize(clip, jamendo_fcn.input_length))
    np.testing.assert_allclose(jamendo_fcn.predict_waveform(clip), tiled, atol=1e-6)
    zero = jamendo_fcn.predict_waveform(clip, pad="zero")
    padded = np.pad(clip, (0, jamendo_fcn.input_length - clip.size))
    np.testing.assert_allclose(zero, jamendo_fcn.predict_waveform(padded), atol=1e-6)
    assert np.abs(zero - tiled).max() > 1e-3
    with pytest.raises(ValueError, match="pad must be"):
        jamendo_fcn.predict_waveform(clip, pad="reflect")
    with pytest.raises(ValueError, match="empty"):
        jamendo_fcn.predict_waveform(np.zeros(0, dtype=np.float32))
    with pytest.raises(ValueError, match="NaN"):
        jamendo_fcn.predict_waveform(np.full(1000, np.nan, dtype=np.float32))


def test_predict_file_downmixes_and_resamples(jamendo_musicnn, tmp_path):
    import soxr

    from tests.helpers.clips import solo_piano

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
    from tests.helpers.clips import rock_band, solo_piano

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


def test_state_dict_layouts_follow_torchaudio_names():
    short_res = build_model("short_res").state_dict()
    assert short_res["spec.mel_scale.fb"].shape == (257, 128)
    assert short_res["spec.spectrogram.window"].shape == (512,)
    hcnn = build_model("hcnn").state_dict()
    assert {"hstft.spec.window", "hstft.bw_Q", "hstft_bn.running_var"} <= hcnn.keys()
    assert not any(k.endswith(("f0", "fft_bins")) for k in hcnn)  # derived, not stored
    attention = build_model("attention").state_dict()
    assert "encoder.layer.1.attention.self.query.weight" in attention
    assert (
        "encoder.layer.0.output.LayerNorm.bias" in attention and "pooler.dense.weight" in attention
    )
    assert "vec_cls" not in attention  # the fixed [CLS] is rebuilt, never loaded
    se = build_model("se").state_dict()
    assert "layer11.dense2.weight" in se and "layer1.conv_3.weight" in se
    assert "layer11.conv_3.weight" not in se  # 512 → 512, stride 1: identity shortcut
    assert list(build_model("sample").state_dict())[0] == "layer1.conv.weight"


def test_empty_stored_filterbank_is_rebuilt(weights_dir, tmp_path):
    state = torch.load(
        weights_dir / "jamendo" / "fcn" / "best_model.pth", map_location="cpu", weights_only=True
    )
    state["spec.mel_scale.fb"] = torch.tensor([])  # as saved by old torchaudio
    (tmp_path / "jamendo" / "fcn").mkdir(parents=True)
    torch.save(state, tmp_path / "jamendo" / "fcn" / "best_model.pth")
    tagger = load_tagger("fcn", weights_dir=tmp_path, download=False)
    assert tagger.model.spec.mel_scale.fb.shape == (257, 96)


def test_a_fetched_file_that_is_not_a_state_dict_is_refused(tmp_path, monkeypatch):
    page = tmp_path / "mirror" / "jamendo" / "fcn" / "best_model.pth"
    page.parent.mkdir(parents=True)
    page.write_text("<html>404: Not Found</html>")
    template = (tmp_path / "mirror").as_uri() + "/{dataset}/{model}/best_model.pth"
    monkeypatch.setenv("TTMRPP_TAGGER_URL", template)
    monkeypatch.setenv("TTMRPP_CACHE", str(tmp_path / "cache"))
    with pytest.raises(TaggerWeightsError, match="fetching"):
        load_tagger("fcn", weights_dir=tmp_path / "w")
    assert not (tmp_path / "w" / "jamendo" / "fcn" / "best_model.pth").exists()
    assert not any(p.is_file() for p in (tmp_path / "w").rglob("*"))  # no temp file left

import numpy as np
import pytest
import soundfile as sf
import torch
import torch.nn.functional as F

import ttmrpp
from tests.conftest import music_like
from ttmrpp.model.audio import rescale_minmax
from ttmrpp.model.config import get_config
from ttmrpp.model.embed import embed_audio_files, embed_waveform, track_chunks

SR = 22050


@pytest.fixture(scope="module")
def ten_second_model():
    """The tiny architecture with the paper's 10 s clips."""
    config = get_config("ttmrpp-tiny")
    config.clip_seconds = 10.0
    torch.manual_seed(0)
    return ttmrpp.create_model(config)


@pytest.fixture(scope="module")
def tracks(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tracks")
    paths = []
    for i, seconds in enumerate([3.0, 4.5, 1.0, 6.0, 2.5]):
        path = folder / f"t{i}.wav"
        sf.write(str(path), music_like(seconds, SR, seed=10 + i) * (0.2 + 0.2 * i), SR)
        paths.append(path)
    return paths


def test_a_25_second_track_is_three_chunks_with_the_tail_aligned_to_the_end(ten_second_model):
    wav = music_like(25.0, SR, seed=2)
    chunks = track_chunks(ten_second_model, wav)
    level = rescale_minmax(wav)
    n = 10 * SR
    assert chunks.shape == (3, n) and chunks.dtype == np.float32
    np.testing.assert_array_equal(chunks[0], level[:n])
    np.testing.assert_array_equal(chunks[1], level[n : 2 * n])
    np.testing.assert_array_equal(chunks[2], level[-n:])  # 15-25 s, not a padded 20-30 s
    with torch.no_grad():
        z = ten_second_model.encode_audio(torch.from_numpy(chunks), normalize=False)
    expected = F.normalize(z.mean(0), dim=-1)
    torch.testing.assert_close(embed_waveform(ten_second_model, wav), expected)
    torch.testing.assert_close(embed_waveform(ten_second_model, wav, batch_size=1), expected)


def test_silence_gives_a_finite_unit_vector(tiny_model):
    emb = embed_waveform(tiny_model, np.zeros(3 * SR, np.float32))
    assert torch.isfinite(emb).all() and emb.norm().item() == pytest.approx(1.0, abs=1e-5)


def test_level_does_not_change_the_embedding(tiny_model):
    wav = music_like(4.0, SR, seed=3)
    torch.testing.assert_close(
        embed_waveform(tiny_model, 0.05 * wav), embed_waveform(tiny_model, wav), atol=1e-3, rtol=0
    )


def test_files_embed_the_same_in_any_order_batch_size_and_worker_count(tiny_model, tracks):
    ref, failures = embed_audio_files(tiny_model, tracks, progress=False)
    assert not failures and ref.shape == (len(tracks), 128)
    by_path = dict(zip(tracks, ref))
    order = [tracks[i] for i in (3, 0, 4, 2, 1)]
    for kw in ({"batch_size": 1}, {"batch_size": 3, "num_workers": 1}, {"num_workers": 4}):
        embs, failures = embed_audio_files(tiny_model, order, progress=False, **kw)
        assert not failures
        for path, emb in zip(order, embs):
            torch.testing.assert_close(emb, by_path[path], atol=1e-5, rtol=1e-4)
    for path, emb in zip(tracks, ref):
        alone = embed_waveform(tiny_model, ttmrpp.load_audio(path, SR))
        torch.testing.assert_close(alone, emb, atol=1e-5, rtol=1e-4)


def test_failed_files_are_reported_in_order_and_left_out(tiny_model, tracks, tmp_path):
    missing = tmp_path / "missing.wav"
    junk = tmp_path / "junk.ogg"
    junk.write_bytes(b"OggS" + bytes(100))
    paths = [missing, tracks[0], junk, tracks[1]]
    embs, failures = embed_audio_files(tiny_model, paths, progress=False)
    assert embs.shape == (2, 128)
    assert [p for p, _ in failures] == [str(missing), str(junk)]
    assert "no such file" in failures[0][1] and "cannot decode" in failures[1][1]
    empty, none = embed_audio_files(tiny_model, [], progress=False)
    assert empty.shape == (0, 128) and none == []

import numpy as np
import pytest
import soundfile as sf
import torch

from tests.conftest import music_like
from ttmrpp.model.audio import (
    AudioDecodeError,
    LogMelFrontEnd,
    chunk_waveform,
    load_audio,
    rescale_minmax,
)

SR = 22050


def write(path, wav, sr, **kw):
    sf.write(str(path), wav, sr, **kw)
    return path


@pytest.fixture(scope="module")
def song():
    return music_like(3.0, 44100, seed=1)


@pytest.mark.parametrize(
    "name,kw,tol",
    [
        ("a.wav", {}, 1e-4),
        ("a.flac", {}, 1e-3),
        ("a.ogg", {"format": "OGG", "subtype": "VORBIS"}, None),
        ("a.opus", {"format": "OGG", "subtype": "OPUS"}, None),
        ("a.mp3", {"format": "MP3"}, None),
    ],
)
def test_decodes_all_formats_mono_resampled(tmp_path, song, name, kw, tol):
    stereo = np.stack([song, 0.5 * song], axis=1)
    sr = 48000 if name.endswith(".opus") else 44100
    src = song if sr == 44100 else load_audio(write(tmp_path / "x.wav", song, 44100), 48000)
    stereo = np.stack([src, 0.5 * src], axis=1)
    path = write(tmp_path / name, stereo, sr, **kw)
    wav = load_audio(path, SR)
    assert wav.dtype == np.float32 and wav.ndim == 1
    assert abs(len(wav) - 3.0 * SR) < 0.05 * SR  # codecs may add a little priming/padding
    expected = load_audio(write(tmp_path / "ref.wav", 0.75 * song, 44100), SR)
    n = min(len(wav), len(expected))
    if tol is not None:
        np.testing.assert_allclose(wav[:n], expected[:n], atol=tol)
    else:  # lossy codecs: the signal must still be the same music
        spec = lambda x: np.abs(np.fft.rfft(x[: SR * 2]))  # noqa: E731
        assert np.corrcoef(spec(wav), spec(expected))[0, 1] > 0.9


def test_m4a_via_ffmpeg(tmp_path, song):
    av = pytest.importorskip("av")
    path = tmp_path / "a.m4a"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=44100)
        frame = av.AudioFrame.from_ndarray(
            song[None].astype(np.float32), format="flt", layout="mono"
        )
        frame.sample_rate = 44100
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    wav = load_audio(path, SR)
    assert abs(len(wav) - 3.0 * SR) < 0.1 * SR


def test_bad_files_give_clear_errors(tmp_path, song):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp3"
    text.write_text("this is not audio at all\n" * 50)
    full = write(tmp_path / "full.wav", song, 44100)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    zero = write(tmp_path / "zero.wav", np.zeros(0, dtype=np.float32), 44100)
    for path, reason in [
        (empty, "empty"),
        (text, "cannot decode"),
        (cut, "truncated"),
        (zero, "no audio"),
        (tmp_path / "missing.flac", "no such file"),
    ]:
        with pytest.raises(AudioDecodeError) as info:
            load_audio(path)
        assert str(path) in str(info.value) and reason in str(info.value)


def test_front_end_matches_librosa_numpy_reference():
    librosa = pytest.importorskip("librosa")
    wav = music_like(4.0, SR, seed=3)
    n_fft, hop = 1024, 220
    # Independent reference: numpy STFT (periodic Hann, centred, reflect) + librosa's filters.
    padded = np.pad(wav.astype(np.float64), n_fft // 2, mode="reflect")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    frames = 1 + (len(padded) - n_fft) // hop
    stft = np.stack(
        [np.fft.rfft(window * padded[i * hop : i * hop + n_fft]) for i in range(frames)], 1
    )
    power = np.abs(stft[:, :-1]) ** 2
    mel = librosa.filters.mel(sr=SR, n_fft=n_fft, n_mels=128) @ power
    ref = np.log10(np.maximum(mel, 1e-10))
    ref = (np.maximum(ref, ref.max() - 8.0) + 4.0) / 4.0

    out = LogMelFrontEnd(SR, n_fft, hop, 128)(torch.from_numpy(wav)[None])[0].numpy()
    assert out.shape == ref.shape == (128, len(wav) // hop)
    np.testing.assert_allclose(out, ref, atol=1e-4)


def test_ten_second_clip_has_1002_frames():
    assert LogMelFrontEnd()(torch.zeros(1, 220500)).shape == (1, 128, 1002)


def test_clip_clamp_is_batch_independent_and_batch_clamp_is_not():
    quiet = torch.from_numpy(music_like(2.0, SR, seed=4)) * 1e-3
    loud = torch.from_numpy(music_like(2.0, SR, seed=5))
    clip, batch = LogMelFrontEnd(clamp="clip"), LogMelFrontEnd(clamp="batch")
    alone = clip(quiet[None])[0]
    together = clip(torch.stack([quiet, loud]))[0]
    torch.testing.assert_close(alone, together)
    assert not torch.allclose(batch(quiet[None])[0], batch(torch.stack([quiet, loud]))[0])


def test_rescale_and_chunking():
    assert np.all(rescale_minmax(np.zeros(100, np.float32)) == 0)
    x = rescale_minmax(np.linspace(-0.1, 0.3, 1000).astype(np.float32))
    assert x.min() == pytest.approx(-1, abs=1e-4) and x.max() == pytest.approx(1, abs=1e-4)
    short = np.arange(SR, dtype=np.float32)  # 1 s: repeated to fill one 10 s chunk
    c = chunk_waveform(short, SR, 10.0)
    assert c.shape == (1, 10 * SR) and np.all(c[0, SR : 2 * SR] == short)
    long = np.arange(25 * SR, dtype=np.float32)  # 25 s: 0-10, 10-20 and the tail 15-25
    c = chunk_waveform(long, SR, 10.0)
    assert c.shape == (3, 10 * SR) and c[-1, -1] == long[-1] and c[2, 0] == long[15 * SR]
    with pytest.raises(AudioDecodeError, match="at least 0.5 s"):
        chunk_waveform(np.zeros(SR // 4, np.float32), SR)

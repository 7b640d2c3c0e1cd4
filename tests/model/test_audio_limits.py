"""load_audio against hostile and odd files: header limits checked before decoding, bounded
memory while decoding, real-world header/stream length mismatches accepted, and the same
numbers as decoding the whole file at once."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import soxr

from bench.hardening.crafted_audio import (
    probe_in_child,
    set_flac_total_samples,
    write_long_flac,
    write_overstated_ogg,
    write_rate_bomb_wav,
    write_silent_flac,
)
from ttmrpp.model import audio, decode
from ttmrpp.model.audio import AudioDecodeError, load_audio

SR = 22050
APP_QUERY_SECONDS = 600.0  # the app's limit for a query clip


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crafted")
    return {
        "rate_bomb": write_rate_bomb_wav(folder / "rate_bomb.wav"),
        "flac_bomb": write_silent_flac(folder / "flac_bomb.flac"),
        "ten_minutes": write_long_flac(folder / "ten_minutes.flac"),
    }


def tone(seconds, sr, channels=2, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    cols = [
        0.3 * np.sin(2 * np.pi * 110 * (c + 1) * t) + 0.05 * rng.standard_normal(len(t))
        for c in range(channels)
    ]
    return np.stack(cols, axis=1).astype(np.float32)


def test_memory_bombs_are_refused_by_their_header(crafted):
    rate_bomb, flac_bomb = crafted["rate_bomb"], crafted["flac_bomb"]
    assert rate_bomb.stat().st_size < 11_000 and sf.info(str(rate_bomb)).samplerate == 1
    info = sf.info(str(flac_bomb))
    assert (info.samplerate, info.channels, info.frames) == (384_000, 8, 120 * 384_000)
    assert flac_bomb.stat().st_size < 500_000
    with pytest.raises(AudioDecodeError, match="sample rate 1 Hz is outside") as exc:
        load_audio(rate_bomb)
    assert str(rate_bomb) in str(exc.value)
    for max_seconds, limit in [(audio.MAX_SECONDS, "60 min"), (APP_QUERY_SECONDS, "10 min")]:
        with pytest.raises(AudioDecodeError) as exc:
            load_audio(flac_bomb, max_seconds=max_seconds)
        message = str(exc.value)
        assert str(flac_bomb) in message and "8 channels at 384000 Hz" in message
        assert f"the limit is {limit} of 48 kHz stereo" in message


def test_peak_memory_of_crafted_files_in_a_child_process(crafted):
    for name, reason in [("rate_bomb", "sample rate 1 Hz"), ("flac_bomb", "too much audio")]:
        row = probe_in_child(crafted[name])
        assert not row["accepted"] and reason in row["message"], row
        assert row["rss_growth_mb"] < 100, (name, row)
        assert row["seconds"] < 1.0, (name, row)  # refused from the header alone


def test_peak_memory_of_a_ten_minute_track_in_a_child_process(crafted):
    row = probe_in_child(crafted["ten_minutes"])
    assert row["accepted"] and row["output"] == 600 * SR
    # The output alone is 600 s x 22,050 x 4 bytes = 53 MB; decoding all of it at 44.1 kHz
    # stereo in float32 before resampling (as before) took 212 MB more.
    assert row["rss_growth_mb"] < 100, row


@pytest.mark.slow  # a child process imports torch
def test_peak_memory_of_embedding_a_ten_minute_track(crafted):
    row = probe_in_child(crafted["ten_minutes"], embed=True)
    assert row["accepted"] and row["output"] == 1
    assert row["rss_growth_mb"] < 300, row


@pytest.mark.parametrize(
    "sr,channels,seconds,kw,reason",
    [
        (2_000, 1, 1.0, {}, "sample rate 2000 Hz is outside the accepted 4000..768000 Hz"),
        (8_000, 65, 0.5, {}, "65 channels; 1 to 64 are accepted"),
        (8_000, 1, 3.0, {"max_seconds": 2.0}, "too long (3.0 s; the limit is 2 s)"),
        (8_000, 1, 150.0, {"max_seconds": 120.0}, "too long (2.5 min; the limit is 2 min)"),
        (96_000, 2, 2.0, {"max_seconds": 1.5}, "too long (2.0 s; the limit is 1.5 s)"),
        (96_000, 4, 2.0, {"max_seconds": 3.0}, "too much audio to decode (4 channels at 96000"),
    ],
)
def test_header_limits(tmp_path, sr, channels, seconds, kw, reason):
    path = tmp_path / "x.wav"
    sf.write(str(path), np.zeros((int(seconds * sr), channels), np.int16), sr)
    with pytest.raises(AudioDecodeError) as exc:
        load_audio(path, **kw)
    assert str(exc.value).startswith(f"{path}: {reason}")


def test_audio_at_the_limits_is_accepted(tmp_path):
    path = tmp_path / "x.wav"
    sf.write(str(path), tone(2.0, 8_000, channels=1), 8_000)
    assert len(load_audio(path, 8_000, max_seconds=2.0)) == 16_000
    sf.write(str(path), tone(1.0, 48_000, channels=4), 48_000)  # 4 s of stereo work
    assert len(load_audio(path, 48_000, max_seconds=2.0)) == 48_000


def test_max_seconds_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="positive"):
        load_audio(tmp_path / "x.wav", max_seconds=0)


def test_decoding_stops_when_a_stream_passes_the_limit(tmp_path):
    """A FLAC header may say "length unknown" (total samples 0): the limit is then enforced
    while decoding."""
    path = tmp_path / "unknown.flac"
    sf.write(str(path), tone(3.0, 44_100), 44_100)
    whole = load_audio(path)
    set_flac_total_samples(path, 0)
    assert sf.info(str(path)).frames > 2**62  # libsndfile: unknown length
    with pytest.raises(AudioDecodeError, match=r"too long \(decoding passed the limit of 2 s\)"):
        load_audio(path, max_seconds=2.0)
    np.testing.assert_array_equal(load_audio(path, max_seconds=5.0), whole)


@pytest.mark.parametrize("subtype", ["VORBIS", "OPUS"])
def test_ogg_whose_header_overstates_its_length_is_accepted(tmp_path, subtype):
    path = write_overstated_ogg(tmp_path / f"x.{subtype.lower()}", subtype, extra=3_000)
    info = sf.info(str(path))
    decoded = sf.read(str(path))[0]
    assert info.frames > len(decoded)  # the header promises frames the stream does not hold
    wav = load_audio(path, SR)
    assert abs(len(wav) - len(decoded) * SR / info.samplerate) <= 1
    assert np.abs(wav).max() > 0.1


def test_flac_a_little_short_is_accepted_and_far_short_is_truncated(tmp_path):
    path = tmp_path / "x.flac"
    sf.write(str(path), tone(4.0, 44_100), 44_100)
    whole = load_audio(path)
    set_flac_total_samples(path, int(4.0 * 44_100 * 1.05))  # header 5 % longer than stream
    np.testing.assert_array_equal(load_audio(path), whole)
    set_flac_total_samples(path, int(4.0 * 44_100 * 1.5))
    with pytest.raises(AudioDecodeError, match="truncated file .header promises 264600 frames"):
        load_audio(path)


def test_flac_cut_in_half_is_truncated(tmp_path):
    path = tmp_path / "x.flac"
    sf.write(str(path), tone(4.0, 44_100), 44_100)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioDecodeError, match="truncated file"):
        load_audio(path)


def one_shot(path, target_sr):
    """The decoder as it was: the whole file in float32, mean of the channels, soxr HQ."""
    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return soxr.resample(data.mean(axis=1), sr, target_sr, quality="HQ").astype(np.float32)


FORMATS = {
    "wav": {},
    "flac": {},
    "ogg": {"format": "OGG", "subtype": "VORBIS"},
    "mp3": {"format": "MP3"},
}


@pytest.mark.parametrize("block_samples", [decode.BLOCK_SAMPLES, 5_000])
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_block_decoding_matches_decoding_the_whole_file(tmp_path, monkeypatch, fmt, block_samples):
    monkeypatch.setattr(decode, "BLOCK_SAMPLES", block_samples)
    for sr, channels in [(8_000, 1), (44_100, 2), (48_000, 6), (96_000, 2)]:
        if fmt == "mp3" and (sr > 48_000 or channels > 2):
            continue  # MPEG audio has at most 2 channels at 48 kHz
        path = tmp_path / f"x{sr}_{channels}.{fmt}"
        sf.write(str(path), tone(3.1, sr, channels, seed=sr), sr, **FORMATS[fmt])
        for target in (SR, 16_000, sr):
            ours, ref = load_audio(path, target), one_shot(path, target)
            assert ours.dtype == np.float32 and ours.shape == ref.shape, (sr, channels, target)
            np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6, err_msg=f"{path} {target}")


def test_ffmpeg_decoding_matches_decoding_the_whole_file(tmp_path, monkeypatch):
    av = pytest.importorskip("av")
    monkeypatch.setattr(decode, "BLOCK_SAMPLES", 5_000)
    path = tmp_path / "x.m4a"
    wav = tone(3.0, 44_100)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=44_100)
        frame = av.AudioFrame.from_ndarray(wav.reshape(1, -1), format="flt", layout="stereo")
        frame.sample_rate = 44_100
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=44_100)
        pieces = [
            out.to_ndarray().reshape(-1)
            for frame in [*container.decode(audio=0), None]
            for out in resampler.resample(frame)
        ]
    ref = soxr.resample(np.concatenate(pieces), 44_100, SR, quality="HQ")
    ours = load_audio(path, SR)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6)

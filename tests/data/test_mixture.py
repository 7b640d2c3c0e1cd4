import random
from collections import Counter

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import music_like
from ttmrpp.data.mixture import (
    ManifestSource,
    Mixture,
    random_clip,
    read_jamendo_tsv,
    read_musiccaps_csv,
)


def test_musiccaps_csv(tmp_path):
    path = tmp_path / "mc.csv"
    path.write_text(
        "ytid,start_s,end_s,audioset_positive_labels,aspect_list,caption,author_id,is_balanced_subset,is_audioset_eval\n"
        '-0Gj8-vB1q4,30,40,"/m/0140xf","[\'low quality\', \'sustained strings melody\', ""men\'s choir""]",'
        '"The low quality recording features a string melody.",4,False,True\n'
        'abc,0,10,x,"[\'rock\']","A rock song.",1,True,False\n'
    )
    sf.write(str(tmp_path / "abc.wav"), music_like(1.0), 22050)
    recs = read_musiccaps_csv(path, audio_dir=tmp_path)
    assert recs[0]["tags"]["aspect"] == ["low quality", "sustained strings melody", "men's choir"]
    assert recs[0]["split"] == "test" and recs[0]["audio"] is None
    assert recs[1]["pseudo_caption"] == "A rock song." and recs[1]["audio"] == str(
        tmp_path / "abc.wav"
    )


def test_jamendo_tsv(tmp_path):
    path = tmp_path / "split.tsv"
    path.write_text(
        "TRACK_ID\tARTIST_ID\tALBUM_ID\tPATH\tDURATION\tTAGS\n"
        "track_0000214\tartist_000014\talbum_000031\t14/214.mp3\t124.6\tgenre---punkrock\tmood/theme---energetic\n"
        "track_0000215\tartist_000014\talbum_000031\t15/215.mp3\t98.0\tinstrument---piano\n"
    )
    recs = read_jamendo_tsv(path, audio_dir="/music")
    assert recs[0]["tags"] == {"genre": ["punkrock"], "mood/theme": ["energetic"]}
    assert recs[1]["audio"] == "/music/15/215.mp3" and recs[1]["duration"] == 98.0
    (tmp_path / "bad.tsv").write_text("a\tb\n")
    with pytest.raises(ValueError, match="not an MTG-Jamendo TSV"):
        read_jamendo_tsv(tmp_path / "bad.tsv")


def test_manifest_source_skips_undecodable_and_mixture_weights(tmp_path):
    sf.write(str(tmp_path / "ok.wav"), music_like(1.0), 22050)
    (tmp_path / "bad.wav").write_text("nope")
    recs = [
        {"id": "ok", "audio": str(tmp_path / "ok.wav")},
        {"id": "bad", "audio": str(tmp_path / "bad.wav")},
    ]
    src = ManifestSource(recs, 22050, 2.0, seed=0)
    items = [next(iter(src)) for _ in range(5)]
    assert all(rec["id"] == "ok" and wav.shape == (44100,) for wav, rec in items)
    it = iter(src)
    for _ in range(20):
        next(it)
    assert list(src.failures) == [str(tmp_path / "bad.wav")]

    class Const:
        def __init__(self, name):
            self.name = name

        def __iter__(self):
            while True:
                yield np.zeros(1), {"id": self.name}

    mix = Mixture([(Const("a"), 0.8), (Const("b"), 0.2)], seed=1)
    it = iter(mix)
    counts = Counter(next(it)[1]["id"] for _ in range(2000))
    assert 0.75 < counts["a"] / 2000 < 0.85
    with pytest.raises(ValueError):
        Mixture([(Const("a"), 0.0)])


def test_manifest_source_cache_gives_the_same_clips(tmp_path):
    for i in range(3):
        sf.write(str(tmp_path / f"{i}.wav"), music_like(3.0, seed=i), 22050)
    recs = [{"id": str(i), "audio": str(tmp_path / f"{i}.wav")} for i in range(3)]
    plain, cached = (
        ManifestSource(recs, 22050, 1.0, seed=3),
        ManifestSource(recs, 22050, 1.0, seed=3, cache_bytes=2**30),
    )
    a = [next(iter(plain)) for _ in range(12)]
    b = [next(iter(cached)) for _ in range(12)]
    assert all(np.array_equal(x[0], y[0]) and x[1] == y[1] for x, y in zip(a, b, strict=True))
    assert len(cached.cache) == 3 and not plain.cache
    small = ManifestSource(recs, 22050, 1.0, seed=3, cache_bytes=3 * 22050 * 4)  # one track
    for _ in range(12):
        next(iter(small))
    assert len(small.cache) == 1


def test_random_clip_pads_and_crops():
    rng = random.Random(0)
    assert random_clip(np.ones(10, np.float32), 16, rng).tolist() == [1] * 10 + [0] * 6
    x = np.arange(100, dtype=np.float32)
    c = random_clip(x, 10, rng)
    assert len(c) == 10 and np.all(np.diff(c) == 1)

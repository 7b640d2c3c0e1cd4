"""The app's plain functions, called directly on a tiny model and a few generated tracks."""

from __future__ import annotations

import os
import shutil
from hashlib import sha256
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("hnswlib")
sf = pytest.importorskip("soundfile")

from tests.conftest import music_like  # noqa: E402
from tests.helpers.app import make_services  # noqa: E402
from ttmrpp.app import services as service  # noqa: E402
from ttmrpp.app.services.common import QueryError  # noqa: E402


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    return make_services(tmp_path_factory.mktemp("svc"), n=6)


@pytest.fixture
def fresh_services(tmp_path):
    """A collection that the test may change."""
    return make_services(tmp_path, n=4)


def test_search_text_ranks_by_cosine_and_returns_metadata(services):
    result = service.search_text(services, "rock, electric guitar, energetic", k=4)
    assert len(result.hits) == 4
    assert [h["rank"] for h in result.hits] == [1, 2, 3, 4]
    q = result.query_vector
    assert q.shape == (128,) and abs(np.linalg.norm(q) - 1) < 1e-5
    emb = dict(zip([t["path"] for t in services.index.tracks], services.index.embeddings))
    expected = sorted((float(emb[p] @ q) for p in emb), reverse=True)[:4]
    assert [h["score"] for h in result.hits] == pytest.approx(expected, abs=1e-4)
    top = result.hits[0]
    assert top["title"].startswith("Song ") and top["artist"].startswith("Artist ")
    assert top["album"].startswith("Album ") and "," in top["tags"]
    table = service.result_table(result)
    assert table[0][:3] == [1, top["score"], top["title"]] and len(table[0]) == 7
    assert service.RESULT_COLUMNS[-1] == "licence" and table[0][6] == top["licence"] == ""
    assert "4 tracks" in result.message


@pytest.mark.parametrize(
    "query, words",
    [("", "empty"), ("   ", "empty"), ("!!! ...", "no words"), (None, "empty")],
)
def test_search_text_refuses_empty_or_useless_input(services, query, words):
    with pytest.raises(QueryError, match=words):
        service.search_text(services, query)


def test_k_out_of_range_is_refused(services):
    with pytest.raises(QueryError, match="between 1 and"):
        service.search_text(services, "rock", k=0)


def test_search_audio_finds_the_same_track_first(services, tmp_path):
    track = services.index.tracks[3]
    copy = tmp_path / "query.wav"
    shutil.copyfile(track["path"], copy)  # another path: embedded afresh, not looked up
    result = service.search_audio(services, str(copy), k=3)
    assert result.hits[0]["path"] == track["path"]
    assert result.hits[0]["score"] == pytest.approx(1.0, abs=1e-4)
    assert result.hits[1]["score"] < 0.9999
    assert "query.wav" in result.query


def test_hybrid_weight_moves_between_text_and_audio(services):
    clip = services.index.tracks[2]["path"]
    text = "calm piano"
    only_text = service.search_text(services, text, k=6)
    only_audio = service.search_audio(services, clip, k=6)
    w0 = service.search_hybrid(services, text, clip, weight=0.0, k=6)
    w1 = service.search_hybrid(services, text, clip, weight=1.0, k=6)
    half = service.search_hybrid(services, text, clip, weight=0.5, k=6)
    assert [h["path"] for h in w0.hits] == [h["path"] for h in only_text.hits]
    assert [h["path"] for h in w1.hits] == [h["path"] for h in only_audio.hits]
    mix = only_text.query_vector + only_audio.query_vector
    assert half.query_vector == pytest.approx(mix / np.linalg.norm(mix), abs=1e-5)
    # text only / audio only through the hybrid entry point
    assert service.search_hybrid(services, text, None).hits[0] == only_text.hits[0]
    with pytest.raises(QueryError, match="Nothing to search"):
        service.search_hybrid(services, "  ", None)
    with pytest.raises(QueryError, match="between 0 and 1"):
        service.search_hybrid(services, text, clip, weight=1.5)


def test_malformed_query_clips_give_readable_messages(services, tmp_path):
    sr = 8000
    not_audio = tmp_path / "notes.wav"
    not_audio.write_text("this is not audio at all\n" * 50)
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    long_clip = tmp_path / "twenty-minutes.wav"
    sf.write(str(long_clip), np.zeros(20 * 60 * sr, dtype=np.int16), sr, subtype="PCM_16")
    short = tmp_path / "short.wav"
    sf.write(str(short), music_like(0.2, sr), sr)
    silent = tmp_path / "silent.wav"
    sf.write(str(silent), np.zeros(2 * sr, dtype=np.float32), sr)
    cases = {
        not_audio: "notes.wav is not audio we can read",
        empty: "empty.mp3 is empty",
        long_clip: "20.0 minutes long",
        short: "at least 0.5 s",
        silent: "silent",
        tmp_path / "gone.wav": "missing",
    }
    for path, words in cases.items():
        with pytest.raises(QueryError, match=words) as info:
            service.search_audio(services, str(path))
        assert str(tmp_path) not in str(info.value)  # no temporary paths in the message
    with pytest.raises(QueryError, match="No audio clip"):
        service.search_audio(services, None)


def test_example_queries_cover_every_kind(services):
    examples = service.example_queries(services)
    assert any(e.startswith("music track Song ") and " by Artist " in e for e in examples)
    assert any(e.startswith("similar with artist Artist ") for e in examples)
    assert any("," in e for e in examples)  # tags
    assert any(e.endswith(".") and len(e.split()) > 6 for e in examples)  # a caption sentence
    for e in examples:
        assert service.search_text(services, e, k=1).hits


def test_caption_compare_template_with_bertscore(services):
    pytest.importorskip("ttmrpp.text.captioning.generators", reason="the caption generators")
    rows = service.caption_compare(services, "jazz, piano,  , calm", reference=None)
    assert [r["name"] for r in rows] == ["template"]
    assert rows[0]["caption"] == "This music features jazz, piano and calm."
    assert rows[0]["latency_s"] >= 0 and rows[0]["bertscore_f1"] is None
    scored = service.caption_compare(services, "jazz, piano", "A calm jazz piano piece.")
    other = service.caption_compare(services, "jazz, piano", "Heavy metal with screaming vocals.")
    assert 0 < other[0]["bertscore_f1"] < scored[0]["bertscore_f1"] <= 1
    with pytest.raises(QueryError, match="No tags"):
        service.caption_compare(services, " , ;")


def test_caption_stream_grows_to_the_caption(services):
    pytest.importorskip("ttmrpp.text.captioning.generators", reason="the caption generators")

    class Chunky:
        """A captioner that streams word by word (as the LLM does token by token)."""

        def stream(self, tags):
            yield from ["Soft", " piano", " and", " calm", " jazz."]

    services_stream = service.Services(
        model=services.model,
        index=services.index,
        model_spec="ttmrpp-tiny",
        captioner_factory=lambda: {"template": service_template(), "chunky": Chunky()},
    )
    parts = list(service.caption_stream(services_stream, "jazz, piano", "chunky"))
    assert parts == ["Soft", "Soft piano", "Soft piano and", "Soft piano and calm"] + [
        "Soft piano and calm jazz."
    ]
    assert list(service.caption_stream(services, "rock", "template")) == [
        "This music features rock."
    ]
    with pytest.raises(QueryError, match="No generator 'lora'"):
        list(service.caption_stream(services, "rock", "lora"))
    streamed = list(service.caption_compare_stream(services_stream, "jazz", None))
    assert len(streamed) >= 7  # start, 1 template piece + done, 5 pieces + done
    assert streamed[-1][1]["caption"] == "Soft piano and calm jazz."


def service_template():
    from ttmrpp.text.captioning.generators import TemplateCaptioner

    return TemplateCaptioner()


def test_atlas_figure_colours_by_category_and_marks_the_query(services):
    pytest.importorskip("plotly")
    fig = service.atlas_figure(services, "genre")
    names = [t.name for t in fig.data]
    assert sum(int(n.split("(")[1].rstrip(")")) for n in names) == len(services.index)
    assert any(n.startswith("rock") for n in names)
    hover = " ".join(h for t in fig.data for h in t.hovertext)
    assert "Song 0" in hover and "Artist 0" in hover
    result = service.search_text(services, "ambient", k=1)
    marked = service.atlas_figure(services, "mood", result.query_vector, "ambient")
    assert marked.data[-1].name == "query: ambient"
    assert any(n.startswith("calm") for n in (t.name for t in marked.data))
    assert service.tag_categories(services) == ["genre", "instrument", "mood"]


def test_collection_info_counts(services):
    info = service.collection_info(services)
    assert info["tracks"] == 6 and info["artists"] == 3 and info["albums"] == 6
    assert info["tags"] == {"genre": 6, "instrument": 6, "mood": 6}
    assert info["model"] == "ttmrpp-tiny" and info["model_note"]
    assert info["real_tracks"] == 0 and info["real_packages"] == {}


def test_index_uploaded_files_adds_good_files_and_reports_failures(fresh_services, tmp_path):
    fresh_services.shared_uploads = True  # the operator shares uploads: they join the index
    up = tmp_path / "incoming"
    up.mkdir()
    good = [up / "new-a.wav", up / "new-b.flac"]
    for i, p in enumerate(good):
        sf.write(str(p), music_like(2.0, 22050, seed=500 + i), 22050)
    text = up / "readme.txt"
    text.write_text("hello")
    zero = up / "zero.ogg"
    zero.write_bytes(b"")
    calls = []
    before = len(fresh_services.index)
    report = service.index_uploaded_files(
        fresh_services, [*good, text, zero], progress=lambda d, t, w: calls.append((d, t))
    )
    assert sorted(report.added) == ["new-a.wav", "new-b.flac"]
    failed = dict(report.failed)
    assert set(failed) == {"readme.txt", "zero.ogg"}
    assert "not an audio file" in failed["readme.txt"] and "empty" in failed["zero.ogg"]
    assert report.tracks == before + 2 == len(fresh_services.index)
    assert calls[-1] == (2, 2)
    assert "Failed files" in report.summary() and "readme.txt" in report.summary()
    # searchable, and the copies live in the upload folder, one folder per content hash
    hit = service.search_audio(fresh_services, str(good[1]), k=1).hits[0]
    assert hit["title"] == "new-b" and hit["path"].startswith(str(fresh_services.upload_dir))
    assert Path(hit["path"]).parent.name == sha256(good[1].read_bytes()).hexdigest()
    # saved: a reload sees the new tracks; uploading again adds nothing
    from ttmrpp.search.index import MusicIndex

    assert len(MusicIndex.load(fresh_services.index_dir)) == before + 2
    again = service.index_uploaded_files(fresh_services, good)
    assert again.added == [] and again.skipped == 2
    with pytest.raises(QueryError, match="No files"):
        service.index_uploaded_files(fresh_services, [])


def stored_files(services) -> list[Path]:
    return sorted(p for p in Path(services.upload_dir).rglob("*") if p.is_file())


def test_uploads_stay_with_their_visitor_and_one_name_can_hold_two_songs(fresh_services, tmp_path):
    s = fresh_services
    shared_before = len(s.index)
    first, second, copy = tmp_path / "a" / "song.wav", tmp_path / "b" / "song.wav", tmp_path / "c"
    for folder in (first.parent, second.parent, copy):
        folder.mkdir()
    sf.write(str(first), music_like(2.0, 22050, seed=801), 22050)
    sf.write(str(second), music_like(2.0, 22050, seed=802), 22050)
    assert first.stat().st_size == second.stat().st_size  # same name, same size, other music
    shutil.copyfile(first, copy / "renamed.wav")  # the same bytes under another name

    alice, bob = service.VisitorUploads(s), service.VisitorUploads(s)
    report = service.index_uploaded_files(s, [first, second], session=alice)
    assert report.added == ["song.wav", "song.wav"] and report.yours == 2
    assert "for you only" in report.summary()
    assert len(s.index) == shared_before  # nothing joined the shared collection
    assert len(stored_files(s)) == 2
    again = service.index_uploaded_files(s, [copy / "renamed.wav"], session=alice)
    assert again.added == [] and again.skipped == 1 and len(stored_files(s)) == 2

    def top(session, clip):
        return service.search_audio(s, str(clip), k=1, session=session).hits[0]

    for clip in (first, second):
        hit = top(alice, clip)
        assert hit["yours"] and hit["score"] == pytest.approx(1.0, abs=1e-4)
        assert service.playable(s, hit["path"], alice)
        assert not service.playable(s, hit["path"], bob) and not service.playable(s, hit["path"])
        assert not top(bob, clip)["yours"] and not top(None, clip)["yours"]
    assert top(alice, first)["path"] != top(alice, second)["path"]
    info = service.collection_info(s, alice)
    assert info["your_uploads"] == 2 and info["uploads"] == "private"

    # Bob uploads the same bytes: stored once, held by both; Alice leaving keeps it for Bob
    service.index_uploaded_files(s, [copy / "renamed.wav"], session=bob)
    assert len(stored_files(s)) == 2
    alice.close()
    assert [p.parent.name for p in stored_files(s)] == [sha256(first.read_bytes()).hexdigest()]
    assert top(bob, first)["yours"]
    bob.close()
    assert stored_files(s) == []
    with pytest.raises(ValueError, match="session"):
        service.index_uploaded_files(s, [first])  # private uploads need the visitor's session


def test_upload_limits_are_checked_before_decoding(fresh_services, tmp_path):
    s = fresh_services
    s.limits = service.Limits(
        upload_files=3, file_bytes=400_000, upload_seconds=5.0, session_files=2
    )
    sr = 22050
    clips = []
    for i in range(4):
        clips.append(tmp_path / f"c{i}.wav")
        sf.write(str(clips[i]), music_like(2.0, sr, seed=900 + i), sr)
    big = tmp_path / "big.wav"  # 500 kB of silence: refused by size
    sf.write(str(big), np.zeros(250_000, dtype=np.int16), sr, subtype="PCM_16")
    long_clip = tmp_path / "long.ogg"  # 12 s: refused by its header's duration
    sf.write(str(long_clip), music_like(12.0, 8000, seed=3), 8000)
    assert long_clip.stat().st_size < 400_000
    fake = tmp_path / "fake.mp3"  # no duration in any header: refused, never decoded
    fake.write_bytes(os.urandom(2000))
    visitor = service.VisitorUploads(s)
    with pytest.raises(QueryError, match="4 files in one upload; at most 3"):
        service.index_uploaded_files(s, clips, session=visitor)
    report = service.index_uploaded_files(s, [big, long_clip, fake], session=visitor)
    failed = dict(report.failed)
    assert "MB" in failed["big.wav"] and "at most 5 seconds" not in failed["big.wav"]
    assert "minutes" in failed["long.ogg"] and "not an audio file" in failed["fake.mp3"]
    assert report.added == [] and stored_files(s) == []  # refused files are never stored
    report = service.index_uploaded_files(s, clips[:3], session=visitor)
    assert report.added == ["c0.wav", "c1.wav"]
    assert "limit of 2 files" in dict(report.failed)["c2.wav"]
    assert visitor.files == 2 and len(visitor) == 2


def test_index_folder_only_inside_the_allowed_roots(fresh_services, tmp_path):
    s = fresh_services
    root = tmp_path / "music"
    folder = root / "sub"
    folder.mkdir(parents=True)
    sf.write(str(folder / "x.wav"), music_like(1.5, 22050, seed=9), 22050)
    (folder / "cover.jpg").write_bytes(b"\xff\xd8")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    sf.write(str(outside / "private.wav"), music_like(1.5, 22050, seed=10), 22050)
    (folder / "leak.wav").symlink_to(outside / "private.wav")  # a file link out of the root
    (root / "way-out").symlink_to(outside, target_is_directory=True)

    with pytest.raises(QueryError, match="turned off"):
        service.index_folder(s, str(root))  # no roots: off
    s.allowed_roots = (root.resolve(),)
    report = service.index_folder(s, str(root))
    assert report.added == ["x.wav"] and not report.failed
    assert report.ignored == 2  # cover.jpg, and the link that resolves outside the root
    assert not any("private" in t["path"] for t in s.index.tracks)
    refused = [
        "/etc",
        "/etc/passwd",
        str(tmp_path / "nope"),
        str(outside),
        str(root / "way-out"),
        str(root / ".." / "elsewhere"),
        str(folder / "x.wav"),
        str(root / "missing"),
        "relative/path",
        "/" + "x" * 5000,
    ]
    for path in refused:
        with pytest.raises(QueryError) as info:
            service.index_folder(s, path)
        assert str(info.value) == service.NOT_ALLOWED, path
    with pytest.raises(QueryError, match="No folder"):
        service.index_folder(s, " ")


@pytest.mark.parametrize("k", [float("nan"), float("inf"), "abc", "5", 2.5, -1, 0, True, [3]])
def test_bad_k_is_a_query_error_with_a_short_message(services, k):
    with pytest.raises(QueryError, match="whole number between 1 and 100") as info:
        service.search_text(services, "rock", k=k)
    assert len(str(info.value)) < 120


def test_k_as_a_whole_float_is_accepted(services):
    assert len(service.search_text(services, "rock", k=3.0).hits) == 3
    assert len(service.search_text(services, "rock", k=np.int64(2)).hits) == 2


def test_long_or_odd_text_is_refused_with_a_short_message(services):
    for call in (
        lambda: service.search_text(services, "rock " * 200_000),
        lambda: service.search_hybrid(services, "x" * 501, None),
        lambda: service.caption_compare(services, "jazz, " * 1000),
        lambda: service.caption_compare(services, "jazz", "a" * 5000),
    ):
        with pytest.raises(QueryError, match="characters long; at most") as info:
            call()
        assert len(str(info.value)) < 100
    with pytest.raises(QueryError, match="must be text"):
        service.search_text(services, {"not": "text"})
    with pytest.raises(QueryError, match="between 0 and 1"):
        service.search_hybrid(services, "rock", None, weight=float("nan"))
    with pytest.raises(QueryError, match="No generator") as info:
        list(service.caption_stream(services, "rock", "g" * 10_000))
    assert len(str(info.value)) < 120
    echoed = "!" * 400
    with pytest.raises(QueryError, match="no words") as info:
        service.search_text(services, echoed)
    assert echoed not in str(info.value) and len(str(info.value)) < 200


def test_query_clip_larger_than_the_limit_is_refused_before_decoding(services, tmp_path):
    clip = tmp_path / "huge.wav"
    sf.write(str(clip), music_like(3.0, 22050), 22050)
    services_small = service.Services(
        model=services.model,
        index=services.index,
        model_spec="ttmrpp-tiny",
        limits=service.Limits(file_bytes=10_000),
    )
    with pytest.raises(QueryError, match=r"huge.wav is 0.1 MB; files can be at most 0.0095 MB\."):
        service.search_audio(services_small, str(clip))

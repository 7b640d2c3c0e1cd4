"""MusicIndex: building from folders and manifests, incremental updates, atomic saves, queries."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.search import discriminative_tiny_model, write_track

pytest.importorskip("hnswlib")
sf = pytest.importorskip("soundfile")

from ttmrpp.search.backends.hnsw import exact_topk  # noqa: E402
from ttmrpp.search.index import (  # noqa: E402
    EmptyQueryError,
    ModelMismatchError,
    MusicIndex,
    model_fingerprint,
)


@pytest.fixture(scope="module")
def model():
    return discriminative_tiny_model()


@pytest.fixture()
def music_dir(tmp_path) -> Path:
    """Six decodable tracks in nested folders, three bad files, one non-audio file."""
    root = tmp_path / "music"
    write_track(root / "a" / "one.flac", 1, tags={"title": "Neon Harbor", "artist": "Orbits"})
    write_track(root / "a" / "two.ogg", 2, tags={"title": "Glass", "album": "Ferries"})
    write_track(root / "b" / "three.wav", 3)
    write_track(root / "b" / "deep" / "four.wav", 4, seconds=5.0)
    write_track(root / "five.flac", 5)
    write_track(root / "six.wav", 6, seconds=1.0)
    full = (root / "five.flac").read_bytes()
    (root / "corrupt.flac").write_bytes(full[: len(full) // 3])
    (root / "empty.wav").write_bytes(b"")
    (root / "notes.mp3").write_text("this is not audio, just text in an mp3-named file\n" * 40)
    (root / "cover.txt").write_text("ignored: not an audio extension")
    return root


BAD = ("corrupt.flac", "empty.wav", "notes.mp3")


def build(model, source) -> tuple[MusicIndex, object]:
    index = MusicIndex.create(model)
    return index, index.update(model, source, progress=False)


def test_folder_build_lists_failures_and_reruns_embed_nothing(model, music_dir):
    index, report = build(model, music_dir)
    assert len(index) == 6 and report.embedded == 9
    assert sorted(Path(p).name for p, _ in report.failures) == sorted(BAD)
    assert all(Path(p).name in reason for p, reason in report.failures)  # reason names the file
    assert report.ignored_files == 1
    by_name = {Path(t["path"]).name: t for t in index.tracks}
    assert by_name["one.flac"]["title"] == "Neon Harbor"
    assert by_name["one.flac"]["artist"] == "Orbits"
    assert by_name["two.ogg"]["album"] == "Ferries"
    assert by_name["three.wav"]["title"] == "three"  # no tags: the file name
    assert by_name["four.wav"]["duration"] == pytest.approx(5.0, abs=0.01)
    assert np.allclose(np.linalg.norm(index.embeddings, axis=1), 1.0, atol=1e-5)

    again = index.update(model, music_dir, progress=False)
    assert again.embedded == 0 and again.touched == 0
    assert again.unchanged == 6 and again.known_failures == 3


def test_incremental_update_touches_only_changes(model, music_dir, tmp_path):
    index, _ = build(model, music_dir)
    out = index.save(tmp_path / "idx")
    index = MusicIndex.load(out)
    before = {t["path"]: v for t, v in zip(index.tracks, index.embeddings)}

    (music_dir / "five.flac").unlink()
    write_track(music_dir / "b" / "seven.ogg", 7)
    report = index.update(model, music_dir, progress=False)
    assert report.touched == 2 and report.embedded == 1
    assert [Path(p).name for p in report.added] == ["seven.ogg"]
    assert [Path(p).name for p in report.removed] == ["five.flac"]

    changed = music_dir / "b" / "three.wav"
    write_track(changed, 99, seconds=3.5)
    os.utime(changed, ns=(1, 1_000_000_000))  # a different mtime even on coarse clocks
    report = index.update(model, music_dir, progress=False)
    assert [Path(p).name for p in report.changed] == ["three.wav"] and report.embedded == 1
    after = {t["path"]: v for t, v in zip(index.tracks, index.embeddings)}
    assert not np.allclose(after[str(changed)], before[str(changed)])
    same = str(music_dir / "a" / "one.flac")
    assert np.array_equal(after[same], before[same])  # untouched tracks keep their vectors

    # a fixed corrupt file is retried (its size/mtime changed) and indexed
    write_track(music_dir / "corrupt.flac", 8)
    report = index.update(model, music_dir, progress=False)
    assert [Path(p).name for p in report.added] == ["corrupt.flac"] and report.embedded == 1

    index.save(out)
    loaded = MusicIndex.load(out)
    assert len(loaded) == len(index) == 7
    assert sorted(t["path"] for t in loaded.tracks) == sorted(t["path"] for t in index.tracks)


def test_crash_mid_save_leaves_previous_index(model, music_dir, tmp_path, monkeypatch):
    index, _ = build(model, music_dir)
    out = index.save(tmp_path / "idx")
    old_paths = sorted(t["path"] for t in index.tracks)
    write_track(music_dir / "new.wav", 11)
    index.update(model, music_dir, progress=False)
    assert len(index) == 7

    import ttmrpp.search.store as store

    def interrupted(snapshot, tmp):  # vectors and tracks are written, then Ctrl-C
        assert (tmp / "embeddings.npy").exists() and (tmp / "tracks.jsonl").exists()
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "_write_hnsw", interrupted)
    with pytest.raises(KeyboardInterrupt):
        index.save(out)
    monkeypatch.undo()
    loaded = MusicIndex.load(out)
    assert sorted(t["path"] for t in loaded.tracks) == old_paths
    assert len(loaded.search_vector(loaded.embeddings[0], k=10)) == 6
    # nothing left beside the index but its lock file
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [".idx.lock"]

    # the second rename fails (old folder moved aside, new not yet in place): the old one
    # goes back (a real crash at that point: tests/search/test_index_safety.py)
    real_replace, calls = os.replace, []

    def fails_on_second(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", fails_on_second)
    with pytest.raises(OSError, match="disk full"):
        index.save(out)
    monkeypatch.undo()
    assert sorted(t["path"] for t in MusicIndex.load(out).tracks) == old_paths
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [".idx.lock"]
    index.save(out)
    assert len(MusicIndex.load(out)) == 7


def test_interrupted_update_keeps_checkpointed_work(model, music_dir, tmp_path):
    index = MusicIndex.create(model)
    out = tmp_path / "idx"
    calls = []

    def checkpoint(ix):
        calls.append(len(ix))
        ix.save(out)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C after two groups

    with pytest.raises(KeyboardInterrupt):
        index.update(model, music_dir, progress=False, group_size=3, checkpoint=checkpoint)
    # files in path order, three at a time: [one, two, four], [three, corrupt, empty]
    assert calls == [3, 4]
    saved = MusicIndex.load(out)
    assert len(saved) == 4 and sorted(Path(p).name for p in saved.failures) == list(BAD[:2])
    report = saved.update(model, music_dir, progress=False)
    assert report.embedded == 3 and report.known_failures == 2  # only what was not yet seen
    assert [Path(p).name for p, _ in report.failures] == ["notes.mp3"] and len(saved) == 6


def test_save_refuses_to_replace_a_non_index_folder(model, music_dir):
    index, _ = build(model, music_dir)
    with pytest.raises(FileExistsError, match="not an index folder"):
        index.save(music_dir)
    assert (music_dir / "five.flac").exists()


def test_mixing_models_refused(model, music_dir, tmp_path):

    import ttmrpp

    index, _ = build(model, music_dir)
    other = discriminative_tiny_model(seed=1)
    assert model_fingerprint(other) != model_fingerprint(model)
    with pytest.raises(ModelMismatchError, match="cannot be mixed"):
        index.update(other, music_dir, progress=False)
    with pytest.raises(ModelMismatchError):
        index.search(other, text="rock")
    # the same weights saved and reloaded are the same model
    model.save_pretrained(tmp_path / "m")
    reloaded = ttmrpp.load_model(tmp_path / "m")
    assert model_fingerprint(reloaded) == model_fingerprint(model)
    assert index.search(reloaded, text="rock", k=3)


def test_query_by_audio_returns_that_track_first(model, music_dir):
    import ttmrpp

    index, _ = build(model, music_dir)
    for track in index.tracks:
        hits = index.search(model, audio=track["path"], k=3)
        assert hits[0].track["path"] == track["path"]
        assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    # a recorded clip (waveform), not a file
    path = str(music_dir / "b" / "three.wav")
    wav = ttmrpp.load_audio(path, model.config.sample_rate)
    hits = index.search(model, audio=wav, k=2)
    assert hits[0].track["path"] == path and hits[0].score > 0.999
    hits = index.search(model, audio=path, k=2, exclude={path})
    assert path not in [h.track["path"] for h in hits]


def test_text_hybrid_scores_and_empty_query(model, music_dir):
    index, _ = build(model, music_dir)
    hits = index.search(model, text="calm piano with strings", k=4)
    assert [h.rank for h in hits] == [1, 2, 3, 4]
    q = model.encode_text(["calm piano with strings"])[0].detach().numpy()
    sims = {t["path"]: float(v @ q) for t, v in zip(index.tracks, index.embeddings)}
    expected = sorted(sims, key=sims.get, reverse=True)[:4]
    assert [h.track["path"] for h in hits] == expected
    assert [h.score for h in hits] == pytest.approx([sims[p] for p in expected], abs=1e-5)

    audio = str(music_dir / "a" / "two.ogg")
    only_audio = index.search(model, text="calm piano", audio=audio, weight=1.0, k=6)
    assert [h.track["path"] for h in only_audio] == [
        h.track["path"] for h in index.search(model, audio=audio, k=6)
    ]
    only_text = index.search(model, text="calm piano", audio=audio, weight=0.0, k=6)
    assert [h.track["path"] for h in only_text] == [
        h.track["path"] for h in index.search(model, text="calm piano", k=6)
    ]
    mixed = index.query_vector(model, "calm piano", audio, weight=0.5)
    assert np.linalg.norm(mixed) == pytest.approx(1.0, abs=1e-5)

    for empty in ("", "   ", None):
        with pytest.raises(EmptyQueryError, match="empty query"):
            index.search(model, text=empty)
    with pytest.raises(ValueError, match="weight"):
        index.search(model, text="x", audio=audio, weight=1.5)


def test_manifest_build_metadata_and_filters(model, tmp_path):
    root = tmp_path / "catalog"
    genres = ["rock", "jazz", "rock", "ambient", "jazz", "rock"]
    lines = []
    for i, genre in enumerate(genres):
        rel = f"audio/t{i:03d}.ogg"
        write_track(root / rel, 20 + i)
        lines.append(
            {
                "id": f"t{i:03d}",
                "audio": rel,
                "duration": 2.5,
                "split": "test" if i < 2 else "train",
                "tags": {"genre": [genre], "mood": ["calm" if i % 2 else "energetic"]},
                "title": f"Song {i}",
                "artist": "The Orbits" if i < 3 else "Ana Corvel",
            }
        )
    lines.append({"id": "gone", "audio": "audio/missing.wav"})
    manifest = root / "catalog.jsonl"
    manifest.write_text("".join(json.dumps(x) + "\n" for x in lines))
    index, report = build(model, manifest)
    assert len(index) == 6
    assert [(Path(p).name, r.endswith("no such file")) for p, r in report.failures] == [
        ("missing.wav", True)
    ]
    rec = next(t for t in index.tracks if t["id"] == "t003")
    assert rec["tags"]["genre"] == ["ambient"] and rec["artist"] == "Ana Corvel"

    q = index.embeddings[0]
    rock = index.search_vector(q, k=10, filters={"genre": "rock"})
    assert sorted(h.track["id"] for h in rock) == ["t000", "t002", "t005"]
    both = index.search_vector(q, k=10, filters={"genre": ["rock", "jazz"], "mood": "CALM"})
    assert sorted(h.track["id"] for h in both) == ["t001", "t005"]  # calm and rock or jazz
    assert [h.track["id"] for h in index.search_vector(q, filters={"artist": "the orbits"})] == [
        h.track["id"] for h in index.search_vector(q) if h.track["artist"] == "The Orbits"
    ]
    assert {h.track["id"] for h in index.search_vector(q, filters={"tag": "ambient"})} == {"t003"}
    assert index.search_vector(q, filters={"split": "valid"}) == []

    # metadata edits in the manifest update records without re-embedding
    lines[3]["tags"]["genre"] = ["drone"]
    manifest.write_text("".join(json.dumps(x) + "\n" for x in lines))
    report = index.update(model, manifest, progress=False)
    assert report.embedded == 0 and report.metadata_updated == 1
    assert {h.track["id"] for h in index.search_vector(q, filters={"genre": "drone"})} == {"t003"}


def test_bad_manifest_line_is_named(model, tmp_path):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{"id": "a", "audio": "a.wav"}\n{"id": "b"\n')
    with pytest.raises(ValueError, match=r"m.jsonl:2: invalid JSON"):
        MusicIndex.create(model).update(model, manifest, progress=False)


def clustered(n: int, dim: int = 128, centers: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centers, dim))
    x = c[rng.integers(0, centers, n)] + 0.6 * rng.standard_normal((n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_exact_and_hnsw_agree(model, tmp_path, monkeypatch):
    import ttmrpp.search.backends.choice as choice

    monkeypatch.setattr(choice, "EXACT_LIMIT", 1000)  # HNSW from 1000 tracks on
    n = 1300
    data = clustered(n + 100)
    records = [
        {"id": f"v{i}", "path": f"/virtual/{i}.wav", "size": 1, "mtime": 1} for i in range(n)
    ]
    index = MusicIndex.create(model)
    index.method = "hnsw"  # not "auto", which may pick the scan when it is faster
    index.add_embeddings(records[:100], data[:100])
    assert not index.uses_hnsw
    small = index.search_vector(data[n], k=10)
    idx, scores = exact_topk(data[:100], data[n][None], 10)
    assert [h.track["id"] for h in small] == [f"v{i}" for i in idx[0]]
    assert [h.score for h in small] == pytest.approx(scores[0].tolist(), abs=1e-5)

    index.add_embeddings(records[100:], data[100:n])
    assert index.uses_hnsw and index.ef >= 10 and index.calibrated_recall >= 0.99
    queries = data[n:]
    truth, _ = exact_topk(data[:n], queries, 10)
    got = [[int(h.track["id"][1:]) for h in index.search_vector(q, k=10)] for q in queries]
    recall = np.mean([len(set(g) & set(t)) / 10 for g, t in zip(got, truth)])
    assert recall >= 0.97
    hit = index.search_vector(queries[0], k=10)
    assert hit[0].score == pytest.approx(float(data[truth[0][0]] @ queries[0]), abs=1e-4)

    # deletions are honoured, the ef survives a save/load, and results are identical
    dropped = [f"/virtual/{i}" + ".wav" for i in truth[0][:3]]
    assert index.remove_paths(dropped) == 3
    after = [h.track["path"] for h in index.search_vector(queries[0], k=10)]
    assert not set(after) & set(dropped)
    out = index.save(tmp_path / "big")
    loaded = MusicIndex.load(out)
    assert loaded.uses_hnsw and loaded.ef == index.ef
    assert [h.track["path"] for h in loaded.search_vector(queries[0], k=10)] == after
    rock = loaded.search_vector(queries[0], k=5, filters={"id": ["v1", "v2", "v3"]})
    assert {h.track["id"] for h in rock} == {"v1", "v2", "v3"}


def test_large_collections_are_scanned(model, tmp_path, monkeypatch):
    import ttmrpp.search.backends.choice as choice
    import ttmrpp.search.index as index_module

    monkeypatch.setattr(choice, "EXACT_LIMIT", 500)
    monkeypatch.setattr(choice, "SCAN_LIMIT", 2000)  # the compressed scan from 2000 on
    monkeypatch.setattr(index_module, "FILTER_EXACT_LIMIT", 100)
    n = 3000
    data = clustered(n + 50, seed=1)
    records = [
        {"id": f"v{i}", "path": f"/virtual/{i}.wav", "size": 1, "mtime": 1, "genre": "ab"[i % 2]}
        for i in range(n)
    ]
    index = MusicIndex.create(model)
    index.add_embeddings(records[:1000], data[:1000])
    # between the limits "auto" builds both, calibrates both and keeps the faster
    assert index.search_method in ("hnsw", "scan")
    assert set(index.method_timings) == {"hnsw_ms", "scan_ms"}
    assert index.calibrated_recall >= 0.99
    index.add_embeddings(records[1000:], data[1000:n])
    assert index.search_method == "scan" and index.ef is None
    assert index.scan_candidates >= 10 and index.calibrated_recall >= 0.99
    queries = data[n:]
    truth, _ = exact_topk(data[:n], queries, 10)
    got = [[int(h.track["id"][1:]) for h in index.search_vector(q, k=10)] for q in queries]
    assert np.mean([len(set(g) & set(t)) / 10 for g, t in zip(got, truth)]) >= 0.97
    hit = index.search_vector(queries[0], k=10)
    assert hit[0].score == pytest.approx(float(data[truth[0][0]] @ queries[0]), abs=1e-4)

    # filters (more rows than FILTER_EXACT_LIMIT pass, so the scan applies them)
    only_b = index.search_vector(queries[0], k=10, filters={"genre": "b"})
    b_rows = np.arange(1, n, 2)
    b_truth = b_rows[exact_topk(data[b_rows], queries[0][None], 10)[0][0]]
    assert {h.track["genre"] for h in only_b} == {"b"}
    assert len({int(h.track["id"][1:]) for h in only_b} & set(b_truth)) >= 9

    # deletions are honoured; the method and calibration survive a save/load
    dropped = [f"/virtual/{i}.wav" for i in truth[0][:3]]
    assert index.remove_paths(dropped) == 3
    after = [h.track["path"] for h in index.search_vector(queries[0], k=10)]
    assert len(after) == 10 and not set(after) & set(dropped)
    loaded = MusicIndex.load(index.save(tmp_path / "scanned"))
    assert loaded.search_method == "scan" and loaded.scan_candidates == index.scan_candidates
    assert [h.track["path"] for h in loaded.search_vector(queries[0], k=10)] == after
    assert json.loads((tmp_path / "scanned" / "index.json").read_text())["search"] == "scan"

    # shrinking well below the limit decides again; a chosen method is kept
    loaded.method_timings = None
    loaded.remove_paths([f"/virtual/{i}.wav" for i in range(1500)])
    assert len(loaded) < 1600 and loaded.method_timings is not None
    loaded.method = "hnsw"
    loaded.remove_paths(["/virtual/2999.wav"])
    assert loaded.search_method == "hnsw" and loaded.scan_candidates is None
    rows = [int(h.track["id"][1:]) for h in loaded.search_vector(queries[1], k=5)]
    live = np.arange(1500, 2999)
    assert len(set(rows) & set(live[exact_topk(data[live], queries[1][None], 5)[0][0]])) >= 4


def test_searches_run_safely_during_updates(model, music_dir):
    index, _ = build(model, music_dir)
    q = index.embeddings[0]
    errors, stop = [], threading.Event()

    def searcher():
        while not stop.is_set():
            try:
                hits = index.search_vector(q, k=3)
                assert 1 <= len(hits) <= 3
            except Exception as exc:  # pragma: no cover - only on failure
                errors.append(exc)

    thread = threading.Thread(target=searcher)
    thread.start()
    try:
        for i in range(3):
            write_track(music_dir / f"extra{i}.wav", 40 + i)
            index.update(model, music_dir, progress=False)
    finally:
        stop.set()
        thread.join()
    assert errors == [] and len(index) == 9

import json

import soundfile as sf
from conftest import music_like

from train import evaluate


def test_evaluate_runs_all_protocols(tmp_path):
    (tmp_path / "audio").mkdir()
    genres = ["rock", "jazz"]
    artists = ["Ada Vale", "Bo Crane", "Cy Moss", "Di Fern"]
    similar = {
        "Ada Vale": ["Bo Crane"],
        "Bo Crane": ["Ada Vale"],
        "Cy Moss": ["Di Fern"],
        "Di Fern": ["Cy Moss"],
    }
    with (tmp_path / "bench.jsonl").open("w") as f:
        for i in range(24):
            artist = artists[i % 4]
            genre = genres[0] if artist in ("Ada Vale", "Bo Crane") else genres[1]
            sf.write(str(tmp_path / "audio" / f"{i}.wav"), music_like(2.0, 22050, seed=i), 22050)
            rec = {
                "id": str(i), "audio": f"audio/{i}.wav", "split": "test",
                "tags": {"genre": [genre], "mood": ["calm" if i % 2 else "energetic"]},
                "title": f"Song {i}", "artist": artist, "album": "A",
                "similar_artists": similar[artist], "captions": [f"a {genre} song number {i % 6}"],
            }  # fmt: skip
            f.write(json.dumps(rec) + "\n")
    out = evaluate.main(
        [
            "--model",
            "ttmrpp-tiny",
            "--manifest",
            str(tmp_path / "bench.jsonl"),
            "--out",
            str(tmp_path / "r.json"),
        ]
    )
    assert out["tracks"] == 24 and out["caption"]["queries"] == 12
    assert 0 <= out["caption"]["R@10"] <= 100 and out["caption"]["median_rank"] >= 1
    assert out["tag"]["tags"] == 4 and 0 <= out["tag"]["ROC-AUC"] <= 1
    assert out["track_similarity"]["triplets"] == 24
    assert 0 <= out["artist_similarity"]["nDCG@200"] <= 1
    assert json.loads((tmp_path / "r.json").read_text())["tracks"] == 24

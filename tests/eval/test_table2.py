import json

import pytest
import soundfile as sf
import torch

import ttmrpp
from tests.conftest import music_like
from ttmrpp.cli.main import main as cli
from ttmrpp.eval.benchmark import evaluate_model
from ttmrpp.eval.table2 import known_artists, table_row
from ttmrpp.fileio import atomic_write_jsonl, file_sha256

ARTISTS = ["Ada Vale", "Bo Crane", "Cy Moss", "Di Fern"]
SIMILAR = {"Ada Vale": ["Bo Crane"], "Bo Crane": ["Ada Vale"], "Cy Moss": ["Di Fern"],
           "Di Fern": ["Cy Moss"]}  # fmt: skip


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    (root / "audio").mkdir()
    with (root / "bench.jsonl").open("w") as f:
        for i in range(26):
            artist = ARTISTS[i % 4]
            genre = "rock" if artist in ("Ada Vale", "Bo Crane") else "jazz"
            sf.write(str(root / "audio" / f"{i}.wav"), music_like(2.0, 22050, seed=i), 22050)
            rec = {
                "id": str(i), "audio": f"audio/{i}.wav", "split": "test" if i < 24 else "train",
                "tags": {"genre": [genre], "mood": ["calm" if i % 2 else "energetic"]},
                "title": f"Song {i}", "artist": artist if i < 24 else ARTISTS[i % 2],
                "album": "A", "similar_artists": SIMILAR[artist],
                "captions": [f"a {genre} song number {i % 6}"],
            }  # fmt: skip
            f.write(json.dumps(rec) + "\n")
    return root / "bench.jsonl"


def test_evaluate_runs_all_protocols(bench, tmp_path):
    with pytest.warns(ttmrpp.UntrainedModelWarning):
        out = evaluate_model("ttmrpp-tiny", bench)
    assert out["tracks"] == 24 and out["caption"]["queries"] == 12
    assert 0 <= out["caption"]["R@10"] <= 100 and out["caption"]["median_rank"] >= 1
    assert out["tag"]["tags"] == 4 and 0 <= out["tag"]["ROC-AUC"] <= 1
    # Two artists (Ada Vale, Bo Crane) have training-split tracks: they are the known ones.
    assert out["known_artist_tracks"] == 12
    assert out["metadata"]["all"]["queries"] == 24 and out["metadata"]["known"]["queries"] == 12
    assert out["track_similarity"]["all"]["triplets"] == 24
    assert out["track_similarity"]["known"]["triplets"] == 12
    artist = out["artist_similarity"]
    assert artist["candidates"] == 4 and artist["known"]["artists"] == 2
    assert 0 <= artist["known"]["nDCG@200"] <= 1
    assert 0 <= artist["known"]["nDCG@200 own-audio query"] <= 1
    assert out["row"] == table_row(out) and out["row"]["tag ROC-AUC"] == out["tag"]["ROC-AUC"]


def test_known_artists_are_those_outside_the_test_split():
    recs = [
        {"artist": "A", "split": "train"},
        {"artist": "B", "split": "test"},
        {"artist": "C", "split": "valid"},
    ]
    assert known_artists(recs) == {"A", "C"}


def test_evaluate_cli_accepts_folders_and_official_checkpoints(bench, tmp_path, capsys):
    torch.manual_seed(0)
    model = ttmrpp.create_model("ttmrpp-tiny")
    model.save_pretrained(tmp_path / "folder")
    state = {"epoch": 1, "state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}}
    torch.save(state, tmp_path / "official.pth")
    rows = []
    for spec in (str(tmp_path / "folder"), str(tmp_path / "official.pth")):
        args = [spec, "--manifest", str(bench), "--official-config", "ttmrpp-tiny"]
        assert cli(["evaluate", *args]) == 0
        rows.append(json.loads(capsys.readouterr().out)["row"])
    assert rows[0] == pytest.approx(rows[1])  # the same weights in both layouts


def test_evaluate_cli_refuses_bad_checkpoints(bench, tmp_path, capsys):
    (tmp_path / "broken.pth").write_bytes(b"not a checkpoint")
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "half").mkdir()
    ttmrpp.create_model("ttmrpp-tiny").save_pretrained(tmp_path / "half")
    weights = tmp_path / "half" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    for spec, message in [
        (tmp_path / "broken.pth", "not a readable torch checkpoint"),
        (tmp_path / "notes.txt", "expected a model folder"),
        (tmp_path / "half", "corrupt or truncated"),
        (tmp_path / "missing", "no such model folder"),
    ]:
        assert cli(["evaluate", str(spec), "--manifest", str(bench)]) == 2
        assert message in capsys.readouterr().err


def test_table_row_handles_missing_protocols():
    row = table_row({"tag": {"ROC-AUC": 0.9, "PR-AUC": 0.5}})
    assert row["tag ROC-AUC"] == 0.9 and row["caption R@10"] is None


def test_chance_row_matches_the_analytic_random_ranking(bench, tmp_path, capsys):
    # Each of the 12 captions has 2 of the 24 tracks: a random ranking puts one of them in the
    # top 10 with probability 1 - C(22,10)/C(24,10) = 1 - 182/552.
    assert cli(["evaluate", "chance", "--manifest", str(bench), "--draws", "400"]) == 0
    out = json.loads(capsys.readouterr().out)
    row, sem = out["row"], out["row_sem"]
    assert out["draws"] == 400 and out["tracks"] == 24
    assert abs(row["caption R@10"] - 100 * (1 - 182 / 552)) < 4 * sem["caption R@10"]
    assert abs(row["tag ROC-AUC"] - 0.5) < 4 * sem["tag ROC-AUC"]
    assert abs(row["track triplet acc"] - 0.5) < 4 * sem["track triplet acc"]
    # Seeded: the same draws give the same row.
    assert cli(["evaluate", "chance", "--manifest", str(bench), "--draws", "400"]) == 0
    assert json.loads(capsys.readouterr().out)["row"] == row


def test_table2_summary_prints_single_run_rows_without_a_range():
    from train.table2 import summarize

    def run(r10):
        return {"row": {"caption R@10": r10}}

    summary, table = summarize({"chance": [run(6.7)], "tag": [run(80.0), run(82.0)],
                                "tag,caption": [run(85.0), run(86.0)]})  # fmt: skip
    assert "| random (chance) | 6.7 |\n" in table
    assert "| tag | 81 <sub>[80, 82]</sub> |\n" in table
    (trend,) = summary["trends"]
    assert trend["delta"] == pytest.approx(4.5) and trend["seed_spread"] == 2.0 and trend["holds"]


def test_table2_caption_variants_get_their_own_suffix(tmp_path):
    from train.table2 import parse_args

    default = parse_args(["--out", str(tmp_path)])
    assert default.captions == "constrained" and default.variant == ""
    assert parse_args(["--out", str(tmp_path), "--captions", "raw"]).variant == "raw"
    assert parse_args(["--out", str(tmp_path), "--captions", "faithful"]).variant == "faithful"
    args = parse_args(["--out", str(tmp_path), "--adapter", "a", "--variant", "long"])
    assert args.variant == "long" and str(args.adapter) == "a"
    with pytest.raises(SystemExit):  # another adapter's runs must not reuse the default's
        parse_args(["--out", str(tmp_path), "--adapter", "a"])


def test_table2_reevaluates_a_run_scored_on_another_benchmark(bench, tmp_path):
    from train.table2 import parse_args, train_and_evaluate

    args = parse_args(["--out", str(tmp_path)])
    args.threads = 1
    first = train_and_evaluate(args, "chance", 0, bench, bench)
    run = tmp_path / "runs" / "chance-s0"
    assert first["benchmark_sha256"] == file_sha256(bench)
    stamp = (run / "eval.json").stat().st_mtime_ns
    assert train_and_evaluate(args, "chance", 0, bench, bench) == first  # cached
    assert (run / "eval.json").stat().st_mtime_ns == stamp
    other = tmp_path / "other.jsonl"
    other.write_text("".join(bench.read_text().splitlines(keepends=True)[:-1]))
    second = train_and_evaluate(args, "chance", 0, other, other)
    assert second["benchmark_sha256"] == file_sha256(other) != first["benchmark_sha256"]
    assert (run / "eval-stale.json").is_file()


def test_table2_carries_captions_over_to_a_changed_catalog(tmp_path):
    from train.table2 import carry_over_captions

    old = [{"id": "a", "tags": ["rock"], "similar_artists": ["X"], "pseudo_caption": "A rock."},
           {"id": "b", "tags": ["jazz"], "similar_artists": ["Y"], "pseudo_caption": "Jazz."}]  # fmt: skip
    captioned = tmp_path / "train-captioned.jsonl"
    atomic_write_jsonl(captioned, old)
    same = [{k: v for k, v in r.items() if k != "pseudo_caption"} for r in old]
    assert not carry_over_captions(captioned, same) and captioned.is_file()
    new = [
        {"id": "a", "tags": ["rock"], "similar_artists": ["Z"]},  # new links: kept caption
        {"id": "b", "tags": ["folk"], "similar_artists": ["Y"]},  # new tags: recaptioned
    ]
    assert carry_over_captions(captioned, new)
    assert not captioned.exists() and (tmp_path / "train-captioned-stale.jsonl").is_file()
    assert new[0]["pseudo_caption"] == "A rock." and "pseudo_caption" not in new[1]


def test_table2_refuses_a_run_folder_trained_on_other_data(tmp_path):
    from train.table2 import check_training_data

    run = tmp_path / "runs" / "tag+caption-s0"
    run.mkdir(parents=True)
    constrained, raw = tmp_path / "constrained.jsonl", tmp_path / "raw.jsonl"
    constrained.write_text('{"id": "a", "pseudo_caption": "A rock song."}\n')
    raw.write_text('{"id": "a", "pseudo_caption": "A jazz song with piano."}\n')
    check_training_data(run, constrained)  # a new run: stamped before it trains
    assert json.loads((run / "training_data.json").read_text())["path"] == str(constrained)
    check_training_data(run, constrained)  # the same data: fine
    with pytest.raises(SystemExit, match="was trained on"):
        check_training_data(run, raw)

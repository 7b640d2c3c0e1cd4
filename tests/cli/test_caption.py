"""`ttmrpp caption` and `ttmrpp pseudo-caption` (template generator: no model needed)."""

from __future__ import annotations

import argparse
import json

import pytest

from ttmrpp.cli import caption as cmd
from ttmrpp.text.captioning.generators import TemplateCaptioner
from ttmrpp.text.captioning.pseudo import pseudo_caption_manifest


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ttmrpp")
    cmd.register(p.add_subparsers(dest="command"))
    return p


def _run(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    return args.func(args)


def _manifest(path, n=11):
    recs = []
    for i in range(n):
        tags = {"genre": ["rock"], "instrument": [f"guitar {i}", "drums"], "mood": ["Rock"]}
        if i == 4:
            tags = {}  # no tags: kept, without a caption
        recs.append(
            {
                "id": f"t{i:03d}",
                "audio": f"audio/t{i:03d}.ogg",
                "split": "train",
                "tags": tags,
                "title": f"Song {i}",
            }
        )
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return recs


class Flaky(TemplateCaptioner):
    """Counts tag lists; raises once `fail_after` lists have been captioned."""

    def __init__(self, fail_after: int | None = None):
        super().__init__()
        self.calls: list[list[str]] = []
        self.fail_after = fail_after

    def generate_batch(self, batch):
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise KeyboardInterrupt
        self.calls.extend(batch)
        return super().generate_batch(batch)


def test_caption_command_template(capsys):
    assert _run(["caption", "rock, electric guitar, energetic", "--generator", "template"]) == 0
    assert capsys.readouterr().out.strip() == (
        "This music features rock, electric guitar and energetic."
    )
    assert _run(["caption", " , ", "--generator", "template"]) == 2
    assert "empty tag list" in capsys.readouterr().err


def test_pseudo_caption_fills_every_record(tmp_path, capsys):
    src, out = tmp_path / "m.jsonl", tmp_path / "out" / "m2.jsonl"
    recs = _manifest(src)
    assert (
        _run(
            [
                "pseudo-caption",
                str(src),
                "--out",
                str(out),
                "--generator",
                "template",
                "--batch-size",
                "4",
            ]
        )
        == 0
    )
    got = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in got] == [r["id"] for r in recs]  # nothing dropped, order kept
    assert got[0]["pseudo_caption"] == "This music features rock, guitar 0 and drums."
    assert "pseudo_caption" not in got[4] and got[4]["title"] == "Song 4"
    assert all(g["pseudo_caption"] for i, g in enumerate(got) if i != 4)
    assert {k: v for k, v in got[3].items() if k != "pseudo_caption"} == recs[3]
    assert not (tmp_path / "out" / "m2.jsonl.partial.jsonl").exists()
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["untagged"] == 1


def test_pseudo_caption_resumes_after_interruption(tmp_path):
    src, out = tmp_path / "m.jsonl", tmp_path / "m2.jsonl"
    _manifest(src, 23)
    with pytest.raises(KeyboardInterrupt):
        pseudo_caption_manifest(src, out, Flaky(fail_after=8), batch_size=4)
    assert not out.exists()
    partial = tmp_path / "m2.jsonl.partial.jsonl"
    assert len(partial.read_text().splitlines()) == 8
    with partial.open("a") as f:
        f.write('{"index": 9, "id": "t0')  # a line cut short by the interruption
    second = Flaky()
    counts = pseudo_caption_manifest(src, out, second, batch_size=4)
    assert counts["resumed"] == 8 and counts["generated"] == 22 - 8 == len(second.calls)
    got = [json.loads(line) for line in out.read_text().splitlines()]
    full = tmp_path / "full.jsonl"
    pseudo_caption_manifest(src, full, TemplateCaptioner(), batch_size=5)
    assert got == [json.loads(line) for line in full.read_text().splitlines()]


def test_keep_existing(tmp_path):
    src, out = tmp_path / "m.jsonl", tmp_path / "m2.jsonl"
    recs = _manifest(src, 3)
    recs[1]["pseudo_caption"] = "hand written"
    src.write_text("".join(json.dumps(r) + "\n" for r in recs))
    counts = pseudo_caption_manifest(src, out, TemplateCaptioner(), keep_existing=True)
    got = [json.loads(line) for line in out.read_text().splitlines()]
    assert got[1]["pseudo_caption"] == "hand written" and counts["kept"] == 1


def test_faithful_filters_kept_and_new_captions(tmp_path, capsys):
    src, out = tmp_path / "m.jsonl", tmp_path / "m2.jsonl"
    recs = _manifest(src, 3)
    recs[1]["pseudo_caption"] = "A rock song with drums. Then guitar 2 joins."  # guitar 2: not its
    src.write_text("".join(json.dumps(r) + "\n" for r in recs))
    argv = ["pseudo-caption", str(src), "--out", str(out), "--generator", "template"]
    assert _run(argv + ["--keep-existing", "--faithful"]) == 0
    counts = json.loads(capsys.readouterr().out)["faithful"]
    got = [json.loads(line) for line in out.read_text().splitlines()]
    assert got[1]["pseudo_caption"] == "A rock song with drums."
    assert got[1]["pseudo_caption_raw"] == recs[1]["pseudo_caption"]
    assert got[0]["pseudo_caption"] == got[0]["pseudo_caption_raw"]  # the template is faithful
    assert counts["captioned"] == 3 and counts["kept"] == 3


def test_bad_manifest_is_named(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a"}\nnot json\n')
    assert (
        _run(
            [
                "pseudo-caption",
                str(bad),
                "--out",
                str(tmp_path / "o.jsonl"),
                "--generator",
                "template",
            ]
        )
        == 2
    )
    assert "bad.jsonl:2" in capsys.readouterr().err
    assert _run(["pseudo-caption", str(tmp_path / "nope.jsonl"), "--out", "x.jsonl"]) == 2


def test_constrained_needs_an_llm_and_takes_the_manifest_vocabulary(tmp_path, tiny_llm_dir):
    src = tmp_path / "m.jsonl"
    _manifest(src, 3)
    with pytest.raises(ValueError, match="needs an LLM captioner"):
        pseudo_caption_manifest(src, tmp_path / "o.jsonl", TemplateCaptioner(), constrained=True)
    from ttmrpp.text.captioning.generators import GenerationSettings, LLMCaptioner

    llm = LLMCaptioner(tiny_llm_dir, settings=GenerationSettings(max_new_tokens=4))
    counts = pseudo_caption_manifest(src, tmp_path / "o.jsonl", llm, constrained=True)
    assert counts["generated"] == 3
    assert llm.constrain_vocabulary == ["drums", "guitar 0", "guitar 1", "guitar 2", "rock"]

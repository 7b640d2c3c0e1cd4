"""The tagger comparison report: its tables, plots and failure list."""

from __future__ import annotations

import re

import pytest

from ttmrpp.taggers.compare import write_report


def _run(model: str, dataset: str, per_file: dict, failures=()) -> dict:
    return {
        "model": model,
        "dataset": dataset,
        "results": [
            {"file": f, "tags": [{"tag": t, "probability": p} for t, p in tags]}
            for f, tags in per_file.items()
        ],
        "failures": [{"file": f, "error": "bad <header>"} for f in failures],
    }


RUNS = [
    _run("fcn", "jamendo", {"a.wav": [("rock", 0.9), ("pop", 0.4)],
                            "b.wav": [("jazz", 0.7), ("piano", 0.6)]}, ["x.mp3"]),
    _run("musicnn", "jamendo", {"a.wav": [("rock", 0.8), ("guitar", 0.5)],
                                "b.wav": [("piano", 0.9), ("jazz", 0.3)]}),
    _run("crnn", "mtat", {"z.wav": [("fast", 0.55)]}),
]  # fmt: skip


def _cells(table: str) -> list[list[str]]:
    return [re.findall(r"<t[dh]>(.*?)</t[dh]>", row) for row in re.findall(r"<tr>.*?</tr>", table)]


def test_report_tables_plots_and_failures(tmp_path):
    out = write_report(RUNS, tmp_path / "report.html", title="Cmp & <test>")
    text = out.read_text()
    assert out == tmp_path / "report.html"
    assert "<title>Cmp &amp; &lt;test&gt;</title>" in text
    # Sections in order, each plot in its own.
    sections = re.split(r"<h2>", text)
    assert [s.split("<")[0] for s in sections[1:]] == [
        "Confidence statistics", "Top-K agreement (Jaccard)", "Tag frequencies", "Confidence",
        "Files that could not be tagged",
    ]  # fmt: skip
    assert "Mean top-K Jaccard agreement" in sections[2]
    assert "30 most frequent tags" in sections[3] and "Top-1 probability per file" in sections[4]
    assert text.count('class="plotly-graph-div"') == 3
    assert len(re.findall(r"\* plotly\.js v", text)) == 1 and "<script src=" not in text

    stats, agree = (_cells(t) for t in re.findall(r"<table>.*?</table>", text))
    assert stats[0][:3] == ["model", "files", "failures"] and stats[0][-1] == "distinct_tags"
    assert stats[1] == ["fcn (jamendo)", "2", "1", "0.800", "0.800", "0.700", "0.900", "0.650",
                        "0.180", "4"]  # fmt: skip
    assert stats[3][:3] == ["crnn (mtat)", "1", "0"]
    # a.wav shares 1 of 3 tags, b.wav 2 of 2: mean 2/3; crnn shares no file with the others.
    assert agree[1] == ["fcn (jamendo)", "1.000", "0.667", ""]
    assert agree[3] == ["crnn (mtat)", "", "", "1.000"]
    assert "<ul><li>x.mp3: bad &lt;header&gt;</li></ul>" in text


def test_report_without_failures_says_none_and_without_runs_refuses(tmp_path):
    text = write_report(RUNS[1:], tmp_path / "r.html").read_text()
    assert "<ul><li>none</li></ul>" in text and "<h1>Tagger comparison</h1>" in text
    with pytest.raises(ValueError, match="no tagger results"):
        write_report([], tmp_path / "empty.html")


def test_agreement_of_runs_with_empty_top_k_lists():
    from ttmrpp.taggers.compare import jaccard_matrix

    runs = [
        _run("fcn", "jamendo", {"a.wav": [], "b.wav": [("rock", 0.9)]}),
        _run("musicnn", "jamendo", {"a.wav": [], "b.wav": [("rock", 0.8), ("pop", 0.2)]}),
    ]
    _, agree, shared = jaccard_matrix(runs)
    assert shared[0, 1] == 2
    assert agree[0, 1] == pytest.approx((1.0 + 0.5) / 2)  # empty vs empty agrees fully

"""Compare taggers' results: top-K agreement, tag frequencies, confidence statistics, HTML report."""

from __future__ import annotations

import html
import itertools
from collections import Counter
from pathlib import Path

import numpy as np

from ttmrpp.fileio import atomic_write_text


def _label(run: dict) -> str:
    return f"{run['model']} ({run['dataset']})"


def _topk_sets(run: dict) -> dict[str, set[str]]:
    return {r["file"]: {t["tag"] for t in r["tags"]} for r in run["results"]}


def _jaccard(a: set, b: set) -> float:
    """|a ∩ b| / |a ∪ b|; two empty top-K lists agree completely."""
    return len(a & b) / len(a | b) if a | b else 1.0


def jaccard_matrix(runs: list[dict]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Mean top-K Jaccard agreement between every pair of runs over the files both tagged.

    Returns:
        labels, agreement (n×n, diagonal 1, NaN when two runs share no file), and the number
        of shared files per pair.
    """
    labels = [_label(r) for r in runs]
    sets = [_topk_sets(r) for r in runs]
    n = len(runs)
    agree = np.full((n, n), np.nan)
    shared = np.zeros((n, n), dtype=int)
    for i, j in itertools.product(range(n), repeat=2):
        files = sets[i].keys() & sets[j].keys()
        shared[i, j] = len(files)
        if files:
            agree[i, j] = float(np.mean([_jaccard(sets[i][f], sets[j][f]) for f in files]))
    return labels, agree, shared


def tag_frequencies(run: dict) -> Counter:
    """How many files have each tag in their top K."""
    return Counter(t["tag"] for r in run["results"] for t in r["tags"])


def confidence_stats(run: dict) -> dict[str, float]:
    """Statistics of the top-1 and of all top-K probabilities of one run."""
    top1 = np.array([r["tags"][0]["probability"] for r in run["results"] if r["tags"]])
    allk = np.array([t["probability"] for r in run["results"] for t in r["tags"]])
    if top1.size == 0:
        return {"files": 0, "failures": len(run.get("failures", []))}
    return {
        "files": int(top1.size),
        "failures": len(run.get("failures", [])),
        "top1_mean": float(top1.mean()),
        "top1_median": float(np.median(top1)),
        "top1_min": float(top1.min()),
        "top1_max": float(top1.max()),
        "topk_mean": float(allk.mean()),
        "topk_std": float(allk.std()),
        "distinct_tags": len(tag_frequencies(run)),
    }


def summarize(runs: list[dict]) -> dict:
    """Everything the report shows, as plain data (also printed as JSON by the CLI)."""
    labels, agree, shared = jaccard_matrix(runs)
    return {
        "models": labels,
        "jaccard": [[None if np.isnan(v) else round(float(v), 4) for v in row] for row in agree],
        "shared_files": shared.tolist(),
        "confidence": {lab: confidence_stats(r) for lab, r in zip(labels, runs, strict=True)},
        "tag_frequencies": {
            lab: dict(tag_frequencies(r).most_common()) for lab, r in zip(labels, runs, strict=True)
        },
    }


def _table(header: list[str], rows: list[list]) -> str:
    def cell(v) -> str:
        return f"{v:.3f}" if isinstance(v, float) else html.escape(str(v))

    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_report(runs: list[dict], out: Path, title: str = "Tagger comparison") -> Path:
    """Write a self-contained HTML report (plotly inlined once, no CDN) and return its path."""
    if not runs:
        raise ValueError("no tagger results to compare")
    summary = summarize(runs)
    labels = summary["models"]
    agree = np.array([[np.nan if v is None else v for v in row] for row in summary["jaccard"]])
    figs = [
        agreement_heatmap(labels, agree),
        tag_frequency_bars(labels, summary["tag_frequencies"]),
        top1_boxes(labels, runs),
    ]
    plots = [
        fig.to_html(full_html=False, include_plotlyjs=(i == 0), config={"displaylogo": False})
        for i, fig in enumerate(figs)
    ]
    return atomic_write_text(out, report_html(title, runs, summary, agree, plots))


def agreement_heatmap(labels: list[str], agree: np.ndarray):
    """Plotly heat map of the mean top-K Jaccard agreement (blank where runs share no file)."""
    import plotly.graph_objects as go

    heat = go.Figure(
        go.Heatmap(
            z=agree,
            x=labels,
            y=labels,
            zmin=0,
            zmax=1,
            colorscale="Viridis",
            text=np.vectorize(lambda v: "" if np.isnan(v) else f"{v:.2f}")(agree),
            texttemplate="%{text}",
        )
    )
    heat.update_layout(title="Mean top-K Jaccard agreement", height=300 + 40 * len(labels))
    return heat


def tag_frequency_bars(labels: list[str], frequencies: dict[str, dict[str, int]]):
    """Grouped bars: how many files have each of the 30 most frequent tags in their top K."""
    import plotly.graph_objects as go

    all_tags = Counter()
    for lab in labels:
        all_tags.update(frequencies[lab])
    top_tags = [t for t, _ in all_tags.most_common(30)]
    freq = go.Figure(
        [
            go.Bar(name=lab, x=top_tags, y=[frequencies[lab].get(t, 0) for t in top_tags])
            for lab in labels
        ]
    )
    freq.update_layout(
        title="How often each tag is in a file's top K (30 most frequent tags)",
        barmode="group",
        xaxis_tickangle=-45,
        height=500,
    )
    return freq


def top1_boxes(labels: list[str], runs: list[dict]):
    """One box per run of its files' top-1 probabilities."""
    import plotly.graph_objects as go

    conf = go.Figure(
        [
            go.Box(
                name=lab,
                y=[r["tags"][0]["probability"] for r in run["results"] if r["tags"]],
                boxpoints="outliers",
            )
            for lab, run in zip(labels, runs, strict=True)
        ]
    )
    conf.update_layout(title="Top-1 probability per file", yaxis_range=[0, 1], height=450)
    return conf


def report_html(
    title: str, runs: list[dict], summary: dict, agree: np.ndarray, plots: list[str]
) -> str:
    """The report page: statistics and agreement tables, the three plots, the failed files."""
    labels = summary["models"]
    stat_keys = ["files", "failures", "top1_mean", "top1_median", "top1_min", "top1_max"]
    stat_keys += ["topk_mean", "topk_std", "distinct_tags"]
    stats_rows = [
        [lab] + [summary["confidence"][lab].get(k, "") for k in stat_keys] for lab in labels
    ]
    agree_rows = [
        [lab] + [("" if np.isnan(v) else float(v)) for v in agree[i]]
        for i, lab in enumerate(labels)
    ]
    failures = sorted({f["file"] + ": " + f["error"] for r in runs for f in r.get("failures", [])})
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 8px}}
td{{text-align:right}}td:first-child{{text-align:left}}</style></head><body>
<h1>{html.escape(title)}</h1>
<p>{len(runs)} result sets: {html.escape(", ".join(labels))}. Probabilities are the models' own
sigmoid outputs averaged over chunks of each whole track.</p>
<h2>Confidence statistics</h2>
{_table(["model"] + stat_keys, stats_rows)}
<h2>Top-K agreement (Jaccard)</h2>
{_table(["model"] + labels, agree_rows)}
{plots[0]}
<h2>Tag frequencies</h2>
{plots[1]}
<h2>Confidence</h2>
{plots[2]}
<h2>Files that could not be tagged</h2>
<ul>{"".join(f"<li>{html.escape(f)}</li>" for f in failures) or "<li>none</li>"}</ul>
</body></html>
"""

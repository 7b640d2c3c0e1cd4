"""Tag a folder of audio with several taggers; one results file pair per (dataset, model, day)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from ttmrpp.fileio import atomic_write_json, atomic_write_text
from ttmrpp.model.audio import AUDIO_EXTENSIONS
from ttmrpp.taggers.tagger import Tagger, load_audio_16k, load_tagger
from ttmrpp.taggers.vocab import readable_tag

CSV_FIELDS = ["file", "rank", "tag", "probability", "error"]
CAPTION_BATCH = 8  # tag lists per captioner call


def results_stem(dataset: str, model: str, day: dt.date | None = None) -> str:
    """`results_<dataset>_<model>_<YYYYMMDD>` (the seed tool's naming)."""
    return f"results_{dataset}_{model}_{(day or dt.date.today()).strftime('%Y%m%d')}"


def find_audio(folder: Path) -> list[Path]:
    """Every audio file under `folder` (recursive, by extension, sorted)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not a folder")
    exts = {e.lower() for e in AUDIO_EXTENSIONS}
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in exts and not p.name.startswith(".")
    )


@dataclass
class ModelRun:
    """Results of one tagger over the folder."""

    tagger: Tagger
    top_k: int
    results: list[dict] = field(default_factory=list)  # {"file", "tags": [{"tag", "probability"}]}
    failures: list[dict] = field(default_factory=list)  # {"file", "error"}
    captioner: str | None = None  # name of the captioner that wrote each result's "caption"

    def add(self, rel: str, probs) -> None:
        tags = [
            {"tag": t, "probability": round(p, 6)} for t, p in self.tagger.top_k(probs, self.top_k)
        ]
        self.results.append({"file": rel, "tags": tags})

    def add_captions(self, captioner, progress: bool = True) -> None:
        """Give each result a `caption` written by `captioner` from its top tags (as words).

        A failing batch leaves `caption` None with a `caption_error`; the tags are kept.
        """
        self.captioner = getattr(captioner, "name", type(captioner).__name__)
        rows = self.results
        bar = tqdm(
            total=len(rows),
            desc=f"captioning {self.tagger.name}",
            unit="file",
            disable=not progress,
        )
        for i in range(0, len(rows), CAPTION_BATCH):
            batch = rows[i : i + CAPTION_BATCH]
            words = [list(dict.fromkeys(readable_tag(t["tag"]) for t in r["tags"])) for r in batch]
            try:
                captions = captioner.generate_batch(words)
            except Exception as exc:  # a broken LLM must not lose the tags
                for r in batch:
                    r.update(caption=None, caption_error=f"{type(exc).__name__}: {exc}")
            else:
                for r, caption in zip(batch, captions):
                    r["caption"] = caption
            bar.update(len(batch))
        bar.close()

    def to_json(self, folder: Path, day: dt.date) -> dict:
        return {
            "dataset": self.tagger.dataset,
            "model": self.tagger.name,
            "date": day.isoformat(),
            "audio_folder": str(folder),
            "weights": str(self.tagger.weights) if self.tagger.weights else None,
            "top_k": self.top_k,
            "captioner": self.captioner,
            "n_files": len(self.results) + len(self.failures),
            "results": self.results,
            "failures": self.failures,
        }

    def to_csv(self) -> str:
        """One row per file and rank; with captions, a `caption` column (the same on each of a
        file's rows)."""
        buf = io.StringIO()
        fields = CSV_FIELDS + ["caption"] * (self.captioner is not None)
        writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for row in self.results:
            extra = {"caption": row.get("caption") or ""} if self.captioner else {}
            error = row.get("caption_error") or ""
            for rank, t in enumerate(row["tags"], start=1):
                writer.writerow({"file": row["file"], "rank": rank, **t, "error": error, **extra})
        for row in self.failures:
            writer.writerow({"file": row["file"], "error": row["error"]})
        return buf.getvalue()


def _done(stem: Path, need_captions: bool) -> bool:
    """Whether `stem`.csv and .json exist (and hold captions when they are asked for)."""
    json_path = stem.with_name(stem.name + ".json")
    if not (json_path.is_file() and stem.with_name(stem.name + ".csv").is_file()):
        return False
    if not need_captions:
        return True
    try:
        return json.loads(json_path.read_text("utf-8")).get("captioner") is not None
    except (OSError, json.JSONDecodeError):
        return False


@dataclass
class BatchReport:
    """What `tag_folder` did."""

    written: dict[str, list[Path]] = field(default_factory=dict)  # model -> [csv, json]
    skipped: list[str] = field(default_factory=list)  # models with today's results
    model_errors: dict[str, str] = field(default_factory=dict)  # model -> why it did not load
    failures: dict[str, str] = field(default_factory=dict)  # file -> decode error
    n_files: int = 0


def tag_folder(
    folder: Path,
    out: Path,
    models: list[str],
    dataset: str = "jamendo",
    top_k: int = 5,
    weights_dir: Path | None = None,
    force: bool = False,
    download: bool = True,
    max_chunks: int = 16,
    day: dt.date | None = None,
    progress: bool = True,
    captioner=None,
) -> BatchReport:
    """Run each model over every audio file in `folder`; write CSV + JSON per model into `out`.

    Models whose `results_<dataset>_<model>_<today>.{csv,json}` already exist in `out` are
    skipped unless `force`. Files that cannot be decoded are listed in each model's results
    (and the report), not fatal. Each file is decoded once for all models. With a `captioner`
    (`ttmrpp.text.captioning.generators.Captioner`), each file gets a `caption` written from its top tags.
    """
    folder, out = Path(folder), Path(out)
    day = day or dt.date.today()
    report = BatchReport()
    files = find_audio(folder)
    report.n_files = len(files)
    runs: list[ModelRun] = []
    for name in models:
        stem = results_stem(dataset, name, day)
        if not force and _done(out / stem, need_captions=captioner is not None):
            report.skipped.append(name)
            continue
        try:
            tagger = load_tagger(name, dataset=dataset, weights_dir=weights_dir, download=download)
        except Exception as exc:  # missing/unfetchable/mismatched weights: report, go on
            report.model_errors[name] = str(exc)
            continue
        runs.append(ModelRun(tagger, top_k))
    if not runs:
        return report
    for path in tqdm(files, desc="tagging", unit="file", disable=not progress):
        rel = os.path.relpath(path, folder)
        try:
            wave = load_audio_16k(path)
        except Exception as exc:  # AudioDecodeError and anything a decoder throws
            report.failures[rel] = str(exc)
            for run in runs:
                run.failures.append({"file": rel, "error": str(exc)})
            continue
        for run in runs:
            try:
                run.add(rel, run.tagger.predict_waveform(wave, max_chunks=max_chunks))
            except Exception as exc:  # e.g. out of memory on a huge file
                report.failures[rel] = str(exc)
                run.failures.append({"file": rel, "error": str(exc)})
    for run in runs:
        if captioner is not None:
            run.add_captions(captioner, progress)
        stem = results_stem(dataset, run.tagger.name, day)
        csv_path = atomic_write_text(out / f"{stem}.csv", run.to_csv())
        json_path = atomic_write_json(out / f"{stem}.json", run.to_json(folder, day))
        report.written[run.tagger.name] = [csv_path, json_path]
    return report


def read_results(folder: Path, dataset: str | None = None, date: str | None = None) -> list[dict]:
    """Load `results_*.json` files from `folder`; per (dataset, model) the latest day unless
    `date` (YYYYMMDD) picks one."""
    latest: dict[tuple[str, str], tuple[str, dict]] = {}
    for path in sorted(Path(folder).glob("results_*_*_*.json")):
        try:
            data = json.loads(path.read_text("utf-8"))
            key = (data["dataset"], data["model"])
            day = data["date"].replace("-", "")
        except (json.JSONDecodeError, KeyError, AttributeError) as exc:
            raise ValueError(f"{path}: not a tagger results file ({exc})") from exc
        if (dataset and key[0] != dataset) or (date and day != date):
            continue
        if key not in latest or day > latest[key][0]:
            latest[key] = (day, data)
    return [latest[k][1] for k in sorted(latest)]

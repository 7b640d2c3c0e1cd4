"""Realism: do taggers trained on real recordings (MTG-Jamendo FCN, Musicnn) hear our labels?

For every tag our labels share with the Jamendo top-50 vocabulary, prints the ROC-AUC of the
tagger's probability against our label over the demo catalog (or freshly generated tracks), and
the mean. Needs ../shared/models/sota-music-tagging (skips with a message when absent).

    python -m bench.realism --catalog DIR            # an existing catalog (manifest.jsonl)
    python -m bench.realism --generate 8 --seconds 24  # 8 fresh tracks per genre, in memory
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
# our tag (any category) -> Jamendo tag
TAG_MAP = {
    "rock": "genre---rock",
    "metal": "genre---metal",
    "pop": "genre---pop",
    "jazz": "genre---jazz",
    "reggae": "genre---reggae",
    "funk": "genre---funk",
    "hip hop": "genre---hiphop",
    "house": "genre---house",
    "techno": "genre---techno",
    "trance": "genre---trance",
    "ambient": "genre---ambient",
    "classical": "genre---classical",
    "orchestral": "genre---orchestral",
    "folk": "genre---folk",
    "electronic": "genre---electronic",
    "dance": "genre---dance",
    "soundtrack": "genre---soundtrack",
    "piano": "instrument---piano",
    "acoustic guitar": "instrument---acousticguitar",
    "electric guitar": "instrument---electricguitar",
    "guitar": "instrument---guitar",
    "drums": "instrument---drums",
    "drum machine": "instrument---drummachine",
    "strings": "instrument---strings",
    "violin": "instrument---violin",
    "synthesizer": "instrument---synthesizer",
    "bass": "instrument---bass",
    "electric piano": "instrument---electricpiano",
    "keyboard": "instrument---keyboard",
    "voice": "instrument---voice",
    "happy": "mood/theme---happy",
    "energetic": "mood/theme---energetic",
    "relaxing": "mood/theme---relaxing",
}


def labels_of(record: dict) -> set[str]:
    """All tags of a manifest record, across categories."""
    return {t for tags in record["tags"].values() for t in tags}


def auc_table(records: list[dict], probs: np.ndarray, tagger_tags: list[str]) -> dict[str, float]:
    """ROC-AUC per shared tag that has both positives and negatives among the records."""
    from sklearn.metrics import roc_auc_score

    index = {t: i for i, t in enumerate(tagger_tags)}
    out = {}
    labels = [labels_of(r) for r in records]
    for ours, theirs in TAG_MAP.items():
        y = np.array([ours in lab for lab in labels])
        if theirs not in index or y.all() or not y.any():
            continue
        out[ours] = float(roc_auc_score(y, probs[:, index[theirs]]))
    return out


def _generated(n_per_genre: int, seconds: float, seed: int):
    import random

    from ttmrpp.world.genres import GENRES
    from ttmrpp.world.track import make_track

    rng = random.Random(seed)
    for g in GENRES:
        for i in range(n_per_genre):
            t = make_track(rng.randrange(2**31), genre_name=g, seconds=seconds, sample_rate=16000)
            yield t.audio, {"id": f"{g}-{i}", **t.record}


def parse_args(argv: list[str] | None) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--catalog", type=Path, help="catalog folder with manifest.jsonl")
    ap.add_argument("--generate", type=int, default=0, help="fresh tracks per genre instead")
    ap.add_argument("--seconds", type=float, default=24.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--taggers", default="fcn,musicnn")
    ap.add_argument("--limit", type=int, default=0, help="use at most N catalog tracks")
    ap.add_argument("--per-track", type=Path, help="write per-track top tags as JSONL here")
    return ap, ap.parse_args(argv)


def tracks(ap: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[list[dict], list]:
    """Records and 16 kHz waveforms: generated, or the catalog's non-test tracks."""
    from ttmrpp.taggers import TAGGER_SAMPLE_RATE

    records, waves = [], []
    if args.generate:
        for wave, rec in _generated(args.generate, args.seconds, args.seed):
            records.append(rec)
            waves.append(wave)
        return records, waves
    if args.catalog is None:
        ap.error("give --catalog DIR or --generate N")
    from ttmrpp.model.audio import load_audio

    manifest = args.catalog / "manifest.jsonl"
    recs = [json.loads(line) for line in manifest.read_text("utf-8").splitlines() if line.strip()]
    recs = [r for r in recs if r["split"] != "test"] or recs
    if args.limit:
        recs = recs[: args.limit]
    for r in recs:
        records.append(r)
        waves.append(load_audio(args.catalog / r["audio"], sample_rate=TAGGER_SAMPLE_RATE))
    return records, waves


def score_tagger(tagger, records: list[dict], waves: list) -> tuple[dict, np.ndarray]:
    """One tagger's AUCs against our labels (all shared tags, and genre + instrument only),
    and its probabilities per track."""
    from tqdm import tqdm

    from ttmrpp.taggers import TAGGER_SAMPLE_RATE

    t = time.time()
    probs = np.stack(
        [
            tagger.predict_waveform(w, sample_rate=TAGGER_SAMPLE_RATE)
            for w in tqdm(waves, desc=tagger.name, unit="track")
        ]
    )
    aucs = auc_table(records, probs, tagger.tags)
    core = [v for k, v in aucs.items() if not TAG_MAP[k].startswith("mood")]
    scores = {
        "mean_auc": round(float(np.mean(list(aucs.values()))), 4),
        "mean_auc_genre_instrument": round(float(np.mean(core)), 4),
        "auc": {k: round(v, 3) for k, v in sorted(aucs.items(), key=lambda kv: kv[1])},
        "seconds": round(time.time() - t, 1),
    }
    return scores, probs


def write_per_track(path: Path, records: list[dict], per_track: dict[str, dict]) -> None:
    """One JSON line per track: its genres and instruments, and each tagger's top 5."""
    with open(path, "w") as f:
        for r in records:
            f.write(
                json.dumps(
                    {
                        "id": r["id"],
                        "genre": r["tags"]["genre"],
                        "instrument": r["tags"]["instrument"],
                        **per_track[r["id"]],
                    }
                )
                + "\n"
            )


def main(argv: list[str] | None = None) -> int:
    ap, args = parse_args(argv)
    weights = SHARED / "models" / "sota-music-tagging"
    if not weights.is_dir():
        print(json.dumps({"skipped": f"tagger weights not found at {weights} (../shared absent)"}))
        return 0
    from ttmrpp.taggers import load_tagger

    t0 = time.time()
    records, waves = tracks(ap, args)
    result: dict = {"tracks": len(records), "prepare_s": round(time.time() - t0, 1)}
    per_track = {r["id"]: {} for r in records} if args.per_track else None
    for name in args.taggers.split(","):
        tagger = load_tagger(name, dataset="jamendo", weights_dir=weights, download=False)
        result[name], probs = score_tagger(tagger, records, waves)
        if per_track is not None:
            for r, p in zip(records, probs, strict=True):
                per_track[r["id"]][name] = tagger.top_k(p, 5)
    best = max(
        (k for k in result if isinstance(result[k], dict)), key=lambda k: result[k]["mean_auc"]
    )
    result["best"] = best
    print(json.dumps(result, indent=1))
    if per_track is not None:
        write_per_track(args.per_track, records, per_track)
    return 0


if __name__ == "__main__":
    sys.exit(main())

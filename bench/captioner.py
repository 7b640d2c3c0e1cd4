"""Benchmark tag-to-caption generators on the held-out MusicCaps validation rows; prints JSON.

For template, base LLM and LLM + LoRA: BERTScore P/R/F1 against the human captions (bundled
MiniLM, layer 5; see ttmrpp/bertscore.py), mean words per caption next to the references' mean,
seconds per caption in batches, single-caption latency, batched throughput, and the time to the
first streamed text. The validation rows are those `train/finetune_captioner.py` holds out (same
key hash and fraction), so the adapter never saw them.

    python -m bench.captioner --limit 64 --samples 10
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from ttmrpp.text.captioning.bertscore import DEFAULT_LAYER, bertscore, mean_bertscore
from ttmrpp.text.captioning.generators import (
    DEFAULT_ADAPTER,
    Captioner,
    LLMCaptioner,
    TemplateCaptioner,
)
from ttmrpp.text.captioning.pairs import read_caption_pairs, split_pairs

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "musiccaps" / "musiccaps-train.csv"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="MusicCaps-style CSV")
    p.add_argument(
        "--valid-fraction",
        type=float,
        default=None,
        help="held-out share (default: the adapter's run_args.json, else 0.05)",
    )
    p.add_argument("--limit", type=int, default=None, help="use the first N held-out rows")
    p.add_argument("--model", default=None, help="causal LM (default: offline SmolLM2)")
    p.add_argument("--adapter", type=Path, default=DEFAULT_ADAPTER, help="LoRA adapter folder")
    p.add_argument("--generators", default="template,base,lora", help="comma-separated")
    p.add_argument("--batch-size", type=int, default=8, help="batch size for throughput")
    p.add_argument("--latency-runs", type=int, default=3, help="runs for latency medians")
    p.add_argument("--samples", type=int, default=10, help="sample triples in the output")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    p.add_argument(
        "--include",
        type=Path,
        action="append",
        help="merge generators measured by an earlier run (its --out JSON) on the same rows; "
        "repeatable",
    )
    return p.parse_args(argv)  # fmt: skip


def _words(texts: list[str]) -> float:
    return statistics.mean(len(t.split()) for t in texts)


def _first_piece_s(cap: Captioner, tags: list[str]) -> float:
    t0 = time.perf_counter()
    stream = cap.stream(tags)
    next(stream)
    elapsed = time.perf_counter() - t0
    stream.close()  # stops the generation and frees the model lock
    return elapsed


def bench_one(cap: Captioner, rows: list, batch_size: int, runs: int) -> dict[str, Any]:
    tags = [list(p.tags) for p in rows]
    refs = [p.caption for p in rows]
    t0 = time.perf_counter()
    captions: list[str] = []
    for i in range(0, len(tags), batch_size):
        captions += cap.generate_batch(tags[i : i + batch_size])
    total = time.perf_counter() - t0
    scores = mean_bertscore(bertscore(captions, refs))
    single: list[float] = []
    for k in range(runs):
        t = time.perf_counter()
        cap.generate(tags[k % len(tags)])
        single.append(time.perf_counter() - t)
    first = [_first_piece_s(cap, tags[k % len(tags)]) for k in range(runs)]
    return {
        "bertscore": {k: round(v, 4) for k, v in scores.as_dict().items()},
        "mean_words": round(_words(captions), 1),
        "seconds_per_caption": round(total / len(captions), 3),
        "batched_captions_per_s": round(len(captions) / total, 3),
        "batch_size": batch_size,
        "single_caption_latency_s": round(statistics.median(single), 3),
        "time_to_first_text_s": round(statistics.median(first), 3),
        "captions": captions,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    run_args_path = args.adapter / "run_args.json"
    adapter_run = json.loads(run_args_path.read_text()) if run_args_path.is_file() else {}
    fraction = args.valid_fraction or adapter_run.get("valid_fraction", 0.05)
    _, valid = split_pairs(read_caption_pairs(args.data), fraction)
    rows = valid[: args.limit] if args.limit else valid
    load_start = os.getloadavg()

    names = [n.strip() for n in args.generators.split(",") if n.strip()]
    caps: dict[str, Captioner] = {}
    load_s: dict[str, float] = {}
    if "template" in names:
        caps["template"] = TemplateCaptioner()
    if "base" in names or "lora" in names:
        t = time.perf_counter()
        lora = LLMCaptioner(args.model, adapter=args.adapter if "lora" in names else None)
        load_s["llm"] = round(time.perf_counter() - t, 2)
        if "base" in names:
            caps["base"] = lora.base_view() if "lora" in names else lora
        if "lora" in names:
            caps["lora"] = lora
    caps = {n: caps[n] for n in names}
    if not caps:
        raise SystemExit(f"no generators in {args.generators!r}; use template, base and/or lora")

    results = {n: bench_one(c, rows, args.batch_size, args.latency_runs) for n, c in caps.items()}
    earlier_machines = []
    for path in args.include or []:
        earlier = json.loads(path.read_text(encoding="utf-8"))
        if earlier["row_keys"] != [p.key for p in rows]:
            raise SystemExit(f"{path} was measured on other rows; use the same --limit")
        earlier_machines.append({"from": str(path), **earlier["machine"]})
        for n, r in earlier["generators"].items():
            if n not in results:
                results[n] = {**r, "captions": earlier["all_captions"][n], "measured_in": str(path)}
    results = {n: results[n] for n in ("template", "base", "lora") if n in results}
    out: dict[str, Any] = {
        "rows": len(rows),
        "held_out_rows_total": len(valid),
        "valid_fraction": fraction,
        "reference_mean_words": round(_words([p.caption for p in rows]), 1),
        "bertscore_backbone": f"all-MiniLM-L6-v2 layer {DEFAULT_LAYER} (raw, no idf/rescale)",
        "adapter": str(args.adapter),
        "adapter_steps": adapter_run.get("steps"),
        "adapter_valid_loss": adapter_run.get("valid_loss"),
        "llm_load_s": load_s.get("llm"),
        "machine": {
            "nproc": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "loadavg_start": [round(x, 2) for x in load_start],
            "loadavg_end": [round(x, 2) for x in os.getloadavg()],
            "platform": platform.platform(),
        },
        "generators": {
            n: {k: v for k, v in r.items() if k != "captions"} for n, r in results.items()
        },
        "included_runs_machine": earlier_machines or None,
    }
    if "base" in results and "lora" in results:
        out["lora_minus_base_f1"] = round(
            results["lora"]["bertscore"]["f1"] - results["base"]["bertscore"]["f1"], 4
        )
    out["samples"] = [
        {"tags": list(p.tags), "reference": p.caption,
         **{n: r["captions"][i] for n, r in results.items()}}
        for i, p in enumerate(rows[: args.samples])
    ]  # fmt: skip
    out["row_keys"] = [p.key for p in rows]
    out["all_captions"] = {n: r["captions"] for n, r in results.items()}
    text = json.dumps(out, indent=2, ensure_ascii=False)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return out


if __name__ == "__main__":
    main()

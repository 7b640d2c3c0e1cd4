"""`ttmrpp index | search | similar | map`: the search engine on the command line."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ttmrpp.cli.embed import MODEL_HELP


def _error(msg: str, code: int = 2) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return code


def _model_for(index, spec: str | None):
    """The model to query or update `index` with: `spec` if given, else the model saved in
    the index folder, else the one named when the index was built."""
    import ttmrpp
    from ttmrpp.search.store import MODEL_DIR

    if spec:
        model = ttmrpp.load_model(spec)
    elif index.folder is not None and (index.folder / MODEL_DIR).is_dir():
        model = ttmrpp.load_model(index.folder / MODEL_DIR)
    else:
        model = ttmrpp.load_model(index.model_spec or None)
    index.check_model(model)
    return model


def _load_index(folder: Path):
    from ttmrpp.search.index import MusicIndex

    return MusicIndex.load(folder)


def run_index(args: argparse.Namespace) -> int:
    import ttmrpp
    from ttmrpp.model.factory import is_architecture, spec_for_index
    from ttmrpp.search.index import META_NAME, ModelMismatchError, MusicIndex

    source = Path(args.source).expanduser()
    if not source.exists():
        return _error(f"{source}: no such folder or manifest")
    bundle = None
    try:
        if (args.out / META_NAME).is_file():
            index = MusicIndex.load(args.out)
            model = _model_for(index, args.model)
            print(f"updating {args.out} ({len(index)} tracks)", file=sys.stderr)
        else:
            model = ttmrpp.load_model(args.model)
            index = MusicIndex.create(model, model_spec=spec_for_index(args.model))
            # A config name means fresh random weights: keep them, or nothing could query it.
            bundle = model if args.model and is_architecture(args.model) else None
    except ModelMismatchError as exc:
        return _error(str(exc))
    except (FileNotFoundError, ValueError) as exc:
        return _error(str(exc))
    last_save = [time.monotonic()]

    def checkpoint(ix) -> None:  # a long first run keeps its work if it is stopped
        if time.monotonic() - last_save[0] > args.save_every:
            ix.save(args.out, model=bundle)
            last_save[0] = time.monotonic()

    try:
        report = index.update(
            model, source, batch_size=args.batch_size, progress=not args.quiet,
            checkpoint=checkpoint,
        )  # fmt: skip
    except (FileNotFoundError, ValueError) as exc:
        return _error(str(exc))
    index.save(args.out, model=bundle)
    for _path, reason in report.failures:
        print(f"skipped: {reason}", file=sys.stderr)
    print(f"{args.out}: {len(index)} tracks; {report.summary()}")
    if report.ignored_files:
        print(f"({report.ignored_files} files without an audio extension ignored)")
    return 1 if report.failures and len(index) == 0 else 0


def _print_hits(hits, args, header: dict) -> None:
    if args.json:
        print(json.dumps({**header, "results": [h.to_dict() for h in hits]}, ensure_ascii=False))
        return
    if not hits:
        print("no results")
        return
    rows = [
        (
            str(h.rank),
            f"{h.score:.3f}",
            h.track.get("title") or "",
            h.track.get("artist") or "",
            h.track.get("album") or "",
            _fmt_duration(h.track.get("duration")),
            h.track["path"],
        )
        for h in hits
    ]
    names = ("#", "score", "title", "artist", "album", "time", "path")
    caps = (4, 6, 32, 24, 24, 6, 200)
    rows = [tuple(_clip(c, cap) for c, cap in zip(r, caps)) for r in rows]
    widths = [max(len(n), *(len(r[i]) for r in rows)) for i, n in enumerate(names)]
    line = "  ".join(n.ljust(w) for n, w in zip(names, widths))
    print(line.rstrip())
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


def _clip(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def _fmt_duration(d) -> str:
    if not d:
        return ""
    m, s = divmod(int(round(float(d))), 60)
    return f"{m}:{s:02d}"


def _query(args: argparse.Namespace, text: str | None, audio: str | None) -> int:
    from ttmrpp.model.audio import AudioDecodeError
    from ttmrpp.search.index import EmptyQueryError, ModelMismatchError
    from ttmrpp.search.sources import parse_filters

    try:
        filters = parse_filters(args.filter or [])
        index = _load_index(args.index)
        model = _model_for(index, args.model)
        exclude = {str(Path(audio).resolve())} if audio and args.exclude_self else None
        hits = index.search(
            model, text=text, audio=audio, weight=args.weight, k=args.top_k,
            filters=filters, exclude=exclude,
        )  # fmt: skip
    except (EmptyQueryError, ModelMismatchError, FileNotFoundError, ValueError) as exc:
        return _error(str(exc))
    except AudioDecodeError as exc:
        return _error(str(exc), 1)
    header = {"query": text, "audio": audio, "weight": args.weight if text and audio else None}
    _print_hits(hits, args, {k: v for k, v in header.items() if v is not None})
    return 0


def run_search(args: argparse.Namespace) -> int:
    return _query(args, args.query, args.audio)


def run_similar(args: argparse.Namespace) -> int:
    return _query(args, args.text, args.file)


def run_map(args: argparse.Namespace) -> int:
    from ttmrpp.search.atlas import atlas_figure, get_atlas, place, write_html
    from ttmrpp.search.index import EmptyQueryError, ModelMismatchError

    try:
        index = _load_index(args.index)
        if not len(index):
            return _error(f"{args.index}: the index is empty")
        atlas = get_atlas(index, refit=args.refit)
        queries = []
        if args.query:
            model = _model_for(index, args.model)
            for text in args.query:
                xy = place(index, atlas, index.query_vector(model, text))[0]
                queries.append((text, xy))
    except (EmptyQueryError, ModelMismatchError, FileNotFoundError, ValueError) as exc:
        return _error(str(exc))
    fig = atlas_figure(index, atlas, color_by=args.color_by, queries=queries)
    write_html(fig, args.out)
    print(f"wrote {args.out} ({len(atlas.paths)} tracks, {len(queries)} queries)")
    return 0


def _add_query_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", type=Path, required=True, help="index folder")
    p.add_argument("--top-k", type=int, default=10, help="number of results")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "--filter", action="append", metavar="KEY=VALUE",
        help="keep tracks whose tag category or field matches, e.g. genre=rock, "
        "artist='Ana Corvel', tag=piano (repeat: same key = any of, keys = all of)",
    )  # fmt: skip
    p.add_argument("--model", help="model (default: the index's own)")
    p.add_argument("--weight", type=float, default=0.5, help="audio weight when mixing text+audio")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "index", help="index a music folder or manifest (incremental when the index exists)"
    )
    p.add_argument("source", help="music folder (scanned recursively) or JSONL manifest")
    p.add_argument("--out", type=Path, required=True, help="index folder to create or update")
    p.add_argument(
        "--model",
        help=MODEL_HELP + " (an existing index keeps its own)",
    )
    p.add_argument("--batch-size", type=int, default=16, help="clips per forward pass")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--save-every", type=float, default=300.0, help="save progress every this many seconds"
    )
    p.set_defaults(func=run_index)

    p = subparsers.add_parser("search", help="search an index by text (optionally + audio)")
    p.add_argument("query", help="what you are looking for, e.g. 'calm piano with rain'")
    p.add_argument("--audio", help="an audio example to mix into the query (hybrid search)")
    p.add_argument("--exclude-self", action="store_true", help=argparse.SUPPRESS)
    _add_query_flags(p)
    p.set_defaults(func=run_search)

    p = subparsers.add_parser("similar", help="more like this: tracks similar to an audio file")
    p.add_argument("file", help="an audio file (in the collection or not)")
    p.add_argument("--text", help="a text to mix into the query (hybrid search)")
    p.add_argument("--exclude-self", action="store_true", help="leave the file itself out")
    _add_query_flags(p)
    p.set_defaults(func=run_similar)

    p = subparsers.add_parser("map", help="write the collection's atlas as an offline HTML map")
    p.add_argument("--index", type=Path, required=True, help="index folder")
    p.add_argument("--out", type=Path, default=Path("map.html"), help="HTML file to write")
    p.add_argument("--color-by", default="genre", help="tag category or field to colour by")
    p.add_argument("--query", action="append", help="text query to mark on the map (repeat)")
    p.add_argument("--model", help="model for --query (default: the index's own)")
    p.add_argument("--refit", action="store_true", help="recompute the map from scratch")
    p.set_defaults(func=run_map)

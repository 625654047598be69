"""``scorewatch score``: score one file (local or s3://) with a registered model or a local model file."""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import ExitStack
from typing import Any

from scorewatch.cli.registry_args import (
    add_registry_args,
    model_sha256,
    parse_model_ref,
    registry_from_args,
    unsafe_pickle,
    utcnow,
    version_mismatch,
)
from scorewatch.core.config import DEFAULT_CHUNK_ROWS
from scorewatch.core.errors import InputRejectedError, ScorewatchError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "score",
        help="score a file with a model",
        description=(
            "Score one input (.csv, .csv.gz, .parquet, .jsonl; a path or s3:// URI) into one Parquet "
            "output. --model is name@champion, name@<version>, or a local .skops file (its feature "
            "schema is then inferred from the estimator and the input)."
        ),
        epilog=(
            "exit codes: 0 scored; 2 usage (also --output equal to --input, or an existing "
            "directory without a trailing /); 3 input rejected; 4 model error (not found, "
            "integrity, incompatible); 5 configuration (also no AWS credentials); 10 unexpected"
        ),
    )
    p.add_argument(
        "--model",
        required=True,
        metavar="REF",
        type=_model_ref,
        help="name@champion, name@<version> or a model file",
    )
    p.add_argument(
        "--input", required=True, metavar="URI", help="CSV, JSONL or Parquet file to score (path or s3://)"
    )
    p.add_argument(
        "--output",
        required=True,
        metavar="URI",
        help="output .parquet (a URI ending in / gets <batch_id>.parquet)",
    )
    p.add_argument(
        "--chunk-rows",
        type=_positive_int,
        default=DEFAULT_CHUNK_ROWS,
        metavar="N",
        help="rows read and scored at a time",
    )
    p.add_argument(
        "--max-reject-fraction",
        type=_fraction,
        default=0.05,
        metavar="F",
        help="reject the whole file when more than this share of its rows is rejected (default 0.05)",
    )
    p.add_argument(
        "--rejected",
        metavar="URI",
        help="write rejected rows (.parquet) or the rejection report (.json) here",
    )
    p.add_argument("--id-columns", default="", help="comma-separated id columns (local model files)")
    p.add_argument(
        "--schema",
        metavar="FILE",
        help="feature schema JSON for a model file (e.g. reviewed 'scorewatch schema infer' output) "
        "instead of the inferred one; a registered model's card holds its own",
    )
    p.add_argument(
        "--progress",
        choices=("auto", "always", "never"),
        default="auto",
        help="progress bar on stderr (auto: on a terminal, for inputs over one chunk)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON instead of a summary line")
    add_registry_args(p)
    p.set_defaults(func=run)


def _model_ref(text: str):
    try:
        return parse_model_ref(text)
    except ScorewatchError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def _progress(args: argparse.Namespace, input_uri: str, stack: ExitStack):
    """An observer advancing a rich progress bar, or None when no bar is wanted."""
    if args.progress == "never" or (args.progress == "auto" and not sys.stderr.isatty()):
        return None
    from scorewatch.io import storage

    try:
        total = storage.estimate_work(input_uri).rows
    except ScorewatchError:
        total = None
    if args.progress == "auto" and total is not None and total <= args.chunk_rows:
        return None
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    progress = stack.enter_context(
        Progress(
            SpinnerColumn(),
            TextColumn("scoring"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rows"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
    )
    task = progress.add_task("score", total=total)

    def observe(features, outputs) -> None:
        progress.advance(task, len(features))

    return observe


def _same_object(a: str, b: str) -> bool:
    from scorewatch.io import storage

    la, lb = storage.parse_uri(a), storage.parse_uri(b)
    if la.scheme != lb.scheme:
        return False
    if la.scheme == "s3":
        return (la.bucket, la.key) == (lb.bucket, lb.key)
    return os.path.realpath(la.path) == os.path.realpath(lb.path)


def _check_targets(args: argparse.Namespace) -> None:
    """Refuse outputs that would replace the input or cannot be a file (exit 2, nothing written)."""
    from scorewatch.cli import UsageError
    from scorewatch.io import storage

    for flag, target in (("--output", args.output), ("--rejected", args.rejected)):
        if not target or target.endswith("/"):
            continue  # a directory prefix gets <batch_id>.parquet: never the input's name
        if _same_object(target, args.input):
            raise UsageError(f"{flag} {target} is the input: inputs are never overwritten; choose another")
        loc = storage.parse_uri(target)
        if loc.scheme == "file" and os.path.isdir(loc.path):
            raise UsageError(
                f"{flag} {target} is an existing directory: end it with / to write <batch_id>.parquet in it"
            )


def run(args: argparse.Namespace) -> int:
    from scorewatch.io import storage
    from scorewatch.scoring.offline import load_model_file, score_file_with

    ref = args.model
    # Configuration problems first: they are the caller's to fix whatever the input is.
    registry = None if ref.is_file else registry_from_args(args)
    if not storage.exists(args.input):
        raise InputRejectedError(
            f"{args.input}: no such file or object", source_uri=args.input, reason="not_found"
        )
    _check_targets(args)
    notice = None
    if args.schema and not ref.is_file:
        from scorewatch.cli import UsageError

        raise UsageError("--schema applies to a model file: a registered model's card holds its schema")
    if ref.is_file:
        from scorewatch.cli.monitor_cmd import load_schema_file

        schema = load_schema_file(args.schema) if args.schema else None
        model, notice = load_model_file(
            ref.path,
            input_uri=args.input,
            id_columns=[c.strip() for c in args.id_columns.split(",") if c.strip()],
            allow_unsafe_pickle=unsafe_pickle(args),
            allow_version_mismatch=version_mismatch(args),
            expected_sha256=model_sha256(args),
            now=utcnow(),
            schema=schema,
        )
    else:
        assert registry is not None  # made above for every registry reference
        model = registry.load(ref.name, ref.ref)
    if notice:
        print(f"scorewatch: note: {notice}", file=sys.stderr)
    card = model.card
    with ExitStack() as stack:
        observer = _progress(args, args.input, stack)
        result = score_file_with(
            model,
            args.input,
            args.output,
            chunk_rows=args.chunk_rows,
            max_reject_fraction=args.max_reject_fraction,
            now=utcnow(),
            rejected_uri=args.rejected,
            observers=(observer,) if observer else (),
        )
    if args.json:
        print(
            json.dumps(
                {
                    "model_name": card.model_name,
                    "model_version": card.version,
                    "source_uri": result.source_uri,
                    "output_uri": result.output_uri,
                    "batch_id": result.batch_id,
                    "rows_in": result.rows_in,
                    "rows_scored": result.rows_scored,
                    "rows_rejected": result.rows_rejected,
                    "seconds": round(result.seconds, 3),
                }
            )
        )
    else:
        print(
            f"scored {result.rows_scored} of {result.rows_in} rows ({result.rows_rejected} rejected) "
            f"with {card.model_name}@{card.version} -> {result.output_uri} in {result.seconds:.1f}s "
            f"(batch {result.batch_id})"
        )
    return 0

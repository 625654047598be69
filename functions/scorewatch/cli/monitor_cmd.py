"""``scorewatch profile`` and ``scorewatch drift``: baseline profiles and drift reports from files.

``drift`` exits 0 when nothing drifted and 1 when dataset, prediction or multivariate drift was
found, so it can gate a pipeline.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pandas as pd

from scorewatch.core.errors import ConfigError

_CHUNK_ROWS = 65_536


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "profile",
        help="profile a file into a baseline profile (JSON)",
        description="Stream a .csv/.csv.gz/.parquet/.jsonl (path or s3:// URI) into a scorewatch profile.",
    )
    p.add_argument("--input", required=True, metavar="URI", help="CSV, JSONL or Parquet file to profile")
    p.add_argument("--output", required=True, metavar="URI", help="profile .json (path or s3:// URI)")
    p.add_argument("--sample", metavar="URI", help="also write the reservoir sample as .parquet")
    _common(p)
    p.set_defaults(func=_profile_cmd)

    d = subparsers.add_parser(
        "drift",
        help="drift and data quality of a file against a reference file or a stored baseline",
        description=(
            "Compare --current with --reference (a data file) or --baseline (a profile .json written "
            "by `scorewatch profile`; add --reference-sample for KS/Wasserstein and the domain classifier)."
        ),
        epilog="exit codes: 0 no drift; 1 drift; 2 usage; 3 input rejected; 5 configuration; 10 unexpected",
    )
    src = d.add_mutually_exclusive_group(required=True)
    src.add_argument("--reference", metavar="URI", help="reference data file")
    src.add_argument("--baseline", metavar="URI", help="reference profile .json")
    d.add_argument("--reference-sample", metavar="URI", help="reference sample .parquet (with --baseline)")
    d.add_argument("--current", required=True, metavar="URI", help="the batch compared with the reference")
    d.add_argument("--json", metavar="URI", help="write the JSON report here")
    d.add_argument("--html", metavar="URI", help="write the HTML report here")
    d.add_argument("--settings", metavar="FILE", help="DriftSettings as JSON (per-column tests/thresholds)")
    d.add_argument(
        "--multiple-testing",
        choices=("holm", "bonferroni", "none"),
        default=None,
        help="correction of the per-column p-value tests (default: the settings', holm)",
    )
    d.add_argument("--title", default=None, help="HTML report title")
    _common(d)
    d.set_defaults(func=_drift_cmd)

    sc = subparsers.add_parser(
        "schema",
        help="infer the schema of a data file",
        description="Infer column types and roles (feature, id, text) with the reason for each.",
    )
    sc_sub = sc.add_subparsers(dest="schema_command", required=True)
    si = sc_sub.add_parser(
        "infer",
        help="print the inferred schema JSON (usable as --schema)",
        description="Print the schema inferred from the first --chunk-rows rows of INPUT and confirmed "
        "on every row, as JSON.",
    )
    si.add_argument("input", metavar="INPUT", help=".csv/.csv.gz/.parquet/.jsonl (path or s3:// URI)")
    si.add_argument("--id-columns", default="", metavar="COLS", help="comma-separated identifier columns")
    si.add_argument("--exclude", default="", metavar="COLS", help="comma-separated columns to leave out")
    si.add_argument("--target", default=None, metavar="COL", help="the label column (not a feature)")
    si.add_argument(
        "--chunk-rows",
        type=int,
        default=_CHUNK_ROWS,
        metavar="N",
        help="rows the types are inferred from (then confirmed on every row)",
    )
    si.set_defaults(func=_schema_infer_cmd)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--schema", metavar="FILE", help="FeatureSchema JSON (default: inferred from the data)")
    p.add_argument(
        "--score-columns",
        default=None,
        help="comma-separated prediction columns (default: 'prediction' and 'score_*' columns)",
    )
    p.add_argument(
        "--id-columns",
        default="",
        metavar="COLS",
        help="comma-separated identifier columns (never profiled; id-like columns are also detected)",
    )
    p.add_argument("--exclude", default="", metavar="COLS", help="comma-separated columns to leave out")
    p.add_argument("--target", default=None, metavar="COL", help="the label column (not a feature)")
    p.add_argument(
        "--sample-rows",
        type=int,
        default=50_000,
        metavar="N",
        help="rows kept as the sample (domain classifier)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the sample and the domain classifier")
    p.add_argument("--chunk-rows", type=int, default=_CHUNK_ROWS, metavar="N", help="rows read at a time")


def _load_json_file(path: str, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc}") from exc


def load_schema_file(path: str) -> Any:
    """A FeatureSchema from a JSON file: a bare schema, a model card or ``schema infer`` output."""
    from pydantic import ValidationError

    from scorewatch.core.schema import parse_schema_document

    doc = _load_json_file(path, "schema")
    try:
        return parse_schema_document(doc)  # a model card or `schema infer` output works too
    except ValidationError as exc:
        raise ConfigError(f"invalid feature schema {path}: {exc}") from exc


def _schema_arg(args: argparse.Namespace) -> Any:
    if not args.schema:
        return None
    from scorewatch.core.schema import FeatureSchema

    schema = load_schema_file(args.schema)
    ids = _names(getattr(args, "id_columns", ""))
    drop = {*ids, *_names(getattr(args, "exclude", "")), getattr(args, "target", None)}
    if drop & set(schema.names) or set(ids) - set(schema.id_columns):
        features = tuple(f for f in schema.features if f.name not in drop)
        if not features:
            raise ConfigError(f"no feature left in {args.schema} after --id-columns/--exclude/--target")
        id_cols = (*schema.id_columns, *(i for i in ids if i not in schema.id_columns))
        schema = FeatureSchema(features=features, id_columns=id_cols)
    return schema


def _names(value: str | None) -> tuple[str, ...]:
    return tuple(c.strip() for c in (value or "").split(",") if c.strip())


def _infer(frame: pd.DataFrame, scores: tuple[str, ...], args: argparse.Namespace) -> Any:
    """The one schema inference on the first chunk (see ``scoring.schema_inference``)."""
    from scorewatch.scoring.schema_inference import infer_frame

    inferred = infer_frame(
        frame,
        id_columns=_names(getattr(args, "id_columns", "")),
        exclude=(*scores, *_names(getattr(args, "exclude", ""))),
        target=getattr(args, "target", None),
    )
    args.inferred = inferred
    return inferred.schema


def _excluded(
    args: argparse.Namespace, schema: Any, columns: list[str], scores: tuple[str, ...]
) -> list[Any]:
    """Columns of the input that are neither features nor scores, each with the reason."""
    inferred = getattr(args, "inferred", None)
    if inferred is not None:
        return [c.to_dict() for c in inferred.excluded if c.name not in scores]
    feats = set(schema.names)
    out = []
    for name in columns:
        if name in feats or name in scores:
            continue
        why = "identifier" if name in schema.id_columns else "not in the schema"
        out.append({"name": name, "role": "id" if name in schema.id_columns else "excluded", "reason": why})
    return out


def _schema_infer_cmd(args: argparse.Namespace) -> int:
    from scorewatch.core.errors import InputRejectedError
    from scorewatch.io import storage

    for batch in storage.open_batches(args.input, chunk_rows=args.chunk_rows):
        frame = batch.to_pandas()
        _infer(frame, _scores(argparse.Namespace(score_columns=None), list(frame.columns)), args)
        break
    else:
        raise InputRejectedError(
            f"{args.input}: no rows to infer a schema from", source_uri=args.input, reason="empty_input"
        )
    from scorewatch.scoring.offline import confirm_on_stream

    confirmed = confirm_on_stream(args.input, args.inferred, chunk_rows=args.chunk_rows)
    print(json.dumps(confirmed.to_dict(), indent=2))
    return 0


def _scores(args: argparse.Namespace, columns: list[str]) -> tuple[str, ...]:
    if args.score_columns is not None:
        return tuple(c for c in args.score_columns.split(",") if c)
    return tuple(c for c in columns if c == "prediction" or c.startswith("score_"))


def _stream_profile(
    uri: str, args: argparse.Namespace, *, schema: Any, edges_from: Any, scores: Any
) -> tuple[Any, pd.DataFrame, Any, tuple[str, ...], list[str]]:
    """Profile ``uri`` chunk by chunk; returns (profile, sample, schema, score columns, input columns)."""
    from scorewatch.io import storage
    from scorewatch.monitoring.profiles import ProfileBuilder
    from scorewatch.scoring.type_confirm import TypeConfirmer, changed

    builder = None
    confirmer = None
    columns: list[str] = []
    for batch in storage.open_batches(uri, chunk_rows=args.chunk_rows):
        frame = batch.to_pandas()
        if builder is None:
            columns = [str(c) for c in frame.columns]
            if scores is None:
                scores = _scores(args, columns)
            scores = tuple(c for c in scores if c in frame.columns)
            if schema is None:
                schema = _infer(frame, scores, args)
                confirmer = TypeConfirmer(args.inferred)  # the sample's types, checked on every row
            builder = ProfileBuilder(
                schema,
                edges_from=edges_from,
                score_columns=scores,
                sample_rows=args.sample_rows,
                random_state=args.seed,
            )
        builder.update(frame, frame[list(scores)] if scores else None)
        if confirmer is not None:
            confirmer.update(batch)
    if builder is None:
        from scorewatch.core.errors import InputRejectedError

        raise InputRejectedError(f"{uri}: no rows to profile", source_uri=uri, reason="empty_input")
    if confirmer is not None:
        confirmed = confirmer.finish()
        if changed(args.inferred, confirmed):
            # the file contradicts its first chunk: profile it again with the confirmed types
            args.inferred = confirmed
            return _stream_profile(uri, args, schema=confirmed.schema, edges_from=edges_from, scores=scores)
        args.inferred = confirmed  # same types; the reasons now count every row
    profile, sample = builder.finish()
    return profile, sample, schema, scores, columns


def _profile_cmd(args: argparse.Namespace) -> int:
    import pyarrow as pa

    from scorewatch.io import storage

    profile, sample, _, _, _ = _stream_profile(
        args.input, args, schema=_schema_arg(args), edges_from=None, scores=None
    )
    storage.write_json(args.output, profile.to_dict())
    if args.sample:
        storage.write_table(args.sample, pa.Table.from_pandas(sample, preserve_index=False))
    print(f"profiled {profile.rows:,} rows, {len(profile.columns)} columns -> {args.output}")
    return 0


def _schema_from_profile(profile: Any) -> Any:
    from scorewatch.core.schema import FeatureSchema, FeatureSpec

    return FeatureSchema(features=tuple(FeatureSpec(name=c.name, type=c.kind) for c in profile.features))


def _drift_cmd(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from scorewatch.core.config import DriftSettings
    from scorewatch.io import storage
    from scorewatch.monitoring.evaluation import evaluate
    from scorewatch.monitoring.profiles import Profile

    settings = DriftSettings()
    if args.settings:
        try:
            settings = DriftSettings.model_validate(_load_json_file(args.settings, "drift settings"))
        except ValidationError as exc:
            raise ConfigError(f"invalid drift settings {args.settings}: {exc}") from exc
    if args.multiple_testing:
        settings = settings.model_copy(update={"multiple_testing": args.multiple_testing})
    schema = _schema_arg(args)
    if args.baseline:
        reference = Profile.from_dict(storage.read_json(args.baseline))
        ref_sample = storage.read_table(args.reference_sample).to_pandas() if args.reference_sample else None
        schema = schema or _schema_from_profile(reference)
        scores: Any = tuple(c.name for c in reference.predictions)
    else:
        reference, ref_sample, schema, scores, _ = _stream_profile(
            args.reference, args, schema=schema, edges_from=None, scores=None
        )
    current, cur_sample, _, _, columns = _stream_profile(
        args.current, args, schema=schema, edges_from=reference, scores=scores
    )
    excluded = _excluded(args, schema, columns, tuple(scores))
    skip = {c["name"] for c in excluded} | set(scores)
    report = evaluate(
        reference,
        current,
        settings=settings,
        reference_sample=ref_sample,
        current_sample=cur_sample if ref_sample is not None else None,
        input_columns=[c for c in columns if c not in skip],
        id_columns=tuple(schema.id_columns),
        random_state=args.seed,
    )
    if args.json:
        storage.write_json(args.json, {**report.to_dict(), "excluded_columns": excluded})
    if args.html:
        title = args.title or f"drift: {args.current}"
        storage.write_bytes(args.html, report.to_html(title=title).encode("utf-8"), content_type="text/html")
    n = len(report.features)
    mv = report.multivariate
    print(
        f"dataset drift: {'yes' if report.dataset_drift else 'no'} "
        f"({len(report.drifted_features)}/{n} features: {', '.join(report.drifted_features) or '-'}); "
        f"prediction drift: {'yes' if report.prediction_drift else 'no'}; "
        f"multivariate AUC: {f'{mv.auc:.3f}' if mv and mv.auc is not None else '-'}; "
        f"quality violations: {len(report.quality_violations)}"
    )
    for c in excluded:
        print(f"excluded {c['name']}: {c['reason']}")
    return 1 if report.drifted else 0

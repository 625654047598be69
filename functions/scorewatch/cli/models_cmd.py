"""``scorewatch models list|show|register|export|promote|rollback|archive|repair-champion|approve``:
the registry from a shell (``configure|config|retire``: :mod:`scorewatch.cli.config_cmd`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from scorewatch.cli.registry_args import (
    add_registry_args,
    model_sha256,
    registry_from_args,
    unsafe_pickle,
    utcnow,
    version_mismatch,
)
from scorewatch.core.errors import ConfigError

_SAMPLE_ROWS = 1000
_REFERENCE_CHUNK = 65_536


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "models",
        help="list, show, register, promote and roll back model versions; configure and retire models",
    )
    sub = p.add_subparsers(dest="models_command", required=True)

    ls = sub.add_parser("list", help="models with their champion and number of versions")
    ls.add_argument("--json", action="store_true", help="print the models as JSON")
    add_registry_args(ls)
    ls.set_defaults(func=run_list)

    show = sub.add_parser("show", help="a version's card (default: the champion)")
    show.add_argument("model", metavar="NAME[@REF]", help="churn, churn@champion or churn@3")
    show.add_argument("--json", action="store_true", help="the card as JSON")
    show.add_argument("--versions", action="store_true", help="list every version instead of one card")
    add_registry_args(show)
    show.set_defaults(func=run_show)

    reg = sub.add_parser(
        "register",
        help="register a local model file as a new candidate version",
        description=(
            "Register a fitted scikit-learn model file (.skops or an ONNX graph .onnx; .joblib/.pkl with "
            "--allow-unsafe-pickle). The feature schema is inferred from the estimator and the "
            "reference data; with --reference, the reference is scored and profiled as the baseline."
        ),
    )
    reg.add_argument("--name", required=True, help="model name (letters, digits, -, _)")
    reg.add_argument(
        "--model-file",
        required=True,
        metavar="PATH_OR_URI",
        help="the fitted model: a .skops or .onnx file (pickle is refused)",
    )
    reg.add_argument(
        "--task",
        required=True,
        choices=("binary", "multiclass", "regression"),
        help="what the model predicts",
    )
    reg.add_argument("--reference", metavar="URI", help="reference/training data for the baseline profile")
    reg.add_argument("--target", help="target column (excluded from features)")
    reg.add_argument("--id-columns", default="", help="comma-separated id columns passed through to outputs")
    reg.add_argument(
        "--schema",
        metavar="FILE",
        help="FeatureSchema JSON (or `scorewatch schema infer` output) instead of the inferred schema",
    )
    reg.add_argument("--description", help="free text stored on the model card")
    reg.add_argument("--promote", action="store_true", help="also make it the champion")
    reg.add_argument("--json", action="store_true", help="print the new card as JSON")
    add_registry_args(reg)
    reg.set_defaults(func=run_register)

    ex = sub.add_parser(
        "export",
        help="convert a version to ONNX, verify it and register the twin as a new candidate",
        description=(
            "Convert NAME@VER with skl2onnx (LightGBM/XGBoost final steps through onnxmltools), score "
            "its baseline sample (or --sample) both ways, refuse the twin when any score differs by "
            "more than --tolerance, and register it as a new candidate version (model.onnx, "
            "hash-pinned; the max abs difference on its card). Needs scorewatch[onnx]."
        ),
    )
    ex.add_argument("model", metavar="NAME@REF", help="churn@3 or churn@champion")
    ex.add_argument("--format", choices=("onnx",), default="onnx", help="the standard form (onnx)")
    ex.add_argument(
        "--tolerance",
        type=float,
        default=1e-4,
        help="largest max abs difference allowed: of a probability, or of a regression prediction "
        "relative to max(1, max |prediction|) (default 1e-4)",
    )
    ex.add_argument(
        "--sample",
        metavar="URI",
        help="rows to verify on instead of the baseline sample (needed when the version has none)",
    )
    ex.add_argument("--json", action="store_true", help="print the twin's card as JSON")
    add_registry_args(ex)
    ex.set_defaults(func=run_export)

    pr = sub.add_parser("promote", help="make a version the champion (the current one is archived)")
    pr.add_argument("name", help="model name")
    pr.add_argument("version", help="the version to make champion")
    pr.add_argument("--by", default="cli", help="recorded as promoted_by")
    pr.add_argument(
        "--expect-champion",
        metavar="VERSION|none",
        help="only promote if this is still the champion ('none': only if there is no champion)",
    )
    _add_force(pr, "promote a rejected or archived version")
    add_registry_args(pr)
    pr.set_defaults(func=run_promote)

    rb = sub.add_parser("rollback", help="restore the previous champion")
    rb.add_argument("name", help="model name")
    rb.add_argument("--by", default="cli", help="recorded as promoted_by")
    add_registry_args(rb)
    rb.set_defaults(func=run_rollback)

    ar = sub.add_parser("archive", help="archive a version that is not the champion")
    ar.add_argument("name", help="model name")
    ar.add_argument("version", help="the version to archive")
    ar.add_argument("--by", default=os.environ.get("USER") or "cli", help="recorded in the status history")
    _add_force(ar, "archive a candidate or rejected version")
    add_registry_args(ar)
    ar.set_defaults(func=run_archive)

    rp = sub.add_parser(
        "repair-champion",
        help="rewrite a damaged or missing champion pointer (verifies the version first)",
        description=(
            "Replace the champion pointer, whatever state it is in, with one naming VERSION "
            "(default: the champion it, or the pointer of an earlier release, still names). The "
            "version's artifact and baseline are verified first; --reason is recorded."
        ),
    )
    rp.add_argument("name", help="model name")
    rp.add_argument("--version", help="the version to make champion (default: the one still named)")
    rp.add_argument("--reason", required=True, help="why (recorded in the status history)")
    rp.add_argument("--force", action="store_true", help="allow a rejected version")
    rp.add_argument("--by", default=os.environ.get("USER") or "cli", help="recorded as promoted_by")
    add_registry_args(rp)
    rp.set_defaults(func=run_repair_champion)

    ap = sub.add_parser(
        "approve",
        help="approve (or --deny) the candidate a retraining run is waiting on",
        description=(
            "Resume the retraining execution waiting for a human (retraining.approval_required): "
            "approval promotes the candidate and records --by in its card's approvals; --deny "
            "rejects it with --reason."
        ),
    )
    ap.add_argument("name", help="model name")
    ap.add_argument("--deny", action="store_true", help="reject the candidate instead")
    ap.add_argument("--reason", help="why (recorded with a denial)")
    ap.add_argument("--by", default=os.environ.get("USER") or "cli", help="recorded as the approver")
    add_registry_args(ap)
    ap.set_defaults(func=run_approve)

    from scorewatch.cli.config_cmd import register_models

    register_models(sub)  # configure, config, retire: configurations as data


def _add_force(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--force", action="store_true", help=f"{what} (needs --reason)")
    parser.add_argument("--reason", help="why the transition is forced (recorded in the status history)")


# ---------------------------------------------------------------------------------------- read


def _console():
    from rich.console import Console

    return Console(soft_wrap=False, width=max(100, Console().width))


def run_list(args: argparse.Namespace) -> int:
    reg = registry_from_args(args)
    rows = []
    for name in reg.list_models():
        cards = reg.list_versions(name)
        champion = next((c.version for c in cards if c.status == "champion"), None)
        rows.append(
            {
                "model": name,
                "champion": champion,
                "versions": len(cards),
                "latest": cards[-1].version if cards else None,
            }
        )
    if args.json:
        print(json.dumps(rows))
        return 0
    if not rows:
        print("no models registered")
        return 0
    from rich.table import Table

    table = Table("model", "champion", "versions", "latest")
    for r in rows:
        table.add_row(r["model"], r["champion"] or "-", str(r["versions"]), r["latest"] or "-")
    _console().print(table)
    return 0


def _split_ref(text: str) -> tuple[str, str]:
    name, sep, ref = text.partition("@")
    return name, (ref if sep and ref else "champion")


def render_card(card) -> list[Any]:
    """Rich renderables for a card: a field table and a feature table."""
    from rich.table import Table

    fields = Table(title=f"{card.model_name}@{card.version}", show_header=False)
    fields.add_column("field", style="bold")
    fields.add_column("value")

    def add(label: str, value: Any) -> None:
        if value not in (None, "", (), {}, []):
            fields.add_row(label, value if isinstance(value, str) else json.dumps(value, default=str))

    add("status", card.status)
    add("task", card.task)
    add("target", card.target)
    add("classes", list(card.classes) if card.classes else None)
    add("created", card.created_at.isoformat())
    add("promoted", f"{card.promoted_at.isoformat()} by {card.promoted_by}" if card.promoted_at else None)
    add("previous champion", card.previous_champion)
    add("parent version", card.parent_version)
    add("artifact", f"{card.artifact.key} ({card.artifact.format}, {card.artifact.size_bytes} bytes)")
    add("sha256", card.artifact.sha256)
    add("metrics", {k: round(v, 6) for k, v in card.metrics.items()})
    add("library versions", ", ".join(f"{k} {v}" for k, v in sorted(card.library_versions.items())))
    add("training data", card.training_data.model_dump(exclude_none=True))
    add("baseline", card.baseline.model_dump(exclude_none=True))
    add("id columns", ", ".join(card.feature_schema.id_columns))
    if card.comparison:
        c = card.comparison
        add(
            "comparison", f"{c.metric}: challenger {c.challenger} vs champion {c.champion}, passed={c.passed}"
        )
    add("decision policy", card.decision_policy)
    add("description", card.description)
    add("conversion", card.conversion.model_dump(exclude={"converter_versions"}) if card.conversion else None)

    features = Table("feature", "type", "nullable", "allowed", title="features")
    for f in card.feature_schema.features:
        if f.categories:
            shown = ", ".join(f.categories[:8]) + (
                f" ... (+{len(f.categories) - 8})" if len(f.categories) > 8 else ""
            )
        elif f.min is not None or f.max is not None:
            shown = f"[{f.min}, {f.max}]"
        else:
            shown = ""
        features.add_row(f.name, f.type, "yes" if f.nullable else "no", shown)
    return [fields, features]


def run_show(args: argparse.Namespace) -> int:
    reg = registry_from_args(args)
    name, ref = _split_ref(args.model)
    if args.versions:
        cards = reg.list_versions(name)
        if args.json:
            print(json.dumps([json.loads(c.model_dump_json()) for c in cards]))
            return 0
        from rich.table import Table

        table = Table("version", "status", "created", "sha256", "metrics", title=name)
        for c in cards:
            metrics = ", ".join(f"{k}={v:.4g}" for k, v in c.metrics.items())
            table.add_row(c.version, c.status, c.created_at.isoformat(), c.artifact.sha256[:12], metrics)
        _console().print(table)
        return 0
    card = reg.get(name, ref)
    if args.json:
        print(card.model_dump_json(indent=2))
        return 0
    console = _console()
    for renderable in render_card(card):
        console.print(renderable)
    return 0


# ---------------------------------------------------------------------------------------- write


#: Labeled reference rows the estimators (CBPE calibration, DLE loss models) are fitted on.
_ESTIMATION_ROWS = 50_000


def _baseline(
    reference: str, estimator: Any, schema, task: str, classes, *, target: str | None = None
) -> tuple[Any, Any, int, int, Any]:
    """Stream the reference through validation and the model into a ProfileBuilder.

    With ``target`` (a column of the reference), the first ``_ESTIMATION_ROWS`` valid rows and
    their labels also fit the estimators of performance without labels (``fit_reference``).
    Returns (profile, sample DataFrame, rows_in, rows_rejected, ReferenceFit or None); raises
    ModuleNotFoundError when the profiles module is not installed.
    """
    import pandas as pd

    from scorewatch.io import storage
    from scorewatch.monitoring import estimation
    from scorewatch.monitoring.profiles import ProfileBuilder
    from scorewatch.scoring.scorer import predict_frame
    from scorewatch.scoring.validation import validate_batch

    builder = None
    rows_in = rejected = 0
    wanted = list(dict.fromkeys([*schema.names, *schema.id_columns, *([target] if target else [])]))
    kept: list[tuple[Any, Any, Any]] = []
    kept_rows = 0
    for batch in storage.open_batches(reference, chunk_rows=_REFERENCE_CHUNK, columns=wanted):
        offset = rows_in
        chunk = validate_batch(batch, schema, row_offset=rows_in, source_uri=reference)
        rows_in += chunk.rows_in
        rejected += len(chunk.rejected)
        if chunk.features.empty:
            continue
        outputs = predict_frame(estimator, chunk.features, task=task, classes=classes)
        if builder is None:
            builder = ProfileBuilder(schema, score_columns=tuple(outputs.columns), random_state=0)
        builder.update(chunk.features, outputs)
        if target and kept_rows < _ESTIMATION_ROWS and chunk.source_rows is not None:
            labels = batch.column(target).to_pandas().iloc[chunk.source_rows - offset - 1]
            kept.append((chunk.features, outputs, labels.reset_index(drop=True)))
            kept_rows += len(labels)
    if builder is None:
        raise ConfigError(f"--reference {reference}: no valid rows ({rejected} of {rows_in} rejected)")
    profile, sample = builder.finish()
    fit = None
    if kept:
        fit = estimation.fit_reference(
            task,
            pd.concat([k[2] for k in kept], ignore_index=True),
            pd.concat([k[1] for k in kept], ignore_index=True),
            features=pd.concat([k[0] for k in kept], ignore_index=True),
            classes=classes,
            categorical=[f.name for f in schema.features if f.type != "numeric"],
        )
    return profile, sample, rows_in, rejected, fit


def run_register(args: argparse.Namespace) -> int:
    import pyarrow as pa

    from scorewatch.core.cards import DataRef
    from scorewatch.core.errors import ModelNotFoundError
    from scorewatch.core.schema import check_model_name
    from scorewatch.io import artifacts, storage
    from scorewatch.scoring.schema_inference import infer_schema, infer_task

    check_model_name(args.name)
    reg = registry_from_args(args)
    fmt = artifacts.format_for_path(args.model_file)
    try:
        data = storage.read_bytes(args.model_file)
    except FileNotFoundError as exc:
        raise ModelNotFoundError(f"model file {args.model_file} does not exist") from exc
    estimator = artifacts.load_artifact(
        data,
        fmt=fmt,
        expected_sha256=model_sha256(args),
        what=args.model_file,
        allow_unsafe_pickle=unsafe_pickle(args),
        allow_version_mismatch=version_mismatch(args),
    )
    task, _ = infer_task(estimator)
    if task != args.task:
        raise ConfigError(f"--task {args.task} but {args.model_file} holds a {task} model")
    ids = [c.strip() for c in args.id_columns.split(",") if c.strip()]
    sample = None
    labeled = False
    if args.reference:
        for batch in storage.open_batches(args.reference, chunk_rows=_SAMPLE_ROWS):
            sample = batch.to_pandas()
            break
        if sample is not None and args.target in sample.columns:
            sample = sample.drop(columns=[args.target])
            labeled = True
    inferred = infer_schema(estimator, sample, id_columns=ids)
    notes = [inferred.notice.replace("; no card", "")]
    if inferred.sampled and not getattr(args, "schema", None):
        from scorewatch.scoring.offline import confirm_features

        inferred = confirm_features(args.reference, inferred, sample)  # the sample's types, every row
    if getattr(args, "schema", None):
        import dataclasses

        from scorewatch.cli.monitor_cmd import load_schema_file

        given = load_schema_file(args.schema)
        if ids:
            given = given.model_copy(update={"id_columns": tuple(dict.fromkeys((*given.id_columns, *ids)))})
        inferred = dataclasses.replace(inferred, schema=given)
        notes = [f"schema from {args.schema}"]

    profile = baseline_sample = fit = None
    training = DataRef()
    if args.reference:
        try:
            prof, frame, rows_in, rejected, fit = _baseline(
                args.reference,
                estimator,
                inferred.schema,
                task,
                inferred.classes,
                target=args.target if labeled else None,
            )
        except ModuleNotFoundError as exc:
            if exc.name != "scorewatch.monitoring.profiles":
                raise
            notes.append("scorewatch.monitoring.profiles is not installed: registered without a baseline")
        else:
            profile = prof.to_dict()
            baseline_sample = pa.Table.from_pandas(frame, preserve_index=False) if len(frame) else None
            training = DataRef(uri=args.reference, rows=rows_in)
            if rejected:
                notes.append(f"{rejected} of {rows_in} reference rows failed validation and were left out")
            if fit is not None:
                notes.append(
                    "performance estimation fitted on the labeled reference (it should be data the "
                    "model was not trained on)"
                )
    calibration, calibrator, estimated = fit.card_fields() if fit is not None else (None, None, None)
    stored: Any = estimator
    if fmt == "onnx":  # registered byte for byte: the graph is the artifact
        from dataclasses import replace

        from scorewatch.cli.onnx_export import onnx_artifact
        from scorewatch.io.onnx_model import schema_for

        stored = onnx_artifact(data)
        if not getattr(args, "schema", None):
            schema, _ = schema_for(estimator, inferred.schema)
            inferred = replace(inferred, schema=schema)
    card = reg.register(
        args.name,
        stored,
        task=task,
        feature_schema=inferred.schema,
        now=utcnow(),
        target=args.target,
        classes=inferred.classes,
        training_data=training,
        baseline_profile=profile,
        baseline_sample=baseline_sample,
        calibration=calibration,
        calibrator=calibrator,
        estimation=estimated,
        loss_models=fit.loss_models.to_state() if fit is not None and fit.loss_models else None,
        description=args.description,
        fmt=fmt,
    )
    if args.promote:
        card = reg.promote(args.name, card.version, now=utcnow(), promoted_by="cli")
    for note in notes:
        print(f"scorewatch: note: {note}", file=sys.stderr)
    if args.json:
        print(card.model_dump_json(indent=2))
    else:
        baseline = "with baseline" if card.baseline.profile_key else "without baseline"
        what = f"{card.model_name}@{card.version}"
        print(f"registered {what} ({card.status}, {baseline}) sha256 {card.artifact.sha256}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from scorewatch.cli.onnx_export import export_onnx

    name, ref = _split_ref(args.model)
    card = export_onnx(
        registry_from_args(args), name, ref, now=utcnow(), tolerance=args.tolerance, sample_uri=args.sample
    )
    if args.json:
        print(card.model_dump_json(indent=2))
        return 0
    conv = card.conversion
    assert conv is not None
    print(
        f"registered {card.model_name}@{card.version} (candidate), the ONNX twin of "
        f"{card.model_name}@{conv.source_version}: max abs difference {conv.max_abs_diff:.3g} on "
        f"{conv.sample_rows} {conv.sample} rows (tolerance {conv.tolerance:g}); sha256 {card.artifact.sha256}"
    )
    return 0


def _expected(text: str | None) -> Any:
    if text is None:
        return ...
    return None if text.lower() == "none" else text


def run_promote(args: argparse.Namespace) -> int:
    reg = registry_from_args(args)
    card = reg.promote(
        args.name,
        args.version,
        now=utcnow(),
        promoted_by=args.by,
        expected_champion=_expected(args.expect_champion),
        force=args.force,
        reason=args.reason,
    )
    previous = f" (was {card.previous_champion})" if card.previous_champion else ""
    print(f"promoted {card.model_name}@{card.version} to champion{previous}")
    return 0


def run_rollback(args: argparse.Namespace) -> int:
    reg = registry_from_args(args)
    card = reg.rollback(args.name, now=utcnow(), promoted_by=args.by)
    print(
        f"rolled back {card.model_name}: champion is {card.version} again (archived {card.previous_champion})"
    )
    return 0


def run_archive(args: argparse.Namespace) -> int:
    reg = registry_from_args(args)
    card = reg.archive(
        args.name, args.version, now=utcnow(), by=args.by, force=args.force, reason=args.reason
    )
    print(f"archived {card.model_name}@{card.version}")
    return 0


def run_repair_champion(args: argparse.Namespace) -> int:
    reg = registry_from_args(args)
    card = reg.repair_champion(
        args.name, args.version, now=utcnow(), by=args.by, reason=args.reason, force=args.force
    )
    print(f"repaired the champion pointer of {card.model_name}: champion is {card.version}")
    return 0


def run_approve(args: argparse.Namespace) -> int:
    import boto3

    from scorewatch.lifecycle.retraining import decide_approval

    request = decide_approval(
        registry_from_args(args),
        boto3.client("stepfunctions"),
        args.name,
        approve=not args.deny,
        by=args.by,
        reason=args.reason,
    )
    verb = "denied" if args.deny else "approved"
    print(f"{verb} {request.model_name}@{request.version} (execution {request.execution_id}) by {args.by}")
    return 0

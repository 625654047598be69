"""Score one file offline: load a model file without a card, score, record the rejections.

Used by ``scorewatch score`` and :func:`scorewatch.score_file`. The artifact
goes through the same verified loader as a registered one (skops type allowlist; a pickle only
with a known sha256 and an explicit opt-in); the feature schema is inferred from the estimator
and a sample of the input, and the result says so (the notice).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from scorewatch.core.errors import ConfigError, InputRejectedError, ModelNotFoundError

if TYPE_CHECKING:
    from scorewatch.core.schema import FeatureSchema

MODEL_FILE_SUFFIXES = (".skops", ".onnx", ".joblib", ".pkl", ".pickle")
_SAMPLE_ROWS = 1000
#: Rows per batch of the pass that confirms sampled types on the whole input.
_CONFIRM_ROWS = 65_536


def local_model_name(path: str) -> str:
    """A safe model name for a local file (its stem, unsafe characters replaced).

    >>> local_model_name("/tmp/My Churn Model.skops")
    'My-Churn-Model'
    """
    stem = PurePosixPath(path.replace("\\", "/")).name
    for suffix in MODEL_FILE_SUFFIXES:
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    name = re.sub(r"[^A-Za-z0-9_.-]", "-", stem).replace("..", "-").lstrip("._-")[:63]
    return name or "local-model"


def confirm_on_stream(uri: str, inferred: Any, *, chunk_rows: int = _CONFIRM_ROWS) -> Any:
    """``inferred`` (from a sample of ``uri``) confirmed on every row of ``uri``
    (``scoring.type_confirm``): one more pass, reading only the confirmed columns."""
    from scorewatch.io import storage
    from scorewatch.scoring.type_confirm import TypeConfirmer

    confirmer = TypeConfirmer(inferred)
    if not confirmer.columns:
        return inferred
    for batch in storage.open_batches(uri, chunk_rows=chunk_rows, columns=confirmer.columns):
        confirmer.update(batch)  # Arrow arrays, counted without building a frame
    return confirmer.finish()


def confirm_features(uri: str, inferred: Any, sample: Any, *, chunk_rows: int = _CONFIRM_ROWS) -> Any:
    """An :class:`~scorewatch.scoring.schema_inference.InferredSchema` whose features typed from
    ``sample`` (``inferred.sampled``) are confirmed on every row of ``uri``."""
    from dataclasses import replace

    from scorewatch.scoring.type_confirm import retyped, sampled_inference

    frame = sampled_inference(sample, inferred.sampled) if sample is not None else None
    if frame is None:
        return inferred
    confirmed = confirm_on_stream(uri, frame, chunk_rows=chunk_rows)
    return replace(inferred, schema=retyped(inferred.schema, confirmed))


def load_model_file(
    path: str,
    *,
    input_uri: str,
    id_columns: list[str],
    now: datetime,
    allow_unsafe_pickle: bool = False,
    allow_version_mismatch: bool = False,
    expected_sha256: str | None = None,
    schema: FeatureSchema | None = None,
):
    """Load a local/S3 model file without a card; infer its schema from the estimator and the input.

    Parameters
    ----------
    path
        The model file (``.skops``, ``.onnx``; ``.joblib``/``.pkl`` only with ``allow_unsafe_pickle`` and
        ``expected_sha256``), a local path or ``s3://`` URI.
    input_uri
        The input whose first rows complete the inferred schema.
    id_columns
        Columns carried to the output and never treated as features.
    now
        The card's creation time.
    schema
        A reviewed ``FeatureSchema`` (``scorewatch schema infer``, edited) used instead of the
        inferred one; it must name every column the estimator was fitted on.

    Returns
    -------
    (LoadedModel, str)
        The model (card version ``local-<sha256 prefix>``) and the notice to show the user.

    Raises
    ------
    ModelNotFoundError
        The file does not exist.
    ArtifactIntegrityError, UntrustedArtifactError
        The artifact fails verification (see :mod:`scorewatch.io.artifacts`).
    """
    from scorewatch.core.cards import ArtifactRef, ModelCard
    from scorewatch.io import artifacts, storage
    from scorewatch.io.registry import LoadedModel
    from scorewatch.scoring.schema_inference import infer_schema

    fmt = artifacts.format_for_path(path)
    try:
        data = storage.read_bytes(path)
    except FileNotFoundError as exc:
        raise ModelNotFoundError(f"model file {path} does not exist") from exc
    sha = artifacts.sha256_hex(data)
    estimator = artifacts.load_artifact(
        data,
        fmt=fmt,
        # no registry record: the caller's expected sha256 if given (required for a pickle); the
        # skops type allowlist applies either way
        expected_sha256=expected_sha256,
        what=path,
        allow_unsafe_pickle=allow_unsafe_pickle,
        allow_version_mismatch=allow_version_mismatch,
    )
    sample = None
    for batch in storage.open_batches(input_uri, chunk_rows=_SAMPLE_ROWS):
        sample = batch.to_pandas()
        break
    inferred = infer_schema(estimator, sample, id_columns=id_columns)
    if schema is None and inferred.sampled:
        inferred = confirm_features(input_uri, inferred, sample)  # the sample's types, every row
    feature_schema, notice = inferred.schema, inferred.notice
    if fmt == "onnx":  # the graph's inputs say which columns are text (or it embeds the schema)
        from scorewatch.io.onnx_model import schema_for

        feature_schema, notice = schema_for(estimator, feature_schema)
    if schema is not None:
        fitted = [str(c) for c in getattr(estimator, "feature_names_in_", ())]
        features = list(schema.features)
        if fitted:
            missing = [c for c in fitted if c not in set(schema.names)]
            extra = [c for c in schema.names if c not in set(fitted)]
            if missing or extra:
                raise ConfigError(
                    f"the schema must name exactly the features {path} was fitted on: "
                    f"missing {missing}, not fitted on {extra}"
                )
            features = [schema.feature(c) for c in fitted]  # the order the estimator expects
        ids = tuple(dict.fromkeys([*schema.id_columns, *id_columns]))
        feature_schema = schema.model_copy(update={"features": tuple(features), "id_columns": ids})
        notice = "feature schema from the given schema file"
    card = ModelCard(
        model_name=local_model_name(path),
        version=f"local-{sha[:12]}",
        task=inferred.task,
        feature_schema=feature_schema,
        classes=inferred.classes,
        artifact=ArtifactRef(key=path, format=fmt, sha256=sha, size_bytes=len(data)),
        created_at=now,
        library_versions={},
        description=notice,
    )
    return LoadedModel(card=card, estimator=estimator), notice


def score_file_with(
    model: Any,
    input_uri: str,
    output_uri: str,
    *,
    chunk_rows: int,
    max_reject_fraction: float,
    now: datetime,
    rejected_uri: str | None = None,
    observers: Sequence[Callable[..., None]] = (),
):
    """Score ``input_uri`` with a loaded model into ``output_uri`` and record rejections.

    An ``output_uri`` ending in ``/`` gets ``<batch_id>.parquet`` (the batch id is deterministic
    in the input's identity and the model version). With ``rejected_uri``, rejected rows
    (``.parquet``) or the whole-file rejection report (``.json``) are written there, also when
    the input is refused as a whole (the :class:`InputRejectedError` is then re-raised).

    Returns
    -------
    ScoreResult
    """
    from scorewatch.io import storage
    from scorewatch.scoring import scorer

    try:
        info = storage.stat(input_uri)
    except FileNotFoundError as exc:
        raise InputRejectedError(
            f"{input_uri}: no such file or object", source_uri=input_uri, reason="not_found"
        ) from exc
    batch_id = scorer.batch_id_for(storage.source_identity(info), model.card.version)
    if output_uri.endswith("/"):
        output_uri = storage.join(output_uri, f"{batch_id}.parquet")
    from scorewatch.scoring.rejections import ARROW_DATA_ERRORS, unreadable_input

    try:
        try:
            result = scorer.score_source(
                input_uri,
                model=model,
                output_uri=output_uri,
                batch_id=batch_id,
                chunk_rows=chunk_rows,
                max_reject_fraction=max_reject_fraction,
                scored_at=now,
                observers=observers,
            )
        except ARROW_DATA_ERRORS as exc:  # the same batch boundary as the score function's
            raise unreadable_input(input_uri, exc) from exc
    except InputRejectedError as exc:
        if rejected_uri:
            scorer.write_rejections(
                rejected_uri,
                input_uri,
                getattr(exc, "rejected", []),
                reason=exc.reason,
                message=str(exc),
                rows_in=getattr(exc, "rows_in", None),
                rows_rejected=getattr(exc, "rows_rejected", None),
            )
        raise
    if rejected_uri and result.rows_rejected:
        scorer.write_rejections(
            rejected_uri,
            input_uri,
            result.rejected,
            reason="rejected_rows",
            rows_in=result.rows_in,
            rows_rejected=result.rows_rejected,
        )
    return result

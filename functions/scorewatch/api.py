"""The public Python API: compare two DataFrames, profile one, score a file with a model file.

>>> import numpy as np, pandas as pd
>>> from scorewatch.api import compare
>>> rng = np.random.default_rng(0)
>>> ref = pd.DataFrame({"age": rng.normal(40, 10, 2000), "plan": rng.choice(["a", "b", "c"], 2000)})
>>> cur = pd.DataFrame({"age": rng.normal(48, 10, 2000), "plan": rng.choice(["a", "b", "c"], 2000)})
>>> report = compare(ref, cur)
>>> report.drifted_features
('age',)
>>> html = report.to_html()  # or open(...).write(html); report.to_dict() for JSON

Everything runs in memory on the frames given: KS and Wasserstein use all rows (not the bounded
sample the Lambda path keeps), so results equal Evidently's on the same data.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pandas as pd

from scorewatch.core.config import DEFAULT_CHUNK_ROWS, DriftSettings
from scorewatch.core.errors import MonitoringInputError
from scorewatch.core.schema import FeatureSchema
from scorewatch.monitoring.evaluation import MonitoringReport, evaluate
from scorewatch.monitoring.profiles import (
    DEFAULT_BINS,
    DEFAULT_TOP_N,
    Profile,
    build_profile,
    build_profile_sorted,
)

if TYPE_CHECKING:
    from scorewatch.scoring.scorer import ScoreResult


def _is_score_column(name: str) -> bool:
    return name == "prediction" or name.startswith("score_")


def infer_schema(
    df: pd.DataFrame,
    *,
    exclude: Sequence[str] = (),
    id_columns: Sequence[str] = (),
    target: str | None = None,
) -> FeatureSchema:
    """A feature schema for ``df`` from the one schema inference
    (:func:`scorewatch.scoring.schema_inference.infer_frame`): numbers (also numbers held as
    text, blanks being missing) -> numeric, bool -> boolean, datetimes -> datetime, the rest
    categorical; identifier columns (named like an id, unique per row, monotone integers) go to
    ``id_columns`` and free text is left out, so neither is profiled.

    Raises
    ------
    MonitoringInputError
        A column name is not a non-empty string, or no column is left.
    """
    from scorewatch.scoring.schema_inference import infer_frame

    return infer_frame(df, exclude=exclude, id_columns=id_columns, target=target).schema


def _split(
    df: pd.DataFrame, schema: FeatureSchema | None, score_columns: Sequence[str] | None
) -> tuple[FeatureSchema, tuple[str, ...]]:
    scores = (
        tuple(score_columns)
        if score_columns is not None
        else tuple(c for c in df.columns if isinstance(c, str) and _is_score_column(c))
    )
    missing = [c for c in scores if c not in df.columns]
    if missing:
        raise MonitoringInputError(f"score columns {missing} are not in the frame")
    return (schema or infer_schema(df, exclude=scores)), scores


def profile(
    df: pd.DataFrame,
    *,
    schema: FeatureSchema | None = None,
    score_columns: Sequence[str] | None = None,
    top_n: int = DEFAULT_TOP_N,
    n_bins: int = DEFAULT_BINS,
) -> Profile:
    """Profile ``df`` (schema inferred from dtypes unless given; ``prediction``/``score_*`` columns
    are profiled as predictions unless ``score_columns`` says otherwise).

    Examples
    --------
    >>> import pandas as pd
    >>> profile(pd.DataFrame({"x": [1.0, 2.0], "score_1": [0.1, 0.9]})).column("score_1").role
    'prediction'
    """
    schema, scores = _split(df, schema, score_columns)
    return build_profile(df, schema, score_columns=scores, top_n=top_n, n_bins=n_bins)


def compare(
    reference_df: pd.DataFrame,
    current_df: pd.DataFrame,
    *,
    schema: FeatureSchema | None = None,
    settings: DriftSettings | None = None,
    score_columns: Sequence[str] | None = None,
    random_state: int = 0,
) -> MonitoringReport:
    """Drift, prediction drift, multivariate drift and data quality of ``current_df`` vs ``reference_df``.

    Parameters
    ----------
    reference_df, current_df : DataFrame
        Neither is modified.
    schema : FeatureSchema, optional
        Inferred from ``reference_df``'s dtypes when omitted.
    settings : DriftSettings, optional
        Per-column tests/thresholds etc. (defaults: Evidently-compatible test choice).
    score_columns : sequence of str, optional
        Prediction columns; default: ``prediction`` and ``score_*`` columns of the reference.
    random_state : int
        Seeds the domain classifier.

    Returns
    -------
    MonitoringReport
    """
    schema, scores = _split(reference_df, schema, score_columns)
    scores = tuple(c for c in scores if c in current_df.columns)
    # one sort per numeric column and side serves the profile and the drift tests on raw values
    ref, ref_sorted = build_profile_sorted(reference_df, schema, score_columns=scores)
    cur_present = [c for c in scores if c in current_df.columns]
    cur, cur_sorted = build_profile_sorted(current_df, schema, score_columns=cur_present, edges_from=ref)
    return evaluate(
        ref,
        cur,
        settings=settings or DriftSettings(),
        reference_sample=reference_df,
        current_sample=current_df,
        input_columns=[c for c in current_df.columns if c not in scores],
        id_columns=schema.id_columns,
        random_state=random_state,
        reference_sorted=ref_sorted,
        current_sorted=cur_sorted,
    )


def score_file(
    model: str,
    input_uri: str,
    output_uri: str,
    *,
    id_columns: Sequence[str] = (),
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    max_reject_fraction: float = 0.05,
    rejected_uri: str | None = None,
    model_sha256: str | None = None,
    allow_unsafe_pickle: bool = False,
    now: datetime | None = None,
) -> ScoreResult:
    """Score one file with a model file, offline: what ``scorewatch score --model FILE`` does.

    Parameters
    ----------
    model : str
        A ``.skops`` file (local path or ``s3://`` URI). Its feature schema is inferred from the
        estimator and the first rows of the input.
    input_uri, output_uri : str
        ``.csv``, ``.csv.gz``, ``.parquet`` or ``.jsonl`` in; one Parquet file out (written
        atomically: it appears only when complete). An ``output_uri`` ending in ``/`` gets
        ``<batch_id>.parquet``.
    id_columns : sequence of str
        Carried to the output, never used as features.
    rejected_uri : str, optional
        Where rejected rows (``.parquet``) or the whole-file rejection report (``.json``) go.
    model_sha256 : str, optional
        The artifact's expected sha256 (required for a pickle, with ``allow_unsafe_pickle``).
    now : datetime, optional
        The ``scored_at`` time (default: the current UTC time).

    Returns
    -------
    ScoreResult
        Row counts (``rows_in == rows_scored + rows_rejected``), output URI and batch id.

    Raises
    ------
    InputRejectedError
        The input is refused as a whole (missing columns, too many bad rows, unreadable).
    ModelError
        The model file is missing or fails verification.

    Examples
    --------
    >>> result = score_file("churn.skops", "customers.csv", "out/")  # doctest: +SKIP
    >>> result.rows_scored + result.rows_rejected == result.rows_in  # doctest: +SKIP
    True
    """
    from scorewatch.scoring.offline import load_model_file, score_file_with

    now = now or datetime.now(UTC)
    loaded, _notice = load_model_file(
        model,
        input_uri=input_uri,
        id_columns=list(id_columns),
        now=now,
        allow_unsafe_pickle=allow_unsafe_pickle,
        expected_sha256=model_sha256,
    )
    return score_file_with(
        loaded,
        input_uri,
        output_uri,
        chunk_rows=chunk_rows,
        max_reject_fraction=max_reject_fraction,
        now=now,
        rejected_uri=rejected_uri,
    )

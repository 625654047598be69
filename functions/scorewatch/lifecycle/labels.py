"""Delayed labels: join ground truth back to past scored outputs and measure realized performance.

Ground truth is dropped under ``labels/<model>/`` in any input format (CSV, CSV.gz, Parquet,
JSONL): the model's id columns plus the label (a column named like the model's target, or
``label``), optionally ``labeled_at``. Each drop reads only the label files that are new to the
model's ledger (``label_store``: each file is read once into a small store part), then joins
every stored label with the *current* scored outputs of the last ``retraining.window_days`` days
(``scored/model=<m>/``, streamed with column projection; only labeled rows are kept), so the
result is cumulative, a replayed event recomputes the same numbers, memory is bounded by the
labels, and labels that arrived before their batch are joined once it is scored. Realized
performance is computed per model version; the headline value (metric, degradation) is the
champion's own rows'.

Ids are matched on their canonical text (``7``, ``"7"`` and ``7.0`` are the same id) because
label files written by people rarely keep the scored file's types. Labels whose id was never
scored are counted as ``unknown_ids`` (with a sample) and reported, not dropped silently; a label
given twice for one id keeps the latest file's value and is counted in ``duplicate_labels``.

Results: realized metrics per scoring batch and for the window, label coverage and latency, the
estimate without labels beside the realized value (CBPE for classifiers, computed here from the
scores; DLE for regressors, as the monitor recorded it for each batch), written as history rows under
``monitoring/model=<m>/performance/date=<d>/<run_id>.parquet`` plus a JSON summary under
``performance/summary/`` (``core.layout``).
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field

from scorewatch.core import layout
from scorewatch.core.cards import ModelCard
from scorewatch.core.config import ModelConfig
from scorewatch.core.contract import Prefix
from scorewatch.core.errors import InputRejectedError
from scorewatch.io import scored as scored_objects
from scorewatch.io import storage
from scorewatch.io.transient import transient_errors
from scorewatch.lifecycle import label_store
from scorewatch.monitoring import estimation, performance
from scorewatch.scoring import decisions

logger = logging.getLogger(__name__)

LABEL_COLUMN = "label"
LABELED_AT = "labeled_at"
LABEL_URI = "_label_uri"
SCORED_COLUMNS = ("batch_id", "model_version", "source_uri", "scored_at", "prediction", "decision")
UNKNOWN_SAMPLE = 20
_KEY = "_id_key"
# "7.0" (a CSV tool's rendering of an integer id) -> "7"; no float parsing, so long ids stay exact
_INTEGRAL_TEXT = re.compile(r"^(-?\d+)\.0*$")
_CHUNK_ROWS = 65_536


def canonical_ids(frame: pd.DataFrame, id_columns: Sequence[str]) -> pd.Series:
    """One text key per row from the id columns (``7``, ``"7"``, ``7.0`` -> ``"7"``).

    >>> canonical_ids(pd.DataFrame({"a": [7, 8], "b": ["x", "y"]}), ["a", "b"]).tolist()
    ['7\\x1fx', '8\\x1fy']
    """
    parts = [frame[c].map(_canon_id) for c in id_columns]
    key = parts[0]
    for p in parts[1:]:
        key = key + "\x1f" + p
    return key.astype(object)


def _canon_id(v: Any) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, np.integer):
        return str(int(v))
    text = str(v).strip()
    m = _INTEGRAL_TEXT.match(text)
    return m.group(1) if m else text


def label_column_for(columns: Sequence[str], target: str | None) -> str:
    """The label column of a label file: the model's target if present, else ``label``.

    Raises
    ------
    InputRejectedError
        Neither column exists (the message lists what was found).
    """
    for name in (target, LABEL_COLUMN):
        if name and name in columns:
            return name
    wanted = [n for n in (target, LABEL_COLUMN) if n]
    raise InputRejectedError(
        f"label file has no label column (looked for {wanted}; found {list(columns)})",
        reason="missing_columns",
    )


def read_labels(
    uris: Sequence[storage.ObjectInfo], *, id_columns: Sequence[str], target: str | None
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Read label files into one frame: id columns, ``label``, ``labeled_at``, ``_label_uri``.

    Files are read in ``last_modified`` order so a later file's label wins on duplicates.
    A file that cannot be read is skipped and reported in the returned ``{uri: problem}`` map
    (the object itself is never modified).
    """
    frames: list[pd.DataFrame] = []
    problems: dict[str, str] = {}
    ordered = sorted(uris, key=lambda i: (i.last_modified or datetime.min.replace(tzinfo=UTC), i.uri))
    for info in ordered:
        try:
            chunks = [b.to_pandas() for b in storage.open_batches(info.uri, chunk_rows=_CHUNK_ROWS)]
            frame = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame()
            missing = [c for c in id_columns if c not in frame.columns]
            if missing:
                raise InputRejectedError(
                    f"label file lacks id column(s) {missing} (found {list(frame.columns)})",
                    reason="missing_columns",
                )
            label_col = label_column_for(list(frame.columns), target)
        except (InputRejectedError, FileNotFoundError) as exc:
            problems[info.uri] = str(exc)
            logger.warning("label file skipped", extra={"uri": info.uri, "problem": str(exc)})
            continue
        out = frame[list(id_columns)].copy()
        out[LABEL_COLUMN] = frame[label_col].to_numpy()
        if LABELED_AT in frame.columns:
            out[LABELED_AT] = pd.to_datetime(frame[LABELED_AT], errors="coerce", utc=True)
        else:
            out[LABELED_AT] = pd.Timestamp(info.last_modified) if info.last_modified else pd.NaT
            out[LABELED_AT] = pd.to_datetime(out[LABELED_AT], utc=True)
        out[LABEL_URI] = info.uri
        frames.append(out)
    if not frames:
        cols = [*id_columns, LABEL_COLUMN, LABELED_AT, LABEL_URI]
        return pd.DataFrame(columns=cols), problems
    return pd.concat(frames, ignore_index=True), problems


def scored_uris(data_bucket: str, model: str, *, since: datetime) -> list[storage.ObjectInfo]:
    """Current scored outputs of ``model`` in ``date=`` partitions on or after ``since``'s day.

    A result superseded by a later upload of the same key (or by a backfill) is left out
    (``scorewatch.io.scored``), so a key uploaded three times is joined once.
    """
    return scored_objects.current_scored(data_bucket, model, since=since)


def read_scored(infos: Sequence[storage.ObjectInfo], *, id_columns: Sequence[str]) -> pd.DataFrame:
    """Concatenate scored outputs: id columns, lineage columns and every ``score_*`` column."""
    frames = []
    for info in infos:
        names = storage.read_schema(info.uri).names
        keep = [c for c in (*id_columns, *SCORED_COLUMNS) if c in names] + [
            c for c in names if c.startswith(performance.SCORE_PREFIX)
        ]
        missing = [c for c in id_columns if c not in names]
        if missing:
            logger.warning("scored output lacks id columns", extra={"uri": info.uri, "missing": missing})
            continue
        frames.append(storage.read_table(info.uri, columns=keep).to_pandas())
    if not frames:
        return pd.DataFrame(columns=[*id_columns, *SCORED_COLUMNS])
    return pd.concat(frames, ignore_index=True)


def join_labels(scored: pd.DataFrame, labels: pd.DataFrame, *, id_columns: Sequence[str]) -> JoinedLabels:
    """Inner-join scored rows with labels on canonical ids; count unknown and duplicate labels.

    Pure (no I/O). Every scored occurrence of an id gets the label (an id scored in two batches
    is evaluated in both).
    """
    labels = labels.copy()
    labels[_KEY] = canonical_ids(labels, id_columns) if len(labels) else pd.Series(dtype=object)
    dup_mask = labels.duplicated(_KEY, keep="last")
    duplicates = int(dup_mask.sum())
    labels = labels[~dup_mask]
    scored = scored.copy()
    scored[_KEY] = canonical_ids(scored, id_columns) if len(scored) else pd.Series(dtype=object)
    known = set(scored[_KEY].tolist())
    unknown_mask = ~labels[_KEY].isin(known)
    unknown = labels[unknown_mask]
    sample = [
        dict(zip(id_columns, map(_plain, row), strict=True))
        for row in unknown[list(id_columns)].head(UNKNOWN_SAMPLE).itertuples(index=False)
    ]
    right = labels[~unknown_mask][[_KEY, LABEL_COLUMN, LABELED_AT, LABEL_URI]]
    joined = scored.merge(right, on=_KEY, how="left")
    return JoinedLabels(
        frame=joined,
        labels=len(labels) + duplicates,
        unique_labels=len(labels),
        unknown_ids=int(unknown_mask.sum()),
        unknown_sample=sample,
        duplicate_labels=duplicates,
    )


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


@dataclass(frozen=True)
class JoinedLabels:
    """Scored rows with ``label`` (NaN where none) and the label bookkeeping."""

    frame: pd.DataFrame
    labels: int
    unique_labels: int
    unknown_ids: int
    unknown_sample: list[dict[str, Any]]
    duplicate_labels: int


class BatchPerformance(BaseModel):
    """Realized (and estimated) performance of one scoring batch."""

    model_config = ConfigDict(frozen=True)

    batch_id: str
    model_version: str | None = None
    scored_rows: int
    labeled_rows: int
    coverage: float | None
    metrics: dict[str, float | None]
    estimated: dict[str, float | None] = Field(default_factory=dict)
    latency_hours: dict[str, float | None] = Field(default_factory=dict)
    notes: tuple[str, ...] = ()


class VersionPerformance(BaseModel):
    """Realized performance of the rows one model version scored (the window's labeled rows)."""

    model_config = ConfigDict(frozen=True)

    model_version: str
    labeled_rows: int
    metrics: dict[str, float | None]
    champion: bool = False


class LabelJoinResult(BaseModel):
    """What one labels run found: the handler publishes metrics and, when degraded, an event."""

    model_config = ConfigDict(frozen=True)

    model_name: str
    model_version: str
    run_id: str
    label_files: int
    label_file_problems: dict[str, str] = Field(default_factory=dict)
    labels: int
    unknown_ids: int
    unknown_sample: list[dict[str, Any]] = Field(default_factory=list)
    duplicate_labels: int
    scored_rows: int
    labeled_rows: int
    coverage: float | None
    latency_hours: dict[str, float | None]
    metric: str
    #: ``metric`` on the labeled rows the champion version scored (None when it has none yet)
    value: float | None
    estimated_value: float | None = None
    floor: float | None = None
    degraded: bool
    window_metrics: dict[str, float | None]
    window_estimated: dict[str, float | None] = Field(default_factory=dict)
    batches: list[BatchPerformance]
    versions: list[VersionPerformance] = Field(default_factory=list)
    new_label_files: int = 0
    notes: tuple[str, ...] = ()
    history_uri: str | None = None
    summary_uri: str | None = None
    computed_at: datetime


def _estimate(outputs: pd.DataFrame, card: ModelCard, positive_class: Any) -> dict[str, float | None]:
    est = estimation.estimate_scored(
        outputs,
        task=card.task,
        classes=card.classes,
        positive_class=positive_class,
        calibrator=card.calibrator,
    )
    return est.metrics if est is not None else {}


def decision_values(
    rows: pd.DataFrame, *, card: ModelCard, config: ModelConfig
) -> tuple[dict[str, float | None], dict[str, float | None]]:
    """Value per row of the decisions taken: realized on the labeled rows, expected on all rows.

    Only for binary models whose policy has a cost matrix and whose outputs carry ``decision``.
    Returns ``({"decision_value_per_row": realized}, {"decision_value_per_row": expected})``.
    """
    policy = decisions.policy_from_card(card.decision_policy) or config.decision
    if policy is None or policy.costs is None or card.task != "binary" or not card.classes:
        return {}, {}
    if "decision" not in rows.columns or not len(rows):
        return {}, {}
    classes = list(card.classes)
    pos = classes[-1]
    if config.positive_class is not None:
        pos = performance.align_labels([config.positive_class], classes).iloc[0]
    col = f"{performance.SCORE_PREFIX}{pos}"
    if pos is None or col not in rows.columns:
        return {}, {}
    act = (rows["decision"].astype(str) == policy.positive_action).to_numpy()
    p = np.clip(pd.to_numeric(rows[col], errors="coerce").fillna(0.0).to_numpy(dtype=float), 0.0, 1.0)
    expected = decisions.expected_value(p, act, policy.costs) / len(rows)
    y = performance.align_labels(rows[LABEL_COLUMN], classes) if LABEL_COLUMN in rows.columns else None
    realized = None
    if y is not None and y.notna().any():
        known = y.notna().to_numpy()
        realized = decisions.realized_value((y[known] == pos).to_numpy(), act[known], policy.costs) / int(
            known.sum()
        )
    return {"decision_value_per_row": realized}, {"decision_value_per_row": expected}


def evaluate_joined(
    joined: JoinedLabels,
    *,
    card: ModelCard,
    config: ModelConfig,
    computed_at: datetime,
    scan: label_store.Scan | None = None,
) -> tuple[dict[str, float | None], dict[str, float | None], list[BatchPerformance], tuple[str, ...]]:
    """Window metrics, window CBPE estimate, per-batch results, notes (pure).

    Without ``scan``, ``joined.frame`` holds every scored row (label NaN where none). With it,
    the frame holds the labeled rows only and the scan gives the row counts per batch and the
    sample the estimates are computed on (``label_store``).
    """
    frame = joined.frame
    has_label = frame[LABEL_COLUMN].notna() if LABEL_COLUMN in frame else pd.Series(False, index=frame.index)
    labeled = frame[has_label]
    classes = list(card.classes) if card.classes else None

    def _realized(rows: pd.DataFrame) -> performance.PerformanceResult:
        y = rows[LABEL_COLUMN]
        if card.task == "regression":
            y = pd.to_numeric(y, errors="coerce")  # stored labels are text
        return performance.realized_performance(
            card.task, y, rows, classes=classes, positive_class=config.positive_class
        )

    everything = scan.sample if scan is not None else frame
    window = _realized(labeled)
    window_est = _estimate(everything, card, config.positive_class)
    value_real, _ = decision_values(frame, card=card, config=config)
    _, value_est = decision_values(everything, card=card, config=config)
    window_metrics = {**window.metrics, **value_real}
    window_est = {**window_est, **value_est}
    batches = []
    if "batch_id" in frame.columns and len(frame):
        for batch_id, rows in frame.groupby("batch_id", sort=True):
            lab = rows[rows[LABEL_COLUMN].notna()]
            if lab.empty:
                continue  # batches without labels yet are not evaluated (coverage 0 is in the window)
            res = _realized(lab)
            if scan is not None:
                every = everything[everything["batch_id"] == batch_id] if len(everything) else everything
                n_rows = scan.batch_rows.get(str(batch_id), len(rows))
            else:
                every, n_rows = rows, len(rows)
            value_real, _ = decision_values(rows, card=card, config=config)
            _, value_est = decision_values(every, card=card, config=config)
            cov = performance.label_coverage(n_rows, len(lab))
            version = str(rows["model_version"].iloc[0]) if "model_version" in rows.columns else None
            latency = (
                performance.label_latency_hours(lab["scored_at"], lab[LABELED_AT])
                if "scored_at" in lab.columns
                else {}
            )
            batches.append(
                BatchPerformance(
                    batch_id=str(batch_id),
                    model_version=version,
                    scored_rows=n_rows,
                    labeled_rows=len(lab),
                    coverage=cov.coverage,
                    metrics={**res.metrics, **value_real},
                    estimated={**_estimate(every, card, config.positive_class), **value_est},
                    latency_hours=latency,
                    notes=res.notes,
                )
            )
    return window_metrics, window_est, batches, window.notes


def history_rows(result: LabelJoinResult) -> pd.DataFrame:
    """One row per (scope, batch, metric): realized value beside the CBPE estimate.

    Scopes: ``window`` (all labeled rows), ``batch`` (one scoring batch) and ``version`` (the
    rows one model version scored; ``scored_rows`` 0, not counted per version).
    """
    rows = []
    scopes: list[tuple[str, str | None, str | None, int, int, float | None, dict, dict]] = [
        (
            "window",
            None,
            result.model_version,
            result.scored_rows,
            result.labeled_rows,
            result.coverage,
            result.window_metrics,
            result.window_estimated,
        )
    ]
    for b in result.batches:
        scopes.append(
            (
                "batch",
                b.batch_id,
                b.model_version,
                b.scored_rows,
                b.labeled_rows,
                b.coverage,
                b.metrics,
                b.estimated,
            )
        )
    for v in result.versions:
        scopes.append(("version", None, v.model_version, 0, v.labeled_rows, None, v.metrics, {}))
    for scope, batch_id, version, scored, labeled, cov, realized, estimated in scopes:
        for metric in sorted(set(realized) | set(estimated)):
            rows.append(
                {
                    "model_name": result.model_name,
                    "model_version": version,
                    "scope": scope,
                    "batch_id": batch_id,
                    "metric": metric,
                    "realized": realized.get(metric),
                    "estimated": estimated.get(metric),
                    "scored_rows": scored,
                    "labeled_rows": labeled,
                    "coverage": cov,
                    # the run's headline metric and its floor (the fleet overview's "vs floor")
                    "headline": metric == result.metric,
                    "floor": result.floor if metric == result.metric else None,
                    "run_id": result.run_id,
                    "computed_at": result.computed_at,
                }
            )
    frame = pd.DataFrame(rows)
    if len(frame):
        frame["realized"] = frame["realized"].astype(float)
        frame["estimated"] = frame["estimated"].astype(float)
        frame["floor"] = frame["floor"].astype(float)
    return frame


def degraded(metric: str, value: float | None, floor: float | None) -> bool:
    """True when ``value`` is worse than ``floor`` in the metric's direction.

    >>> degraded("roc_auc", 0.6, 0.7), degraded("rmse", 3.0, 2.5), degraded("roc_auc", None, 0.7)
    (True, True, False)
    """
    if value is None or floor is None:
        return False
    return not performance.is_better(metric, value, floor)


def _join_scan(
    scan: label_store.Scan, labels: pd.DataFrame, duplicates: int, *, id_columns: Sequence[str]
) -> JoinedLabels:
    """The labeled scored rows of ``scan`` with their label, and the label bookkeeping (pure)."""
    matched = scan.matched
    known = set(matched[_KEY].tolist()) if len(matched) else set()
    unknown = labels[~labels[_KEY].isin(known)] if len(labels) else labels
    sample = [
        dict(zip(id_columns, str(k).split("\x1f"), strict=False)) for k in unknown[_KEY].head(UNKNOWN_SAMPLE)
    ]
    right = labels[labels[_KEY].isin(known)][[_KEY, LABEL_COLUMN, LABELED_AT, LABEL_URI]]
    frame = matched.merge(right, on=_KEY, how="inner") if len(matched) else matched
    if not len(frame):
        frame = frame.assign(**{LABEL_COLUMN: pd.Series(dtype=object), LABELED_AT: pd.Series(dtype=object)})
    return JoinedLabels(
        frame=frame,
        labels=len(labels) + duplicates,
        unique_labels=len(labels),
        unknown_ids=len(unknown),
        unknown_sample=sample,
        duplicate_labels=duplicates,
    )


def _per_version(labeled: pd.DataFrame, *, card: ModelCard, config: ModelConfig) -> list[VersionPerformance]:
    """Realized metrics per model version that scored labeled rows; the champion's is marked."""
    if not len(labeled) or "model_version" not in labeled.columns:
        return []
    classes = list(card.classes) if card.classes else None
    out = []
    for version, rows in labeled.groupby(labeled["model_version"].astype(str), sort=True):
        y = rows[LABEL_COLUMN]
        if card.task == "regression":
            y = pd.to_numeric(y, errors="coerce")
        res = performance.realized_performance(
            card.task, y, rows, classes=classes, positive_class=config.positive_class
        )
        out.append(
            VersionPerformance(
                model_version=str(version),
                labeled_rows=len(rows),
                metrics=res.metrics,
                champion=str(version) == card.version,
            )
        )
    return out


class LabelJoiner:
    """Runs the labels join for one data bucket (the core of the ``labels`` function).

    Parameters
    ----------
    data_bucket
        Bucket holding ``labels/``, ``scored/`` and ``monitoring/``.
    registry
        ``scorewatch.io.registry.Registry`` (the champion card gives ids, classes, calibrator).
    now
        Clock (a parameter so tests and replays are deterministic).
    """

    def __init__(self, *, data_bucket: str, registry: Any, now: Callable[[], datetime] | None = None):
        self.data_bucket = data_bucket
        self.registry = registry
        self.now = now or (lambda: datetime.now(UTC))

    def run(self, config: ModelConfig, *, trigger: str | None = None) -> LabelJoinResult:
        """Join every label file of ``config.name`` with the window's scored outputs; write history.

        Parameters
        ----------
        config
            The model's configuration (window, metric, floor, positive class).
        trigger
            Identity of the label object that caused this run (makes the run id deterministic).

        Raises
        ------
        ModelNotFoundError
            The model has no champion (nothing to take ids/classes from).
        """
        # S3/DynamoDB throttling, 5xx and timeouts are retryable: the ledger makes a retry safe
        with transient_errors(what=f"joining labels of {config.name}"):
            return self._run(config, trigger=trigger)

    def _run(self, config: ModelConfig, *, trigger: str | None) -> LabelJoinResult:
        model = config.name
        now = self.now()
        card = self.registry.get(model, "champion")
        id_columns = list(card.feature_schema.id_columns or config.id_columns)
        if not id_columns:
            raise InputRejectedError(
                f"model {model!r} declares no id columns: labels cannot be joined to scored rows",
                reason="no_id_columns",
            )
        label_infos = [
            i
            for i in storage.list_uris(f"s3://{self.data_bucket}/{Prefix.LABELS}{model}/")
            if not i.uri.endswith("/")
        ]
        ingested = label_store.ingest(
            self.data_bucket,
            model,
            label_infos,
            id_columns=id_columns,
            target=config.target or card.target,
            canon=canonical_ids,
        )
        labels, duplicates = label_store.read_store(self.data_bucket, model)
        since = now - timedelta(days=config.retraining.window_days)
        scan = label_store.scan_scored(
            self.data_bucket,
            model,
            since=since,
            id_columns=id_columns,
            keys=labels[_KEY],
            canon=canonical_ids,
        )
        joined = _join_scan(scan, labels, duplicates, id_columns=id_columns)
        window, window_est, batches, notes = evaluate_joined(
            joined, card=card, config=config, computed_at=now, scan=scan
        )
        if card.task == "regression":
            batches, window_est = self._monitor_estimates(model, joined.frame, batches, window_est)
        labeled = joined.frame[joined.frame[LABEL_COLUMN].notna()] if len(joined.frame) else joined.frame
        latency: dict[str, float | None] = (
            performance.label_latency_hours(labeled["scored_at"], labeled[LABELED_AT])
            if len(labeled) and "scored_at" in labeled.columns
            else {"median": None, "p90": None, "max": None, "mean": None}
        )
        metric = config.retraining.metric or performance.default_metric(card.task)
        versions = _per_version(labeled, card=card, config=config)
        champion = next((v for v in versions if v.champion), None)
        value = performance.metric_value(champion.metrics, metric) if champion else None
        floor = config.alarms.performance_floor
        ident = hashlib.sha256(
            "|".join([trigger or "", *sorted(f"{i.uri}@{i.etag}" for i in label_infos)]).encode()
        ).hexdigest()[:16]
        result = LabelJoinResult(
            model_name=model,
            model_version=card.version,
            run_id=ident,
            label_files=ingested.files,
            new_label_files=len(ingested.new_files),
            label_file_problems=ingested.problems,
            labels=joined.labels,
            unknown_ids=joined.unknown_ids,
            unknown_sample=joined.unknown_sample,
            duplicate_labels=joined.duplicate_labels,
            scored_rows=scan.rows,
            labeled_rows=len(labeled),
            coverage=performance.label_coverage(scan.rows, len(labeled)).coverage,
            latency_hours=latency,
            metric=metric,
            value=value,
            estimated_value=performance.metric_value(window_est, metric) if window_est else None,
            floor=floor,
            degraded=degraded(metric, value, floor),
            window_metrics=window,
            window_estimated=window_est,
            batches=batches,
            versions=versions,
            notes=notes,
            computed_at=now,
        )
        return self._write(result)

    def _monitor_estimates(
        self,
        model: str,
        frame: pd.DataFrame,
        batches: list[BatchPerformance],
        window_est: dict[str, float | None],
    ) -> tuple[list[BatchPerformance], dict[str, float | None]]:
        """A regressor's DLE estimate of each batch, as the monitor recorded it in the batch's report.

        DLE needs the features, which scored outputs do not carry; the monitor estimated each
        batch from its sample when it was scored. The window's estimate combines the batches'
        (MAE row-weighted, RMSE as the root of the row-weighted mean square).
        """
        out, weights = [], []
        for b in batches:
            rows = frame[frame["batch_id"] == b.batch_id] if "batch_id" in frame.columns else frame.iloc[:0]
            if b.estimated or "scored_at" not in rows.columns or not len(rows):
                out.append(b)
                continue
            day = pd.to_datetime(rows["scored_at"], utc=True).min().strftime("%Y-%m-%d")
            uri = f"s3://{self.data_bucket}/{layout.drift_key(model, day, b.batch_id)}"
            try:
                doc = storage.read_json(uri)
            except FileNotFoundError:
                out.append(b)
                continue
            est = (doc.get("estimated_performance") or {}).get("metrics") or {}
            out.append(b.model_copy(update={"estimated": dict(est)}))
            if est.get("mae") is not None and est.get("rmse") is not None:
                weights.append((b.scored_rows, float(est["mae"]), float(est["rmse"])))
        if weights and not window_est:
            total = sum(w for w, _, _ in weights)
            window_est = {
                "mae": sum(w * m for w, m, _ in weights) / total,
                "rmse": math.sqrt(sum(w * r * r for w, _, r in weights) / total),
            }
        return out, window_est

    def _write(self, result: LabelJoinResult) -> LabelJoinResult:
        day = layout.day(result.computed_at)
        root = f"s3://{self.data_bucket}/"
        history_uri = root + layout.performance_key(result.model_name, day, result.run_id)
        summary_uri = root + layout.performance_summary_key(result.model_name, day, result.run_id)
        frame = history_rows(result)
        buf = io.BytesIO()
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buf)
        result = result.model_copy(update={"history_uri": history_uri, "summary_uri": summary_uri})
        # The summary first: the history object's arrival triggers the site, which reads the summary.
        storage.write_json(summary_uri, result.model_dump(mode="json"))
        storage.write_bytes(history_uri, buf.getvalue(), content_type="application/vnd.apache.parquet")
        logger.info(
            "labels joined",
            extra={
                "model": result.model_name,
                "labels": result.labels,
                "unknown_ids": result.unknown_ids,
                "coverage": result.coverage,
                "metric": result.metric,
                "value": result.value,
                "degraded": result.degraded,
            },
        )
        return result

"""Realized model performance once ground truth is known.

Pure: takes labels and the scored output columns (``prediction`` and ``score_<class>``), returns
plain results. A metric that is undefined for the data (ROC AUC on a window holding one class,
R² of a constant target, MAPE when every target is zero) is reported as ``None`` together with a
note saying why, never as NaN and never as an exception.

Metric names carry direction: ``LOWER_IS_BETTER`` lists the error/loss metrics; everything else
is higher-is-better. ``is_better`` and ``regression_of`` compare two values in the right
direction so callers never compare raw numbers themselves.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

SCORE_PREFIX = "score_"
LOWER_IS_BETTER = frozenset({"log_loss", "brier", "mae", "rmse", "mape"})
CLASSIFICATION_METRICS = (
    "roc_auc",
    "pr_auc",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "f1_macro",
    "log_loss",
    "brier",
    "precision_at_k",
)
REGRESSION_METRICS = ("mae", "rmse", "mape", "r2")
_PROBA_EPS = 1e-15


@dataclass(frozen=True)
class PerformanceResult:
    """Realized metrics for one set of labeled predictions.

    ``metrics`` maps a metric name to its value, or ``None`` when it is undefined for these rows
    (``notes`` says why). ``rows`` counts the labeled rows used; ``excluded`` counts rows left out
    (missing label, label of a class the model does not know) with the reason in ``notes``.
    """

    task: str
    rows: int
    metrics: dict[str, float | None]
    positives: int | None = None
    k: int | None = None
    excluded: int = 0
    notes: tuple[str, ...] = ()


def default_metric(task: str) -> str:
    """The metric retraining and alarms use unless configured: roc_auc, f1_macro or rmse.

    >>> default_metric("regression")
    'rmse'
    """
    return {"binary": "roc_auc", "multiclass": "f1_macro", "regression": "rmse"}[task]


def higher_is_better(metric: str) -> bool:
    """True unless ``metric`` is an error or loss (``LOWER_IS_BETTER``)."""
    return metric not in LOWER_IS_BETTER


def is_better(metric: str, a: float, b: float, *, margin: float = 0.0) -> bool:
    """True when ``a`` beats ``b`` by at least ``margin`` in the metric's direction.

    >>> is_better("rmse", 1.0, 1.5, margin=0.2)
    True
    """
    if higher_is_better(metric):
        return a >= b + margin
    return a <= b - margin


def regression_of(metric: str, new: float, old: float) -> float:
    """How much worse ``new`` is than ``old`` (positive = worse), in the metric's direction."""
    return (old - new) if higher_is_better(metric) else (new - old)


def score_columns(outputs: pd.DataFrame) -> list[str]:
    """The ``score_<class>`` columns of a scored-output frame, in frame order."""
    return [c for c in outputs.columns if str(c).startswith(SCORE_PREFIX)]


def align_labels(labels: pd.Series | Sequence[Any], classes: Sequence[Any]) -> pd.Series:
    """Map raw labels (often strings or floats read from CSV) onto the model's class values.

    A label matches a class when their canonical text forms match (``1``, ``"1"``, ``1.0`` and
    ``True``/``"true"`` for booleans). Labels that match no class become ``None``.

    >>> align_labels(pd.Series(["1", "0", "x"]), [0, 1]).tolist()
    [1, 0, None]
    """
    lookup = {_canon(c): c for c in classes}
    values = pd.Series(labels).tolist()
    mapped = [None if _missing(v) else lookup.get(_canon(v)) for v in values]
    return pd.Series(mapped, index=pd.Series(labels).index, dtype=object)


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def _canon(v: Any) -> str:
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, np.integer):
        return str(int(v))
    text = str(v).strip()
    low = text.lower()
    if low in ("true", "false"):
        return low
    try:
        f = float(text)
    except ValueError:
        return text
    return str(int(f)) if f.is_integer() else text


def _score_matrix(outputs: pd.DataFrame, classes: Sequence[Any]) -> np.ndarray | None:
    cols = [f"{SCORE_PREFIX}{c}" for c in classes]
    if not all(c in outputs.columns for c in cols):
        cols = score_columns(outputs)
        if len(cols) != len(classes):
            return None
    matrix: np.ndarray = outputs[cols].to_numpy(dtype=float)
    return matrix


def classification_performance(
    labels: pd.Series | Sequence[Any],
    outputs: pd.DataFrame,
    *,
    classes: Sequence[Any],
    positive_class: Any = None,
    k: int | None = None,
    k_fraction: float = 0.1,
) -> PerformanceResult:
    """Realized classification metrics for labeled scored rows.

    Parameters
    ----------
    labels
        Ground truth, aligned with ``outputs`` by position. Raw values are matched to ``classes``
        with ``align_labels``; rows whose label is missing or unknown are excluded and counted.
    outputs
        Scored rows: ``prediction`` and one ``score_<class>`` column per class.
    classes
        The model's classes in score-column order. Two classes -> binary metrics for
        ``positive_class`` (default: the last class, scikit-learn's convention).
    positive_class
        The class whose score ranks rows for ROC/PR AUC and precision@k (binary only).
    k, k_fraction
        precision@k looks at the ``k`` highest-scored rows (default ``ceil(k_fraction * rows)``).

    Returns
    -------
    PerformanceResult
        Binary: roc_auc, pr_auc, accuracy, precision, recall, f1, f1_macro, log_loss, brier,
        precision_at_k. Multiclass: roc_auc (one-vs-rest, macro), accuracy, precision/recall/f1
        (macro) under the same names, f1_macro, f1_weighted (by class support), log_loss, brier
        (multiclass Brier score).

    Raises
    ------
    ValueError
        When ``outputs`` lacks the ``prediction`` column or ``labels`` has another length.

    Examples
    --------
    >>> out = pd.DataFrame({"prediction": [1, 0], "score_0": [0.2, 0.9], "score_1": [0.8, 0.1]})
    >>> classification_performance([1, 0], out, classes=[0, 1]).metrics["accuracy"]
    1.0
    """
    from sklearn import metrics as skm  # lazy: sklearn costs ~0.5 s of cold start; only metrics need it

    classes = list(classes)
    if "prediction" not in outputs.columns:
        raise ValueError(f"scored outputs have no 'prediction' column (columns: {list(outputs.columns)})")
    raw = pd.Series(labels).reset_index(drop=True)
    if len(raw) != len(outputs):
        raise ValueError(f"{len(raw)} labels for {len(outputs)} scored rows")
    outputs = outputs.reset_index(drop=True)
    notes: list[str] = []
    y = align_labels(raw, classes)
    keep = y.notna().to_numpy()
    excluded = int((~keep).sum())
    if excluded:
        unknown = int((raw.notna() & y.isna()).sum())
        if unknown:
            notes.append(f"{unknown} rows have a label that is not one of the model's classes {classes}")
        if excluded - unknown:
            notes.append(f"{excluded - unknown} rows have no label")
    y = y[keep].reset_index(drop=True)
    out = outputs[keep].reset_index(drop=True)
    n = len(y)
    names = (
        CLASSIFICATION_METRICS
        if len(classes) == 2
        else tuple(m for m in CLASSIFICATION_METRICS if m != "precision_at_k")
    )
    result: dict[str, float | None] = dict.fromkeys(names)
    if n == 0:
        notes.append("no labeled rows")
        return PerformanceResult(
            "binary" if len(classes) == 2 else "multiclass", 0, result, excluded=excluded, notes=tuple(notes)
        )
    pred = align_labels(out["prediction"], classes)
    proba = _score_matrix(out, classes)
    y_idx = np.array([classes.index(v) for v in y])
    pred_ok = pred.notna().to_numpy()
    pred_idx = np.array([classes.index(v) if v is not None else -1 for v in pred])
    result["accuracy"] = float(np.mean(pred_idx == y_idx))
    if not pred_ok.all():
        notes.append(f"{int((~pred_ok).sum())} predictions are not one of the classes (counted as wrong)")
    present = sorted(set(y_idx.tolist()))
    if len(classes) == 2:
        pos = classes.index(positive_class) if positive_class is not None else 1
        y_bin = (y_idx == pos).astype(int)
        p_bin = (pred_idx == pos).astype(int)
        result["precision"] = _safe_ratio(int((p_bin & y_bin).sum()), int(p_bin.sum()), "precision", notes)
        result["recall"] = _safe_ratio(int((p_bin & y_bin).sum()), int(y_bin.sum()), "recall", notes)
        result["f1"] = _f1(result["precision"], result["recall"])
        result["f1_macro"] = float(
            skm.f1_score(y_idx, pred_idx, labels=[0, 1], average="macro", zero_division=0)
        )
        positives = int(y_bin.sum())
        if proba is None:
            notes.append("no score columns: probability metrics undefined")
            return PerformanceResult(
                "binary", n, result, positives=positives, excluded=excluded, notes=tuple(notes)
            )
        s = np.clip(proba[:, pos], 0.0, 1.0)
        if len(present) < 2:
            notes.append(f"only class {classes[present[0]]!r} present: roc_auc and pr_auc undefined")
        else:
            result["roc_auc"] = float(skm.roc_auc_score(y_bin, s))
        if positives > 0:
            result["pr_auc"] = float(skm.average_precision_score(y_bin, s))
        elif len(present) >= 2:
            notes.append("no positive labels: pr_auc undefined")
        result["log_loss"] = _log_loss(y_bin, np.column_stack([1 - s, s]))
        result["brier"] = float(np.mean((s - y_bin) ** 2))
        k_eff = k if k is not None else max(1, math.ceil(k_fraction * n))
        k_eff = min(k_eff, n)
        top = np.argsort(-s, kind="stable")[:k_eff]
        result["precision_at_k"] = float(y_bin[top].mean())
        return PerformanceResult(
            "binary", n, result, positives=positives, k=k_eff, excluded=excluded, notes=tuple(notes)
        )
    labels_idx = list(range(len(classes)))
    result["precision"] = float(
        skm.precision_score(y_idx, pred_idx, labels=labels_idx, average="macro", zero_division=0)
    )
    result["recall"] = float(
        skm.recall_score(y_idx, pred_idx, labels=labels_idx, average="macro", zero_division=0)
    )
    result["f1"] = float(skm.f1_score(y_idx, pred_idx, labels=labels_idx, average="macro", zero_division=0))
    result["f1_macro"] = result["f1"]
    result["f1_weighted"] = float(
        skm.f1_score(y_idx, pred_idx, labels=labels_idx, average="weighted", zero_division=0)
    )
    if proba is None:
        notes.append("no score columns: probability metrics undefined")
        return PerformanceResult("multiclass", n, result, excluded=excluded, notes=tuple(notes))
    proba = _normalise_rows(proba)
    if len(present) < 2:
        notes.append("fewer than two classes present: roc_auc undefined")
    else:
        result["roc_auc"] = _multiclass_auc(y_idx, proba, present)
    result["log_loss"] = _log_loss(y_idx, proba)
    onehot = np.eye(len(classes))[y_idx]
    result["brier"] = float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))
    return PerformanceResult("multiclass", n, result, excluded=excluded, notes=tuple(notes))


def _normalise_rows(proba: np.ndarray) -> np.ndarray:
    proba = np.clip(proba, 0.0, None)
    total = proba.sum(axis=1, keepdims=True)
    total[total == 0] = 1.0
    normalised: np.ndarray = proba / total
    return normalised


def _multiclass_auc(y_idx: np.ndarray, proba: np.ndarray, present: list[int]) -> float:
    # One-vs-rest macro AUC over the classes present in the window; scikit-learn refuses a
    # window that lacks one of the model's classes, which is common for small label drops.
    from sklearn import metrics as skm

    aucs = [skm.roc_auc_score((y_idx == c).astype(int), proba[:, c]) for c in present]
    return float(np.mean(aucs))


def _log_loss(y_idx: np.ndarray, proba: np.ndarray) -> float:
    p = np.clip(proba[np.arange(len(y_idx)), y_idx], _PROBA_EPS, 1.0)
    return float(-np.mean(np.log(p)))


def _safe_ratio(num: int, den: int, name: str, notes: list[str]) -> float | None:
    if den == 0:
        notes.append(f"{name} undefined: zero denominator")
        return None
    return num / den


def _f1(precision: float | None, recall: float | None) -> float | None:
    if precision is None or recall is None:
        return None
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def regression_performance(
    y_true: Sequence[Any] | pd.Series, y_pred: Sequence[Any] | pd.Series
) -> PerformanceResult:
    """Realized regression metrics: mae, rmse, mape, r2.

    Rows whose label or prediction is missing or not numeric are excluded and counted. MAPE
    skips rows whose true value is zero (noted); R² is ``None`` for fewer than two rows or a
    constant target.

    Raises
    ------
    ValueError
        When the two inputs differ in length.

    Examples
    --------
    >>> regression_performance([1.0, 2.0], [1.5, 2.5]).metrics["mae"]
    0.5
    """
    t = pd.to_numeric(pd.Series(y_true).reset_index(drop=True), errors="coerce").astype(float)
    p = pd.to_numeric(pd.Series(y_pred).reset_index(drop=True), errors="coerce").astype(float)
    if len(t) != len(p):
        raise ValueError(f"{len(t)} labels for {len(p)} predictions")
    keep = np.isfinite(t.to_numpy()) & np.isfinite(p.to_numpy())
    excluded = int((~keep).sum())
    notes: list[str] = []
    if excluded:
        notes.append(f"{excluded} rows have a missing or non-numeric label or prediction")
    t_arr, p_arr = t.to_numpy()[keep], p.to_numpy()[keep]
    n = len(t_arr)
    result: dict[str, float | None] = dict.fromkeys(REGRESSION_METRICS)
    if n == 0:
        notes.append("no labeled rows")
        return PerformanceResult("regression", 0, result, excluded=excluded, notes=tuple(notes))
    err = p_arr - t_arr
    result["mae"] = float(np.mean(np.abs(err)))
    result["rmse"] = float(np.sqrt(np.mean(err**2)))
    nz = t_arr != 0
    if nz.any():
        result["mape"] = float(np.mean(np.abs(err[nz] / t_arr[nz])))
        if not nz.all():
            notes.append(f"mape skips {int((~nz).sum())} rows whose true value is 0")
    else:
        notes.append("mape undefined: every true value is 0")
    if n >= 2 and np.ptp(t_arr) > 0:
        result["r2"] = float(1 - np.sum(err**2) / np.sum((t_arr - t_arr.mean()) ** 2))
    else:
        notes.append("r2 undefined: fewer than two rows or a constant target")
    return PerformanceResult("regression", n, result, excluded=excluded, notes=tuple(notes))


def realized_performance(
    task: str,
    labels: pd.Series | Sequence[Any],
    outputs: pd.DataFrame,
    *,
    classes: Sequence[Any] | None = None,
    positive_class: Any = None,
    k: int | None = None,
) -> PerformanceResult:
    """Dispatch on ``task`` to ``classification_performance`` or ``regression_performance``.

    Raises
    ------
    ValueError
        When a classification task is given no ``classes``.
    """
    if task == "regression":
        return regression_performance(labels, outputs["prediction"])
    if not classes:
        raise ValueError(f"task {task!r} needs the model's classes")
    return classification_performance(labels, outputs, classes=classes, positive_class=positive_class, k=k)


@dataclass(frozen=True)
class Coverage:
    """Share of scored rows that have a label (``None`` when nothing was scored)."""

    scored_rows: int
    labeled_rows: int
    coverage: float | None = field(init=False)

    def __post_init__(self) -> None:
        value = None if self.scored_rows == 0 else self.labeled_rows / self.scored_rows
        object.__setattr__(self, "coverage", value)


def label_coverage(scored_rows: int, labeled_rows: int) -> Coverage:
    """Label coverage of a batch or window.

    >>> label_coverage(200, 50).coverage
    0.25
    """
    if scored_rows < 0 or labeled_rows < 0:
        raise ValueError(f"row counts must be >= 0 (scored={scored_rows}, labeled={labeled_rows})")
    return Coverage(scored_rows, labeled_rows)


def label_latency_hours(scored_at: pd.Series, labeled_at: pd.Series) -> dict[str, float | None]:
    """Delay between scoring and the label's arrival, in hours: median, p90, max, mean.

    Rows with either timestamp missing are ignored; all values are ``None`` when none remain.
    Naive timestamps are taken as UTC.

    >>> s = pd.Series(pd.to_datetime(["2026-01-01T00:00Z"] * 2))
    >>> label_latency_hours(s, s + pd.Timedelta(hours=2))["median"]
    2.0
    """
    a = _utc(scored_at)
    b = _utc(labeled_at)
    delta = (b.reset_index(drop=True) - a.reset_index(drop=True)).dt.total_seconds() / 3600.0
    delta = delta.dropna()
    if delta.empty:
        return {"median": None, "p90": None, "max": None, "mean": None}
    return {
        "median": float(delta.median()),
        "p90": float(delta.quantile(0.9)),
        "max": float(delta.max()),
        "mean": float(delta.mean()),
    }


def _utc(s: pd.Series) -> pd.Series:
    s = pd.to_datetime(pd.Series(s), errors="coerce", utc=True)
    return s


def metric_value(result: PerformanceResult | Mapping[str, float | None], metric: str) -> float | None:
    """Look a metric up in a result (or a metrics dict); ``None`` when absent or undefined."""
    values = result.metrics if isinstance(result, PerformanceResult) else result
    v = values.get(metric)
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return None
    return float(v)

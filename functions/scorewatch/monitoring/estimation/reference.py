"""Fitting the estimators on a labeled reference, and applying them to scored rows.

:func:`fit_reference` is called where a version is registered with labeled data it was not
trained on (the retraining holdout, or the ``--reference`` of ``scorewatch models register``
when it carries the target). It splits the reference in two (seeded): classifiers get their
isotonic calibration fitted on one part and its ECE checked on the other; regressors get their
loss models fitted on one part and checked on the other. The check (estimated against realized
on the rows the estimator never saw) is recorded on the card; the calibrator and loss models
kept for the runtime are then refitted on the whole reference.

:func:`estimate_outputs` is what the monitor calls on every batch and window: the task's
estimator on a frame of scored rows (``prediction``, ``score_<class>``, and the feature columns
for regression).

Pure: numpy/pandas/sklearn only, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from scorewatch.monitoring import performance
from scorewatch.monitoring.estimation.calibration import (
    Calibrator,
    OneVsRestCalibrator,
    SplitCalibration,
    calibrator_from_dict,
    split_calibration,
    split_indices,
)
from scorewatch.monitoring.estimation.cbpe import (
    EstimatedPerformance,
    estimate_binary,
    estimate_multiclass,
)
from scorewatch.monitoring.estimation.dle import LossModels, estimate_regression, fit_loss_models

#: Rows a reference needs before estimators are fitted on it (both halves of the split need both
#: outcomes and enough rows for an isotonic map or a loss model to mean something).
MIN_REFERENCE_ROWS = 100


@dataclass(frozen=True)
class ReferenceFit:
    """What a labeled reference gave: calibration or loss models, and the held-out check.

    ``check`` holds, per metric, ``{"estimated": e, "realized": r}`` on the check part of the
    reference (rows the estimator was not fitted on).
    """

    task: str
    rows: int
    calibration: SplitCalibration | None = None
    loss_models: LossModels | None = None
    check: dict[str, dict[str, float | None]] = field(default_factory=dict)

    def card_fields(self) -> tuple[dict[str, float] | None, dict[str, Any] | None, dict[str, Any]]:
        """``(card.calibration, card.calibrator, card.estimation)`` for the model card."""
        calibration, calibrator = self.calibration.card_fields() if self.calibration else (None, None)
        method = "dle" if self.task == "regression" else "cbpe"
        fit_rows = self.calibration.fit_rows if self.calibration else None
        estimation: dict[str, Any] = {"method": method, "reference_rows": self.rows, "check": self.check}
        if fit_rows is not None:
            estimation["fit_rows"] = fit_rows
        return calibration, calibrator, estimation


def _positive(classes: Sequence[Any], positive_class: Any) -> Any:
    if positive_class is None:
        return classes[-1]
    pos = performance.align_labels([positive_class], classes).iloc[0]
    if pos is None:
        raise ValueError(f"positive_class {positive_class!r} is not one of the classes {list(classes)}")
    return pos


def _check(
    estimated: Mapping[str, float | None], realized: Mapping[str, float | None]
) -> dict[str, dict[str, float | None]]:
    return {m: {"estimated": estimated[m], "realized": realized.get(m)} for m in estimated}


def fit_reference(
    task: str,
    y_true: Sequence[Any] | pd.Series,
    outputs: pd.DataFrame,
    *,
    features: pd.DataFrame | None = None,
    classes: Sequence[Any] | None = None,
    positive_class: Any = None,
    categorical: Sequence[str] = (),
    fit_fraction: float = 0.5,
    random_state: int = 0,
) -> ReferenceFit | None:
    """Fit CBPE calibration (classifiers) or DLE loss models (regressors) on a labeled reference.

    Parameters
    ----------
    task
        ``binary``, ``multiclass`` or ``regression``.
    y_true
        The reference's labels (raw values; aligned onto ``classes`` for classifiers).
    outputs
        The model's outputs on the reference (``prediction``, ``score_<class>``).
    features
        Regression: the reference's feature columns (the loss models' input).
    classes, positive_class
        Classifiers: the card's classes and the configured positive class (binary).
    categorical
        Regression: which feature columns are categorical.
    fit_fraction, random_state
        The seeded split between fitting and checking.

    Returns
    -------
    ReferenceFit or None
        ``None`` when the reference has fewer than :data:`MIN_REFERENCE_ROWS` usable rows (or a
        class is missing from it): nothing trustworthy can be fitted.

    Raises
    ------
    ValueError
        Regression without features, or a classifier without classes.
    """
    y = pd.Series(y_true).reset_index(drop=True)
    out = outputs.reset_index(drop=True)
    if task == "regression":
        if features is None:
            raise ValueError("direct loss estimation needs the reference's features")
        yv = pd.to_numeric(y, errors="coerce").to_numpy(dtype=float)
        pred = pd.to_numeric(out["prediction"], errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(yv) & np.isfinite(pred)
        if ok.sum() < MIN_REFERENCE_ROWS:
            return None
        X = features.reset_index(drop=True)[ok].reset_index(drop=True)
        yv, pred = yv[ok], pred[ok]
        fit, check = split_indices(yv.size, fit_fraction=fit_fraction, random_state=random_state)
        part = fit_loss_models(
            X.iloc[fit], pred[fit], yv[fit], categorical=categorical, random_state=random_state
        )
        dle = estimate_regression(part, X.iloc[check], pred[check])
        real = performance.regression_performance(yv[check], pred[check]).metrics
        models = fit_loss_models(X, pred, yv, categorical=categorical, random_state=random_state)
        return ReferenceFit(task, int(yv.size), loss_models=models, check=_check(dle.metrics, real))
    if not classes:
        raise ValueError(f"task {task!r} needs the model's classes")
    aligned = performance.align_labels(y, classes)
    ok = aligned.notna().to_numpy()
    if ok.sum() < MIN_REFERENCE_ROWS:
        return None
    labels = aligned[ok].reset_index(drop=True)
    rows = out[ok].reset_index(drop=True)
    if task == "binary":
        pos = _positive(classes, positive_class)
        yb = (labels == pos).astype(int).to_numpy()
        if len(np.unique(yb)) < 2:
            return None
        p = np.clip(rows[f"{performance.SCORE_PREFIX}{pos}"].to_numpy(dtype=float), 0.0, 1.0)
        cal = split_calibration(yb, p, fit_fraction=fit_fraction, random_state=random_state)
    else:
        index = {c: i for i, c in enumerate(classes)}
        yi = labels.map(index).to_numpy(dtype=int)
        cols = [f"{performance.SCORE_PREFIX}{c}" for c in classes]
        p = np.clip(rows[cols].to_numpy(dtype=float), 0.0, 1.0)
        cal = split_calibration(yi, p, classes=classes, fit_fraction=fit_fraction, random_state=random_state)
    _, check = split_indices(len(labels), fit_fraction=fit_fraction, random_state=random_state)
    est = _estimate_classifier(task, rows.iloc[check], classes, positive_class, cal.split_calibrator)
    real = performance.realized_performance(
        task, labels.iloc[check], rows.iloc[check], classes=classes, positive_class=positive_class
    ).metrics
    checked = _check(est.metrics, real) if est is not None else {}
    return ReferenceFit(task, len(labels), calibration=cal, check=checked)


def _estimate_classifier(
    task: str,
    outputs: pd.DataFrame,
    classes: Sequence[Any],
    positive_class: Any,
    calibrator: Calibrator | OneVsRestCalibrator | None,
) -> EstimatedPerformance | None:
    if task == "binary":
        col = f"{performance.SCORE_PREFIX}{_positive(classes, positive_class)}"
        if col not in outputs.columns:
            return None
        p = pd.to_numeric(outputs[col], errors="coerce").to_numpy(dtype=float)
        p = np.clip(p[np.isfinite(p)], 0.0, 1.0)
        if p.size == 0:
            return None
        binary_cal = calibrator if isinstance(calibrator, Calibrator) else None
        return estimate_binary(p, calibrator=binary_cal)
    cols = [f"{performance.SCORE_PREFIX}{c}" for c in classes]
    if not all(c in outputs.columns for c in cols):
        return None
    m = outputs[cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    m = np.clip(m[np.isfinite(m).all(axis=1)], 0.0, 1.0)
    if not len(m):
        return None
    ovr = calibrator if isinstance(calibrator, OneVsRestCalibrator) else None
    return estimate_multiclass(m, classes=classes, calibrator=ovr)


def estimate_outputs(
    frame: pd.DataFrame,
    *,
    task: str,
    classes: Sequence[Any] | None,
    positive_class: Any = None,
    calibrator: Calibrator | OneVsRestCalibrator | Mapping[str, Any] | None = None,
    loss_models: LossModels | None = None,
) -> EstimatedPerformance | None:
    """The task's estimate for scored rows: CBPE (classifiers) or DLE (regressors with loss models).

    ``None`` when there is nothing to estimate from: no rows, no usable score columns, a
    regressor without loss models (registered without a labeled reference), or missing features.

    Examples
    --------
    >>> out = pd.DataFrame({"score_0": [0.1, 0.8], "score_1": [0.9, 0.2]})
    >>> round(estimate_outputs(out, task="binary", classes=[0, 1]).metrics["accuracy"], 2)
    0.85
    """
    if len(frame) == 0:
        return None
    if task == "regression":
        if loss_models is None or "prediction" not in frame.columns:
            return None
        if any(c not in frame.columns for c in loss_models.features):
            return None
        pred = pd.to_numeric(frame["prediction"], errors="coerce").to_numpy(dtype=float)
        return estimate_regression(loss_models, frame, pred)
    if not classes:
        return None
    cal = calibrator_from_dict(calibrator) if isinstance(calibrator, Mapping) else calibrator
    return _estimate_classifier(task, frame, classes, positive_class, cal)

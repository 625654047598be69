"""Performance estimation without labels, for every task.

* ``cbpe`` — confidence-based performance estimation for binary and multiclass classifiers:
  the expected confusion matrix from calibrated probabilities, and the metrics that follow from
  it (accuracy, precision, recall, F1 macro and weighted, one-vs-rest ROC AUC).
* ``dle`` — direct loss estimation for regressors: loss models fitted on a labeled reference's
  absolute and squared errors give the expected MAE and RMSE.
* ``calibration`` — the reliability check (ECE) and the isotonic maps CBPE applies first,
  fitted on one part of the reference and checked on another.
* ``reference`` — fitting all of the above on a labeled reference (registration, retraining)
  and applying it to scored rows (the monitor, the labels join).

Pure: numpy/pandas/sklearn only, no I/O. The estimators follow NannyML's CBPE and DLE; the
benchmark in docs/benchmarks.md compares the two on the same data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from scorewatch.monitoring.estimation.calibration import (
    DEFAULT_BINS,
    DEFAULT_ECE_LIMIT,
    Calibration,
    CalibrationCheck,
    Calibrator,
    OneVsRestCalibrator,
    SplitCalibration,
    calibration_error,
    calibrator_from_dict,
    check_calibration,
    fit_calibrator,
    split_calibration,
    split_indices,
)
from scorewatch.monitoring.estimation.cbpe import (
    EstimatedPerformance,
    estimate_binary,
    estimate_multiclass,
    estimate_multiclass_accuracy,
    expected_confusion,
    expected_confusion_matrix,
    expected_roc_auc,
)
from scorewatch.monitoring.estimation.dle import LossModels, estimate_regression, fit_loss_models
from scorewatch.monitoring.estimation.reference import (
    MIN_REFERENCE_ROWS,
    ReferenceFit,
    estimate_outputs,
    fit_reference,
)

__all__ = [
    "DEFAULT_BINS",
    "DEFAULT_ECE_LIMIT",
    "MIN_REFERENCE_ROWS",
    "Calibration",
    "CalibrationCheck",
    "Calibrator",
    "EstimatedPerformance",
    "LossModels",
    "OneVsRestCalibrator",
    "ReferenceFit",
    "SplitCalibration",
    "calibration_error",
    "calibrator_from_dict",
    "check_calibration",
    "estimate_binary",
    "estimate_multiclass",
    "estimate_multiclass_accuracy",
    "estimate_outputs",
    "estimate_regression",
    "estimate_scored",
    "expected_confusion",
    "expected_confusion_matrix",
    "expected_roc_auc",
    "fit_calibrator",
    "fit_loss_models",
    "fit_reference",
    "split_calibration",
    "split_indices",
]


def estimate_scored(
    outputs: pd.DataFrame,
    *,
    task: str,
    classes: Sequence[Any] | None,
    positive_class: Any = None,
    calibrator: Mapping[str, Any] | Calibrator | OneVsRestCalibrator | None = None,
    loss_models: LossModels | None = None,
) -> EstimatedPerformance | None:
    """The estimate for a scored-output frame (see :func:`estimate_outputs`).

    Examples
    --------
    >>> out = pd.DataFrame({"score_0": [0.1, 0.8], "score_1": [0.9, 0.2]})
    >>> round(estimate_scored(out, task="binary", classes=[0, 1]).metrics["accuracy"], 2)
    0.85
    """
    return estimate_outputs(
        outputs,
        task=task,
        classes=classes,
        positive_class=positive_class,
        calibrator=calibrator,
        loss_models=loss_models,
    )

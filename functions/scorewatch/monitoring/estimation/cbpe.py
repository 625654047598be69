"""Confidence-based performance estimation (CBPE) for binary and multiclass classifiers.

Following NannyML's CBPE: when a classifier's probabilities are calibrated, a row scored ``p``
for a class belongs to it with probability ``p``. Binary: a row predicted positive is a true
positive with probability ``p`` (a false positive with ``1 - p``), a row predicted negative a
false negative with ``p`` (a true negative with ``1 - p``). Multiclass: a row predicted class
``j`` adds its calibrated probability vector to column ``j`` of the expected confusion matrix
(rows: true class, columns: predicted class, as scikit-learn orders it), so each column sums to
the number of rows predicted ``j`` and the whole matrix to the number of rows. Accuracy,
precision, recall and F1 (macro and support-weighted) follow from the expected matrix; ROC AUC is
the one-vs-rest macro mean of the expected binary ROC AUC, which integrates the expected
true/false positive rates over the thresholds.

Decisions come from the raw scores (what the model output); outcomes from calibrated ones
(``calibration``).

Pure: numpy only, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from scorewatch.monitoring.estimation.calibration import (
    Calibrator,
    OneVsRestCalibrator,
    calibrator_from_dict,
)


@dataclass(frozen=True)
class EstimatedPerformance:
    """Expected metrics for unlabeled scored rows (CBPE for classifiers, DLE for regressors)."""

    rows: int
    metrics: dict[str, float | None]
    confusion: dict[str, float]
    calibrated: bool
    threshold: float | None = None


def expected_confusion(proba: np.ndarray, predicted_positive: np.ndarray) -> dict[str, float]:
    """Expected TP/FP/FN/TN counts given calibrated positive probabilities and the decisions.

    >>> expected_confusion(np.array([0.9, 0.2]), np.array([True, False]))
    {'tp': 0.9, 'fp': 0.09999999999999998, 'fn': 0.2, 'tn': 0.8}
    """
    p = np.asarray(proba, dtype=float)
    pos = np.asarray(predicted_positive, dtype=bool)
    return {
        "tp": float(p[pos].sum()),
        "fp": float((1 - p[pos]).sum()),
        "fn": float(p[~pos].sum()),
        "tn": float((1 - p[~pos]).sum()),
    }


def expected_roc_auc(proba: Sequence[float] | np.ndarray) -> float | None:
    """ROC AUC a calibrated model expects on these rows (``None`` when undefined).

    Rows sorted by probability (ties grouped) give, at each threshold, expected true positives
    ``sum(p)`` and false positives ``sum(1 - p)`` above it; the expected ROC curve joins those
    rates and its area is returned. ``None`` when every probability is 0 or every one is 1.

    Examples
    --------
    >>> expected_roc_auc([0.0, 1.0])
    1.0
    >>> expected_roc_auc([0.5, 0.5])
    0.5
    """
    p = np.asarray(proba, dtype=float)
    if p.size == 0:
        return None
    order = np.argsort(-p, kind="stable")
    p = p[order]
    total_pos = p.sum()
    total_neg = (1 - p).sum()
    if total_pos <= 0 or total_neg <= 0:
        return None
    # Group ties so a run of equal scores is one step of the curve (a diagonal segment).
    distinct = np.r_[np.flatnonzero(np.diff(p)), p.size - 1]
    tps = np.cumsum(p)[distinct]
    fps = np.cumsum(1 - p)[distinct]
    tpr = np.r_[0.0, tps / total_pos]
    fpr = np.r_[0.0, fps / total_neg]
    return float(np.trapezoid(tpr, fpr))


def estimate_binary(
    proba: Sequence[float] | np.ndarray,
    *,
    threshold: float = 0.5,
    calibrator: Calibrator | Mapping[str, Any] | None = None,
) -> EstimatedPerformance:
    """CBPE for a binary classifier: expected accuracy, precision, recall, F1 and ROC AUC.

    Parameters
    ----------
    proba
        Positive-class probabilities of the scored rows (no labels needed).
    threshold
        The decision threshold behind ``prediction`` (rows with ``p >= threshold`` are positive).
    calibrator
        The card's calibrator (``Calibrator`` or its dict); applied before estimating.

    Returns
    -------
    EstimatedPerformance
        Metrics undefined for the rows (no expected positives, ...) are ``None``.

    Raises
    ------
    ValueError
        When probabilities are not finite or fall outside [0, 1].

    Examples
    --------
    >>> est = estimate_binary([0.9, 0.8, 0.1, 0.2])
    >>> round(est.metrics["accuracy"], 3)
    0.85
    """
    p = np.asarray(proba, dtype=float)
    if p.size and (not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1):
        raise ValueError("probabilities must be finite and within [0, 1]")
    cal = Calibrator.from_dict(calibrator) if isinstance(calibrator, Mapping) else calibrator
    raw = p
    if cal is not None:
        p = cal.apply(p)
    n = int(p.size)
    names = ("accuracy", "precision", "recall", "f1", "roc_auc")
    if n == 0:
        return EstimatedPerformance(0, dict.fromkeys(names), {}, cal is not None, threshold)
    # Decisions come from the raw scores (what the model output); outcomes from calibrated ones.
    cm = expected_confusion(p, raw >= threshold)
    tp, fp, fn, tn = cm["tp"], cm["fp"], cm["fn"], cm["tn"]
    precision = tp / (tp + fp) if tp + fp > 0 else None
    recall = tp / (tp + fn) if tp + fn > 0 else None
    f1 = None
    if precision is not None and recall is not None:
        f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    metrics = {
        "accuracy": (tp + tn) / n,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "roc_auc": _expected_auc_ranked(raw, p),
    }
    return EstimatedPerformance(n, metrics, cm, cal is not None, threshold)


def _expected_auc_ranked(raw: np.ndarray, calibrated: np.ndarray) -> float | None:
    # AUC is about the model's ranking, so rows are ordered by the raw score and weighted by the
    # calibrated probability; with an identity calibrator this is expected_roc_auc(raw).
    order = np.argsort(-raw, kind="stable")
    r = raw[order]
    p = calibrated[order]
    total_pos, total_neg = p.sum(), (1 - p).sum()
    if total_pos <= 0 or total_neg <= 0:
        return None
    distinct = np.r_[np.flatnonzero(np.diff(r)), r.size - 1]
    tpr = np.r_[0.0, np.cumsum(p)[distinct] / total_pos]
    fpr = np.r_[0.0, np.cumsum(1 - p)[distinct] / total_neg]
    return float(np.trapezoid(tpr, fpr))


def estimate_multiclass_accuracy(proba: np.ndarray) -> float | None:
    """Expected accuracy of a calibrated multiclass model: the mean probability of the argmax class.

    >>> estimate_multiclass_accuracy(np.array([[0.7, 0.2, 0.1], [0.1, 0.5, 0.4]]))
    0.6
    """
    m = np.asarray(proba, dtype=float)
    if m.ndim != 2 or m.shape[0] == 0:
        return None
    return float(np.mean(m.max(axis=1)))


def expected_confusion_matrix(proba: np.ndarray, predicted: np.ndarray, *, n_classes: int) -> np.ndarray:
    """Expected ``(true, predicted)`` counts from calibrated probabilities and the predicted classes.

    Column ``j`` is the sum of the probability vectors of the rows predicted ``j``: it sums to
    the number of those rows, and the matrix to the number of rows.

    >>> expected_confusion_matrix(np.array([[0.8, 0.2], [0.3, 0.7]]), np.array([0, 1]), n_classes=2).tolist()
    [[0.8, 0.3], [0.2, 0.7]]
    """
    m = np.asarray(proba, dtype=float)
    pred = np.asarray(predicted, dtype=int)
    if m.ndim != 2 or m.shape[1] != n_classes or pred.shape != (m.shape[0],):
        raise ValueError(f"need a (rows, {n_classes}) matrix and one predicted class per row")
    if pred.size and (pred.min() < 0 or pred.max() >= n_classes):
        raise ValueError(f"predicted classes must be indices 0..{n_classes - 1}")
    out = np.zeros((n_classes, n_classes))
    np.add.at(out.T, pred, m)  # out[:, pred[i]] += m[i]
    return out


def _ratio(num: float, den: float) -> float:
    # scikit-learn's zero_division=0: an empty class contributes 0 to the macro mean
    return num / den if den > 0 else 0.0


def estimate_multiclass(
    proba: np.ndarray,
    *,
    classes: Sequence[Any] | None = None,
    calibrator: OneVsRestCalibrator | Mapping[str, Any] | None = None,
) -> EstimatedPerformance:
    """CBPE for a multiclass classifier: accuracy, macro precision/recall/F1, weighted F1, ROC AUC.

    Parameters
    ----------
    proba
        ``(rows, k)`` raw class scores of the scored rows (columns in ``classes`` order).
    classes
        Class of each column (for the confusion matrix's keys); default ``0..k-1``.
    calibrator
        The card's one-vs-rest calibrator; applied before estimating.

    Returns
    -------
    EstimatedPerformance
        ``metrics``: accuracy, precision, recall, f1 (macro, as realized performance names them),
        f1_macro, f1_weighted (weights: expected class support), roc_auc (one-vs-rest macro over
        the classes with expected positives and negatives; ``None`` when fewer than two).
        ``confusion``: ``"<true>|<predicted>"`` -> expected count.

    Raises
    ------
    ValueError
        Not a 2-d matrix, or scores not finite / outside [0, 1].

    Examples
    --------
    >>> est = estimate_multiclass(np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]]))
    >>> round(est.metrics["accuracy"], 3)
    0.767
    """
    raw = np.asarray(proba, dtype=float)
    if raw.ndim != 2:
        raise ValueError(f"need a (rows, classes) score matrix, got shape {raw.shape}")
    if raw.size and (not np.all(np.isfinite(raw)) or raw.min() < 0 or raw.max() > 1):
        raise ValueError("probabilities must be finite and within [0, 1]")
    k = raw.shape[1]
    names = list(classes) if classes is not None else list(range(k))
    cal = calibrator_from_dict(calibrator) if isinstance(calibrator, Mapping) else calibrator
    if cal is not None and not isinstance(cal, OneVsRestCalibrator):
        raise ValueError("a multiclass model needs a one-vs-rest calibrator")
    keys = ("accuracy", "precision", "recall", "f1", "f1_macro", "f1_weighted", "roc_auc")
    n = raw.shape[0]
    if n == 0:
        return EstimatedPerformance(0, dict.fromkeys(keys), {}, cal is not None)
    p = cal.apply(raw) if cal is not None else _rows_sum_to_one(raw)
    pred = raw.argmax(axis=1)
    cm = expected_confusion_matrix(p, pred, n_classes=k)
    tp = np.diag(cm)
    predicted, support = cm.sum(axis=0), cm.sum(axis=1)
    precision = [_ratio(tp[j], predicted[j]) for j in range(k)]
    recall = [_ratio(tp[j], support[j]) for j in range(k)]
    f1 = np.array([_ratio(2 * tp[j], predicted[j] + support[j]) for j in range(k)])
    aucs = [_expected_auc_ranked(raw[:, j], p[:, j]) for j in range(k)]
    defined = [a for a in aucs if a is not None]
    metrics: dict[str, float | None] = {
        "accuracy": float(tp.sum() / n),
        "precision": float(np.mean(precision)),
        "recall": float(np.mean(recall)),
        "f1": float(f1.mean()),
        "f1_macro": float(f1.mean()),
        "f1_weighted": float((f1 * support).sum() / n),
        "roc_auc": float(np.mean(defined)) if len(defined) >= 2 else None,
    }
    confusion = {f"{names[t]}|{names[j]}": float(cm[t, j]) for t in range(k) for j in range(k)}
    return EstimatedPerformance(n, metrics, confusion, cal is not None)


def _rows_sum_to_one(m: np.ndarray) -> np.ndarray:
    total = m.sum(axis=1, keepdims=True)
    return np.where(total > 0, m / np.where(total > 0, total, 1.0), 1.0 / m.shape[1])

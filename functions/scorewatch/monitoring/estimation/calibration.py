"""Performance estimation without labels: confidence-based performance estimation (CBPE).

Following NannyML's CBPE: when a classifier's probabilities are calibrated, a row scored ``p``
for the positive class is a true positive with probability ``p`` if it is predicted positive
(a false positive with ``1 - p``), and a false negative with probability ``p`` if predicted
negative (a true negative with ``1 - p``). Summing gives the expected confusion matrix, from which
expected accuracy, precision, recall and F1 follow. Expected ROC AUC integrates the expected
true/false positive rates over the thresholds (the ROC curve a calibrated model expects).

Probabilities must be calibrated for the estimate to mean anything, so registration checks the
expected calibration error (ECE) on the holdout and, when it is too high, fits an isotonic map
(stored on the model card as ``calibrator``) that estimation applies first.

Pure: numpy/pandas/sklearn only, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

DEFAULT_ECE_LIMIT = 0.05
DEFAULT_BINS = 10


@dataclass(frozen=True)
class Calibration:
    """Reliability of probabilities on labeled data.

    ``ece`` is the expected calibration error: the row-weighted mean, over equal-width bins of
    the predicted probability, of ``|mean predicted - observed positive rate|``; ``mce`` the
    largest bin gap. ``bins`` lists (lower, upper, rows, mean_predicted, observed_rate).
    """

    ece: float
    mce: float
    rows: int
    bins: tuple[tuple[float, float, int, float, float], ...] = field(default=())


def calibration_error(
    y_true: Sequence[int] | np.ndarray, proba: Sequence[float] | np.ndarray, *, n_bins: int = DEFAULT_BINS
) -> Calibration:
    """Expected and maximum calibration error of positive-class probabilities.

    Parameters
    ----------
    y_true
        0/1 outcomes.
    proba
        Predicted probability of the positive class, same length.
    n_bins
        Equal-width probability bins.

    Returns
    -------
    Calibration

    Raises
    ------
    ValueError
        Mismatched lengths, no rows, or probabilities outside [0, 1].

    Examples
    --------
    >>> round(calibration_error([0, 1, 1, 0], [0.0, 1.0, 1.0, 0.0]).ece, 6)
    0.0
    """
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(proba, dtype=float)
    if y.shape != p.shape or y.size == 0:
        raise ValueError(f"need equal, non-empty inputs (got {y.size} labels, {p.size} probabilities)")
    if not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1:
        raise ValueError("probabilities must be finite and within [0, 1]")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1], right=False), 0, n_bins - 1)
    ece = 0.0
    mce = 0.0
    bins = []
    for b in range(n_bins):
        mask = idx == b
        count = int(mask.sum())
        if count == 0:
            continue
        mean_p = float(p[mask].mean())
        rate = float(y[mask].mean())
        gap = abs(mean_p - rate)
        ece += gap * count / y.size
        mce = max(mce, gap)
        bins.append((float(edges[b]), float(edges[b + 1]), count, mean_p, rate))
    return Calibration(ece=float(ece), mce=float(mce), rows=int(y.size), bins=tuple(bins))


@dataclass(frozen=True)
class Calibrator:
    """A monotone map from raw to calibrated probability (isotonic regression knots).

    Stored on the model card as ``{"method": "isotonic", "x": [...], "y": [...]}`` and applied
    by linear interpolation, clipped at the ends, exactly as scikit-learn's IsotonicRegression
    with ``out_of_bounds="clip"`` predicts.
    """

    x: tuple[float, ...]
    y: tuple[float, ...]
    method: str = "isotonic"

    def apply(self, proba: Sequence[float] | np.ndarray) -> np.ndarray:
        p = np.asarray(proba, dtype=float)
        calibrated: np.ndarray = np.clip(np.interp(p, self.x, self.y), 0.0, 1.0)
        return calibrated

    # Hand-written both ways (benchmarks/bench_serialization.py, 200 knots): pydantic's TypeAdapter
    # dump takes 5.6 µs against 0.7 µs and puts "method" last; its validate_python would take
    # 3.9 µs against 12.8 µs, but a statistics module imports only numeric libraries
    # (tests/unit/test_boundaries.py), and this runs once per estimate.
    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "x": list(self.x), "y": list(self.y)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibrator:
        if data.get("method") != "isotonic":
            raise ValueError(f"unknown calibrator method {data.get('method')!r}")
        x, y = tuple(float(v) for v in data["x"]), tuple(float(v) for v in data["y"])
        if len(x) != len(y) or not x:
            raise ValueError("calibrator needs equal, non-empty 'x' and 'y' knots")
        return cls(x=x, y=y)


def fit_calibrator(y_true: Sequence[int] | np.ndarray, proba: Sequence[float] | np.ndarray) -> Calibrator:
    """Fit an isotonic calibration map on labeled probabilities (a holdout, not training data).

    Raises
    ------
    ValueError
        When fewer than two distinct outcomes are present (nothing to calibrate against).

    Examples
    --------
    >>> cal = fit_calibrator([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> cal.apply([0.1, 0.8]).tolist()
    [0.0, 1.0]
    """
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(proba, dtype=float)
    if len(np.unique(y)) < 2:
        raise ValueError("calibration needs both outcomes in the labeled data")
    from sklearn.isotonic import IsotonicRegression  # lazy: keeps sklearn out of cold start

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, y)
    return Calibrator(
        x=tuple(float(v) for v in iso.X_thresholds_), y=tuple(float(v) for v in iso.y_thresholds_)
    )


@dataclass(frozen=True)
class CalibrationCheck:
    """Outcome of the registration-time check: the raw ECE, and the calibrator if one was needed."""

    ece: float
    ece_calibrated: float | None
    calibrator: Calibrator | None
    limit: float

    def card_fields(self) -> tuple[dict[str, float], dict[str, Any] | None]:
        """``(card.calibration, card.calibrator)`` values for the model card."""
        values = {"ece": self.ece, "ece_limit": self.limit}
        if self.ece_calibrated is not None:
            values["ece_calibrated"] = self.ece_calibrated
        return values, (self.calibrator.to_dict() if self.calibrator else None)


def check_calibration(
    y_true: Sequence[int] | np.ndarray,
    proba: Sequence[float] | np.ndarray,
    *,
    limit: float = DEFAULT_ECE_LIMIT,
    n_bins: int = DEFAULT_BINS,
) -> CalibrationCheck:
    """Measure ECE on labeled holdout probabilities and fit isotonic calibration when above ``limit``.

    The calibrator is kept only when it lowers the ECE (isotonic can overfit a tiny holdout).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=2000)
    >>> y = (rng.uniform(size=2000) < p ** 3).astype(int)
    >>> chk = check_calibration(y, p)
    >>> chk.calibrator is not None and chk.ece_calibrated < chk.ece
    True
    """
    raw = calibration_error(y_true, proba, n_bins=n_bins)
    if raw.ece <= limit or len(np.unique(np.asarray(y_true))) < 2:
        return CalibrationCheck(ece=raw.ece, ece_calibrated=None, calibrator=None, limit=limit)
    cal = fit_calibrator(y_true, proba)
    after = calibration_error(y_true, cal.apply(proba), n_bins=n_bins)
    if after.ece >= raw.ece:
        return CalibrationCheck(ece=raw.ece, ece_calibrated=None, calibrator=None, limit=limit)
    return CalibrationCheck(ece=raw.ece, ece_calibrated=after.ece, calibrator=cal, limit=limit)


@dataclass(frozen=True)
class EstimatedPerformance:
    """Expected metrics for unlabeled scored rows (binary: from the expected confusion matrix)."""

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


def estimate_scored(
    outputs: pd.DataFrame,
    *,
    task: str,
    classes: Sequence[Any] | None,
    positive_class: Any = None,
    calibrator: Calibrator | Mapping[str, Any] | None = None,
) -> EstimatedPerformance | None:
    """CBPE for a scored-output frame (``score_<class>`` columns), as stored for a batch.

    Binary: ``estimate_binary`` on the positive class's score (default the last class) with the
    card's calibrator. Multiclass: expected accuracy only. Regression, or no usable score column:
    ``None`` (nothing to estimate from).

    Examples
    --------
    >>> out = pd.DataFrame({"score_0": [0.1, 0.8], "score_1": [0.9, 0.2]})
    >>> round(estimate_scored(out, task="binary", classes=[0, 1]).metrics["accuracy"], 2)
    0.85
    """
    if task == "regression" or not classes or len(outputs) == 0:
        return None
    if task == "multiclass":
        cols = [f"score_{c}" for c in classes]
        if not all(c in outputs.columns for c in cols):
            return None
        m = outputs[cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        m = m[np.isfinite(m).all(axis=1)]
        acc = estimate_multiclass_accuracy(m) if len(m) else None
        return EstimatedPerformance(len(m), {"accuracy": acc}, {}, False)
    pos = classes[-1] if positive_class is None else positive_class
    col = f"score_{pos}"
    if col not in outputs.columns:
        return None
    p = pd.to_numeric(outputs[col], errors="coerce").to_numpy(dtype=float)
    p = np.clip(p[np.isfinite(p)], 0.0, 1.0)
    if p.size == 0:
        return None
    return estimate_binary(p, calibrator=calibrator)

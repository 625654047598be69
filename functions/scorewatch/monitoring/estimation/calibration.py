"""Calibration of classifier probabilities: the reliability check and the isotonic maps CBPE needs.

Confidence-based estimation (``cbpe``) reads a calibrated probability as the chance that the row
belongs to the class, so the estimate is only as good as the calibration. This module measures
it (expected calibration error, ECE), fits isotonic maps (one per class, one-vs-rest, for
multiclass models, as NannyML does) and checks them on rows they were not fitted on
(:func:`split_calibration`): the reference is split in two, the map fitted on one part and the
ECE before and after compared on the other, and the map is kept only when it lowers the ECE there.

Maps are stored on the model card as plain knots (``{"method": "isotonic", "x": [...], "y": [...]}``
or ``{"method": "isotonic_ovr", "classes": [...], "maps": [...]}``): nothing is deserialized to
apply them.

Pure: numpy/sklearn only, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

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
class OneVsRestCalibrator:
    """One isotonic map per class (``None``: that class's scores are left as they are).

    Calibrated columns are renormalised so each row sums to 1, as NannyML's CBPE does; a row
    whose calibrated scores are all 0 keeps its raw scores.
    """

    classes: tuple[Any, ...]
    maps: tuple[Calibrator | None, ...]
    method: str = "isotonic_ovr"

    def apply(self, proba: np.ndarray) -> np.ndarray:
        m = np.asarray(proba, dtype=float)
        if m.ndim != 2 or m.shape[1] != len(self.maps):
            raise ValueError(f"need a (rows, {len(self.maps)}) score matrix, got shape {m.shape}")
        out = m.copy()
        for j, cal in enumerate(self.maps):
            if cal is not None:
                out[:, j] = cal.apply(m[:, j])
        total = out.sum(axis=1, keepdims=True)
        ok = total[:, 0] > 0
        out[ok] = out[ok] / total[ok]
        out[~ok] = m[~ok]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "classes": list(self.classes),
            "maps": [c.to_dict() if c is not None else None for c in self.maps],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OneVsRestCalibrator:
        if data.get("method") != "isotonic_ovr":
            raise ValueError(f"unknown calibrator method {data.get('method')!r}")
        maps = tuple(Calibrator.from_dict(m) if m is not None else None for m in data["maps"])
        classes = tuple(data["classes"])
        if len(classes) != len(maps) or not maps:
            raise ValueError("calibrator needs one map (or null) per class")
        return cls(classes=classes, maps=maps)


def calibrator_from_dict(data: Mapping[str, Any] | None) -> Calibrator | OneVsRestCalibrator | None:
    """The card's ``calibrator`` dict as an object (``None`` stays ``None``).

    >>> calibrator_from_dict({"method": "isotonic", "x": [0.0, 1.0], "y": [0.0, 1.0]}).method
    'isotonic'
    """
    if data is None:
        return None
    if data.get("method") == "isotonic_ovr":
        return OneVsRestCalibrator.from_dict(data)
    return Calibrator.from_dict(data)


@dataclass(frozen=True)
class SplitCalibration:
    """A calibration fitted on one part of the reference and checked on the other.

    ``ece`` and ``ece_calibrated`` are measured on the ``check_rows`` rows the map was not fitted
    on (for multiclass: the mean over classes of the one-vs-rest ECE). ``calibrator`` is the map
    refitted on the whole reference when the check showed it helps, else ``None``;
    ``split_calibrator`` the map fitted on the fit part only (what the check measured).
    """

    ece: float
    ece_calibrated: float | None
    calibrator: Calibrator | OneVsRestCalibrator | None
    fit_rows: int
    check_rows: int
    split_calibrator: Calibrator | OneVsRestCalibrator | None = None

    def card_fields(self) -> tuple[dict[str, float], dict[str, Any] | None]:
        """``(card.calibration, card.calibrator)`` values for the model card."""
        values = {"ece": self.ece, "fit_rows": float(self.fit_rows), "check_rows": float(self.check_rows)}
        if self.ece_calibrated is not None:
            values["ece_calibrated"] = self.ece_calibrated
        return values, (self.calibrator.to_dict() if self.calibrator else None)


def split_indices(n: int, *, fit_fraction: float, random_state: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded split of ``range(n)`` into (fit, check) index arrays, both non-empty when n >= 2.

    >>> fit, check = split_indices(10, fit_fraction=0.5, random_state=0)
    >>> len(fit), len(check), sorted([*fit, *check]) == list(range(10))
    (5, 5, True)
    """
    order = np.random.default_rng(random_state).permutation(n)
    cut = min(max(round(n * fit_fraction), 1), n - 1) if n >= 2 else n
    return np.sort(order[:cut]), np.sort(order[cut:])


def _fit_or_none(y: np.ndarray, p: np.ndarray) -> Calibrator | None:
    return fit_calibrator(y, p) if len(np.unique(y)) == 2 else None


def _ovr_ece(y_idx: np.ndarray, proba: np.ndarray, n_bins: int) -> float:
    eces = [
        calibration_error((y_idx == j).astype(int), proba[:, j], n_bins=n_bins).ece
        for j in range(proba.shape[1])
    ]
    return float(np.mean(eces))


def split_calibration(
    y_true: Sequence[int] | np.ndarray,
    proba: Sequence[float] | np.ndarray,
    *,
    classes: Sequence[Any] | None = None,
    fit_fraction: float = 0.5,
    random_state: int = 0,
    n_bins: int = DEFAULT_BINS,
) -> SplitCalibration:
    """Fit isotonic calibration on part of a labeled reference and check it on the rest.

    Parameters
    ----------
    y_true
        Binary: 0/1 outcomes. Multiclass: class indices ``0..k-1`` (columns of ``proba``).
    proba
        Binary: positive-class probabilities (1-d). Multiclass: a ``(rows, k)`` matrix.
    classes
        Multiclass: the class of each column (stored with the maps).
    fit_fraction
        Share of rows the map is fitted on; the ECE is measured on the others.
    random_state
        Seed of the split.

    Returns
    -------
    SplitCalibration

    Raises
    ------
    ValueError
        Fewer than 4 rows, or mismatched shapes.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=4000)
    >>> y = (rng.uniform(size=4000) < p ** 3).astype(int)
    >>> chk = split_calibration(y, p)
    >>> chk.calibrator is not None and chk.ece_calibrated < chk.ece
    True
    """
    y = np.asarray(y_true)
    p = np.asarray(proba, dtype=float)
    if y.shape[0] != p.shape[0] or y.shape[0] < 4:
        raise ValueError(
            f"need at least 4 rows of equal length (got {y.shape[0]} labels, {p.shape[0]} scores)"
        )
    fit, check = split_indices(y.shape[0], fit_fraction=fit_fraction, random_state=random_state)
    if p.ndim == 1:
        yb = y.astype(float)
        raw = calibration_error(yb[check], p[check], n_bins=n_bins).ece
        cal = _fit_or_none(yb[fit], p[fit])
        if cal is None:
            return SplitCalibration(raw, None, None, len(fit), len(check))
        after = calibration_error(yb[check], cal.apply(p[check]), n_bins=n_bins).ece
        keep = _fit_or_none(yb, p) if after < raw else None
        return SplitCalibration(raw, after, keep, len(fit), len(check), cal if keep else None)
    k = p.shape[1]
    names = tuple(classes) if classes is not None else tuple(range(k))
    yi = y.astype(int)

    def _fit(rows: np.ndarray) -> OneVsRestCalibrator:
        maps = tuple(_fit_or_none((yi[rows] == j).astype(float), p[rows, j]) for j in range(k))
        return OneVsRestCalibrator(classes=names, maps=maps)

    raw = _ovr_ece(yi[check], p[check], n_bins)
    ovr = _fit(fit)
    if all(m is None for m in ovr.maps):
        return SplitCalibration(raw, None, None, len(fit), len(check))
    after = _ovr_ece(yi[check], ovr.apply(p[check]), n_bins)
    keep_ovr = _fit(np.arange(yi.size)) if after < raw else None
    return SplitCalibration(raw, after, keep_ovr, len(fit), len(check), ovr if keep_ovr else None)

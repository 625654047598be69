"""CBPE on synthetic calibrated scores: the estimate lands within a stated tolerance of realized."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from scorewatch.monitoring import estimation as est
from scorewatch.monitoring import performance as perf

# With 5,000 rows, the sampling noise of realized accuracy is ~0.007 (sd) and of ROC AUC ~0.007;
# 0.03 is more than four standard deviations.
TOLERANCE = 0.03


def _calibrated(n: int, seed: int, a: float = 2.0, b: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = rng.beta(a, b, size=n)
    y = (rng.uniform(size=n) < p).astype(int)
    return p, y


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("shape", [(2.0, 2.0), (0.5, 0.5), (1.0, 4.0)])
def test_cbpe_estimates_are_within_tolerance_of_realized_on_calibrated_scores(seed, shape) -> None:
    p, y = _calibrated(5000, seed, *shape)
    estimate = est.estimate_binary(p, threshold=0.5)
    out = pd.DataFrame({"prediction": (p >= 0.5).astype(int), "score_0": 1 - p, "score_1": p})
    realized = perf.classification_performance(y, out, classes=[0, 1]).metrics
    for metric in ("accuracy", "roc_auc"):
        assert estimate.metrics[metric] == pytest.approx(realized[metric], abs=TOLERANCE), metric
    # precision/recall/F1 rest on the predicted (resp. actual) positives only: ~310 rows for
    # beta(1, 4), whose sampling sd is ~0.014, so the tolerance scales with 1/sqrt(rows)
    positives = max(1, min(int((p >= 0.5).sum()), int(y.sum())))
    loose = max(TOLERANCE, 4 * (0.25 / positives) ** 0.5)
    for metric in ("precision", "recall", "f1"):
        assert estimate.metrics[metric] == pytest.approx(realized[metric], abs=loose), metric


def test_expected_auc_is_the_mean_auc_over_label_draws() -> None:
    rng = np.random.default_rng(7)
    p = rng.uniform(size=300)
    draws = [skm.roc_auc_score((rng.uniform(size=300) < p).astype(int), p) for _ in range(400)]
    assert est.expected_roc_auc(p) == pytest.approx(np.mean(draws), abs=0.01)


def test_cbpe_on_miscalibrated_scores_is_corrected_by_the_isotonic_calibrator() -> None:
    rng = np.random.default_rng(11)
    true_p = rng.uniform(size=8000)
    y = (rng.uniform(size=8000) < true_p).astype(int)
    raw = true_p**0.3  # overconfident towards 1
    holdout, live = slice(0, 4000), slice(4000, 8000)
    check = est.check_calibration(y[holdout], raw[holdout])
    assert check.ece > 0.1 and check.calibrator is not None and check.ece_calibrated < 0.03
    out = pd.DataFrame(
        {"prediction": (raw[live] >= 0.5).astype(int), "score_0": 1 - raw[live], "score_1": raw[live]}
    )
    realized = perf.classification_performance(y[live], out, classes=[0, 1]).metrics
    naive = est.estimate_binary(raw[live])
    fixed = est.estimate_binary(raw[live], calibrator=check.calibrator.to_dict())
    assert abs(fixed.metrics["accuracy"] - realized["accuracy"]) < TOLERANCE
    assert abs(naive.metrics["accuracy"] - realized["accuracy"]) > abs(
        fixed.metrics["accuracy"] - realized["accuracy"]
    )
    assert fixed.metrics["roc_auc"] == pytest.approx(realized["roc_auc"], abs=TOLERANCE)


def test_well_calibrated_scores_need_no_calibrator() -> None:
    p, y = _calibrated(5000, 5)
    check = est.check_calibration(y, p)
    assert check.ece < 0.05 and check.calibrator is None
    values, calibrator = check.card_fields()
    assert calibrator is None and values["ece"] == pytest.approx(check.ece)


def test_calibration_error_known_answer() -> None:
    # one bin [0.8, 0.9): mean predicted 0.8, observed rate 0.5 -> ECE 0.3
    cal = est.calibration_error([1, 0, 1, 0], [0.8, 0.8, 0.8, 0.8])
    assert cal.ece == pytest.approx(0.3) and cal.mce == pytest.approx(0.3)
    with pytest.raises(ValueError, match="within"):
        est.calibration_error([1], [1.5])


def test_calibrator_round_trips_through_the_card_dict() -> None:
    cal = est.fit_calibrator([0, 0, 1, 1, 1], [0.1, 0.3, 0.2, 0.7, 0.9])
    again = est.Calibrator.from_dict(cal.to_dict())
    assert again.apply([0.15, 0.5]).tolist() == cal.apply([0.15, 0.5]).tolist()
    with pytest.raises(ValueError, match="method"):
        est.Calibrator.from_dict({"method": "platt", "x": [0], "y": [0]})
    with pytest.raises(ValueError, match="equal, non-empty"):
        est.Calibrator.from_dict({"method": "isotonic", "x": [0.1, 0.9], "y": [0.0]})


def test_degenerate_inputs_give_none_not_nan() -> None:
    assert est.expected_roc_auc([1.0, 1.0]) is None
    e = est.estimate_binary([])
    assert e.rows == 0 and all(v is None for v in e.metrics.values())
    e = est.estimate_binary([0.1, 0.2])
    assert e.metrics["precision"] is None and e.metrics["accuracy"] == pytest.approx(0.85)
    assert est.estimate_multiclass_accuracy(np.array([[0.5, 0.5]])) == pytest.approx(0.5)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=80))
def test_estimates_are_probabilities(p: list[float]) -> None:
    e = est.estimate_binary(p)
    for v in e.metrics.values():
        assert v is None or -1e-9 <= v <= 1 + 1e-9
    cm = e.confusion
    assert sum(cm.values()) == pytest.approx(len(p))


def test_estimate_scored_reads_the_positive_class_column_and_skips_what_it_cannot_estimate() -> None:
    out = pd.DataFrame({"prediction": ["no", "yes"], "score_no": [0.8, 0.3], "score_yes": [0.2, 0.7]})
    assert est.estimate_scored(out, task="binary", classes=["no", "yes"]).metrics[
        "accuracy"
    ] == pytest.approx(0.75)
    flipped = est.estimate_scored(out, task="binary", classes=["no", "yes"], positive_class="no")
    assert flipped.confusion["tp"] == pytest.approx(0.8)
    multi = pd.DataFrame({"score_a": [0.6, 0.2], "score_b": [0.3, 0.7], "score_c": [0.1, 0.1]})
    assert est.estimate_scored(multi, task="multiclass", classes=["a", "b", "c"]).metrics[
        "accuracy"
    ] == pytest.approx(0.65)
    assert est.estimate_scored(pd.DataFrame({"prediction": [1.0]}), task="regression", classes=None) is None
    assert est.estimate_scored(out, task="binary", classes=["no", "maybe"]) is None

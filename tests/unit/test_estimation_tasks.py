"""Estimation for every task on synthetic data with a known shift, and the expected confusion matrix.

The data: a model fitted on unshifted data, a labeled reference from the same distribution (the
estimators are fitted on it), and analysis sets whose first feature (classifiers) or the
noisy category (regression) grows. P(y | x) does not change, so CBPE and DLE can
follow the performance change; the realized value on the analysis labels is the truth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn import metrics as skm
from sklearn.linear_model import LinearRegression, LogisticRegression

from scorewatch.monitoring import estimation as est
from scorewatch.monitoring import performance as perf

# 4,000 analysis rows: the sampling sd of a realized accuracy/F1/AUC is ~0.007-0.01, so 0.03 holds
# three standard deviations plus what an imperfect calibration costs. MAE/RMSE: within 8 %.
TOLERANCE = 0.03
LOSS_TOLERANCE = 0.08
_W = np.array([[1.5, -1.0, 0.5, 0.0], [-1.0, 1.2, 0.0, 0.8], [0.3, 0.3, -1.5, 0.5]])


def _classification(
    n: int, k: int, shift: float, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray]:
    X = rng.normal(size=(n, 4))
    X[:, 0] += shift
    if k == 2:
        y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(X @ _W[0])))).astype(int)
    else:
        z = X @ _W[:k].T
        P = np.exp(z - z.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        y = (rng.uniform(size=(n, 1)) > np.cumsum(P, axis=1)).sum(axis=1)
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(4)]), y


def _outputs(model: LogisticRegression, X: pd.DataFrame) -> pd.DataFrame:
    P = model.predict_proba(X)
    out = pd.DataFrame({f"score_{c}": P[:, i] for i, c in enumerate(model.classes_)})
    out["prediction"] = model.classes_[P.argmax(axis=1)]
    return out


def _regression(n: int, shift: float, rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    # The shift moves rows towards the noisy category "c" (a third of the rows at 0, 80 % at 0.7):
    # the loss models saw every category, so this is a shift within the reference's support
    # (trees cannot extrapolate a loss beyond the feature range they were fitted on).
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=["x0", "x1", "x2"])
    share = 1 / 3 + shift * (0.8 - 1 / 3) / 0.7
    X["c"] = rng.choice(["a", "b", "c"], size=n, p=[(1 - share) / 2, (1 - share) / 2, share])
    scale = (0.3 + X["x2"].abs()) * np.where(X["c"] == "c", 2.0, 1.0)
    y = 2 * X["x0"] + X["x1"] ** 2 + rng.normal(size=n) * scale
    return X, y.to_numpy()


@pytest.mark.parametrize("task,k", [("binary", 2), ("multiclass", 3)])
@pytest.mark.parametrize("shift", [0.0, 1.5])
def test_cbpe_estimate_is_within_tolerance_of_realized_under_covariate_shift(task, k, shift) -> None:
    rng = np.random.default_rng(3)
    Xt, yt = _classification(4000, k, 0.0, rng)
    Xr, yr = _classification(4000, k, 0.0, rng)
    model = LogisticRegression(max_iter=500).fit(Xt, yt)
    classes = list(model.classes_)
    fit = est.fit_reference(task, yr, _outputs(model, Xr), classes=classes)
    assert fit is not None and fit.calibration is not None
    Xa, ya = _classification(4000, k, shift, rng)
    out = _outputs(model, Xa)
    estimate = est.estimate_outputs(out, task=task, classes=classes, calibrator=fit.calibration.calibrator)
    realized = perf.realized_performance(task, pd.Series(ya), out, classes=classes).metrics
    metrics = ["accuracy", "roc_auc", "f1"] + (["f1_macro", "f1_weighted"] if k > 2 else [])
    for metric in metrics:
        assert estimate.metrics[metric] == pytest.approx(realized[metric], abs=TOLERANCE), metric


def test_the_shift_moves_the_estimate_the_way_it_moves_realized_performance() -> None:
    # A test that the estimate is not just the reference's value: accuracy rises by ~0.1 with this shift.
    rng = np.random.default_rng(5)
    Xt, yt = _classification(4000, 3, 0.0, rng)
    model = LogisticRegression(max_iter=500).fit(Xt, yt)
    classes = list(model.classes_)
    before = est.estimate_multiclass(
        _outputs(model, _classification(4000, 3, 0.0, rng)[0])[[f"score_{c}" for c in classes]].to_numpy()
    )
    after = est.estimate_multiclass(
        _outputs(model, _classification(4000, 3, 2.0, rng)[0])[[f"score_{c}" for c in classes]].to_numpy()
    )
    assert after.metrics["accuracy"] - before.metrics["accuracy"] > 0.05


@pytest.mark.parametrize("shift", [0.0, 0.7])
def test_dle_estimate_is_within_tolerance_of_realized_mae_and_rmse(shift) -> None:
    rng = np.random.default_rng(4)
    Xt, yt = _regression(3000, 0.0, rng)
    Xr, yr = _regression(3000, 0.0, rng)
    numeric = ["x0", "x1", "x2"]
    model = LinearRegression().fit(Xt[numeric], yt)
    reference = pd.DataFrame({"prediction": model.predict(Xr[numeric])})
    fit = est.fit_reference("regression", yr, reference, features=Xr, categorical=["c"])
    assert fit is not None and fit.loss_models is not None
    assert fit.check["mae"]["estimated"] == pytest.approx(fit.check["mae"]["realized"], rel=LOSS_TOLERANCE)
    Xa, ya = _regression(4000, shift, rng)
    pred = model.predict(Xa[numeric])
    estimate = est.estimate_outputs(
        Xa.assign(prediction=pred), task="regression", classes=None, loss_models=fit.loss_models
    )
    realized = perf.regression_performance(ya, pred).metrics
    for metric in ("mae", "rmse"):
        assert estimate.metrics[metric] == pytest.approx(realized[metric], rel=LOSS_TOLERANCE), metric
    if shift:
        assert estimate.metrics["mae"] > fit.check["mae"]["realized"] * 1.1  # the shift is seen


def test_dle_routes_unseen_categories_and_needs_its_features() -> None:
    rng = np.random.default_rng(8)
    X, y = _regression(400, 0.0, rng)
    lm = est.fit_loss_models(X, np.zeros(len(X)), y, categorical=["c"])
    assert set(lm.categories["c"]) == {"a", "b", "c"} and lm.categories["c"][-1] == "c"  # noisiest last
    unseen = X.head(5).assign(c="zzz")
    assert est.estimate_regression(lm, unseen, np.zeros(5)).rows == 5
    with pytest.raises(ValueError, match="x2"):
        est.estimate_regression(lm, X.drop(columns=["x2"]), np.zeros(len(X)))
    assert (
        est.estimate_outputs(
            X.drop(columns=["x2"]).assign(prediction=0.0), task="regression", classes=None, loss_models=lm
        )
        is None
    )
    restored = est.LossModels.from_state(lm.to_state())
    assert (
        est.estimate_regression(restored, X, np.zeros(len(X))).metrics
        == est.estimate_regression(lm, X, np.zeros(len(X))).metrics
    )


def test_split_calibration_is_checked_on_rows_it_was_not_fitted_on() -> None:
    rng = np.random.default_rng(11)
    true_p = rng.uniform(size=6000)
    y = (rng.uniform(size=6000) < true_p).astype(int)
    chk = est.split_calibration(y, true_p**0.3, random_state=1)
    assert chk.fit_rows == chk.check_rows == 3000
    assert chk.ece > 0.1 and chk.ece_calibrated is not None and chk.ece_calibrated < 0.05
    assert chk.calibrator is not None and chk.split_calibrator is not None
    # the split map is evaluated out of sample: its ECE on the check rows is what was reported
    fit, check = est.split_indices(6000, fit_fraction=0.5, random_state=1)
    assert set(fit).isdisjoint(check)
    again = est.calibration_error(y[check], chk.split_calibrator.apply(true_p[check] ** 0.3)).ece
    assert again == pytest.approx(chk.ece_calibrated)
    calibration, calibrator, _ = est.ReferenceFit("binary", 6000, calibration=chk).card_fields()
    assert calibration["check_rows"] == 3000 and calibrator["method"] == "isotonic"


def test_well_calibrated_multiclass_scores_keep_no_calibrator_that_does_not_help() -> None:
    rng = np.random.default_rng(2)
    P = rng.dirichlet([1.0, 1.0, 1.0], size=4000)
    y = (rng.uniform(size=(4000, 1)) > np.cumsum(P, axis=1)).sum(axis=1)
    chk = est.split_calibration(y, P, classes=["a", "b", "c"])
    assert chk.ece < 0.03
    if chk.calibrator is not None:  # kept only when it lowered the held-out ECE
        assert chk.ece_calibrated < chk.ece
    ovr = est.OneVsRestCalibrator.from_dict(
        est.split_calibration(
            y, P**3 / (P**3).sum(axis=1, keepdims=True), classes=["a", "b", "c"]
        ).calibrator.to_dict()
    )
    assert ovr.classes == ("a", "b", "c")
    assert np.allclose(ovr.apply(P).sum(axis=1), 1.0)


def test_small_or_single_class_references_give_no_fit() -> None:
    out = pd.DataFrame({"score_0": [0.4] * 50, "score_1": [0.6] * 50})
    assert est.fit_reference("binary", [1] * 50, out, classes=[0, 1]) is None
    out = pd.DataFrame({"score_0": [0.4] * 200, "score_1": [0.6] * 200})
    assert est.fit_reference("binary", [1] * 200, out, classes=[0, 1]) is None
    with pytest.raises(ValueError, match="features"):
        est.fit_reference("regression", [1.0] * 200, pd.DataFrame({"prediction": [1.0] * 200}))


# ------------------------------------------------------------------ expected confusion matrix
@st.composite
def _scored(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    k = draw(st.integers(2, 5))
    n = draw(st.integers(1, 60))
    raw = draw(arrays(np.float64, (n, k), elements=st.floats(0.001, 1.0)))
    proba = raw / raw.sum(axis=1, keepdims=True)
    pred = draw(arrays(np.int64, (n,), elements=st.integers(0, k - 1)))
    return proba, pred


@settings(max_examples=80, deadline=None)
@given(_scored())
def test_expected_confusion_matrix_columns_sum_to_the_predictions_and_total_to_n(case) -> None:
    proba, pred = case
    k = proba.shape[1]
    cm = est.expected_confusion_matrix(proba, pred, n_classes=k)
    assert np.allclose(cm.sum(axis=0), np.bincount(pred, minlength=k))  # predicted-class priors
    assert np.allclose(cm.sum(axis=1), proba.sum(axis=0))  # expected true-class support
    assert cm.sum() == pytest.approx(len(pred))
    assert (cm >= -1e-12).all()


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 5), st.lists(st.integers(0, 4), min_size=1, max_size=60), st.integers(0, 2**16))
def test_one_hot_probabilities_give_the_realized_confusion_matrix(k, labels, seed) -> None:
    # Perfect calibration of a certain model: the probabilities are the truth, so the expectation is it.
    y = np.array(labels) % k
    pred = np.random.default_rng(seed).integers(0, k, size=y.size)
    cm = est.expected_confusion_matrix(np.eye(k)[y], pred, n_classes=k)
    assert np.array_equal(cm, skm.confusion_matrix(y, pred, labels=list(range(k))).astype(float))
    e = est.estimate_multiclass(np.eye(k)[pred] * 0.999 + 0.001 / k)  # scores argmax to pred
    assert sum(e.confusion.values()) == pytest.approx(y.size)


def test_estimated_metrics_are_the_mean_over_label_draws_for_calibrated_scores() -> None:
    rng = np.random.default_rng(9)
    P = rng.dirichlet([0.7, 0.7, 0.7], size=3000)
    e = est.estimate_multiclass(P)
    pred = P.argmax(axis=1)
    draws = [(rng.uniform(size=(3000, 1)) > np.cumsum(P, axis=1)).sum(axis=1) for _ in range(30)]
    acc = np.mean([np.mean(d == pred) for d in draws])
    f1w = np.mean([skm.f1_score(d, pred, average="weighted") for d in draws])
    assert e.metrics["accuracy"] == pytest.approx(acc, abs=0.005)
    assert e.metrics["f1_weighted"] == pytest.approx(f1w, abs=0.01)


def test_multiclass_estimate_refuses_a_binary_calibrator_and_bad_scores() -> None:
    with pytest.raises(ValueError, match="one-vs-rest"):
        est.estimate_multiclass(
            np.full((2, 3), 1 / 3), calibrator={"method": "isotonic", "x": [0.0], "y": [0.0]}
        )
    with pytest.raises(ValueError, match="within"):
        est.estimate_multiclass(np.array([[1.5, 0.0]]))
    assert est.estimate_multiclass(np.zeros((0, 3))).metrics["accuracy"] is None


def test_dle_reads_datetime_features_as_seconds_with_nat_missing() -> None:
    rng = np.random.default_rng(12)
    X, y = _regression(300, 0.0, rng)
    X["when"] = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 365, 300), unit="D")
    X.loc[::7, "when"] = pd.NaT
    lm = est.fit_loss_models(X, np.zeros(len(X)), y, categorical=["c"])
    column = lm.frame(X, np.zeros(len(X)))[:, list(lm.features).index("when")]
    assert np.isnan(column[::7]).all() and np.isfinite(np.delete(column, np.s_[::7])).all()
    assert column[1] == pytest.approx(X["when"].iloc[1].timestamp())

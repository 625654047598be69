"""Realized metrics against scikit-learn's own metric functions, and the undefined cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from scorewatch.monitoring import performance as perf


def _binary(n: int = 500, seed: int = 0) -> tuple[np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    p = rng.uniform(size=n)
    y = (rng.uniform(size=n) < p).astype(int)
    out = pd.DataFrame({"prediction": (p >= 0.5).astype(int), "score_0": 1 - p, "score_1": p})
    return y, out


def test_binary_metrics_match_sklearn() -> None:
    y, out = _binary()
    res = perf.classification_performance(y, out, classes=[0, 1], k=50)
    p = out["score_1"].to_numpy()
    pred = out["prediction"].to_numpy()
    m = res.metrics
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p))
    assert m["pr_auc"] == pytest.approx(skm.average_precision_score(y, p))
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["precision"] == pytest.approx(skm.precision_score(y, pred))
    assert m["recall"] == pytest.approx(skm.recall_score(y, pred))
    assert m["f1"] == pytest.approx(skm.f1_score(y, pred))
    assert m["f1_macro"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, np.column_stack([1 - p, p])))
    assert m["brier"] == pytest.approx(skm.brier_score_loss(y, p))
    top = np.argsort(-p, kind="stable")[:50]
    assert m["precision_at_k"] == pytest.approx(y[top].mean())
    assert res.rows == 500 and res.k == 50 and res.positives == int(y.sum())


def test_positive_class_can_be_the_first_class() -> None:
    y, out = _binary(seed=1)
    res = perf.classification_performance(y, out, classes=[0, 1], positive_class=0)
    assert res.metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(1 - y, out["score_0"]))
    assert res.metrics["recall"] == pytest.approx(skm.recall_score(y, out["prediction"], pos_label=0))


def test_multiclass_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(3)
    raw = rng.dirichlet([1, 1, 1], size=400)
    y = np.array([rng.choice(3, p=r) for r in raw])
    classes = ["a", "b", "c"]
    out = pd.DataFrame({f"score_{c}": raw[:, i] for i, c in enumerate(classes)})
    out.insert(0, "prediction", [classes[i] for i in raw.argmax(axis=1)])
    labels = [classes[i] for i in y]
    res = perf.classification_performance(labels, out, classes=classes)
    m = res.metrics
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, raw, multi_class="ovr", average="macro"))
    assert m["f1_macro"] == pytest.approx(skm.f1_score(labels, out["prediction"], average="macro"))
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(labels, out["prediction"]))
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, raw, labels=[0, 1, 2]))
    assert "precision_at_k" not in m


def test_single_class_window_reports_undefined_auc_instead_of_failing() -> None:
    out = pd.DataFrame({"prediction": [1, 1, 0], "score_0": [0.1, 0.2, 0.7], "score_1": [0.9, 0.8, 0.3]})
    res = perf.classification_performance([1, 1, 1], out, classes=[0, 1])
    assert res.metrics["roc_auc"] is None
    assert res.metrics["pr_auc"] == pytest.approx(1.0)
    assert res.metrics["accuracy"] == pytest.approx(2 / 3)
    assert any("roc_auc" in n for n in res.notes)


def test_no_predicted_positives_gives_undefined_precision() -> None:
    out = pd.DataFrame({"prediction": [0, 0], "score_0": [0.9, 0.6], "score_1": [0.1, 0.4]})
    res = perf.classification_performance([1, 0], out, classes=[0, 1])
    assert res.metrics["precision"] is None
    assert res.metrics["recall"] == 0.0
    assert res.metrics["f1"] is None


def test_string_labels_from_csv_match_integer_classes_and_unknown_labels_are_counted() -> None:
    out = pd.DataFrame({"prediction": [1, 0, 1], "score_0": [0.2, 0.7, 0.4], "score_1": [0.8, 0.3, 0.6]})
    res = perf.classification_performance(["1", "0.0", "maybe"], out, classes=[0, 1])
    assert res.rows == 2 and res.excluded == 1
    assert res.metrics["accuracy"] == 1.0
    assert any("not one of the model's classes" in n for n in res.notes)


def test_empty_window_returns_all_undefined() -> None:
    out = pd.DataFrame({"prediction": [], "score_0": [], "score_1": []})
    res = perf.classification_performance([], out, classes=[0, 1])
    assert res.rows == 0 and all(v is None for v in res.metrics.values())


def test_regression_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(5)
    t = rng.normal(10, 3, size=300)
    p = t + rng.normal(0, 1, size=300)
    m = perf.regression_performance(t, p).metrics
    assert m["mae"] == pytest.approx(skm.mean_absolute_error(t, p))
    assert m["rmse"] == pytest.approx(math.sqrt(skm.mean_squared_error(t, p)))
    assert m["mape"] == pytest.approx(skm.mean_absolute_percentage_error(t, p))
    assert m["r2"] == pytest.approx(skm.r2_score(t, p))


def test_regression_constant_target_and_zero_targets_are_defined() -> None:
    res = perf.regression_performance([0.0, 0.0, 0.0], [1.0, 0.0, -1.0])
    assert res.metrics["r2"] is None and res.metrics["mape"] is None
    assert res.metrics["mae"] == pytest.approx(2 / 3)
    res = perf.regression_performance([0.0, 2.0, None, "x"], [1.0, 1.0, 3.0, 1.0])
    assert res.rows == 2 and res.excluded == 2
    assert res.metrics["mape"] == pytest.approx(0.5)


def test_label_coverage_and_latency() -> None:
    assert perf.label_coverage(0, 0).coverage is None
    assert perf.label_coverage(10, 4).coverage == pytest.approx(0.4)
    scored = pd.Series(pd.to_datetime(["2026-01-01T00:00:00", "2026-01-01T00:00:00", None]))
    labeled = pd.Series(
        pd.to_datetime(["2026-01-02T00:00:00Z", "2026-01-01T12:00:00Z", "2026-01-01T00:00:00Z"])
    )
    lat = perf.label_latency_hours(scored, labeled)
    assert lat["median"] == pytest.approx(18.0) and lat["max"] == pytest.approx(24.0)


def test_direction_helpers() -> None:
    assert perf.default_metric("binary") == "roc_auc"
    assert perf.is_better("roc_auc", 0.81, 0.8, margin=0.01)
    assert not perf.is_better("rmse", 1.0, 1.05, margin=0.1)
    assert perf.regression_of("rmse", 2.0, 1.5) == pytest.approx(0.5)
    assert perf.regression_of("roc_auc", 0.7, 0.75) == pytest.approx(0.05)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.floats(0, 1, allow_nan=False)), min_size=2, max_size=60))
def test_binary_auc_matches_sklearn_whenever_both_classes_present(rows: list[tuple[int, float]]) -> None:
    y = np.array([r[0] for r in rows])
    p = np.array([r[1] for r in rows])
    out = pd.DataFrame({"prediction": (p >= 0.5).astype(int), "score_0": 1 - p, "score_1": p})
    res = perf.classification_performance(y, out, classes=[0, 1])
    if len(set(y.tolist())) == 2:
        assert res.metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p))
    else:
        assert res.metrics["roc_auc"] is None
    assert 0.0 <= res.metrics["accuracy"] <= 1.0
    assert all(v is None or math.isfinite(v) for v in res.metrics.values())

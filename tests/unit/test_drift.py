"""Drift test selection (Evidently's defaults), overrides, dataset and prediction drift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from scorewatch.core.config import ColumnDrift as ColumnOverride
from scorewatch.core.config import DriftSettings
from scorewatch.core.errors import ConfigError, MonitoringInputError
from scorewatch.core.schema import FeatureSchema, FeatureSpec
from scorewatch.monitoring.drift import auto_test, detect_drift
from scorewatch.monitoring.profiles import build_profile


def _schema(**kinds: str) -> FeatureSchema:
    return FeatureSchema(features=tuple(FeatureSpec(name=n, type=k) for n, k in kinds.items()))


def _profiles(ref: pd.DataFrame, cur: pd.DataFrame, schema: FeatureSchema, scores=()):
    r = build_profile(ref, schema, score_columns=scores)
    return r, build_profile(cur, schema, score_columns=scores, edges_from=r)


@pytest.mark.parametrize(
    ("kind", "rows", "values", "expected"),
    [
        ("numeric", 1000, 6, "ks"),
        ("numeric", 1000, 5, "chisquare"),
        ("numeric", 1000, 2, "z"),
        ("categorical", 500, 3, "chisquare"),
        ("categorical", 500, 2, "z"),
        ("numeric", 1001, 6, "wasserstein"),
        ("numeric", 1001, 5, "jensenshannon"),
        ("categorical", 1001, 2, "jensenshannon"),
    ],
)
def test_auto_test_matches_evidently_defaults(kind, rows, values, expected):
    assert auto_test(kind, rows, values) == expected


def test_small_numeric_reference_uses_ks_on_raw_samples():
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(size=400)})
    cur = pd.DataFrame({"x": rng.normal(0.5, 1, 300)})
    r, c = _profiles(ref, cur, _schema(x="numeric"))
    res = detect_drift(r, c, reference_sample=ref, current_sample=cur).features[0]
    assert res.result.test == "ks" and res.chosen_by == "auto"
    assert res.result.pvalue == pytest.approx(stats.ks_2samp(ref["x"], cur["x"]).pvalue, abs=1e-12)
    assert res.drifted


def test_large_numeric_reference_uses_normalised_wasserstein():
    rng = np.random.default_rng(1)
    ref = pd.DataFrame({"x": rng.normal(size=3000)})
    cur = pd.DataFrame({"x": rng.normal(0.05, 1, 3000)})
    r, c = _profiles(ref, cur, _schema(x="numeric"))
    res = detect_drift(r, c, reference_sample=ref, current_sample=cur).features[0]
    expected = stats.wasserstein_distance(ref["x"], cur["x"]) / np.std(ref["x"])
    assert res.result.test == "wasserstein"
    assert res.result.distance == pytest.approx(expected, abs=1e-12)
    assert not res.drifted
    assert res.psi is not None and res.psi >= 0


def test_sample_test_without_samples_falls_back_to_jensenshannon_on_bins_and_says_so():
    rng = np.random.default_rng(2)
    r, c = _profiles(
        pd.DataFrame({"x": rng.normal(size=3000)}),
        pd.DataFrame({"x": rng.normal(3, 1, 3000)}),
        _schema(x="numeric"),
    )
    res = detect_drift(r, c).features[0]
    assert res.result.test == "jensenshannon" and res.chosen_by == "fallback"
    assert "raw samples" in res.note
    assert res.drifted


def test_discrete_numeric_column_with_large_reference_uses_jensenshannon_on_value_counts():
    rng = np.random.default_rng(3)
    ref = pd.DataFrame({"k": rng.integers(0, 3, 5000).astype(float)})
    cur = pd.DataFrame({"k": rng.integers(0, 3, 5000).astype(float)})
    r, c = _profiles(ref, cur, _schema(k="numeric"))
    res = detect_drift(r, c).features[0]
    rc = ref["k"].value_counts().sort_index().to_numpy()
    cc = cur["k"].value_counts().sort_index().to_numpy()
    from scipy.spatial import distance

    assert res.result.test == "jensenshannon"
    assert res.result.distance == pytest.approx(
        distance.jensenshannon(rc / rc.sum(), cc / cc.sum()), abs=1e-12
    )


def test_overrides_choose_test_and_threshold_per_column():
    rng = np.random.default_rng(4)
    ref = pd.DataFrame({"x": rng.normal(size=3000), "c": rng.choice(list("ab"), 3000)})
    cur = pd.DataFrame({"x": rng.normal(0.2, 1, 3000), "c": rng.choice(list("ab"), 3000)})
    r, c = _profiles(ref, cur, _schema(x="numeric", c="categorical"))
    s = DriftSettings(
        columns={"x": ColumnOverride(test="psi", threshold=5.0), "c": ColumnOverride(threshold=0.0001)}
    )
    res = {
        f.column: f for f in detect_drift(r, c, settings=s, reference_sample=ref, current_sample=cur).features
    }
    assert res["x"].result.test == "psi" and res["x"].result.threshold == 5.0 and not res["x"].drifted
    assert res["x"].chosen_by == "override"
    assert res["c"].result.test == "jensenshannon" and res["c"].result.threshold == 0.0001


def test_override_with_test_that_does_not_fit_the_column_is_a_config_error():
    r, c = _profiles(
        pd.DataFrame({"c": list("abc")}), pd.DataFrame({"c": list("abc")}), _schema(c="categorical")
    )
    with pytest.raises(ConfigError, match="'ks' does not apply to categorical column 'c'"):
        detect_drift(r, c, settings=DriftSettings(columns={"c": ColumnOverride(test="ks")}))


def test_override_naming_an_unknown_column_is_rejected():
    r, c = _profiles(
        pd.DataFrame({"c": list("abc")}), pd.DataFrame({"c": list("abc")}), _schema(c="categorical")
    )
    with pytest.raises(MonitoringInputError, match="nope"):
        detect_drift(r, c, settings=DriftSettings(columns={"nope": ColumnOverride(threshold=0.2)}))


def test_dataset_drift_uses_the_configured_share():
    rng = np.random.default_rng(5)
    n = 2000
    ref = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(4)})
    cur = ref.copy()
    cur["x0"] = rng.normal(2, 1, n)
    schema = _schema(**{f"x{i}": "numeric" for i in range(4)})
    r, c = _profiles(ref, cur, schema)
    loose = detect_drift(
        r, c, settings=DriftSettings(dataset_drift_share=0.25), reference_sample=ref, current_sample=cur
    )
    strict = detect_drift(r, c, reference_sample=ref, current_sample=cur)
    assert loose.drifted_features == ("x0",) and loose.drift_share == 0.25
    assert loose.dataset_drift and not strict.dataset_drift
    assert loose.max_psi == max(f.psi for f in loose.features)


def test_prediction_drift_is_measured_on_score_columns():
    rng = np.random.default_rng(6)
    ref = pd.DataFrame({"x": rng.normal(size=2000), "score_1": rng.beta(2, 5, 2000)})
    cur = pd.DataFrame({"x": rng.normal(size=2000), "score_1": rng.beta(5, 2, 2000)})
    r, c = _profiles(ref, cur, _schema(x="numeric"), scores=("score_1",))
    res = detect_drift(r, c, reference_sample=ref, current_sample=cur)
    assert [p.column for p in res.predictions] == ["score_1"]
    assert res.prediction_drift and res.prediction_drift_score > 0.1
    assert res.drifted_features == ()
    s = DriftSettings(prediction_test="psi", prediction_threshold=100.0)
    assert not detect_drift(r, c, settings=s, reference_sample=ref, current_sample=cur).prediction_drift


def test_current_binned_on_other_edges_is_a_clear_error():
    schema = _schema(x="numeric")
    r = build_profile(pd.DataFrame({"x": np.arange(100.0)}), schema)
    c = build_profile(pd.DataFrame({"x": np.arange(50.0) * 3}), schema)  # own edges
    with pytest.raises(MonitoringInputError, match="edges_from"):
        detect_drift(r, c)


def test_empty_current_batch_is_not_counted_as_drift():
    schema = _schema(x="numeric", c="categorical")
    r = build_profile(pd.DataFrame({"x": np.arange(100.0), "c": ["a", "b"] * 50}), schema)
    c = build_profile(pd.DataFrame({"x": [np.nan] * 5, "c": [None] * 5}), schema, edges_from=r)
    res = detect_drift(r, c)
    assert all(f.result.reason for f in res.features)
    assert res.drift_share == 0.0 and not res.dataset_drift


def _shared_sort_frames(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    from palmerpenguins import load_penguins

    rng = np.random.default_rng(seed)
    peng = load_penguins().dropna(subset=["bill_length_mm"])
    base = peng.sample(n=n, replace=True, random_state=seed).reset_index(drop=True)
    frames = []
    for shift in (0.0, 1.5):
        f = pd.DataFrame(
            {
                "bill": base["bill_length_mm"].to_numpy() + shift + rng.normal(0, 0.1, n),
                "mass": base["body_mass_g"].astype("float64").to_numpy(),  # with NaN
                "gappy": np.where(rng.random(n) < 0.05, np.inf, rng.gamma(2.0, 3.0, n)),
                "species": base["species"].to_numpy(),
                "score_1": rng.beta(2, 5 - shift, n),
            }
        )
        frames.append(f)
    return frames[0], frames[1]


@pytest.mark.parametrize("n", [400, 3000])  # KS (reference <= 1000 rows) and Wasserstein
def test_compare_sharing_the_profile_sorts_gives_the_definitions_values(n):
    """compare() sorts each numeric column once per side for the profile and the sample tests:
    every statistic equals scipy's on the raw columns and the extract-and-sort path (<= 1e-12)."""
    from scorewatch.api import compare
    from scorewatch.monitoring.evaluation import evaluate

    ref, cur = _shared_sort_frames(n, seed=n)
    report = compare(ref, cur, settings=DriftSettings(multivariate=False))
    schema = _schema(bill="numeric", mass="numeric", gappy="numeric", species="categorical")
    rp, cp = _profiles(ref, cur, schema, scores=("score_1",))
    plain = evaluate(
        rp, cp, settings=DriftSettings(multivariate=False), reference_sample=ref, current_sample=cur
    )
    assert report.reference.to_dict() == rp.to_dict() and report.current.to_dict() == cp.to_dict()
    for a, b in zip(report.features + report.predictions, plain.features + plain.predictions, strict=True):
        assert (a.column, a.result.test, a.drifted) == (b.column, b.result.test, b.drifted)
        for field in ("statistic", "pvalue", "distance"):
            x, y = getattr(a.result, field), getattr(b.result, field)
            assert (x is None) == (y is None) and (x is None or abs(x - y) <= 1e-12), (a.column, field)
    for col in ("bill", "mass", "gappy", "score_1"):
        r, c = ref[col].to_numpy(), cur[col].to_numpy()
        r, c = r[np.isfinite(r)], c[np.isfinite(c)]
        got = next(f for f in report.features + report.predictions if f.column == col).result
        if got.test == "ks":
            assert abs(got.pvalue - stats.ks_2samp(r, c).pvalue) <= 1e-12
        else:
            want = stats.wasserstein_distance(r, c) / max(np.std(r), 0.001)
            assert got.test == "wasserstein" and abs(got.distance - want) <= 1e-12

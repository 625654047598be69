"""Family-wise error control of the per-column p-value tests (DriftSettings.multiple_testing)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from scorewatch.core.config import ColumnDrift as ColumnOverride
from scorewatch.core.config import DriftSettings
from scorewatch.core.schema import FeatureSchema, FeatureSpec
from scorewatch.monitoring.drift import detect_drift
from scorewatch.monitoring.evaluation import evaluate
from scorewatch.monitoring.multiple_testing import adjust_pvalues
from scorewatch.monitoring.profiles import build_profile

ALPHA = 0.05


def _schema(names, kind="numeric"):
    return FeatureSchema(features=tuple(FeatureSpec(name=n, type=kind) for n in names))


def _compare(ref: pd.DataFrame, cur: pd.DataFrame, method="holm", scores=(), **kw):
    names = [c for c in ref.columns if c not in scores]
    schema = _schema(names)
    r = build_profile(ref, schema, score_columns=scores)
    c = build_profile(cur, schema, score_columns=scores, edges_from=r)
    s = DriftSettings(multiple_testing=method, **kw)
    return detect_drift(r, c, settings=s, reference_sample=ref, current_sample=cur)


# ---------------------------------------------------------------------------------------------
# the correction itself


def test_holm_known_answers():
    # Sorted 0.01 .. 0.05 at m = 5: 5*0.01, 4*0.02, 3*0.03, max(0.09, 2*0.04), max(0.09, 1*0.05).
    got = adjust_pvalues([0.01, 0.02, 0.03, 0.04, 0.05], "holm")
    assert [a.pvalue for a in got] == pytest.approx([0.05, 0.08, 0.09, 0.09, 0.09])
    assert [a.divisor for a in got] == [5, 4, 3, 2, 1]
    # Order of the input is kept; the smallest p-value is compared with alpha / m.
    got = adjust_pvalues([0.04, 0.001, 0.02], "holm")
    assert [a.pvalue for a in got] == pytest.approx([0.04, 0.003, 0.04])
    assert [a.divisor for a in got] == [1, 3, 2]
    # Tied p-values pass or fail together: one level, the first rank's.
    got = adjust_pvalues([0.02, 0.001, 0.02, 0.3], "holm")
    assert [a.pvalue for a in got] == pytest.approx([0.06, 0.004, 0.06, 0.3])
    assert [a.divisor for a in got] == [3, 4, 3, 1]
    # Capped at 1; a NaN counts as no evidence.
    assert [a.pvalue for a in adjust_pvalues([0.6, 0.7, float("nan")], "holm")] == [1.0, 1.0, 1.0]
    assert adjust_pvalues([], "holm") == []


def test_bonferroni_and_none():
    assert [a.pvalue for a in adjust_pvalues([0.01, 0.3], "bonferroni")] == pytest.approx([0.02, 0.6])
    assert [a.divisor for a in adjust_pvalues([0.01, 0.3], "bonferroni")] == [2, 2]
    raw = [0.01, 0.3, 0.049]
    assert [a.pvalue for a in adjust_pvalues(raw, "none")] == raw
    with pytest.raises(ValueError, match="unknown multiple-testing correction"):
        adjust_pvalues(raw, "fdr")  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=40))
def test_adjusted_pvalues_match_statsmodels_and_are_monotone(ps):
    holm = [a.pvalue for a in adjust_pvalues(ps, "holm")]
    bonf = [a.pvalue for a in adjust_pvalues(ps, "bonferroni")]
    assert holm == pytest.approx(list(multipletests(ps, method="holm")[1]), abs=1e-12)
    assert bonf == pytest.approx(list(multipletests(ps, method="bonferroni")[1]), abs=1e-12)
    for p, h, b in zip(ps, holm, bonf, strict=True):
        assert p <= h <= b <= 1.0  # never below the raw p-value; Holm rejects whatever Bonferroni does
    order = np.argsort(ps, kind="stable")
    assert all(np.diff(np.asarray(holm)[order]) >= 0)  # the raw order is kept
    # The step-down rule: rejected at alpha exactly when every p-value ranked up to it is below
    # its level alpha / (m - rank + 1).
    m = len(ps)
    stop = next((k for k, i in enumerate(order) if ps[i] > ALPHA / (m - k)), m)
    rejected = {int(i) for i in order[:stop]}
    assert {i for i, h in enumerate(holm) if h <= ALPHA} == rejected


# ---------------------------------------------------------------------------------------------
# the verdicts of detect_drift


def _many(rng, rows, cols, shift=None):
    frame = pd.DataFrame({f"x{i}": rng.normal(size=rows) for i in range(cols)})
    for c, d in (shift or {}).items():
        frame[c] += d
    return frame


def test_none_is_the_uncorrected_verdict_and_holm_keeps_raw_values():
    rng = np.random.default_rng(12)
    ref, cur = _many(rng, 200, 30), _many(rng, 200, 30, shift={"x0": 1.0})
    none, holm = _compare(ref, cur, "none"), _compare(ref, cur, "holm")
    for n, h in zip(none.features, holm.features, strict=True):
        assert n.drifted == n.result.drifted  # "none" is the test's own verdict at its threshold
        assert n.adjusted_pvalue == n.result.pvalue and n.effective_threshold == ALPHA
        assert h.result == n.result  # raw statistic, p-value and raw verdict unchanged
        assert h.correction == "holm" and h.family_size == 30
        assert h.adjusted_pvalue >= h.result.pvalue
        assert h.drifted == (h.adjusted_pvalue <= ALPHA)
        assert h.drifted <= n.drifted  # the correction only ever removes flags
    assert holm.drifted_features == ("x0",)
    assert none.drifted_features == ("x0", "x19", "x21", "x27")  # chance crossings among 29 columns
    d = holm.features[0].to_dict()
    assert d["pvalue"] == holm.features[0].result.pvalue
    assert d["effective_threshold"] == pytest.approx(ALPHA / 30)  # the smallest p-value, rank 1


def test_explicit_threshold_is_honoured_as_given_outside_the_family():
    rng = np.random.default_rng(6)
    ref, cur = _many(rng, 300, 10), _many(rng, 300, 10, shift={"x3": 0.2})
    base = _compare(ref, cur, "none").features
    p3 = next(c.result.pvalue for c in base if c.column == "x3")
    thr = p3 * 1.01  # just above its raw p-value: drifted as given, never after a correction
    res = _compare(ref, cur, "holm", columns={"x3": ColumnOverride(threshold=thr)})
    x3 = next(c for c in res.features if c.column == "x3")
    assert x3.drifted and x3.correction == "none" and x3.adjusted_pvalue == p3
    assert x3.effective_threshold == thr and x3.family_size == 1
    assert {c.family_size for c in res.features if c.column != "x3"} == {9}


def test_distance_tests_are_not_adjusted():
    rng = np.random.default_rng(7)
    ref, cur = _many(rng, 2000, 3), _many(rng, 2000, 3, shift={"x1": 0.5})
    res = _compare(ref, cur, "holm")
    assert {c.result.test for c in res.features} == {"wasserstein"}
    assert all(c.adjusted_pvalue is None and c.correction is None for c in res.features)
    assert res.drifted_features == ("x1",)


def test_prediction_columns_are_their_own_family():
    rng = np.random.default_rng(8)
    ref = _many(rng, 300, 6).assign(score_a=rng.normal(size=300), score_b=rng.normal(size=300))
    cur = _many(rng, 300, 6).assign(score_a=rng.normal(size=300), score_b=rng.normal(size=300))
    res = _compare(ref, cur, "holm", scores=("score_a", "score_b"))
    assert {c.family_size for c in res.features} == {6}
    assert [c.family_size for c in res.predictions] == [2, 2]
    fixed = _compare(ref, cur, "holm", scores=("score_a", "score_b"), prediction_threshold=0.05)
    assert {c.correction for c in fixed.predictions} == {"none"}  # an explicit threshold: as given


def test_report_json_and_html_carry_the_adjusted_pvalue():
    rng = np.random.default_rng(9)
    ref, cur = _many(rng, 300, 4), _many(rng, 300, 4, shift={"x2": 0.6})
    names = list(ref.columns)
    r = build_profile(ref, _schema(names))
    c = build_profile(cur, _schema(names), edges_from=r)
    s = DriftSettings(multivariate=False)
    report = evaluate(r, c, reference_sample=ref, current_sample=cur, settings=s)
    feats = {f["column"]: f for f in report.to_dict()["features"]}
    assert feats["x2"]["drifted"] and feats["x2"]["correction"] == "holm"
    assert feats["x2"]["adjusted_pvalue"] == pytest.approx(min(1.0, 4 * feats["x2"]["pvalue"]))
    assert report.to_dict()["settings"]["multiple_testing"] == "holm"
    html = report.to_html()
    assert "Holm-adjusted over 4 columns" in html


# ---------------------------------------------------------------------------------------------
# the family-wise false-alarm rate on same-distribution batches


def _false_alarm_rate(seed: int, cols: int, rho: float, method: str, trials: int) -> float:
    rng = np.random.default_rng(seed)
    names = [f"x{i}" for i in range(cols)]
    schema = _schema(names)
    s = DriftSettings(multiple_testing=method, multivariate=False)
    hits = 0
    for _ in range(trials):
        sides = []
        for rows in (150, 120):
            common = rng.normal(size=(rows, 1))
            x = np.sqrt(rho) * common + np.sqrt(1 - rho) * rng.normal(size=(rows, cols))
            sides.append(pd.DataFrame(x, columns=names))
        r = build_profile(sides[0], schema)
        c = build_profile(sides[1], schema, edges_from=r)
        res = detect_drift(r, c, settings=s, reference_sample=sides[0], current_sample=sides[1])
        hits += bool(res.drifted_features)
    return hits / trials


@settings(max_examples=4, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**31 - 1),
    cols=st.integers(8, 24),
    rho=st.sampled_from([0.0, 0.5, 0.9]),
)
def test_same_distribution_batches_keep_the_family_wise_rate_near_alpha(seed, cols, rho):
    trials = 120
    holm = _false_alarm_rate(seed, cols, rho, "holm", trials)
    # At most alpha under any dependence: 120 trials at a true rate of 0.05 exceed 0.12 (14+ hits)
    # with probability below 0.5%.
    assert holm <= 0.12
    if rho == 0.0:
        # Uncorrected, independent columns cross together: 1 - 0.95 ** cols >= 0.34.
        assert _false_alarm_rate(seed, cols, rho, "none", trials) >= 0.2

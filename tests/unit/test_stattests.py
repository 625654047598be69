"""Drift statistics against scipy and closed forms, plus their properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial import distance

from scorewatch.core.errors import MonitoringInputError
from scorewatch.monitoring.stattests import (
    TESTS,
    align_counts,
    chisquare_test,
    fill_zero_shares,
    hellinger_test,
    jensenshannon_test,
    ks_test,
    psi_test,
    unseen_share_test,
    wasserstein_distance,
    wasserstein_test,
    z_test,
)

TOL = 1e-9
rng = np.random.default_rng(42)
A = rng.normal(0, 1, 700)
B = rng.normal(0.3, 1.2, 900)

counts = st.lists(st.integers(min_value=0, max_value=1000), min_size=2, max_size=12)


def _pair(draw_lists):
    a, b = draw_lists
    n = min(len(a), len(b))
    return np.array(a[:n], float), np.array(b[:n], float)


pairs = st.tuples(counts, counts).map(_pair).filter(lambda p: p[0].sum() > 0 and p[1].sum() > 0)


def test_ks_equals_scipy_ks_2samp():
    r = ks_test(A, B)
    ref = stats.ks_2samp(A, B)
    assert r.statistic == pytest.approx(ref.statistic, abs=TOL)
    assert r.pvalue == pytest.approx(ref.pvalue, abs=TOL)
    assert r.drifted == (ref.pvalue <= 0.05)


def test_ks_drops_non_finite_values_like_evidently():
    dirty = np.concatenate([A, [np.nan, np.inf, -np.inf]])
    assert ks_test(dirty, B).pvalue == pytest.approx(stats.ks_2samp(A, B).pvalue, abs=TOL)


def test_wasserstein_is_normalised_by_reference_population_std():
    r = wasserstein_test(A, B)
    assert r.distance == pytest.approx(stats.wasserstein_distance(A, B) / np.std(A), abs=TOL)


def test_wasserstein_of_constant_reference_uses_std_floor():
    r = wasserstein_test([2.0, 2.0, 2.0], [3.0, 3.0])
    assert r.distance == pytest.approx(1.0 / 0.001, abs=TOL)
    assert r.drifted


def test_psi_closed_form_without_empty_bins():
    p = np.array([0.2, 0.3, 0.5])
    q = np.array([0.25, 0.25, 0.5])
    expected = float(np.sum((p - q) * np.log(p / q)))
    assert psi_test(p * 100, q * 200).distance == pytest.approx(expected, abs=TOL)


def test_psi_fills_empty_bins_with_evidently_epsilon():
    # reference shares [0, 1] -> the empty share becomes 1e-4 (smallest non-zero share 1 > 1e-4)
    p = np.array([1e-4, 1.0])
    q = np.array([0.5, 0.5])
    expected = float(np.sum((p - q) * np.log(p / q)))
    assert psi_test([0, 10], [5, 5]).distance == pytest.approx(expected, abs=TOL)


def test_fill_zero_shares_uses_min_over_a_million_for_tiny_shares():
    out = fill_zero_shares(np.array([0.0, 0.00005, 0.99995]))
    assert out[0] == pytest.approx(0.00005 / 1e6, abs=1e-18)


def test_jensenshannon_equals_scipy_and_disjoint_is_sqrt_ln2():
    a, b = np.array([3.0, 5, 2]), np.array([1.0, 1, 8])
    assert jensenshannon_test(a, b).distance == pytest.approx(
        distance.jensenshannon(a / a.sum(), b / b.sum()), abs=TOL
    )
    assert jensenshannon_test([1, 0], [0, 1]).distance == pytest.approx(math.sqrt(math.log(2)), abs=TOL)


def test_hellinger_closed_form():
    p, q = np.array([0.5, 0.5]), np.array([0.9, 0.1])
    expected = math.sqrt(1 - (math.sqrt(0.45) + math.sqrt(0.05)))
    assert hellinger_test(p, q).distance == pytest.approx(expected, abs=TOL)
    assert hellinger_test([1, 0], [0, 1]).distance == pytest.approx(1.0, abs=TOL)


def test_chisquare_equals_scipy_with_reference_proportions_as_expected():
    ref, cur = np.array([30.0, 50, 20]), np.array([40.0, 40, 40])
    r = chisquare_test(ref, cur)
    s = stats.chisquare(cur, ref * cur.sum() / ref.sum())
    assert r.statistic == pytest.approx(s.statistic, abs=TOL)
    assert r.pvalue == pytest.approx(s.pvalue, abs=TOL)


def test_chisquare_with_a_category_unseen_in_reference_is_certain_drift():
    r = chisquare_test([10, 10, 0], [10, 10, 1])
    assert r.pvalue == 0.0 and r.drifted and math.isinf(r.statistic)
    assert r.to_dict()["statistic"] is None  # JSON has no Infinity


def test_chisquare_of_a_single_category_is_no_drift():
    r = chisquare_test([10, 0], [7, 0])
    assert (r.statistic, r.pvalue, r.drifted) == (0.0, 1.0, False)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(0, 10_000), min_size=1, max_size=30).flatmap(
        lambda a: st.tuples(st.just(a), st.lists(st.integers(0, 10_000), min_size=len(a), max_size=len(a)))
    )
)
def test_jensenshannon_in_numpy_agrees_with_scipy(pair):
    a, b = (np.asarray(x, dtype=float) for x in pair)
    if a.sum() == 0 or b.sum() == 0:
        return
    expected = max(float(distance.jensenshannon(a / a.sum(), b / b.sum())), 0.0)
    assert abs(jensenshannon_test(a, b).distance - expected) <= 1e-12


@pytest.mark.parametrize("a,b", [([50, 50], [50, 50]), ([900, 100], [850, 150]), ([10, 990], [400, 600])])
def test_z_test_pvalue_equals_scipy_normal_tail(a, b):
    result = z_test(a, b)
    assert abs(result.pvalue - 2 * stats.norm.sf(abs(result.statistic))) <= 1e-15


def test_z_test_squared_equals_uncorrected_chi2_of_the_2x2_table():
    ref, cur = np.array([60.0, 40]), np.array([45.0, 55])
    r = z_test(ref, cur)
    chi2, p, _, _ = stats.chi2_contingency(np.array([ref, cur]), correction=False)
    assert r.statistic**2 == pytest.approx(chi2, abs=1e-9)
    assert r.pvalue == pytest.approx(p, abs=TOL)


def test_z_test_rejects_more_than_two_categories():
    with pytest.raises(MonitoringInputError, match="at most 2"):
        z_test([1, 2, 3], [1, 2, 3])


def test_z_test_of_one_identical_value_is_no_drift():
    assert z_test([10, 0], [5, 0]).pvalue == 1.0


def test_unseen_share_counts_only_categories_absent_from_reference():
    assert unseen_share_test([5, 5, 0, 0], [4, 4, 1, 1]).distance == pytest.approx(0.2, abs=TOL)


@pytest.mark.parametrize("name", sorted(TESTS))
def test_empty_side_gives_a_reason_not_a_nan_verdict(name):
    spec = TESTS[name]
    args = ([], [1.0, 2.0]) if spec.input == "sample" else ([0, 0], [1, 2])
    r = spec.func(*args, threshold=spec.default_threshold)
    assert r.reason == "reference has no values" or r.reason.startswith("reference has no")
    assert r.drifted is False and r.score is None


@pytest.mark.parametrize("name", [n for n, t in TESTS.items() if t.input == "counts"])
def test_count_tests_reject_nan_negative_and_misaligned_counts(name):
    f = TESTS[name].func
    with pytest.raises(MonitoringInputError):
        f([1, np.nan], [1, 1])
    with pytest.raises(MonitoringInputError):
        f([1, -1], [1, 1])
    with pytest.raises(MonitoringInputError, match="aligned"):
        f([1, 1], [1, 1, 1])


def test_sample_tests_on_all_nan_current_are_skipped():
    r = ks_test([1.0, 2.0], [np.nan, np.inf])
    assert r.reason == "current has no finite values" and not r.drifted


def test_align_counts_keeps_reference_order_then_new_keys():
    keys, r, c = align_counts({"b": 1, "a": 2}, {"a": 3, "z": 1})
    assert keys == ["b", "a", "z"]
    assert r.tolist() == [1, 2, 0] and c.tolist() == [0, 3, 1]


@settings(max_examples=60, deadline=None)
@given(counts.filter(lambda c: sum(c) > 0))
def test_psi_is_zero_for_identical_distributions(c):
    assert psi_test(c, c).distance == pytest.approx(0.0, abs=1e-12)
    assert jensenshannon_test(c, c).distance == pytest.approx(0.0, abs=1e-7)
    assert hellinger_test(c, c).distance == pytest.approx(0.0, abs=1e-7)


@settings(max_examples=60, deadline=None)
@given(pairs)
def test_distances_are_non_negative_and_symmetric(pair):
    a, b = pair
    for f in (jensenshannon_test, hellinger_test):
        d1, d2 = f(a, b).distance, f(b, a).distance
        assert d1 >= 0
        assert d1 == pytest.approx(d2, abs=1e-12)
    assert psi_test(a, b).distance >= -1e-12


@settings(max_examples=60, deadline=None)
@given(pairs)
def test_p_values_are_probabilities(pair):
    a, b = pair
    assert 0.0 <= chisquare_test(a, b).pvalue <= 1.0
    r = z_test(a[:2], b[:2])
    assert r.reason is not None or 0.0 <= r.pvalue <= 1.0


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=50),
    st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=50),
)
def test_sample_tests_give_probabilities_and_non_negative_distances(a, b):
    assert 0.0 <= ks_test(a, b).pvalue <= 1.0
    assert wasserstein_test(a, b).distance >= 0.0
    assert ks_test(a, a).pvalue == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=60),
    st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=60),
)
def test_wasserstein_distance_equals_scipy(a, b):
    from scorewatch.monitoring.stattests import wasserstein_distance

    expected = stats.wasserstein_distance(a, b)
    assert wasserstein_distance(np.array(a), np.array(b)) == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_wasserstein_test_leaves_its_inputs_untouched_and_equals_the_distance_function():
    rng = np.random.default_rng(3)
    ref, cur = rng.normal(0, 1, 5_001), rng.normal(0.2, 1.1, 4_000)
    ref[7] = np.nan
    ref_before, cur_before = ref.copy(), cur.copy()
    result = wasserstein_test(ref, cur)
    np.testing.assert_array_equal(ref, ref_before)
    np.testing.assert_array_equal(cur, cur_before)
    finite = ref[np.isfinite(ref)]
    assert result.distance == wasserstein_distance(finite, cur) / max(float(np.std(finite)), 0.001)
    assert wasserstein_distance(finite, cur) == pytest.approx(
        stats.wasserstein_distance(finite, cur), abs=1e-12
    )

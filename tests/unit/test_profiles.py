"""Profiles: exact statistics, binning, streaming, merging and the JSON schema."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scorewatch.core.errors import ProfileError
from scorewatch.core.schema import FeatureSchema, FeatureSpec
from scorewatch.monitoring.profiles import (
    QUANTILE_LEVELS,
    CategoricalProfile,
    NumericProfile,
    Profile,
    ProfileBuilder,
    build_profile,
    merge_profiles,
)

SCHEMA = FeatureSchema(
    features=(FeatureSpec(name="x", type="numeric"), FeatureSpec(name="c", type="categorical"))
)


def _frame(n: int, seed: int = 0, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1, n)
    x[::17] = np.nan
    return pd.DataFrame({"x": x, "c": rng.choice(["a", "b", "c", None], n)})


def test_numeric_statistics_equal_numpy():
    df = _frame(1000)
    p = build_profile(df, SCHEMA).column("x")
    x = df["x"].dropna().to_numpy()
    assert isinstance(p, NumericProfile)
    assert (p.count, p.missing) == (x.size, int(df["x"].isna().sum()))
    assert p.mean == pytest.approx(x.mean(), abs=1e-12)
    assert p.std == pytest.approx(x.std(), abs=1e-12)
    assert (p.min, p.max) == (x.min(), x.max())
    assert p.quantiles_exact
    for lv, v in p.quantiles:
        assert v == pytest.approx(np.quantile(x, lv), abs=1e-12)
    assert sum(p.counts) == p.count and p.counts[0] == 0 and p.counts[-1] == 0


def test_batch_binned_on_reference_counts_out_of_range_values():
    ref = build_profile(pd.DataFrame({"x": [0.0, 1, 2, 3, 4], "c": list("aabbc")}), SCHEMA)
    cur = build_profile(pd.DataFrame({"x": [-5.0, 2.0, 4.0, 9.0], "c": list("azza")}), SCHEMA, edges_from=ref)
    col = cur.column("x")
    assert col.edges == ref.column("x").edges
    assert (col.counts[0], col.counts[-1]) == (1, 1)  # -5 under, 9 over; 4.0 is in the closed last bin
    cat = cur.column("c")
    assert isinstance(cat, CategoricalProfile)
    assert cat.binned_on == ("a", "b", "c")
    assert dict(cat.categories) == {"a": 2, "b": 0, "c": 0, "z": 2}
    assert cat.unseen == 2


def test_invalid_infinite_and_missing_values_are_counted_separately():
    df = pd.DataFrame({"x": ["1.5", "abc", None, "inf", "2"], "c": ["a"] * 5})
    col = build_profile(df, SCHEMA).column("x")
    assert (col.count, col.missing, col.invalid, col.infinite) == (2, 1, 1, 1)
    assert col.rows == 5


def test_constant_column_gets_a_single_closed_bin():
    col = build_profile(pd.DataFrame({"x": [3.0] * 10, "c": ["a"] * 10}), SCHEMA).column("x")
    assert col.edges == (3.0, 3.0)
    assert col.counts == (0, 10, 0)
    assert col.std == 0.0


def test_all_missing_numeric_column_has_no_edges_and_no_mean():
    col = build_profile(pd.DataFrame({"x": [np.nan] * 4, "c": ["a"] * 4}), SCHEMA).column("x")
    assert (col.count, col.missing, col.mean, col.edges) == (0, 4, None, ())


def test_categorical_keeps_top_n_and_folds_the_rest_into_other():
    df = pd.DataFrame({"x": np.arange(10.0), "c": list("aaaabbbcde")})
    col = build_profile(df, SCHEMA, top_n=2).column("c")
    assert col.categories == (("a", 4), ("b", 3))
    assert col.other == 3 and col.unseen is None


def test_absent_feature_is_recorded_and_counted_missing():
    p = build_profile(pd.DataFrame({"x": [1.0, 2.0]}), SCHEMA)
    assert p.absent == ("c",)
    assert p.column("c").missing == 2


def test_profile_does_not_modify_the_input():
    df = _frame(200)
    before = df.copy(deep=True)
    build_profile(df, SCHEMA)
    pd.testing.assert_frame_equal(df, before)


def test_json_round_trip_is_identical_and_strict_json():
    ref = build_profile(_frame(500), SCHEMA)
    cur = build_profile(_frame(300, seed=1, shift=2), SCHEMA, edges_from=ref)
    for p in (ref, cur):
        text = json.dumps(p.to_dict(), allow_nan=False)
        assert Profile.from_dict(json.loads(text)) == p


def test_unknown_profile_version_is_rejected():
    d = build_profile(_frame(10), SCHEMA).to_dict()
    d["version"] = 99
    with pytest.raises(ProfileError, match="version 99"):
        Profile.from_dict(d)
    with pytest.raises(ProfileError, match="malformed"):
        Profile.from_dict({"format": "scorewatch.profile", "version": 1})


def test_merge_equals_profile_of_concatenation_for_counts():
    ref = build_profile(_frame(2000), SCHEMA)
    a, b = _frame(700, seed=3, shift=0.5), _frame(900, seed=4, shift=-1.0)
    merged = merge_profiles(
        build_profile(a, SCHEMA, edges_from=ref), build_profile(b, SCHEMA, edges_from=ref)
    )
    whole = build_profile(pd.concat([a, b], ignore_index=True), SCHEMA, edges_from=ref)
    mx, wx = merged.column("x"), whole.column("x")
    assert (mx.count, mx.missing, mx.counts, mx.min, mx.max) == (
        wx.count,
        wx.missing,
        wx.counts,
        wx.min,
        wx.max,
    )
    assert mx.mean == pytest.approx(wx.mean, abs=1e-9)
    assert mx.std == pytest.approx(wx.std, abs=1e-9)
    assert not mx.quantiles_exact
    assert merged.column("c") == whole.column("c")
    assert merged.rows == whole.rows


def test_merge_refuses_profiles_binned_on_different_edges():
    a = build_profile(_frame(100), SCHEMA)
    b = build_profile(_frame(100, seed=9, shift=3), SCHEMA)
    with pytest.raises(ProfileError, match="'x'.*different edges"):
        merge_profiles(a, b)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.one_of(st.floats(-100, 100), st.just(float("nan"))), min_size=0, max_size=40),
    st.lists(st.one_of(st.floats(-100, 100), st.just(float("nan"))), min_size=0, max_size=40),
)
def test_merge_is_exact_for_counts_property(xa, xb):
    schema = FeatureSchema(features=(FeatureSpec(name="x", type="numeric"),))
    ref = build_profile(pd.DataFrame({"x": np.linspace(-50, 50, 101)}), schema)
    pa_ = build_profile(pd.DataFrame({"x": np.array(xa, float)}), schema, edges_from=ref)
    pb = build_profile(pd.DataFrame({"x": np.array(xb, float)}), schema, edges_from=ref)
    whole = build_profile(pd.DataFrame({"x": np.array(xa + xb, float)}), schema, edges_from=ref)
    m, w = merge_profiles(pa_, pb).column("x"), whole.column("x")
    assert (m.count, m.missing, m.counts, m.min, m.max) == (w.count, w.missing, w.counts, w.min, w.max)
    if w.count:
        assert m.mean == pytest.approx(w.mean, abs=1e-9)
        assert m.std == pytest.approx(w.std, abs=1e-9)


def test_builder_is_independent_of_chunking_including_the_sample():
    df = _frame(5000, seed=5)
    ref = build_profile(df, SCHEMA)

    def run(chunk: int):
        b = ProfileBuilder(SCHEMA, edges_from=ref, sample_rows=300, random_state=7)
        for start in range(0, len(df), chunk):
            b.update(df.iloc[start : start + chunk], None)
        return b.finish()

    (p1, s1), (p2, s2) = run(5000), run(333)
    assert p1.column("x").counts == p2.column("x").counts
    assert p1.column("c") == p2.column("c")
    assert len(s1) == 300
    pd.testing.assert_frame_equal(s1, s2)


def test_builder_quantiles_are_exact_when_the_sample_holds_every_row():
    df = _frame(900, seed=2)
    b = ProfileBuilder(SCHEMA, sample_rows=1000)
    for start in range(0, 900, 200):
        b.update(df.iloc[start : start + 200], None)
    col = b.finish()[0].column("x")
    x = df["x"].dropna().to_numpy()
    assert col.quantiles_exact
    assert dict(col.quantiles)[0.5] == pytest.approx(np.median(x), abs=1e-12)
    assert [lv for lv, _ in col.quantiles] == list(QUANTILE_LEVELS)


def test_score_columns_are_profiled_as_predictions():
    df = pd.DataFrame({"x": [1.0, 2.0], "c": ["a", "b"]})
    out = pd.DataFrame({"prediction": ["yes", "no"], "score_yes": [0.8, 0.3]})
    b = ProfileBuilder(SCHEMA, score_columns=("prediction", "score_yes"), sample_rows=10)
    b.update(df, out)
    p, sample = b.finish()
    assert [c.name for c in p.predictions] == ["prediction", "score_yes"]
    assert p.column("prediction").kind == "categorical" and p.column("score_yes").kind == "numeric"
    assert list(sample.columns) == ["x", "c", "prediction", "score_yes"]


def test_missing_score_column_is_a_clear_error():
    b = ProfileBuilder(SCHEMA, score_columns=("score_1",))
    with pytest.raises(ProfileError, match="score_1"):
        b.update(pd.DataFrame({"x": [1.0], "c": ["a"]}), pd.DataFrame({"other": [1]}))


def test_kind_mismatch_with_reference_is_a_clear_error():
    ref = build_profile(pd.DataFrame({"x": [1.0], "c": ["a"]}), SCHEMA)
    swapped = FeatureSchema(features=(FeatureSpec(name="x", type="categorical"),))
    with pytest.raises(ProfileError, match="'x' is categorical here but numeric"):
        build_profile(pd.DataFrame({"x": ["a"]}), swapped, edges_from=ref)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-10, 10), min_size=0, max_size=60),
    st.lists(st.floats(-8, 8), min_size=1, max_size=8).map(lambda e: sorted(set(e))),
)
def test_sorted_bin_counts_equal_per_value_binning(values, edges):
    from scorewatch.monitoring.profiles import bin_counts, sorted_bin_counts

    x = np.array(values, float)
    e = edges if len(edges) > 1 else [edges[0], edges[0]]
    assert sorted_bin_counts(np.sort(x), e).tolist() == bin_counts(x, e).tolist()


def test_quantiles_read_off_the_sorted_values_are_numpys_bit_for_bit():
    from scorewatch.monitoring.profiles.values import sorted_quantiles

    rng = np.random.default_rng(5)
    levels = np.concatenate([np.linspace(0, 1, 11), np.asarray(QUANTILE_LEVELS), rng.random(20)])
    for n in (1, 2, 3, 10, 999, 4096):
        for x in (rng.normal(size=n), rng.integers(0, 4, n).astype(float), np.round(rng.gamma(1, 9, n), 1)):
            assert np.array_equal(sorted_quantiles(np.sort(x), levels), np.quantile(x, levels))

"""Categorical drift at any cardinality (issue 14, defect 3): fold both sides on the reference's
listed levels and keep the reference's tail apart from values it never had."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scorewatch.core.schema import FeatureSchema, FeatureSpec
from scorewatch.monitoring.drift import detect_drift
from scorewatch.monitoring.profiles import Profile, build_profile, merge_profiles
from scorewatch.monitoring.profiles.values import sketch_slots
from scorewatch.monitoring.quality import check_quality
from scorewatch.scoring.schema_inference import infer_schema

SCHEMA = FeatureSchema(features=(FeatureSpec(name="c", type="categorical"),))


def _draw(rng: np.random.Generator, levels: int, rows: int, p: np.ndarray, prefix: str = "v") -> pd.DataFrame:
    return pd.DataFrame({"c": [f"{prefix}{i}" for i in rng.choice(levels, rows, p=p)]})


def _verdict(ref_df: pd.DataFrame, cur_df: pd.DataFrame) -> tuple[bool, list[str]]:
    ref = build_profile(ref_df, SCHEMA)
    cur = build_profile(cur_df, SCHEMA, edges_from=ref)
    drift = detect_drift(ref, cur)
    quality = [v.severity for v in check_quality(ref, cur) if v.kind == "categorical_values_check"]
    return drift.features[0].drifted, quality


@pytest.mark.parametrize("levels", [51, 80, 500, 50_000])
def test_same_distribution_is_not_drifted_and_all_unseen_is(levels):
    rng = np.random.default_rng(levels)
    p = rng.dirichlet(np.ones(levels))
    ref = _draw(rng, levels, 20_000, p)
    drifted, quality = _verdict(ref, _draw(rng, levels, 20_000, p))
    assert not drifted
    assert "error" not in quality
    drifted, quality = _verdict(ref, _draw(rng, levels, 20_000, p, prefix="new"))
    assert drifted
    assert quality == ["error"]


def test_many_distinct_values_all_replaced_by_unseen_ones_are_drifted():
    # 100k levels, each seen a few times: a batch of only new values is not "other" like the tail
    rng = np.random.default_rng(7)
    ref = pd.DataFrame({"c": [f"v{i}" for i in rng.integers(0, 100_000, 400_000)]})
    cur = pd.DataFrame({"c": [f"w{i}" for i in rng.integers(0, 100_000, 50_000)]})
    assert _verdict(ref, cur)[0]
    same = pd.DataFrame({"c": [f"v{i}" for i in rng.integers(0, 100_000, 50_000)]})
    assert not _verdict(ref, same)[0]


def test_sketch_and_novel_survive_json_and_merging():
    rng = np.random.default_rng(3)
    p = np.ones(300) / 300
    ref = build_profile(_draw(rng, 300, 5000, p), SCHEMA)
    col = ref.column("c")
    assert col.sketch is not None and col.singletons is not None
    again = Profile.from_dict(ref.to_dict())
    assert again.column("c") == col
    a = build_profile(_draw(rng, 300, 1000, p), SCHEMA, edges_from=again)
    new_df = _draw(rng, 300, 1000, p, prefix="n")
    b = build_profile(new_df, SCHEMA, edges_from=again)
    assert a.column("c").novel == 0
    # a new value hashed onto a bit the reference set counts as tail, every other one as novel
    bits = col.sketch_bits()
    clear = ~bits[sketch_slots(new_df["c"].tolist())]
    assert b.column("c").novel == int(clear.sum()) > 800
    merged = merge_profiles(a, b)
    assert merged.column("c").novel == a.column("c").novel + b.column("c").novel


def test_a_small_reference_keeps_the_exact_evidently_comparison():
    # every reference level listed: no sketch, unseen values are their own categories as before
    ref = build_profile(pd.DataFrame({"c": ["a", "b"] * 600}), SCHEMA)
    assert ref.column("c").sketch is None
    cur = build_profile(pd.DataFrame({"c": ["a", "b", "z"] * 400}), SCHEMA, edges_from=ref)
    assert cur.column("c").novel is None
    assert detect_drift(ref, cur).features[0].drifted


@settings(max_examples=25, deadline=None)
@given(levels=st.integers(51, 3000), seed=st.integers(0, 2**32 - 1), skew=st.floats(0.2, 5.0))
def test_property_same_distribution_is_not_drifted(levels, seed, skew):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(levels, skew))
    drifted, quality = _verdict(_draw(rng, levels, 10_000, p), _draw(rng, levels, 10_000, p))
    assert not drifted
    assert "error" not in quality


@settings(max_examples=25, deadline=None)
@given(levels=st.integers(2, 3000), seed=st.integers(0, 2**32 - 1), skew=st.floats(0.2, 5.0))
def test_property_disjoint_values_are_drifted(levels, seed, skew):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(levels, skew))
    ref = _draw(rng, levels, 5000, p)
    drifted, quality = _verdict(ref, _draw(rng, levels, 5000, p, prefix="new"))
    assert drifted
    assert "error" in quality


def test_local_model_schema_keeps_a_numeric_column_with_one_bad_value_numeric():
    from sklearn.linear_model import LinearRegression

    est = LinearRegression().fit(np.arange(20.0).reshape(-1, 1), np.arange(20.0))
    sample = pd.DataFrame({"x": [str(v) for v in range(50)] + ["abc", " "]})
    assert infer_schema(est, sample).schema.feature("x").type == "numeric"

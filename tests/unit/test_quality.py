"""Data-quality violations (SageMaker-style kinds)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scorewatch.core.schema import FeatureSchema, FeatureSpec
from scorewatch.monitoring.profiles import build_profile
from scorewatch.monitoring.quality import QualitySettings, check_quality

SCHEMA = FeatureSchema(
    features=(FeatureSpec(name="x", type="numeric"), FeatureSpec(name="c", type="categorical"))
)
REF_DF = pd.DataFrame({"x": np.linspace(0, 10, 200), "c": ["a", "b"] * 100})
REF = build_profile(REF_DF, SCHEMA)


def _check(cur: pd.DataFrame, **kw):
    return check_quality(REF, build_profile(cur, SCHEMA, edges_from=REF), **kw)


def _kinds(violations):
    return {(v.kind, v.column) for v in violations}


def test_clean_batch_has_no_violation():
    assert _check(REF_DF.sample(50, random_state=0)) == ()


def test_missing_and_extra_columns():
    cur = pd.DataFrame({"x": [1.0, 2.0], "extra": [1, 2], "id": [1, 2]})
    v = _check(cur, input_columns=["x", "extra", "id"], id_columns=["id"])
    assert _kinds(v) == {("missing_column_check", "c"), ("extra_column_check", "extra")}
    assert v[0].severity == "error"  # errors sort first


def test_non_numeric_values_are_a_data_type_violation():
    cur = pd.DataFrame({"x": ["1", "oops", "3"], "c": ["a", "b", "a"]})
    v = [x for x in _check(cur) if x.kind == "data_type_check"]
    assert len(v) == 1 and v[0].column == "x" and v[0].observed == 1 / 3


def test_missing_rate_increase_is_a_completeness_violation():
    cur = pd.DataFrame({"x": [1.0, None, None, 4.0], "c": ["a", "b", "a", "b"]})
    v = [x for x in _check(cur) if x.kind == "completeness_check"]
    assert len(v) == 1 and v[0].observed == 0.5 and v[0].expected == 0.0


def test_out_of_range_values_and_constant_columns_are_baseline_drift():
    cur = pd.DataFrame({"x": [50.0] * 10, "c": ["a"] * 10})
    v = _check(cur)
    descriptions = [x.description for x in v if x.kind == "baseline_drift_check"]
    assert any("outside the reference range" in d for d in descriptions)
    assert sum("constant" in d for d in descriptions) == 2  # x and c


def test_unseen_categories_are_reported_with_examples():
    cur = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "zz", "a"]})
    v = [x for x in _check(cur) if x.kind == "categorical_values_check"]
    assert len(v) == 1 and v[0].observed == 0.25 and "'zz'" in v[0].description
    assert v[0].severity == "error"  # 25% > 5%


def test_row_count_anomaly_against_recent_batches():
    cur = REF_DF.head(20)
    history = [1000, 1010, 990, 1005]
    v = _check(cur, row_count_history=history)
    assert ("baseline_drift_check", None) in _kinds(v)
    assert ("baseline_drift_check", None) not in _kinds(
        _check(REF_DF.head(20), row_count_history=[20, 21, 19])
    )


def test_empty_batch_is_an_error():
    v = _check(REF_DF.head(0))
    assert [(x.kind, x.severity) for x in v] == [("baseline_drift_check", "error")]


def test_tolerances_are_configurable():
    cur = pd.DataFrame({"x": [1.0, None, 3.0, 4.0], "c": ["a", "b", "a", "b"]})
    assert not _check(cur, settings=QualitySettings(missing_rate_tolerance=0.5))

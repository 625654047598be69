"""Coercion and validation of input batches against a feature schema."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scorewatch.core.errors import InputRejectedError, MissingColumnsError
from scorewatch.core.schema import FeatureSchema, FeatureSpec
from scorewatch.scoring.validation import RejectedRow, check_columns, validate_batch

SRC = "s3://bucket/incoming/m/batch.csv"


def _schema(*specs: FeatureSpec, ids: tuple[str, ...] = ()) -> FeatureSchema:
    return FeatureSchema(features=specs, id_columns=ids)


def _num(name: str = "x", **kw) -> FeatureSpec:
    return FeatureSpec(name=name, type="numeric", **kw)


def _validate(columns: dict, schema: FeatureSchema, row_offset: int = 0):
    return validate_batch(pa.record_batch(columns), schema, row_offset=row_offset, source_uri=SRC)


def test_numeric_text_is_stripped_and_blank_or_na_tokens_become_missing() -> None:
    chunk = _validate({"x": [" 12.5", "", "NA", "null", "  -3e2 ", "N/A", "nan", "+.5"]}, _schema(_num()))
    values = chunk.features["x"].tolist()
    assert values[0] == 12.5 and values[4] == -300.0 and values[7] == 0.5
    assert all(math.isnan(values[i]) for i in (1, 2, 3, 5, 6))
    assert chunk.rejected == []


def test_non_numeric_text_becomes_rejected_row_with_row_column_value_and_reason() -> None:
    chunk = _validate({"x": ["1", "abc", "2", "1,234"]}, _schema(_num()), row_offset=100)
    assert chunk.rejected == [
        RejectedRow(row=102, column="x", value="abc", reason="not a number"),
        RejectedRow(row=104, column="x", value="1,234", reason="not a number"),
    ]
    assert chunk.features["x"].tolist() == [1.0, 2.0]
    assert chunk.rows_in == 4


def test_infinity_text_and_overflow_are_rejected_never_passed_to_the_model() -> None:
    chunk = _validate({"x": ["inf", "-Infinity", "1e400", "5"]}, _schema(_num()))
    assert [r.row for r in chunk.rejected] == [1, 2, 3]
    assert {r.reason for r in chunk.rejected} == {"infinite value not allowed"}
    assert chunk.features["x"].tolist() == [5.0]


def test_typed_float_column_keeps_values_nan_is_missing_and_inf_is_rejected() -> None:
    chunk = _validate({"x": pa.array([1.5, float("nan"), float("inf"), None])}, _schema(_num()))
    assert [r.row for r in chunk.rejected] == [3]
    assert chunk.features["x"].iloc[0] == 1.5
    assert np.isnan(chunk.features["x"].iloc[1]) and np.isnan(chunk.features["x"].iloc[2])


def test_integer_column_is_coerced_to_float() -> None:
    chunk = _validate({"x": pa.array([1, 2, None], pa.int64())}, _schema(_num()))
    assert chunk.features["x"].dtype == np.float64
    assert chunk.features["x"].tolist()[:2] == [1.0, 2.0]


def test_categorical_values_are_stripped_and_blank_is_missing() -> None:
    spec = FeatureSpec(name="c", type="categorical")
    chunk = _validate({"c": [" basic ", "", "pro", None]}, _schema(spec))
    values = chunk.features["c"].tolist()
    assert values[0] == "basic" and values[2] == "pro"
    assert isinstance(values[1], float) and math.isnan(values[1])
    # object of str (what scikit-learn's encoders convert to anyway), not pandas' Arrow strings
    assert chunk.features["c"].dtype == object
    assert all(isinstance(v, str) for v in values if not isinstance(v, float))


def test_integral_float_categories_read_as_integers_text() -> None:
    chunk = _validate({"c": pa.array([3.0, 2.5, None])}, _schema(FeatureSpec(name="c", type="categorical")))
    assert chunk.features["c"].tolist()[:2] == ["3", "2.5"]


def test_boolean_accepts_common_spellings_and_rejects_others() -> None:
    spec = FeatureSpec(name="b", type="boolean")
    chunk = _validate({"b": ["true", "No", "1", "0", "YES", "", "maybe"]}, _schema(spec))
    assert chunk.features["b"].tolist()[:5] == [1.0, 0.0, 1.0, 0.0, 1.0]
    assert math.isnan(chunk.features["b"].tolist()[5])
    assert chunk.rejected == [RejectedRow(row=7, column="b", value="maybe", reason=chunk.rejected[0].reason)]
    assert "boolean" in chunk.rejected[0].reason


def test_datetime_parses_iso8601_with_and_without_offset_as_utc() -> None:
    spec = FeatureSpec(name="d", type="datetime")
    chunk = _validate(
        {"d": ["2024-03-01", "2024-03-01T10:00:00+02:00", "2024-03-01 08:00:00Z", "tomorrow"]}, _schema(spec)
    )
    got = chunk.features["d"].tolist()
    assert [str(t) for t in got] == [
        "2024-03-01 00:00:00+00:00",
        "2024-03-01 08:00:00+00:00",
        "2024-03-01 08:00:00+00:00",
    ]
    assert chunk.rejected[0].row == 4 and "ISO 8601" in chunk.rejected[0].reason


def test_null_in_non_nullable_feature_is_rejected() -> None:
    chunk = _validate({"x": ["1", " ", "3"]}, _schema(_num(nullable=False)))
    assert chunk.rejected == [RejectedRow(row=2, column="x", value=" ", reason="null in non-nullable column")]


def test_strict_range_and_categories_reject_rows_but_non_strict_leaves_them() -> None:
    strict = _schema(
        _num("x", min=0, max=10, strict=True),
        FeatureSpec(name="c", type="categorical", categories=("a", "b"), strict=True),
    )
    cols = {"x": ["5", "-1", "11", "5"], "c": ["a", "a", "b", "z"]}
    chunk = _validate(cols, strict)
    assert [(r.row, r.column, r.reason) for r in chunk.rejected] == [
        (2, "x", "below minimum 0.0"),
        (3, "x", "above maximum 10.0"),
        (4, "c", "category not in the allowed categories"),
    ]
    lenient = _schema(
        _num("x", min=0, max=10), FeatureSpec(name="c", type="categorical", categories=("a", "b"))
    )
    assert _validate(cols, lenient).rejected == []


def test_one_rejection_per_row_for_the_first_failing_column_in_schema_order() -> None:
    schema = _schema(_num("x"), _num("y"))
    chunk = _validate({"y": ["bad", "1"], "x": ["worse", "2"]}, schema)
    assert chunk.rejected == [RejectedRow(row=1, column="x", value="worse", reason="not a number")]


def test_features_in_schema_order_extra_columns_ignored_and_ids_pass_through() -> None:
    schema = _schema(_num("b"), _num("a"), ids=("customer_id",))
    chunk = _validate(
        {"extra": ["x", "y"], "a": ["1", "oops"], "customer_id": ["c1", "c2"], "b": ["3", "4"]}, schema
    )
    assert list(chunk.features.columns) == ["b", "a"]
    assert chunk.ids["customer_id"].tolist() == ["c1"]
    assert len(chunk.features) == len(chunk.ids) == 1


def test_missing_feature_and_id_columns_are_named_with_the_file() -> None:
    schema = _schema(_num("a"), _num("b"), ids=("cid",))
    with pytest.raises(MissingColumnsError) as err:
        check_columns(pa.schema([("a", pa.string())]), schema, source_uri=SRC)
    assert "b" in str(err.value) and "cid" in str(err.value) and SRC in str(err.value)
    assert err.value.source_uri == SRC


def test_duplicate_column_names_are_rejected() -> None:
    with pytest.raises(InputRejectedError, match="duplicate column names: a"):
        check_columns(pa.schema([("a", pa.string()), ("a", pa.string())]), _schema(_num("a")), source_uri=SRC)


def test_all_null_nullable_column_is_kept_as_missing_values() -> None:
    chunk = _validate({"x": ["1", "2"], "y": ["", ""]}, _schema(_num("x"), _num("y")))
    assert chunk.rejected == [] and chunk.features["y"].isna().all()


def test_all_null_non_nullable_column_rejects_every_row() -> None:
    chunk = _validate({"x": ["", ""]}, _schema(_num("x", nullable=False)))
    assert [r.row for r in chunk.rejected] == [1, 2] and chunk.features.empty


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=1, max_size=30))
def test_formatted_finite_floats_round_trip_through_text_coercion(values: list[float]) -> None:
    text = [f"  {v!r} " for v in values]
    chunk = _validate({"x": text}, _schema(_num()))
    assert chunk.rejected == []
    assert chunk.features["x"].tolist() == values


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=8), min_size=1, max_size=30))
def test_every_input_row_is_either_kept_or_rejected_exactly_once(values: list[str]) -> None:
    chunk = _validate({"x": values}, _schema(_num()))
    assert len(chunk.features) + len(chunk.rejected) == len(values)
    assert len({r.row for r in chunk.rejected}) == len(chunk.rejected)
    finite = chunk.features["x"].dropna()
    assert np.isfinite(finite).all()

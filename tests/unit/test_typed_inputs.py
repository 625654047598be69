"""Typed inputs (Parquet, JSONL, Arrow types) are coerced or rejected row by row, never crash
(issue 14, defects 5 and 6), and a categorical value is the same category from any format."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scorewatch.core.categories import canonical_category, canonical_number, canonical_text
from scorewatch.core.errors import InputRejectedError
from scorewatch.core.schema import FeatureSchema, FeatureSpec
from scorewatch.io.storage import open_batches
from scorewatch.monitoring.profiles.values import category_counts
from scorewatch.scoring.validation import validate_batch

SRC = "s3://bucket/incoming/m/batch.parquet"


def _validate(arr: pa.Array, kind: str, **kw):
    schema = FeatureSchema(features=(FeatureSpec(name="x", type=kind, **kw),))
    return validate_batch(pa.record_batch({"x": arr}), schema, row_offset=10, source_uri=SRC)


# ---------------------------------------------------------------------------------- defect 6
def test_int64_beyond_2_pow_53_is_the_nearest_float_like_the_same_digits_as_text() -> None:
    big = [1, 2**53 + 1, 2**62, -(2**63)]
    typed = _validate(pa.array(big, pa.int64()), "numeric")
    text = _validate(pa.array([str(v) for v in big]), "numeric")
    assert typed.rejected == [] and typed.features["x"].tolist() == text.features["x"].tolist()
    assert typed.features["x"].tolist()[1] == float(2**53)
    unsigned = _validate(pa.array([2**64 - 1], pa.uint64()), "numeric")
    assert unsigned.features["x"].tolist() == [float(2**64)]


@pytest.mark.parametrize("binary_type", [pa.binary(), pa.large_binary()])
@pytest.mark.parametrize("kind", ["categorical", "numeric", "boolean"])
def test_binary_column_with_one_invalid_utf8_value_rejects_that_row_only(binary_type, kind) -> None:
    good = {"categorical": b"pro", "numeric": b"1.5", "boolean": b"yes"}[kind]
    chunk = _validate(pa.array([good, b"\xff\xfeoops", None, good], binary_type), kind)
    assert [(r.row, r.column, r.reason) for r in chunk.rejected] == [(12, "x", "invalid UTF-8 text")]
    assert chunk.rejected[0].value is not None and "\\xff" in chunk.rejected[0].value
    assert len(chunk.features) == 3
    expected = {"categorical": "pro", "numeric": 1.5, "boolean": 1.0}[kind]
    assert chunk.features["x"].tolist()[0] == expected


@pytest.mark.parametrize("tz", [None, "UTC", "Europe/Paris"])
def test_timestamp_ns_with_sub_microsecond_digits_is_truncated_to_microseconds(tz) -> None:
    ns = [1_700_000_000_123_456_789, None, 1_000]
    chunk = _validate(pa.array(ns, pa.timestamp("ns", tz=tz)), "datetime")
    assert chunk.rejected == []
    got = chunk.features["x"].tolist()
    assert got[0] == pd.Timestamp(1_700_000_000_123_456_000, tz="UTC") and pd.isna(got[1])
    assert got[2] == pd.Timestamp(0, tz="UTC") + pd.Timedelta(microseconds=1)


def test_pandas_nanosecond_frame_written_to_parquet_scores(tmp_path) -> None:
    path = tmp_path / "ts.parquet"
    df = pd.DataFrame(
        {"x": pd.to_datetime(["2026-01-02 03:04:05.123456789", "2026-01-03 00:00:00.000000001"])}
    )
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path)
    batch = next(open_batches(str(path), chunk_rows=10))
    assert batch.schema.field("x").type == pa.timestamp("ns")
    chunk = _validate(batch.column(0), "datetime")
    assert chunk.rejected == [] and chunk.features["x"].iloc[0].microsecond == 123456


def test_dates_and_timestamps_beyond_the_microsecond_range_are_rejected_rows() -> None:
    days = _validate(pa.array([0, 2**31 - 1], pa.date32()), "datetime")
    assert [(r.row, r.reason) for r in days.rejected] == [(12, "date/time out of range")]
    assert days.rejected[0].value == "2147483647 (date32[day])"
    secs = _validate(pa.array([2**62, 86_400], pa.timestamp("s")), "datetime")
    assert [r.row for r in secs.rejected] == [11]
    assert secs.features["x"].tolist() == [datetime(1970, 1, 2, tzinfo=UTC)]


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        ("numeric", ["1.5", " 2 ", "abc", None, "NA", "1.5", "inf"]),
        ("boolean", ["yes", "0", "maybe", None, "T", "yes"]),
        ("datetime", ["2026-01-02", "2026-01-02T03:04:05+01:00", "soon", None, "2026-01-02"]),
        ("categorical", [" a", "3.0", None, "NA", "a"]),
    ],
)
def test_dictionary_encoded_text_parses_exactly_like_plain_text(kind, values) -> None:
    plain = _validate(pa.array(values, pa.string()), kind)
    encoded = _validate(pa.array(values, pa.string()).dictionary_encode(), kind)
    assert encoded.rejected == plain.rejected
    pd.testing.assert_frame_equal(encoded.features, plain.features)


def test_dictionary_of_numbers_is_numeric() -> None:
    chunk = _validate(pa.array([1, 2, None, 2]).dictionary_encode(), "numeric")
    assert chunk.rejected == [] and chunk.features["x"].tolist()[:2] == [1.0, 2.0]


def test_a_type_validation_cannot_read_is_a_file_rejection_naming_file_and_column() -> None:
    # an Arrow interval has no text form: the whole file is rejected, naming file, column and type
    interval = pa.array([pa.MonthDayNano([1, 2, 3])], pa.month_day_nano_interval())
    with pytest.raises(InputRejectedError) as err:
        _validate(interval, "categorical")
    assert err.value.reason == "unreadable_column" and err.value.source_uri == SRC
    assert SRC in str(err.value) and "'x'" in str(err.value) and "interval" in str(err.value)
    assert "data rows 11-11" in str(err.value)


# ---------------------------------------------------------------------------------- defect 5
@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([3.0, 1e19, 1e20, -1e20, math.inf, -math.inf], ["3", "1e+19", "1e+20", "-1e+20", "inf", "-inf"]),
        ([2.5, -0.0, 2.0**53, math.nan], ["2.5", "0", "9007199254740992.0", None]),
    ],
)
def test_float_categories_never_collapse(values, expected) -> None:
    chunk = _validate(pa.array(values, pa.float64()), "categorical")
    got = [None if isinstance(v, float) else v for v in chunk.features["x"].tolist()]
    assert got == expected
    assert len(set(got[:6])) == len([v for v in got[:6]])


def _write(path, df: pd.DataFrame, fmt: str) -> str:
    if fmt == "csv":
        df.to_csv(path, index=False)
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in df.to_dict(orient="records")))
    else:
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path)
    return str(path)


def test_the_same_value_is_the_same_category_in_csv_jsonl_and_parquet(tmp_path) -> None:
    schema = FeatureSchema(features=(FeatureSpec(name="grade", type="categorical"),))
    floats = pd.DataFrame({"grade": [3.0, 2.5, 1e20, 4.0]})
    seen = {}
    for fmt in ("csv", "jsonl", "parquet"):
        uri = _write(tmp_path / f"g.{fmt}", floats, fmt)
        batch = next(open_batches(uri, chunk_rows=100, categorical=["grade"]))
        chunk = validate_batch(batch, schema, row_offset=0, source_uri=uri)
        seen[fmt] = chunk.features["grade"].tolist()
    assert seen["csv"] == seen["jsonl"] == seen["parquet"] == ["3", "2.5", "1e+20", "4"]
    # profiling counts the raw pandas values with the same function
    counts, missing = category_counts(floats["grade"])
    assert counts == {"3": 1, "2.5": 1, "1e+20": 1, "4": 1} and missing == 0
    text_counts, _ = category_counts(pd.Series(["3.0", "3", "007", "1E5", None]))
    assert text_counts == {"3": 2, "007": 1, "1E5": 1}


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, width=64))
def test_a_float_and_its_text_are_one_category(x: float) -> None:
    as_text = repr(x) if math.isfinite(x) else None
    assert canonical_category(x) == canonical_number(x)
    if as_text is not None and "e" not in as_text:
        assert canonical_text(as_text) == canonical_number(x)
    chunk = _validate(pa.array([x], pa.float64()), "categorical")
    assert chunk.features["x"].tolist() == [canonical_number(x)]


def test_distinct_floats_stay_distinct_categories() -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(0, 1e20, 500), rng.integers(-1000, 1000, 500).astype(float)])
    chunk = _validate(pa.array(values), "categorical")
    assert len(set(chunk.features["x"])) == len(set(values.tolist()))


def test_offline_scoring_turns_an_arrow_data_error_into_a_rejection_report(tmp_path, monkeypatch) -> None:
    from types import SimpleNamespace

    import scorewatch.scoring.scorer as scorer
    from scorewatch.scoring.offline import score_file_with

    def unreadable(*args, **kwargs):
        raise pa.ArrowInvalid("Integer value 123456789 not in range")

    monkeypatch.setattr(scorer, "score_source", unreadable)
    source = tmp_path / "in.csv"
    source.write_text("x\n1\n")
    report = tmp_path / "rejected.json"
    with pytest.raises(InputRejectedError) as err:
        score_file_with(
            SimpleNamespace(card=SimpleNamespace(version="v1")),
            str(source),
            str(tmp_path / "out") + "/",
            chunk_rows=10,
            max_reject_fraction=0.05,
            now=datetime(2026, 1, 2, tzinfo=UTC),
            rejected_uri=str(report),
        )
    assert err.value.reason == "unreadable_input" and str(source) in str(err.value)
    written = json.loads(report.read_text())
    assert written["reason"] == "unreadable_input" and "123456789" not in written["message"]

"""The CSV fast path (numeric columns parsed as float64, categorical ones dictionary-encoded)
must be invisible: the same features, the same rejected rows with the same raw values and row
numbers as the all-text read, including when it falls back to text in the middle of a file."""

from __future__ import annotations

import csv
import gzip
import io
import logging
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scorewatch.core.errors import InputRejectedError
from scorewatch.core.schema import FeatureSchema, FeatureSpec
from scorewatch.io import storage
from scorewatch.scoring.validation import validate_batch

SCHEMA = FeatureSchema(
    features=(
        FeatureSpec(name="x", type="numeric"),
        FeatureSpec(name="y", type="numeric"),
        FeatureSpec(name="c", type="categorical"),
    ),
    id_columns=("id",),
)
TRICKY = [
    "1", "-2.5", "+.5", "5.", "1e5", "1E-3", "00012", "-0", " 12.5", "12.5 ", "\t3", "", "NA", "na", "N/A",
    "null", "NULL", "None", "nan", "NaN", "-nan", " NA ", "inf", "-Infinity", "1e999", "abc", "1,234",
    "0x10", "1_0", ".", "+", "1e", "１２", "=1+1", "1.5f", "Null", "nULL",
]  # fmt: skip


def _write(path: Path, rows: list[tuple[str, str, str, str]], *, gz: bool = False) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["id", "x", "y", "c"])
    writer.writerows(rows)
    data = buf.getvalue().encode()
    target = path.with_suffix(".csv.gz" if gz else ".csv")
    target.write_bytes(gzip.compress(data) if gz else data)
    return str(target)


def _read(uri: str, *, fast: bool, chunk_rows: int = 1000) -> tuple[list, list]:
    kwargs = {"numeric": ["x", "y"], "categorical": ["c"]} if fast else {}
    features, rejected, offset = [], [], 0
    for batch in storage.open_batches(uri, chunk_rows=chunk_rows, columns=["x", "y", "c", "id"], **kwargs):
        chunk = validate_batch(batch, SCHEMA, row_offset=offset, source_uri=uri)
        offset += chunk.rows_in
        frame = chunk.features.assign(id=chunk.ids["id"].to_numpy())
        features.extend(frame.itertuples(index=False, name=None))
        rejected.extend(chunk.rejected)
    return features, rejected


def _same(a: list, b: list) -> bool:
    if len(a) != len(b):
        return False
    for ra, rb in zip(a, b, strict=True):
        for va, vb in zip(ra, rb, strict=True):
            both_nan = isinstance(va, float) and isinstance(vb, float) and math.isnan(va) and math.isnan(vb)
            if not both_nan and (va != vb or type(va) is not type(vb)):
                return False
    return True


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    # many Arrow blocks per file, so a failure lands in the middle of the stream
    monkeypatch.setattr(storage.csv_reader, "_CSV_BLOCK", 512)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    clean=st.lists(
        st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: f"{v:.4f}"), min_size=40, max_size=120
    ),
    odd=st.lists(
        st.tuples(
            st.integers(0, 10**6), st.sampled_from(TRICKY) | st.text("0123456789.eE+-naiNA /", max_size=6)
        ),
        max_size=4,
    ),
    seed=st.integers(0, 2**16),
)
def test_fast_and_text_reads_agree_on_any_values(
    tmp_path: Path, small_blocks: None, clean: list[str], odd: list[tuple[int, str]], seed: int
) -> None:
    # mostly clean numbers, so the typed read gets some blocks in before an odd value (if any)
    xs = list(clean)
    for at, token in odd:
        xs.insert(at % (len(xs) + 1), token)
    rng = np.random.default_rng(seed)
    cats = [" a ", "b", "", "NA", "é", '=HYPERLINK("x")']
    rows = [(f"r{i}", x, f"{rng.normal():.6f}", cats[int(rng.integers(len(cats)))]) for i, x in enumerate(xs)]
    uri = _write(tmp_path / f"f{seed}", rows)
    fast, slow = _read(uri, fast=True, chunk_rows=7), _read(uri, fast=False, chunk_rows=7)
    assert _same(fast[0], slow[0])
    assert fast[1] == slow[1]


@pytest.mark.parametrize("token", ["inf", "-Infinity", "1e999", "-nan", " NA", "nULL"])
def test_values_arrow_would_parse_differently_are_reported_as_written(
    tmp_path: Path, small_blocks: None, token: str
) -> None:
    rows = [(f"r{i}", str(i), "1", "a") for i in range(500)]
    rows[420] = ("r420", token, "1", "a")
    uri = _write(tmp_path / "odd", rows)
    fast, slow = _read(uri, fast=True, chunk_rows=64), _read(uri, fast=False, chunk_rows=64)
    assert _same(fast[0], slow[0])
    assert fast[1] == slow[1]
    if slow[1]:
        assert [(r.row, r.value) for r in fast[1]] == [(421, token)]


@pytest.mark.parametrize("gz", [False, True])
def test_a_bad_value_deep_in_the_file_falls_back_to_text_from_there(
    tmp_path: Path, small_blocks: None, gz: bool, caplog: pytest.LogCaptureFixture
) -> None:
    rows = [(f"r{i}", f"{i * 0.25}", "" if i % 7 else "NA", "ab"[i % 2]) for i in range(3000)]
    rows[2400] = ("r2400", "12 kg", "1", "a")
    uri = _write(tmp_path / "deep", rows, gz=gz)
    with caplog.at_level(logging.INFO, logger="scorewatch.io.storage"):
        features, rejected = _read(uri, fast=True, chunk_rows=256)
    assert "reading the rest as text" in caplog.text
    assert [(r.row, r.column, r.value, r.reason) for r in rejected] == [(2401, "x", "12 kg", "not a number")]
    assert len(features) == 2999
    assert features[0][:2] == (0.0, None) or math.isnan(features[0][1])
    assert [f[3] for f in features] == [f"r{i}" for i in range(3000) if i != 2400]
    assert features[-1][0] == 2999 * 0.25
    assert _same(features, _read(uri, fast=False, chunk_rows=256)[0])


def test_batches_switch_from_typed_to_text_without_losing_or_repeating_rows(
    tmp_path: Path, small_blocks: None
) -> None:
    rows = [(f"r{i}", str(i), "1", "a") for i in range(2000)]
    rows[1500] = ("r1500", "n/a?", "1", "a")
    uri = _write(tmp_path / "switch", rows)
    batches = list(storage.open_batches(uri, chunk_rows=300, numeric=["x", "y"], categorical=["c"]))
    types = [b.schema.field("x").type for b in batches]
    assert types[0] == pa.float64() and types[-1] == pa.string()
    assert all(b.num_rows <= 300 for b in batches)
    ids = [v for b in batches for v in b.column("id").to_pylist()]
    assert ids == [f"r{i}" for i in range(2000)]


def test_invalid_utf8_in_a_dictionary_encoded_column_names_its_row(
    tmp_path: Path, small_blocks: None
) -> None:
    lines = [b"id,x,y,c"] + [f"r{i},{i},1,ab".encode() for i in range(1000)]
    lines[701] = b"r700,700,1,caf\xe9"
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(InputRejectedError, match=r"invalid UTF-8 in column 'c' at data row 701: b'caf\\xe9'"):
        list(storage.open_batches(str(path), chunk_rows=100, numeric=["x", "y"], categorical=["c"]))
    assert path.read_bytes().count(b"\n") == 1001  # input untouched


def test_categorical_values_clean_once_per_distinct_value(tmp_path: Path) -> None:
    rows = [("r0", "1", "1", " a "), ("r1", "1", "1", "NA"), ("r2", "1", "1", "a"), ("r3", "1", "1", "")]
    uri = _write(tmp_path / "cats", rows)
    features, rejected = _read(uri, fast=True)
    values = [f[2] for f in features]
    assert values[0] == values[2] == "a" and math.isnan(values[1]) and math.isnan(values[3])
    assert not rejected


def test_nan_spellings_follow_the_coercion_rules_in_clean_text() -> None:
    # Arrow's one-step cast of clean numeric text took "-nan" as NaN, and NaN became missing; the
    # rules say only the null tokens ("nan") are missing: "-nan" is not a number, as on the slow path.
    batch = pa.record_batch(
        {
            "x": ["1", "-nan", "nan", "2"],
            "y": ["1", "1", "1", "1"],
            "c": ["a"] * 4,
            "id": ["a", "b", "c", "d"],
        }
    )
    chunk = validate_batch(batch, SCHEMA, row_offset=0, source_uri="mem://x")
    assert [(r.row, r.column, r.value, r.reason) for r in chunk.rejected] == [
        (2, "x", "-nan", "not a number")
    ]
    assert chunk.features["x"].isna().tolist() == [False, True, False]  # rows 1, 3, 4 are kept

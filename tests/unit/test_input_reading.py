"""Valid files that the block-wise readers used to reject (issue 14, defect 7): JSON lines whose
types or keys change after the first block, fields longer than a block, invisible characters in
headers, and multi-member gzip size estimates."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pyarrow as pa
import pytest

from scorewatch.core.errors import InputRejectedError, MissingColumnsError
from scorewatch.core.schema import FeatureSchema, FeatureSpec
from scorewatch.io import storage
from scorewatch.io.storage import csv_reader
from scorewatch.scoring.validation import check_columns, validate_batch

#: More rows than Arrow's first 1 MiB block holds, so a change lands in a later block.
ROWS = 120_000
SCHEMA = FeatureSchema(
    features=(FeatureSpec(name="x", type="numeric"), FeatureSpec(name="c", type="categorical"))
)


def _jsonl(path: Path, rows: list[dict], gz: bool) -> str:
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    target = path.with_suffix(".jsonl.gz" if gz else ".jsonl")
    target.write_bytes(gzip.compress(data) if gz else data)
    return str(target)


def _validated(uri: str, columns: list[str] | None = None, chunk_rows: int = 50_000):
    features, rejected, offset = [], [], 0
    for batch in storage.open_batches(uri, chunk_rows=chunk_rows, columns=columns or ["x", "c"]):
        chunk = validate_batch(batch, SCHEMA, row_offset=offset, source_uri=uri)
        offset += chunk.rows_in
        features.append(chunk.features)
        rejected.extend(chunk.rejected)
    return features, rejected, offset


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize(
    ("first", "later"),
    [(lambda i: i, lambda i: i + 0.5), (lambda i: None, lambda i: i), (lambda i: i, str)],
    ids=["int_then_float", "null_then_number", "number_then_text"],
)
def test_jsonl_whose_type_changes_after_the_first_block_is_read_exactly(tmp_path, gz, first, later) -> None:
    rows = [{"x": first(i), "c": "a"} for i in range(ROWS)] + [{"x": later(i), "c": "b"} for i in range(50)]
    rows[ROWS + 10]["x"] = "abc"  # a bad value after the switch still names its row
    uri = _jsonl(tmp_path / "t", rows, gz)
    features, rejected, n = _validated(uri)
    assert n == ROWS + 50
    assert [(r.row, r.column, r.value) for r in rejected] == [(ROWS + 11, "x", "abc")]
    values = [v for f in features for v in f["x"].tolist()]
    expected = [first(i) for i in range(ROWS)] + [later(i) for i in range(50) if i != 10]
    assert len(values) == len(expected)
    assert all(
        (v is None or math.isnan(v)) if e is None else v == float(e)
        for v, e in zip(values, expected, strict=True)
    )


def test_jsonl_feature_first_seen_after_the_first_block_is_null_until_then(tmp_path) -> None:
    rows = [{"c": "a"} for _ in range(ROWS)] + [{"x": 1.5, "c": "b"}]
    uri = _jsonl(tmp_path / "late", rows, gz=False)
    features, rejected, n = _validated(uri)
    assert n == ROWS + 1 and rejected == []
    xs = [v for f in features for v in f["x"].tolist()]
    assert xs[-1] == 1.5 and all(math.isnan(v) for v in xs[:-1])


def test_jsonl_column_that_no_line_holds_is_missing_once_the_file_is_read(tmp_path) -> None:
    uri = _jsonl(tmp_path / "none", [{"c": "a"} for _ in range(100)], gz=False)
    with pytest.raises(MissingColumnsError, match=r"missing required column\(s\): x"):
        _validated(uri)


def test_jsonl_line_longer_than_a_block_is_read(tmp_path) -> None:
    long = "z" * (3 * 1024 * 1024)
    uri = _jsonl(tmp_path / "long", [{"x": 1, "c": "a"}, {"x": 2, "c": long}, {"x": 3, "c": "b"}], gz=False)
    features, rejected, n = _validated(uri)
    assert n == 3 and rejected == [] and features[0]["c"].tolist()[1] == long


def test_malformed_jsonl_names_the_data_row(tmp_path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"x": 1, "c": "a"}\n{"x": 2, "c": "a"}\n{"x": 3, "c": \n')
    with pytest.raises(InputRejectedError, match="data row 3") as err:
        _validated(str(path))
    assert err.value.reason == "malformed_jsonl"


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("column", ["notes", "c"], ids=["unused_column", "feature"])
def test_csv_field_over_one_mib_is_read_in_any_column(tmp_path, gz, column) -> None:
    long = "z" * (3 * 1024 * 1024 + 5)
    rows = [["1.5", "a", "n"], ["2", "b", "n"], ["3", "c", "n"]]
    rows[1][["x", "c", "notes"].index(column)] = long
    data = ("x,c,notes\n" + "".join(",".join(r) + "\n" for r in rows)).encode()
    path = tmp_path / ("big.csv.gz" if gz else "big.csv")
    path.write_bytes(gzip.compress(data) if gz else data)
    batches = list(storage.open_batches(str(path), chunk_rows=10, numeric=["x"], categorical=["c"]))
    table = pa.Table.from_batches(batches)
    assert table.num_rows == 3 and table.column(column)[1].as_py() == long


def test_csv_line_longer_than_the_largest_block_is_rejected_without_an_unknown_knob(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(csv_reader, "MAX_LINE_BYTES", 4 * 1024 * 1024)
    path = tmp_path / "huge.csv"
    path.write_text("x,c\n1,a\n2," + "z" * (12 * 1024 * 1024) + "\n")
    with pytest.raises(InputRejectedError) as err:
        list(storage.open_batches(str(path), chunk_rows=10))
    assert err.value.reason == "line_too_long" and "after data row 1" in str(err.value)
    assert "4 MiB" in str(err.value) and "block size" not in str(err.value)


def test_header_longer_than_the_limit_is_rejected_not_cut(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(csv_reader, "MAX_LINE_BYTES", 256 * 1024)
    names = [f"column_{i:06d}" for i in range(30_000)]  # ~390 KB header line
    path = tmp_path / "wide.csv"
    path.write_text(",".join(names) + "\n" + ",".join("1" for _ in names) + "\n")
    with pytest.raises(InputRejectedError) as err:
        storage.read_schema(str(path))
    assert err.value.reason == "line_too_long" and "header line" in str(err.value)


def test_header_longer_than_a_block_keeps_every_name_and_reads_the_rows(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(csv_reader, "_CSV_BLOCK", 64 * 1024)  # the ~390 KB header spans 7 blocks
    names = [f"column_{i:06d}" for i in range(30_000)]
    path = tmp_path / "wide.csv"
    path.write_text(",".join(names) + "\n" + ",".join("1" for _ in names[:-1]) + ",2\n")
    assert storage.read_schema(str(path)).names == names
    batches = list(storage.open_batches(str(path), chunk_rows=10, columns=[names[0], names[-1]]))
    assert pa.Table.from_batches(batches).to_pylist() == [{names[0]: "1", names[-1]: "2"}]


@pytest.mark.parametrize(
    ("header", "shown", "char"),
    [
        ("x\u200b,c", "x\\u200b", "U+200B ZERO WIDTH SPACE"),
        ("x\u00ad,c", "x\\xad", "U+00AD SOFT HYPHEN"),
        ("x\u2060,c", "x\\u2060", "U+2060 WORD JOINER"),
    ],
)
def test_header_with_an_invisible_character_gets_a_hint_naming_the_column(
    tmp_path, header, shown, char
) -> None:
    path = tmp_path / "zw.csv"
    path.write_text(f"{header}\n1,a\n", encoding="utf-8")
    with pytest.raises(MissingColumnsError) as err:
        list(storage.open_batches(str(path), chunk_rows=10, columns=["x", "c"]))
    assert f"the file has '{shown}' for 'x': it contains {char}" in str(err.value)
    with pytest.raises(MissingColumnsError) as err2:
        check_columns(storage.read_schema(str(path)), SCHEMA, source_uri=str(path))
    assert char in str(err2.value) and str(path) in str(err2.value)


def _bgzip(data: bytes, member: int = 65_280) -> bytes:
    return b"".join(gzip.compress(data[i : i + member]) for i in range(0, len(data), member))


def test_multi_member_gzip_size_estimate_is_near_the_real_size(tmp_path) -> None:
    data = ("x,y\n" + "".join(f"{i % 1000},{(i * 7) % 1000}\n" for i in range(1_500_000))).encode()
    path = tmp_path / "b.csv.gz"
    path.write_bytes(_bgzip(data))
    est = storage.estimate_work(str(path))
    assert len(data) / 2 < est.uncompressed_bytes < len(data) * 2
    small = tmp_path / "s.csv.gz"
    small.write_bytes(_bgzip(data[:200_000], member=50_000))  # whole file inside the sample
    assert storage.estimate_work(str(small)).uncompressed_bytes == 200_000


def test_late_gzip_limit_names_settings_that_exist(tmp_path) -> None:
    path = tmp_path / "b.csv.gz"
    path.write_bytes(_bgzip(b"a,b\n" + b"1,2\n" * 500_000))
    with pytest.raises(InputRejectedError) as err:
        list(storage.open_batches(str(path), chunk_rows=10_000, max_decompressed_bytes=1_000_000))
    message = str(err.value)
    assert err.value.reason == "decompressed_too_large" and "max_input_bytes" in message
    assert "raise max_decompressed_bytes" not in message

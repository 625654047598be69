"""storage on local paths: URIs, format checks, gzip limits, atomic local writes."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from scorewatch.core.errors import InputRejectedError, MissingColumnsError, UnsupportedFormatError
from scorewatch.io import storage


def test_parse_uri_splits_s3_and_normalises_local_paths(tmp_path: Path) -> None:
    loc = storage.parse_uri("s3://data/incoming/m/a.csv.gz")
    assert (loc.scheme, loc.bucket, loc.key, loc.path, loc.name) == (
        "s3",
        "data",
        "incoming/m/a.csv.gz",
        "data/incoming/m/a.csv.gz",
        "a.csv.gz",
    )
    assert storage.parse_uri(f"file://{tmp_path}/x.csv").path == f"{tmp_path}/x.csv"
    with pytest.raises(ValueError, match="gs://"):
        storage.parse_uri("gs://b/k")


def test_join_uses_single_slashes() -> None:
    assert storage.join("s3://b/", "/scored/", "model=m", "x.parquet") == "s3://b/scored/model=m/x.parquet"


def test_format_is_taken_from_the_longest_matching_extension() -> None:
    assert storage.detect_format("s3://b/a.CSV.GZ") == "csv.gz"
    assert storage.detect_format("a.jsonl") == "jsonl"
    with pytest.raises(UnsupportedFormatError, match=r"a\.gz: unsupported file extension"):
        storage.detect_format("a.gz")


def test_gzip_bomb_stops_at_the_decompressed_limit(tmp_path: Path) -> None:
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n" + b"1,2\n" * 2_000_000))  # 8 MB inflated, ~10 KB stored
    with pytest.raises(InputRejectedError, match="exceeds the limit of 1,000,000 bytes") as err:
        list(storage.open_batches(str(path), chunk_rows=10_000, max_decompressed_bytes=1_000_000))
    assert err.value.reason == "decompressed_too_large" and str(path) in str(err.value)


def test_byte_order_mark_and_crlf_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfid,x\r\n1,2\r\n3,4\r\n")
    table = pa.Table.from_batches(list(storage.open_batches(str(path), chunk_rows=10)))
    assert table.column_names == ["id", "x"] and table.column("x").to_pylist() == ["2", "4"]


def test_csv_values_are_read_as_text_so_nothing_is_silently_converted(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,x\n007,NA\n008,\n")
    batch = next(storage.open_batches(str(path), chunk_rows=10))
    assert batch.to_pydict() == {"id": ["007", "008"], "x": ["NA", ""]}


def test_requested_columns_must_exist(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,x\n1,2\n")
    with pytest.raises(MissingColumnsError, match="missing required column"):
        list(storage.open_batches(str(path), chunk_rows=10, columns=["id", "y"]))


def test_parquet_without_rows_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"x": pa.array([], pa.float64())}), path)
    with pytest.raises(InputRejectedError, match="no data rows"):
        list(storage.open_batches(str(path), chunk_rows=10))


def test_read_schema_reports_csv_columns_as_strings(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,x,c\n1,2,a\n")
    assert storage.read_schema(str(path)) == pa.schema(
        [("id", pa.string()), ("x", pa.string()), ("c", pa.string())]
    )


def test_tab_and_pipe_delimiters_are_reported(tmp_path: Path) -> None:
    for name, body in (("tab.csv", "a\tb\n1\t2\n"), ("pipe.csv", "a|b\n1|2\n")):
        path = tmp_path / name
        path.write_text(body)
        with pytest.raises(InputRejectedError, match="seems to be delimited") as err:
            list(storage.open_batches(str(path), chunk_rows=10))
        assert err.value.reason == "wrong_delimiter"


def test_ragged_csv_row_is_reported_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(InputRejectedError, match=r"ragged\.csv: malformed CSV"):
        list(storage.open_batches(str(path), chunk_rows=10))


def test_gzip_and_jsonl_inputs_cannot_be_planned_into_parts(tmp_path: Path) -> None:
    path = tmp_path / "a.csv.gz"
    path.write_bytes(gzip.compress(b"a\n1\n"))
    with pytest.raises(InputRejectedError, match="cannot be split") as err:
        storage.plan_parts(str(path), target_bytes=1)
    assert err.value.reason == "not_splittable"


def test_local_writes_are_atomic_and_leave_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "out" / "x.parquet"
    with (
        pytest.raises(RuntimeError),
        storage.ParquetSink(str(target), pa.schema([("a", pa.int64())])) as sink,
    ):
        sink.write(pa.table({"a": [1]}))
        raise RuntimeError("interrupted")
    assert os.listdir(target.parent) == []
    storage.write_bytes(str(tmp_path / "out" / "b.bin"), b"1")
    storage.write_json(str(tmp_path / "out" / "c.json"), {"k": [1, 2]})
    assert sorted(os.listdir(target.parent)) == ["b.bin", "c.json"]
    assert storage.read_json(str(tmp_path / "out" / "c.json")) == {"k": [1, 2]}


def test_local_stat_identity_and_listing(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.csv").write_text("x\n1\n")
    info = storage.stat(str(tmp_path / "d" / "a.csv"))
    assert info.size == 4 and info.version_id is None
    assert "size=4" in storage.source_identity(info)
    assert [i.uri for i in storage.list_uris(str(tmp_path / "d"))] == [str(tmp_path / "d" / "a.csv")]
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        storage.stat(str(tmp_path / "nope.csv"))


def _chunks(n: int, rows: int = 1000) -> list[pa.Table]:
    return [pa.table({"a": pa.array(range(i * rows, (i + 1) * rows), pa.int64())}) for i in range(n)]


def _background_sink(directory: Path) -> storage.ParquetSink:
    return storage.ParquetSink(
        str(directory / "x.parquet"), pa.schema([("a", pa.int64())]), row_group_rows=1000, background=True
    )


def test_background_sink_writes_the_same_rows_in_order(tmp_path: Path) -> None:
    schema = pa.schema([("a", pa.int64())])
    for background in (False, True):
        target = tmp_path / f"bg-{background}.parquet"
        with storage.ParquetSink(str(target), schema, row_group_rows=2500, background=background) as sink:
            for chunk in _chunks(10):
                sink.write(chunk)
        table = pq.read_table(target)
        assert table.column("a").to_pylist() == list(range(10_000))
        assert pq.ParquetFile(target).metadata.num_row_groups == 4  # 3 flushes of 3000 + the rest
    assert sorted(os.listdir(tmp_path)) == ["bg-False.parquet", "bg-True.parquet"]


def test_background_sink_failure_surfaces_and_publishes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}
    real = pq.ParquetWriter.write_table

    def flaky(self, table, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full (injected)")
        return real(self, table, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetWriter, "write_table", flaky)
    with pytest.raises(OSError, match="injected"):
        with _background_sink(tmp_path) as sink:
            for chunk in _chunks(6):
                sink.write(chunk)
    assert os.listdir(tmp_path) == []


def test_background_sink_keeps_the_callers_exception(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(self, table, *args, **kwargs):
        raise OSError("write failed too (injected)")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", failing)
    with pytest.raises(RuntimeError, match="caller"):
        with _background_sink(tmp_path) as sink:
            sink.write(_chunks(1)[0])  # flushed to the worker, which fails
            raise RuntimeError("caller gave up")
    assert os.listdir(tmp_path) == []

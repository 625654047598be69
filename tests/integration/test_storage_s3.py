"""storage against moto's server over HTTP: round trips, multipart, atomicity, streaming, bad input."""

from __future__ import annotations

import gzip
import io
import json
from datetime import UTC, datetime
from typing import Any

import boto3
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from model_fakes import loaded_model

from scorewatch.core.errors import (
    InputRejectedError,
    MissingColumnsError,
    TooManyRejectedRowsError,
    UnsupportedFormatError,
)
from scorewatch.core.schema import FeatureSchema, FeatureSpec
from scorewatch.io import storage
from scorewatch.io.registry import LoadedModel
from scorewatch.scoring.scorer import score_source

NOW = datetime(2026, 1, 2, tzinfo=UTC)


@pytest.fixture
def bucket(resources) -> str:
    return resources.data_bucket


def _s3() -> Any:
    return boto3.client("s3")


def _put(bucket: str, key: str, data: bytes) -> str:
    _s3().put_object(Bucket=bucket, Key=key, Body=data)
    return f"s3://{bucket}/{key}"


def _snapshot(bucket: str, key: str) -> tuple[bytes, str, int]:
    """Bytes, current version id and number of versions: what 'input untouched' means."""
    s3 = _s3()
    obj = s3.get_object(Bucket=bucket, Key=key)
    versions = s3.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", [])
    return obj["Body"].read(), obj["VersionId"], len(versions)


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": [f"r{i:07d}" for i in range(n)],
            "x": rng.normal(size=n).round(6),
            "c": rng.choice(["a", "b", "c"], n),
        }
    )


def _encode(df: pd.DataFrame, fmt: str) -> bytes:
    if fmt == "parquet":
        sink = io.BytesIO()
        pq.write_table(
            pa.Table.from_pandas(df, preserve_index=False), sink, row_group_size=max(1, len(df) // 7)
        )
        return sink.getvalue()
    if fmt.startswith("csv"):
        data = df.to_csv(index=False).encode()
    else:
        data = df.to_json(orient="records", lines=True).encode()
    return gzip.compress(data) if fmt.endswith(".gz") else data


# ----------------------------------------------------------------------------------- round trips
def test_bytes_and_json_round_trip_between_pyarrow_and_boto3(bucket: str) -> None:
    uri = storage.join(f"s3://{bucket}", "cards", "m", "card.json")
    storage.write_json(uri, {"a": 1, "when": NOW})
    assert json.loads(_s3().get_object(Bucket=bucket, Key="cards/m/card.json")["Body"].read()) == {
        "a": 1,
        "when": NOW.isoformat(),
    }
    _put(bucket, "raw/blob.bin", b"\x00\x01payload")
    assert storage.read_bytes(f"s3://{bucket}/raw/blob.bin") == b"\x00\x01payload"
    assert storage.read_json(uri)["a"] == 1


def test_stat_reports_size_etag_and_version_and_identity_changes_with_version(bucket: str) -> None:
    uri = _put(bucket, "incoming/m/a.csv", b"x\n1\n")
    first = storage.stat(uri)
    assert first.size == 4 and first.etag and first.version_id and first.last_modified
    _put(bucket, "incoming/m/a.csv", b"x\n2\n")
    second = storage.stat(uri)
    assert storage.source_identity(first) != storage.source_identity(second)
    assert first.version_id in storage.source_identity(first)


def test_exists_and_list_uris(bucket: str) -> None:
    for k in ("p/a.csv", "p/sub/b.csv", "q/c.csv"):
        _put(bucket, k, b"x\n1\n")
    listed = storage.list_uris(f"s3://{bucket}/p/")
    assert [i.uri for i in listed] == [f"s3://{bucket}/p/a.csv", f"s3://{bucket}/p/sub/b.csv"]
    assert storage.exists(f"s3://{bucket}/q/c.csv") and not storage.exists(f"s3://{bucket}/q/none.csv")
    with pytest.raises(FileNotFoundError, match="none.csv"):
        storage.stat(f"s3://{bucket}/q/none.csv")


def test_table_round_trip_read_back_with_boto3(bucket: str) -> None:
    table = pa.Table.from_pandas(_frame(1000), preserve_index=False)
    uri = f"s3://{bucket}/t/table.parquet"
    storage.write_table(uri, table)
    body = _s3().get_object(Bucket=bucket, Key="t/table.parquet")["Body"].read()
    assert pq.read_table(io.BytesIO(body)).equals(table)
    assert storage.read_table(uri).equals(table)


def test_large_sink_uses_multipart_upload_and_round_trips(bucket: str) -> None:
    rng = np.random.default_rng(3)
    table = pa.table({"v": rng.random(2_500_000), "w": rng.random(2_500_000)})  # ~40 MB raw, incompressible
    uri = f"s3://{bucket}/scored/big.parquet"
    with storage.ParquetSink(uri, table.schema) as sink:
        for batch in table.to_batches(max_chunksize=500_000):
            sink.write(batch)
    head = _s3().head_object(Bucket=bucket, Key="scored/big.parquet")
    assert head["ContentLength"] > 5 * 1024 * 1024
    assert "-" in head["ETag"], "multipart ETags carry a part count"
    assert storage.read_table(uri).num_rows == 2_500_000


def test_exception_inside_sink_leaves_no_object_and_no_upload(bucket: str) -> None:
    uri = f"s3://{bucket}/scored/partial.parquet"
    table = pa.table({"v": np.arange(1000)})
    with pytest.raises(RuntimeError, match="boom"), storage.ParquetSink(uri, table.schema) as sink:
        sink.write(table)
        raise RuntimeError("boom")
    assert not storage.exists(uri)
    assert _s3().list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_failure_during_multipart_upload_aborts_and_leaves_no_object(bucket: str) -> None:
    rng = np.random.default_rng(4)
    table = pa.table({"v": rng.random(3_000_000)})  # ~24 MB: several 8 MiB parts
    uri = f"s3://{bucket}/scored/interrupted.parquet"
    client = storage.s3_client()
    calls = {"n": 0}

    def fail_second_part(**kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise ConnectionError("injected network failure on part 2")

    client.meta.events.register("before-call.s3.UploadPart", fail_second_part, unique_id="sw-test-fail")
    try:
        with pytest.raises(ConnectionError, match="injected"), storage.ParquetSink(uri, table.schema) as sink:
            sink.write(table)
    finally:
        client.meta.events.unregister("before-call.s3.UploadPart", unique_id="sw-test-fail")
    assert calls["n"] >= 2
    assert not storage.exists(uri)
    assert _s3().list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


# ------------------------------------------------------------------------------------- streaming
@pytest.mark.parametrize("fmt", ["csv", "csv.gz", "parquet", "jsonl", "jsonl.gz"])
def test_each_format_streams_in_bounded_batches_from_s3(bucket: str, fmt: str) -> None:
    df = _frame(5000)
    uri = _put(bucket, f"incoming/m/data.{fmt}", _encode(df, fmt))
    batches = list(storage.open_batches(uri, chunk_rows=700, columns=["id", "x"]))
    assert max(b.num_rows for b in batches) <= 700 and len(batches) >= 8
    got = pa.Table.from_batches(batches)
    assert got.column_names == ["id", "x"]
    assert got.column("id").to_pylist() == df["id"].tolist()
    np.testing.assert_allclose(got.column("x").cast(pa.float64()).to_numpy(), df["x"].to_numpy())


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_planned_parts_read_back_to_exactly_the_whole_file(bucket: str, fmt: str) -> None:
    df = _frame(20_000)
    uri = _put(bucket, f"incoming/m/big.{fmt}", _encode(df, fmt))
    target = 60_000 if fmt == "csv" else 1
    parts = storage.plan_parts(uri, target_bytes=target)
    assert len(parts) >= 5
    ids: list[str] = []
    for part in parts:
        kw = {"row_groups": list(part.row_groups)} if part.row_groups else {"byte_range": part.byte_range}
        for batch in storage.open_batches(uri, chunk_rows=1000, **kw):
            ids += batch.column("id").to_pylist()
    assert ids == df["id"].tolist()
    payload = parts[1].to_payload()
    assert payload["index"] == 1 and ("row_groups" in payload) == (fmt == "parquet")


def test_csv_part_starting_inside_a_quoted_multiline_field_is_refused(bucket: str) -> None:
    body = b'id,x,note\n1,1,"a\nb"\n2,2,"c\n"\n3,3,ok\n'
    uri = _put(bucket, "incoming/m/quoted.csv", body)
    start = body.index(b'b"\n')  # a "line start" that is really inside a quoted field
    with pytest.raises(InputRejectedError, match="quoted field"):
        list(storage.open_batches(uri, chunk_rows=10, byte_range=(start, len(body))))


def test_estimate_work_uses_parquet_metadata_and_gzip_sample(bucket: str) -> None:
    df = _frame(20_000)
    pq_uri = _put(bucket, "incoming/m/e.parquet", _encode(df, "parquet"))
    est = storage.estimate_work(pq_uri)
    assert est.rows == 20_000 and est.rows_exact
    raw = _encode(df, "csv")
    gz_uri = _put(bucket, "incoming/m/e.csv.gz", gzip.compress(raw))
    gz = storage.estimate_work(gz_uri)
    assert 0.5 * len(raw) <= gz.uncompressed_bytes <= 2 * len(raw)
    assert gz.rows is not None and 10_000 <= gz.rows <= 40_000


# ----------------------------------------------------------------------------------- bad input
def _bad_cases() -> list[tuple[str, bytes, type[Exception], tuple[str, ...]]]:
    good = b"id,x,c\nr1,1.5,a\nr2,2.5,b\n"
    truncated = gzip.compress(b"id,x,c\n" + b"r1,1.5,a\n" * 50_000)
    return [
        ("empty.csv", b"", InputRejectedError, ("0 bytes",)),
        ("header_only.csv", b"id,x,c\n", InputRejectedError, ("header only",)),
        ("semicolon.csv", b"id;x;c\nr1;1.5;a\n", InputRejectedError, ("delimited by ';'",)),
        ("dupes.csv", b"id,x,x,c\nr1,1,2,a\n", InputRejectedError, ("duplicate column names", "x")),
        ("latin1.csv", good + b"r3,3.5,caf\xe9\n", InputRejectedError, ("UTF-8", "'c'", "data row 3")),
        ("truncated.csv.gz", truncated[: len(truncated) // 2], InputRejectedError, ("truncated",)),
        ("fake.parquet", good, UnsupportedFormatError, ("not a Parquet file",)),
        ("data.xlsx", b"PK\x03\x04....", UnsupportedFormatError, ("unsupported file extension",)),
        ("parquet_named.csv", b"PAR1" + b"\x00" * 20, UnsupportedFormatError, ("contains Parquet",)),
    ]


@pytest.mark.parametrize(
    ("name", "body", "error", "fragments"), _bad_cases(), ids=[c[0] for c in _bad_cases()]
)
def test_bad_input_file_is_reported_clearly_and_left_untouched(
    bucket: str, name: str, body: bytes, error: type[Exception], fragments: tuple[str, ...]
) -> None:
    key = f"incoming/m/{name}"
    uri = _put(bucket, key, body)
    before = _snapshot(bucket, key)
    with pytest.raises(error) as err:
        list(storage.open_batches(uri, chunk_rows=1000))
    message = str(err.value)
    assert uri in message
    for fragment in fragments:
        assert fragment in message
    assert isinstance(err.value, InputRejectedError) and err.value.source_uri == uri
    assert _snapshot(bucket, key) == before


# --------------------------------------------------------------------------------------- scoring
class _Threshold:
    """A tiny classifier: score = logistic(x); enough to check the S3 path without sklearn fitting."""

    classes_ = np.array([0, 1])

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        p = 1 / (1 + np.exp(-frame["x"].to_numpy()))
        return np.column_stack([1 - p, p])


def _model() -> LoadedModel:
    schema = FeatureSchema(
        features=(FeatureSpec(name="x", type="numeric"), FeatureSpec(name="c", type="categorical")),
        id_columns=("id",),
    )
    return loaded_model(_Threshold(), schema, created_at=NOW)


def test_score_source_reads_and_writes_s3_and_leaves_input_untouched(bucket: str) -> None:
    df = _frame(3000)
    key = "incoming/m/batch.csv.gz"
    uri = _put(bucket, key, _encode(df, "csv.gz"))
    before = _snapshot(bucket, key)
    out = f"s3://{bucket}/scored/model=m/date=2026-01-02/b1.parquet"
    result = score_source(
        uri,
        model=_model(),
        output_uri=out,
        batch_id="b1",
        chunk_rows=500,
        max_reject_fraction=0.05,
        scored_at=NOW,
    )
    assert result.rows_scored == 3000
    scored = storage.read_table(out).to_pandas()
    assert scored["id"].tolist() == df["id"].tolist()
    np.testing.assert_allclose(scored["score_1"], 1 / (1 + np.exp(-df["x"])))
    assert _snapshot(bucket, key) == before


def test_rejected_batch_on_s3_writes_nothing_under_scored(bucket: str) -> None:
    df = _frame(3000).astype({"x": object})
    df.loc[2000:2300, "x"] = "oops"
    uri = _put(bucket, "incoming/m/bad.csv", _encode(df, "csv"))
    with pytest.raises(TooManyRejectedRowsError, match="301 of 3000"):
        score_source(
            uri,
            model=_model(),
            output_uri=f"s3://{bucket}/scored/model=m/date=2026-01-02/b2.parquet",
            batch_id="b2",
            chunk_rows=500,
            max_reject_fraction=0.05,
            scored_at=NOW,
        )
    assert storage.list_uris(f"s3://{bucket}/scored/") == []
    assert _s3().list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_missing_column_on_s3_names_the_column_and_file(bucket: str) -> None:
    uri = _put(bucket, "incoming/m/nocol.parquet", _encode(_frame(10).drop(columns=["c"]), "parquet"))
    with pytest.raises(MissingColumnsError, match=r"nocol\.parquet: missing required feature column\(s\) c"):
        score_source(
            uri,
            model=_model(),
            output_uri=f"s3://{bucket}/o.parquet",
            batch_id="b",
            chunk_rows=10,
            max_reject_fraction=0.05,
            scored_at=NOW,
        )


def _strict_model() -> LoadedModel:
    base = _model()
    schema = FeatureSchema(
        features=(
            FeatureSpec(name="x", type="numeric", nullable=False),
            FeatureSpec(name="c", type="categorical", categories=("a", "b", "c"), strict=True),
        ),
        id_columns=("id",),
    )
    return LoadedModel(card=base.card.model_copy(update={"feature_schema": schema}), estimator=base.estimator)


def _scoring_cases() -> list[tuple[str, Any, str | None]]:
    """(case, dataframe mutation, expected error fragment or None when the batch scores)."""

    def non_numeric(df: pd.DataFrame) -> pd.DataFrame:
        df = df.astype({"x": object})
        df.loc[10:40, "x"] = "twelve"
        return df

    def all_null(df: pd.DataFrame) -> pd.DataFrame:
        return df.assign(x="")

    def unseen(df: pd.DataFrame) -> pd.DataFrame:
        df.loc[5, "c"] = "zzz"
        return df

    def unseen_many(df: pd.DataFrame) -> pd.DataFrame:
        df.loc[:49, "c"] = "zzz"
        return df

    return [
        ("non_numeric", non_numeric, "row 11, column 'x', value 'twelve': not a number"),
        ("all_null_non_nullable", all_null, "column 'x', value '': null in non-nullable column"),
        ("unseen_category_one_row", unseen, None),
        ("unseen_category_many_rows", unseen_many, "column 'c', value 'zzz': category not in the allowed"),
    ]


@pytest.mark.parametrize(
    ("case", "mutate", "fragment"), _scoring_cases(), ids=[c[0] for c in _scoring_cases()]
)
def test_bad_values_are_reported_by_row_and_column_and_input_is_untouched(
    bucket: str, case: str, mutate: Any, fragment: str | None
) -> None:
    key = f"incoming/m/{case}.csv"
    uri = _put(bucket, key, _encode(mutate(_frame(300)), "csv"))
    before = _snapshot(bucket, key)
    out = f"s3://{bucket}/scored/model=m/date=2026-01-02/{case}.parquet"
    run = {"model": _strict_model(), "output_uri": out, "batch_id": case, "chunk_rows": 100, "scored_at": NOW}
    if fragment is None:
        result = score_source(uri, max_reject_fraction=0.05, **run)
        assert (result.rows_scored, result.rows_rejected) == (299, 1)
        assert result.rejected[0].row == 6 and result.rejected[0].value == "zzz"
        assert storage.exists(out)
    else:
        with pytest.raises(TooManyRejectedRowsError) as err:
            score_source(uri, max_reject_fraction=0.05, **run)
        assert uri in str(err.value) and fragment in str(err.value)
        assert not storage.exists(out)
    assert _snapshot(bucket, key) == before


def test_nullable_all_null_column_and_unseen_category_score_without_strict_spec(bucket: str) -> None:
    df = _frame(200).assign(x="")
    df.loc[:9, "c"] = "never-seen"
    key = "incoming/m/lenient.csv"
    uri = _put(bucket, key, _encode(df, "csv"))
    before = _snapshot(bucket, key)

    class _Constant:
        classes_ = np.array([0, 1])

        def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
            assert frame["x"].isna().all()  # missing values reach the model as NaN, not as text
            return np.tile([0.25, 0.75], (len(frame), 1))

    model = LoadedModel(card=_model().card, estimator=_Constant())
    out = f"s3://{bucket}/scored/lenient.parquet"
    result = score_source(
        uri, model=model, output_uri=out, batch_id="l", chunk_rows=64, max_reject_fraction=0.05, scored_at=NOW
    )
    assert result.rows_scored == 200 and result.rows_rejected == 0
    assert _snapshot(bucket, key) == before

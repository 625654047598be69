"""Typed inputs through the score handler on moto's server (issue 14, defect 6): per-row
rejections for values that cannot be read, and a rejection report, not a DLQ retry, for an
Arrow data error that reaches the batch boundary."""

from __future__ import annotations

import io

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from handler_kit import MODEL, Ctx, frame, make_stack, register_champion

from scorewatch.handlers import score


@pytest.fixture
def stack(resources, monkeypatch):
    st = make_stack(resources, monkeypatch)
    st.card = register_champion(resources)
    return st


def _parquet(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def _typed_table(n: int) -> pa.Table:
    df = frame(n, seed=3)
    plan = [p.encode() for p in df["plan"]]
    plan[7] = b"pro\xff"  # one value that is not UTF-8
    tenure = [int(t) for t in df["tenure"]]
    tenure[3] = 2**53 + 1  # an int64 a float64 cannot hold exactly
    return pa.table(
        {
            "customer_id": pa.array(df["customer_id"]),
            "tenure": pa.array(tenure, pa.int64()),
            "charges": pa.array([f"{c:.2f}" for c in df["charges"]]).dictionary_encode(),
            "plan": pa.array(plan, pa.binary()),
        }
    )


def test_typed_parquet_scores_and_rejects_only_the_invalid_utf8_row(stack):
    key = f"incoming/{MODEL}/typed.parquet"
    put = stack.put(key, _parquet(_typed_table(120)))

    out = score.handler(stack.s3_event(key, put), Ctx())

    assert out["status"] == "scored", out
    assert (out["rows_in"], out["rows_scored"], out["rows_rejected"]) == (120, 119, 1)
    rejected = stack.read_parquet(out["rejected_uri"].split("/", 3)[3])
    row = rejected.iloc[0]
    assert (row["row"], row["column"], row["reason"]) == (8, "plan", "invalid UTF-8 text")
    assert "\\xff" in row["value"] and row["source_uri"].endswith(key)
    scored = stack.read_parquet(stack.keys("scored/")[0])
    assert len(scored) == 119 and "c000003" in set(scored["customer_id"])


def test_arrow_data_error_at_the_batch_boundary_is_a_rejection_report_not_a_retry(stack, monkeypatch):
    import scorewatch.scoring.scorer as scorer

    def unreadable(*args, **kwargs):
        raise pa.ArrowInvalid("Integer value 123456789 not in range")  # Arrow's text quotes a value

    monkeypatch.setattr(scorer, "validate_batch", unreadable)
    key = f"incoming/{MODEL}/odd.parquet"
    put = stack.put(key, _parquet(pa.Table.from_pandas(frame(30), preserve_index=False)))

    out = score.handler(stack.s3_event(key, put), Ctx())

    assert out["status"] == "rejected" and out["reason"] == "unreadable_input"
    assert key in out["message"] and "ArrowInvalid" in out["message"]
    assert "123456789" not in out["message"]  # no raw value in the event
    report = stack.read_json(stack.keys("rejected/")[0])
    assert report["source_uri"].endswith(key) and report["reason"] == "unreadable_input"
    assert stack.keys("scored/") == []
    events = stack.events()
    assert [e["detail-type"] for e in events] == ["Batch Rejected"]
    head = boto3.client("s3").head_object(Bucket=stack.res.data_bucket, Key=key)
    assert head["ETag"] == put["ETag"] and head["VersionId"] == put["VersionId"]

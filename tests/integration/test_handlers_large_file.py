"""Large files: score starts the split workflow; split -> per-part score -> finalize, on moto's server."""

from __future__ import annotations

import io
import json

import boto3
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from handler_kit import MODEL, Ctx, encode, frame, make_stack, register_champion

from scorewatch.core.contract import Env
from scorewatch.handlers import finalize, score, split


def _state_machine() -> str:
    sfn = boto3.client("stepfunctions")
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
    return sfn.create_state_machine(
        name="sw-large-file",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/sw-large-file",
    )["stateMachineArn"]


@pytest.fixture
def stack(resources, monkeypatch):
    cfg = {"models": [{"name": MODEL, "chunk_rows": 100, "max_input_bytes": 4000}]}
    arn = _state_machine()
    st = make_stack(resources, monkeypatch, config=cfg, extra_env={Env.LARGE_FILE_STATE_MACHINE_ARN: arn})
    st.card = register_champion(resources)
    st.arn = arn
    return st


def _parquet(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), buf, row_group_size=100)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_large_file_is_split_scored_per_part_and_finalized_once(stack, fmt):
    df = frame(600, seed=9)
    key = f"incoming/{MODEL}/big.{fmt}"
    put = stack.put(key, _parquet(df) if fmt == "parquet" else encode(df, "csv"))
    event = stack.s3_event(key, put)

    started = score.handler(event, Ctx())

    assert started["status"] == "split" and "max_input_bytes" in started["message"]
    execution = boto3.client("stepfunctions").describe_execution(executionArn=started["execution_arn"])
    inp = json.loads(execution["input"])
    assert (inp["key"], inp["batch_id"], inp["version_id"]) == (key, started["batch_id"], put["VersionId"])
    assert score.handler(event, Ctx()) == started  # a redelivered event does not start a second run
    assert stack.keys("scored/") == []

    planned = split.handler(inp, Ctx(function_name="split"))
    assert planned["parts"] > 1
    assert planned["manifest_bucket"] == stack.res.data_bucket
    manifest = json.loads(
        stack.s3.get_object(Bucket=stack.res.data_bucket, Key=planned["manifest_key"])["Body"].read()
    )
    assert [item["part"]["index"] for item in manifest] == list(range(planned["parts"]))
    for item in manifest:
        out = score.handler(item, Ctx())
        assert out["status"] == "part_scored"
    assert stack.events() == []  # parts publish nothing

    done = finalize.handler(planned, Ctx(function_name="finalize"))

    assert done["status"] == "scored" and done["rows_scored"] == 600
    parts = stack.keys("scored/")
    assert len(parts) == planned["parts"] and all("-part-" in k for k in parts)
    ids = pd.concat([stack.read_parquet(k)["customer_id"] for k in parts])
    assert len(ids) == 600 and ids.is_unique and set(ids) == set(df["customer_id"])
    assert stack.read_json(done["profile_uri"].split("/", 3)[3])["rows"] == 600
    events = stack.events(wait=0.2)
    assert [e["detail-type"] for e in events] == ["Batch Scored"]
    assert events[0]["detail"]["parts"] == planned["parts"] and events[0]["detail"]["rows_scored"] == 600


def test_large_gzip_cannot_be_split_and_is_rejected_up_front(stack):
    key = f"incoming/{MODEL}/big.csv.gz"
    out = score.handler(stack.s3_event(key, stack.put(key, encode(frame(600), "csv.gz"))), Ctx())
    assert out["status"] == "rejected" and out["reason"] == "input_too_large"
    assert boto3.client("stepfunctions").list_executions(stateMachineArn=stack.arn)["executions"] == []

"""Issue 15 on the large-file path, over HTTP on the emulator: a quoted multi-line CSV field that
straddles a part boundary must not fabricate rows (rows_in = rows_scored + rows_rejected)."""

from __future__ import annotations

import json

import boto3
import pandas as pd
import pytest
from handler_kit import MODEL, Ctx, frame, make_stack, register_champion

from scorewatch.core.contract import Env
from scorewatch.handlers import finalize, score, split
from scorewatch.io import storage


@pytest.fixture
def stack(resources, monkeypatch):
    cfg = {
        "models": [{"name": MODEL, "chunk_rows": 100, "max_input_bytes": 3000, "max_reject_fraction": 0.2}]
    }
    sfn = boto3.client("stepfunctions")
    arn = sfn.create_state_machine(
        name="sw-large-file",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/sw-large-file",
    )["stateMachineArn"]
    st = make_stack(resources, monkeypatch, config=cfg, extra_env={Env.LARGE_FILE_STATE_MACHINE_ARN: arn})
    st.card = register_champion(resources)
    return st


def _multiline_csv(n: int) -> tuple[pd.DataFrame, bytes]:
    """``n`` rows; four in five have a quoted note whose inner lines look like whole rows."""
    df = frame(n, seed=5)
    notes = []
    for i in range(n):
        if i % 5:
            # inner lines a naive line split reads as rows: an id, numbers, a plan, a note
            notes.append(f'called twice\nc9{i:05d},10,50,basic,"x"\nc8{i:05d},11,51,pro,y\nclosed, "ok"')
        else:
            notes.append("none")
    df["note"] = notes
    return df, df.to_csv(index=False).encode()


def _run_split(st, key: str, put: dict) -> dict:
    started = score.handler(st.s3_event(key, put), Ctx())
    assert started["status"] == "split", started
    inp = json.loads(
        boto3.client("stepfunctions").describe_execution(executionArn=started["execution_arn"])["input"]
    )
    planned = split.handler(inp, Ctx(function_name="split"))
    manifest = json.loads(st.body(planned["manifest_key"]))
    for item in manifest:
        out = score.handler(item, Ctx())
        assert out["status"] == "part_scored", out
    planned["manifest"] = manifest
    return planned


def test_split_never_cuts_a_quoted_multiline_field_and_fabricates_no_rows(stack):
    df, data = _multiline_csv(200)
    key = f"incoming/{MODEL}/notes.csv"
    planned = _run_split(stack, key, stack.put(key, data))
    assert planned["parts"] > 3
    # a naive cut at the first newline after each target offset lands inside a note for this file
    starts = [item["part"]["byte_range"][0] for item in planned["manifest"]]
    quote_parity = [data[:s].count(b'"') % 2 for s in starts]
    assert quote_parity == [0] * len(starts)
    done = finalize.handler(planned, Ctx(function_name="finalize"))
    assert done["status"] == "scored"
    assert (done["rows_in"], done["rows_scored"], done["rows_rejected"]) == (200, 200, 0)
    ids = pd.concat([stack.read_parquet(k)["customer_id"] for k in stack.keys("scored/")])
    assert sorted(ids) == sorted(df["customer_id"])  # no made-up ids (c9..., c8...)


def test_every_planned_part_of_a_multiline_file_reads_back_to_the_file(stack):
    """Reading the parts in order gives exactly the rows of reading the whole file."""
    df, data = _multiline_csv(200)
    key = f"incoming/{MODEL}/plan.csv"
    stack.put(key, data)
    uri = f"s3://{stack.res.data_bucket}/{key}"
    parts = storage.plan_parts(uri, target_bytes=1500)
    assert len(parts) > 3
    got = pd.concat(
        [
            b.to_pandas()
            for p in parts
            for b in storage.open_batches(uri, chunk_rows=64, byte_range=p.byte_range)
        ],
        ignore_index=True,
    )
    assert got["customer_id"].tolist() == df["customer_id"].tolist()
    assert got["note"].tolist() == df["note"].tolist()


def test_a_file_whose_quotes_never_balance_is_refused_not_cut(stack):
    from scorewatch.core.errors import InputRejectedError

    df = frame(400, seed=2)
    data = bytearray(df.to_csv(index=False).encode())
    header_end = data.index(b"\n") + 1
    data[header_end:header_end] = b'"'  # an opening quote that is never closed
    key = f"incoming/{MODEL}/unbalanced.csv"
    stack.put(key, bytes(data))
    with pytest.raises(InputRejectedError) as err:
        storage.plan_parts(f"s3://{stack.res.data_bucket}/{key}", target_bytes=500)
    assert err.value.reason == "not_splittable" and "unbalanced quotes" in str(err.value)

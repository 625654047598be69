"""Raw input values stay out of Batch Rejected events (and so the ops topic's email), on moto's server.

The rejection report in S3 keeps the full detail: row, column, value and reason.
"""

from __future__ import annotations

import json

import pytest
from handler_kit import MODEL, Ctx, captured_logs, encode, frame, make_stack, register_champion

from scorewatch.core.errors import REDACTED
from scorewatch.handlers import score

SECRET = "4111-1111-1111-1111"


@pytest.fixture
def stack(resources, monkeypatch):
    st = make_stack(resources, monkeypatch)
    st.card = register_champion(resources)
    return st


def test_too_many_rejected_rows_event_names_row_and_column_but_not_the_value(stack):
    df = frame(40).astype({"tenure": object})
    df.loc[:19, "tenure"] = SECRET  # half the rows: over max_reject_fraction 0.2
    key = f"incoming/{MODEL}/leaky.csv"
    with captured_logs() as logs:
        out = score.handler(stack.s3_event(key, stack.put(key, encode(df, "csv"))), Ctx())

    assert out["status"] == "rejected" and out["reason"] == "too_many_rejected_rows"
    (event,) = stack.events()
    assert event["detail-type"] == "Batch Rejected"
    message = event["detail"]["message"]
    assert SECRET not in json.dumps(event)
    assert REDACTED in message and "row 1" in message and "column 'tenure'" in message
    # the report in the data bucket keeps every detail, the value included
    report = stack.read_json(event["detail"]["report_uri"].split("/", 3)[3])
    assert SECRET in report["message"]
    sample = report["rejected_sample"]
    assert sample and {r["column"] for r in sample} == {"tenure"} and sample[0]["value"] == SECRET
    assert report["rows_in"] == 40 and report["rows_rejected"] >= 8
    # nor does the function's log (the CSV reader's fallback quotes pyarrow's message)
    logged = logs.getvalue()
    assert "column #1" in logged and SECRET not in logged


def test_model_refusal_event_carries_no_model_message(stack, monkeypatch):
    from scorewatch.scoring import scorer

    def refuse(*_a, **_k):
        raise ValueError(f"Found unknown categories ['{SECRET}'] in column 2 during transform")

    monkeypatch.setattr(scorer, "predict_frame", refuse)
    key = f"incoming/{MODEL}/unknown-category.csv"
    out = score.handler(stack.s3_event(key, stack.put(key, encode(frame(10), "csv"))), Ctx())

    assert out["status"] == "rejected" and out["reason"] == "model_rejected_input"
    (event,) = stack.events()
    assert SECRET not in json.dumps(event)
    assert "ValueError" in event["detail"]["message"] and REDACTED in event["detail"]["message"]
    report = stack.read_json(event["detail"]["report_uri"].split("/", 3)[3])
    assert SECRET in report["message"]


def _rejected_event(stack, key: str, body: bytes) -> dict:
    out = score.handler(stack.s3_event(key, stack.put(key, body)), Ctx())
    assert out["status"] == "rejected", out
    (event,) = stack.events()
    assert event["detail-type"] == "Batch Rejected"
    return event


def test_library_text_quoting_a_row_stays_in_the_report(stack):
    # Arrow's CSV parser quotes the offending row ("Expected 5 columns, got 6: c1,...,<secret>").
    lines = encode(frame(10), "csv").decode().splitlines()
    lines[4] += f",{SECRET}"
    event = _rejected_event(stack, f"incoming/{MODEL}/ragged.csv", ("\n".join(lines) + "\n").encode())
    message = event["detail"]["message"]
    assert SECRET not in json.dumps(event)
    assert "malformed CSV" in message and "the detail is in the rejection report" in message
    report = stack.read_json(event["detail"]["report_uri"].split("/", 3)[3])
    assert SECRET in report["message"]


def test_malformed_jsonl_detail_stays_in_the_report(stack):
    rows = frame(6).to_dict(orient="records")
    body = "\n".join(json.dumps(r) for r in rows[:3]) + f'\n{{"tenure": {SECRET}}}\n'
    event = _rejected_event(stack, f"incoming/{MODEL}/broken.jsonl", body.encode())
    assert SECRET not in json.dumps(event)
    assert "malformed JSON at data row 4" in event["detail"]["message"]

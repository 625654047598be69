"""The score handler end to end on moto's server: events in, outputs/events/metrics/logs out."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
import pandas as pd
import pytest
from handler_kit import (
    MODEL,
    Ctx,
    captured_logs,
    emf_blobs,
    encode,
    fixture,
    frame,
    log_lines,
    make_stack,
    register_champion,
)

from scorewatch.handlers import score


@pytest.fixture
def stack(resources, monkeypatch):
    st = make_stack(resources, monkeypatch)
    st.card = register_champion(resources)
    return st


@pytest.mark.parametrize("fmt", ["csv", "parquet", "csv.gz"])
def test_object_created_event_scores_the_file_and_publishes_batch_scored(stack, fmt, capsys):
    df = frame(250, seed=1)
    key = f"incoming/{MODEL}/2026-01-02/batch.{fmt}"
    put = stack.put(key, encode(df, fmt))
    event = stack.s3_event(key, put)

    out = score.handler(event, Ctx())

    assert out["status"] == "scored"
    assert (out["rows_in"], out["rows_scored"], out["rows_rejected"]) == (250, 250, 0)
    scored = stack.keys("scored/")
    assert len(scored) == 1 and scored[0].startswith(f"scored/model={MODEL}/date=")
    table = stack.read_parquet(scored[0])
    assert len(table) == 250
    assert sorted(table["customer_id"]) == sorted(df["customer_id"])
    assert set(table["model_version"]) == {stack.card.version}
    assert set(table["source_uri"]) == {f"s3://{stack.res.data_bucket}/{key}"}
    assert {"prediction", "score_0", "score_1", "batch_id", "scored_at"} <= set(table.columns)
    profiles = stack.keys(f"monitoring/model={MODEL}/profiles/")
    assert [k.rsplit(".", 1)[1] for k in profiles] == ["json", "parquet"]
    assert stack.read_json(profiles[0])["rows"] == 250
    events = stack.events()
    assert [e["detail-type"] for e in events] == ["Batch Scored"]
    detail = events[0]["detail"]
    assert detail["batch_id"] == out["batch_id"] and detail["rows_scored"] == 250
    assert detail["profile_uri"].endswith(profiles[0]) and detail["profile_etag"]
    assert detail["source_version_id"] == put["VersionId"]
    blobs = emf_blobs(capsys.readouterr().out)
    rows = [b for b in blobs if "RowsScored" in b]
    assert len(rows) == 1
    assert rows[0]["Model"] == MODEL and rows[0]["RowsScored"] == [250.0] and rows[0]["RowsRejected"] == [0.0]
    # No rejected row: 0 against alarms.rejected_row_rate, far below the fleet alarm's 1.
    assert rows[0]["RejectedRowRateBreach"] == [0.0]
    assert rows[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Scorewatch"
    assert rows[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Model"]]


def test_key_with_spaces_and_unicode_is_used_verbatim(stack):
    template = fixture("s3_object_created_unicode_key.json")
    key = template["detail"]["object"]["key"]
    assert " " in key and "é" in key
    put = stack.put(key, encode(frame(40), "csv"))
    out = score.handler(stack.s3_event(key, put, template="s3_object_created_unicode_key.json"), Ctx())
    assert out["status"] == "scored" and out["rows_scored"] == 40
    assert out["source_uri"] == f"s3://{stack.res.data_bucket}/{key}"
    assert stack.read_parquet(stack.keys("scored/")[0])["source_uri"].iloc[0].endswith(key)


def test_duplicate_delivery_scores_once_and_returns_the_first_result(stack):
    key = f"incoming/{MODEL}/dup.csv"
    put = stack.put(key, encode(frame(30), "csv"))
    event = stack.s3_event(key, put)
    first = score.handler(event, Ctx())
    redelivered = dict(event, id="another-delivery-id")
    second = score.handler(redelivered, Ctx())
    assert second == first
    assert len(stack.events()) == 1
    versions = boto3.client("s3").list_object_versions(Bucket=stack.res.data_bucket, Prefix="scored/")
    assert len(versions["Versions"]) == 1  # not rewritten either


def test_two_uploads_to_the_same_key_are_scored_twice(stack):
    key = f"incoming/{MODEL}/same-key.csv"
    put1 = stack.put(key, encode(frame(30, seed=1), "csv"))
    first = score.handler(stack.s3_event(key, put1), Ctx())
    put2 = stack.put(key, encode(frame(35, seed=2), "csv"))
    second = score.handler(stack.s3_event(key, put2), Ctx())
    assert first["batch_id"] != second["batch_id"]
    assert second["rows_scored"] == 35
    assert [e["detail"]["batch_id"] for e in stack.events()] == [first["batch_id"], second["batch_id"]]


def test_stale_event_for_a_replaced_upload_is_skipped(stack):
    key = f"incoming/{MODEL}/replaced.csv"
    put1 = stack.put(key, encode(frame(30, seed=1), "csv"))
    stack.put(key, encode(frame(31, seed=2), "csv"))
    out = score.handler(stack.s3_event(key, put1), Ctx())
    assert out["status"] == "superseded"
    assert stack.keys("scored/") == [] and stack.events() == []


def test_twenty_concurrent_drops_give_twenty_outputs_without_lost_or_doubled_rows(stack):
    drops = []
    for i in range(20):
        df = frame(20 + i, seed=i, start_id=i * 1000)
        key = f"incoming/{MODEL}/concurrent/file-{i:02d}.csv"
        drops.append((df, stack.s3_event(key, stack.put(key, encode(df, "csv")))))
    barrier = threading.Barrier(20)

    def run(ev):
        barrier.wait()
        return score.handler(ev, Ctx())

    with ThreadPoolExecutor(max_workers=20) as pool:
        outs = list(pool.map(run, [ev for _, ev in drops]))

    assert [o["status"] for o in outs] == ["scored"] * 20
    scored = stack.keys("scored/")
    assert len(scored) == 20
    ids = pd.concat([stack.read_parquet(k)["customer_id"] for k in scored])
    expected = pd.concat([df["customer_id"] for df, _ in drops])
    assert len(ids) == len(expected) and ids.is_unique
    assert set(ids) == set(expected)
    assert len(stack.events(wait=0.5)) == 20


def test_rejected_file_is_reported_not_failed_and_input_is_untouched(stack, capsys):
    key = f"incoming/{MODEL}/bad.csv"
    bad = frame(20).drop(columns=["charges"])
    put = stack.put(key, encode(bad, "csv"))

    out = score.handler(stack.s3_event(key, put), Ctx())

    assert out["status"] == "rejected" and out["reason"]
    assert "charges" in out["message"]
    report_keys = stack.keys("rejected/")
    assert len(report_keys) == 1 and report_keys[0].endswith(".json")
    report = stack.read_json(report_keys[0])
    assert report["source_uri"].endswith(key) and "charges" in report["message"]
    assert stack.keys("scored/") == []
    head = boto3.client("s3").head_object(Bucket=stack.res.data_bucket, Key=key)
    assert head["ETag"] == put["ETag"] and head["VersionId"] == put["VersionId"]
    events = stack.events()
    assert [e["detail-type"] for e in events] == ["Batch Rejected"]
    assert events[0]["detail"]["report_uri"].endswith(report_keys[0])
    blobs = [b for b in emf_blobs(capsys.readouterr().out) if "BatchesRejected" in b]
    assert blobs and blobs[0]["BatchesRejected"] == [1.0] and blobs[0]["Model"] == MODEL


def test_key_outside_incoming_model_prefix_is_rejected_with_a_report(stack):
    key = "incoming/orphan.csv"
    put = stack.put(key, encode(frame(5), "csv"))
    out = score.handler(stack.s3_event(key, put), Ctx())
    assert out["status"] == "rejected" and out["reason"] == "unrouted_key"
    assert stack.keys("rejected/unrouted/")
    assert [e["detail"]["reason"] for e in stack.events()] == ["unrouted_key"]


def test_folder_marker_object_is_ignored_without_a_report(stack):
    key = f"incoming/{MODEL}/2026/"
    out = score.handler(stack.s3_event(key, stack.put(key, b"")), Ctx())
    assert out["status"] == "ignored"
    assert stack.keys("rejected/") == [] and stack.events() == []


def test_too_large_input_without_split_workflow_is_reported_up_front(resources, monkeypatch):
    cfg = {"models": [{"name": MODEL, "max_input_bytes": 500}]}
    st = make_stack(resources, monkeypatch, config=cfg)
    register_champion(resources)
    key = f"incoming/{MODEL}/big.csv"
    out = score.handler(st.s3_event(key, st.put(key, encode(frame(200), "csv"))), Ctx())
    assert out["status"] == "rejected" and out["reason"] == "input_too_large"
    assert "max_input_bytes" in out["message"]
    assert st.keys("scored/") == []


def test_log_lines_are_json_with_the_event_id_as_correlation_id(stack):
    key = f"incoming/{MODEL}/logs.csv"
    event = stack.s3_event(key, stack.put(key, encode(frame(10), "csv")))
    with captured_logs() as buf:
        score.handler(event, Ctx())
    lines = log_lines(buf.getvalue())
    handled = [ln for ln in lines if ln.get("message") == "object handled"]
    assert handled, lines
    assert all(ln["correlation_id"] == event["id"] for ln in handled)
    assert handled[0]["status"] == "scored" and handled[0]["level"] == "INFO"


def test_direct_payload_without_version_is_pinned_and_idempotent(stack):
    key = f"incoming/{MODEL}/direct.parquet"
    stack.put(key, encode(frame(15), "parquet"))
    payload = dict(fixture("direct_payload.json"), bucket=stack.res.data_bucket, key=key)
    first = score.handler(payload, Ctx())
    second = score.handler(payload, Ctx())
    assert first["status"] == "scored" and second == first
    assert len(stack.events()) == 1


def test_payload_for_an_object_that_cannot_be_pinned_is_reported_missing(stack):
    out = score.handler({"bucket": stack.res.data_bucket, "key": f"incoming/{MODEL}/nothing.csv"}, Ctx())
    assert out["status"] == "missing" and stack.events() == []


def test_scheduled_event_scores_every_object_under_the_models_prefix(resources, monkeypatch):
    cfg = {"models": [{"name": MODEL, "schedules": {"scoring": "rate(1 hour)"}}]}
    st = make_stack(resources, monkeypatch, config=cfg)
    register_champion(resources)
    for i in range(3):
        st.put(f"incoming/{MODEL}/s/{i}.csv", encode(frame(10, seed=i), "csv"))
    event = dict(fixture("scheduled_event.json"))
    event["resources"] = ["arn:aws:events:us-east-1:123456789012:rule/sw-score-churn"]
    out = score.handler(event, Ctx())
    assert out["count"] == 3 and {o["status"] for o in out["outcomes"]} == {"scored"}
    again = score.handler(event, Ctx())
    assert again == out  # idempotent per object
    assert len(st.events()) == 3


def test_missing_champion_fails_the_invocation_for_replay(resources, monkeypatch):
    from scorewatch.core.errors import ModelNotFoundError

    st = make_stack(resources, monkeypatch)
    key = f"incoming/{MODEL}/nochamp.csv"
    with pytest.raises(ModelNotFoundError):
        score.handler(st.s3_event(key, st.put(key, encode(frame(5), "csv"))), Ctx())
    assert st.keys("scored/") == [] and json.dumps(st.events()) == "[]"


def test_transient_s3_error_raises_typed_error_writes_nothing_and_a_retry_succeeds(stack, monkeypatch):
    from handler_kit import FaultProxy

    from scorewatch.core.errors import TransientError

    key = f"incoming/{MODEL}/flaky.csv"
    event = stack.s3_event(key, stack.put(key, encode(frame(30), "csv")))
    # HEAD (stat) passes; every GET of the input answers 503 SlowDown.
    proxy = FaultProxy(stack_endpoint(), fail=lambda method, path: method == "GET" and "/incoming/" in path)
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    try:
        with pytest.raises(TransientError, match="flaky.csv"):
            score.handler(event, Ctx())
        assert proxy.failures >= 1
        assert (
            stack.keys("scored/") == [] and stack.keys("monitoring/") == [] and stack.keys("rejected/") == []
        )
        assert stack.events() == []
        proxy.enabled = False  # the fault clears; the retried event is not blocked by idempotency
        out = score.handler(event, Ctx())
        events = stack.events(wait=0.3)
    finally:
        proxy.close()
    assert out["status"] == "scored" and out["rows_scored"] == 30
    assert [e["detail-type"] for e in events] == ["Batch Scored"]


def stack_endpoint() -> str:
    import os

    return os.environ["AWS_ENDPOINT_URL"]


def test_upload_replaced_while_scoring_discards_the_output(stack):
    """The object is overwritten after stat but before its rows are read (a racing upload)."""
    from scorewatch.handlers import scorer
    from scorewatch.handlers.settings import ScoreSettings, load

    key = f"incoming/{MODEL}/racing.csv"
    put = stack.put(key, encode(frame(30, seed=1), "csv"))
    service = scorer(load(ScoreSettings))
    real_load = service.registry.load

    def load_then_overwrite(*args, **kwargs):
        stack.put(key, encode(frame(45, seed=2), "csv"))
        return real_load(*args, **kwargs)

    service.registry.load = load_then_overwrite
    try:
        out = score.handler(stack.s3_event(key, put), Ctx())
    finally:
        service.registry.load = real_load
    assert out["status"] == "superseded" and "replaced while" in out["message"]
    assert stack.keys("scored/") == [] and stack.keys("monitoring/") == []
    assert stack.events() == []

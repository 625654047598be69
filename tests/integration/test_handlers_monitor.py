"""The monitor handler on moto's server: per-batch and window drift, reports, metrics, cooldown."""

from __future__ import annotations

import copy
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from handler_kit import MODEL, Ctx, emf_blobs, encode, fixture, frame, make_stack, register_champion

from scorewatch.handlers import monitor, score


def _scored_events(stack, frames) -> list[dict]:
    for i, df in enumerate(frames):
        key = f"incoming/{MODEL}/m/{i}.csv"
        assert (
            score.handler(stack.s3_event(key, stack.put(key, encode(df, "csv"))), Ctx())["status"] == "scored"
        )
    events = [e for e in stack.events(wait=0.2) if e["detail-type"] == "Batch Scored"]
    assert len(events) == len(frames)
    return events


@pytest.fixture
def stack(resources, monkeypatch):
    cfg = {"models": [{"name": MODEL, "chunk_rows": 200, "drift": {"cooldown_minutes": 60}}]}
    st = make_stack(resources, monkeypatch, config=cfg)
    st.card = register_champion(resources)
    return st


def test_drifted_batch_writes_reports_metrics_and_one_drift_detected(stack, capsys):
    (event,) = _scored_events(stack, [frame(400, seed=5, shift=1.0)])
    capsys.readouterr()

    out = monitor.handler(event, Ctx(function_name="monitor"))

    assert out["status"] == "evaluated" and out["scope"] == "batch"
    assert out["dataset_drift"] is True and out["drift_event"] is True
    assert {"tenure", "charges"} <= set(out["drifted_features"])
    bid = event["detail"]["batch_id"]
    drift_keys = stack.keys(f"monitoring/model={MODEL}/drift/")
    assert [k.rsplit("/", 1)[1] for k in drift_keys] == [f"{bid}.html", f"{bid}.json"]
    doc = stack.read_json(drift_keys[1])
    assert doc["report"]["summary"]["dataset_drift"] is True and doc["version"] == stack.card.version
    html = boto3.client("s3").get_object(Bucket=stack.res.data_bucket, Key=drift_keys[0])["Body"].read()
    assert b"<html" in html.lower()
    history = stack.keys(f"monitoring/model={MODEL}/history/")
    assert len(history) == 1 and len(stack.read_parquet(history[0])) >= 3
    (drift,) = stack.events()
    assert drift["detail-type"] == "Drift Detected"
    assert drift["detail"]["batch_id"] == bid and drift["detail"]["report_uri"].endswith(drift_keys[1])
    assert drift["detail"]["rows"] == 400 and drift["detail"]["scope"] == "batch"
    blobs = [b for b in emf_blobs(capsys.readouterr().out) if "DriftShare" in b]
    assert len(blobs) == 1 and blobs[0]["Model"] == MODEL
    assert blobs[0]["DriftShare"] == [pytest.approx(out["drift_share"])]
    assert blobs[0]["DriftedFeatures"] == [float(len(out["drifted_features"]))]
    # Beside the raw value, the value against the model's own limit (alarms.drift_share, default).
    from scorewatch.core.config import AlarmSettings
    from scorewatch.core.thresholds import breach

    limit = AlarmSettings().drift_share
    assert blobs[0]["DriftShareBreach"] == [
        pytest.approx(breach(out["drift_share"], limit, higher_is_worse=True))
    ]
    assert (blobs[0]["DriftShareBreach"][0] > 1) == (out["drift_share"] > limit)
    assert "PredictionDriftBreach" in blobs[0]


def test_undrifted_batch_publishes_no_drift_event(stack):
    (event,) = _scored_events(stack, [frame(400, seed=7)])
    out = monitor.handler(event, Ctx(function_name="monitor"))
    assert out["status"] == "evaluated" and out["dataset_drift"] is False and out["drift_event"] is False
    assert stack.events() == []


def test_cooldown_storm_of_drifted_batches_emits_one_drift_detected(stack):
    events = _scored_events(stack, [frame(300, seed=20 + i, shift=1.0, start_id=i * 1000) for i in range(6)])
    barrier = threading.Barrier(len(events))

    def run(ev):
        barrier.wait()
        return monitor.handler(ev, Ctx(function_name="monitor"))

    with ThreadPoolExecutor(max_workers=len(events)) as pool:
        outs = list(pool.map(run, events))

    assert all(o["dataset_drift"] for o in outs)
    assert sum(o["drift_event"] for o in outs) == 1
    assert [e["detail-type"] for e in stack.events(wait=0.3)] == ["Drift Detected"]


def test_event_for_a_batch_whose_profile_was_replaced_is_skipped(stack):
    (event,) = _scored_events(stack, [frame(200, seed=3, shift=1.0)])
    profile_key = event["detail"]["profile_uri"].split("/", 3)[3]
    s3 = boto3.client("s3")
    doc = stack.read_json(profile_key)
    # A later run of the same batch rewrote the profile (different content -> different ETag).
    put = s3.put_object(
        Bucket=stack.res.data_bucket, Key=profile_key, Body=json.dumps(doc, indent=1).encode()
    )

    stale = monitor.handler(event, Ctx(function_name="monitor"))
    assert stale["status"] == "superseded"
    assert stack.keys(f"monitoring/model={MODEL}/drift/") == [] and stack.events() == []

    newer = copy.deepcopy(event)
    newer["detail"]["profile_etag"] = put["ETag"].strip('"')
    assert monitor.handler(newer, Ctx(function_name="monitor"))["status"] == "evaluated"


def test_event_for_a_deleted_profile_is_skipped(stack):
    (event,) = _scored_events(stack, [frame(100, seed=4)])
    boto3.client("s3").delete_object(
        Bucket=stack.res.data_bucket, Key=event["detail"]["profile_uri"].split("/", 3)[3]
    )
    assert monitor.handler(event, Ctx(function_name="monitor"))["status"] == "missing"


def test_scheduled_window_merges_the_batches_of_the_window(stack):
    _scored_events(stack, [frame(200, seed=11, shift=1.0), frame(150, seed=12, shift=1.0, start_id=5000)])
    event = copy.deepcopy(fixture("scheduled_event.json"))
    event["resources"] = ["arn:aws:events:us-east-1:123456789012:rule/sw-monitor-churn"]
    event["time"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    out = monitor.handler(event, Ctx(function_name="monitor"))

    (window,) = out["outcomes"]
    assert window["scope"] == "window" and window["status"] == "evaluated" and window["batches"] == 2
    doc = stack.read_json(window["report_uri"].split("/", 3)[3])
    assert doc["report"]["summary"]["current_rows"] == 350
    assert window["drift_event"] is True
    assert [e["detail"]["scope"] for e in stack.events()] == ["window"]
    # The redelivered schedule event rewrites the same report; the cooldown holds the event back.
    again = monitor.handler(event, Ctx(function_name="monitor"))["outcomes"][0]
    assert again["report_uri"] == window["report_uri"] and again["drift_event"] is False
    assert stack.events() == []


def test_window_excludes_batches_older_than_the_window(stack):
    _scored_events(stack, [frame(100, seed=13)])
    later = datetime.now(UTC) + timedelta(hours=25)  # the default window is 24 h
    out = monitor.handler(
        dict(fixture("scheduled_event.json"), time=later.strftime("%Y-%m-%dT%H:%M:%SZ")),
        Ctx(function_name="monitor"),
    )
    assert out["outcomes"][0]["status"] == "no_data"


def test_window_without_batches_reports_no_data(stack):
    out = monitor.handler({"model_name": MODEL}, Ctx(function_name="monitor"))
    assert out["outcomes"][0]["status"] == "no_data"


def test_champion_without_baseline_is_reported_not_failed(resources, monkeypatch):
    st = make_stack(resources, monkeypatch)
    register_champion(resources, with_baseline=False)
    (event,) = _scored_events(st, [frame(50)])
    out = monitor.handler(event, Ctx(function_name="monitor"))
    assert out["status"] == "no_baseline" and "baseline" in out["message"]


def test_batch_scored_fixture_parses_into_the_detail_model():
    from scorewatch.io.events import BatchScored

    detail = BatchScored.model_validate(fixture("batch_scored.json")["detail"])
    assert detail.profile_uri.endswith(f"{detail.batch_id}.json") and detail.rows_scored == 998

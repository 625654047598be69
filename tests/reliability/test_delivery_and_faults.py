"""Duplicate delivery, injected I/O faults and broken model artifacts, on moto's server.

Every fault test has the same shape: the invocation fails with a typed error (or retries inside
the SDK), nothing partial is visible under ``scored/`` and nothing is published; then the same
event is delivered again with the fault gone and completes exactly once.
"""

from __future__ import annotations

import copy
import json

import boto3
import pytest
from faults import client_error, install_arrow_read_faults, install_boto_faults
from reliability_kit import (
    MODEL,
    NOW,
    Ctx,
    csv_bytes,
    frame,
    make_stack,
    model_config,
    register_champion,
    registry,
)

from scorewatch.core.errors import ModelIntegrityError, ModelNotFoundError, TransientError
from scorewatch.io import registry as registry_mod


@pytest.fixture
def stack(resources, monkeypatch):
    st = make_stack(resources, monkeypatch, models=[model_config(schedules={"scoring": "rate(1 hour)"})])
    st.card = register_champion(resources)
    return st


def _score():
    from scorewatch.handlers import score

    return score


def _drop(stack, name: str, n: int = 40, seed: int = 0):
    key = f"incoming/{MODEL}/{name}.csv"
    df = frame(n, seed=seed)
    put = stack.put(key, csv_bytes(df))
    return key, put, stack.s3_event(key, put)


def _scored_versions(stack) -> list[dict]:
    out = stack.s3.list_object_versions(Bucket=stack.res.data_bucket, Prefix="scored/")
    return out.get("Versions", [])


def _assert_scored_once(stack, out: dict, rows: int) -> None:
    assert out["status"] == "scored" and out["rows_scored"] == rows
    scored = stack.keys("scored/")
    assert len(scored) == 1 and len(stack.read_parquet(scored[0])) == rows
    assert [e["detail-type"] for e in stack.events()] == ["Batch Scored"]


# ----------------------------------------------------------------------------- duplicate delivery
def test_object_created_delivered_twice_scores_once(stack):
    _, _, event = _drop(stack, "dup")
    first = _score().handler(event, Ctx())
    second = _score().handler(dict(event, id="redelivery"), Ctx())
    assert second == first
    assert len(_scored_versions(stack)) == 1
    assert [e["detail-type"] for e in stack.events()] == ["Batch Scored"]


def test_scheduled_event_delivered_twice_scores_each_object_once(stack):
    for i in range(3):
        stack.put(f"incoming/{MODEL}/sched-{i}.csv", csv_bytes(frame(20 + i, seed=i)))
    event = json.loads((_events_dir() / "scheduled_event.json").read_text())
    event["resources"] = [f"arn:aws:events:us-east-1:123456789012:rule/scorewatch-score-{MODEL}"]
    first = _score().handler(event, Ctx())
    second = _score().handler(dict(event, id="another-delivery"), Ctx())
    assert first["count"] == 3 and sorted(o["rows_scored"] for o in first["outcomes"]) == [20, 21, 22]
    assert second == first
    assert len(_scored_versions(stack)) == 3
    assert [e["detail-type"] for e in stack.events()] == ["Batch Scored"] * 3


def _events_dir():
    from reliability_kit import TESTS

    return TESTS / "events"


def test_batch_scored_delivered_twice_gives_one_report_and_one_drift_event(stack):
    from scorewatch.handlers import monitor

    drifted = frame(300, seed=3)
    drifted["tenure"] += 40
    drifted["plan"] = "max"
    key = f"incoming/{MODEL}/drifted.csv"
    _score().handler(stack.s3_event(key, stack.put(key, csv_bytes(drifted))), Ctx())
    (scored_event,) = stack.events()
    first = monitor.handler(scored_event, Ctx(function_name="monitor"))
    second = monitor.handler(dict(copy.deepcopy(scored_event), id="redelivery"), Ctx(function_name="monitor"))
    assert first["dataset_drift"] is True and first["drift_event"] is True
    assert second["drift_event"] is False  # the cooldown's conditional write already claimed
    assert second["report_uri"] == first["report_uri"]
    drift_objects = stack.keys(f"monitoring/model={MODEL}/drift/")
    assert sorted(k.rsplit(".", 1)[1] for k in drift_objects) == ["html", "json"]
    assert len(stack.keys(f"monitoring/model={MODEL}/history/")) == 1
    assert [e["detail-type"] for e in stack.events()] == ["Drift Detected"]


# ------------------------------------------------------------------------------------ S3 faults
def test_s3_read_fault_is_transient_and_the_replay_scores_once(stack, monkeypatch):
    key, _, event = _drop(stack, "read-fault")
    faults = install_arrow_read_faults(monkeypatch, when=lambda path: "/incoming/" in path)
    with pytest.raises(TransientError, match="read-fault.csv"):
        _score().handler(event, Ctx())
    assert faults.hits >= 1
    assert _scored_versions(stack) == [] and stack.events() == []
    faults.enabled = False
    _assert_scored_once(stack, _score().handler(event, Ctx()), 40)
    assert stack.body(key) == csv_bytes(frame(40)) and len(stack.versions(key)) == 1


def test_s3_write_fault_on_the_output_leaves_nothing_and_the_replay_scores_once(stack, monkeypatch):
    _, _, event = _drop(stack, "write-fault")
    faults = install_boto_faults(monkeypatch)
    to_scored = lambda p: str(p.get("Key", "")).startswith("scored/")  # noqa: E731
    for op in ("PutObject", "CreateMultipartUpload", "UploadPart"):
        faults.fail(op, when=to_scored)
    with pytest.raises(TransientError):
        _score().handler(event, Ctx())
    assert sum(faults.hits.values()) >= 1
    assert _scored_versions(stack) == [] and stack.events() == []
    uploads = stack.s3.list_multipart_uploads(Bucket=stack.res.data_bucket).get("Uploads", [])
    assert uploads == []
    faults.enabled = False
    _assert_scored_once(stack, _score().handler(event, Ctx()), 40)


def test_s3_write_fault_after_the_output_publishes_nothing_and_the_replay_completes_once(stack, monkeypatch):
    _, _, event = _drop(stack, "profile-fault")
    faults = install_boto_faults(monkeypatch)
    faults.fail("PutObject", when=lambda p: str(p.get("Key", "")).startswith("monitoring/"))
    with pytest.raises(TransientError):
        _score().handler(event, Ctx())
    # the scored object, if any, is complete (deterministic key): a replay overwrites it
    for k in stack.keys("scored/"):
        assert len(stack.read_parquet(k)) == 40
    assert stack.events() == []
    faults.enabled = False
    _assert_scored_once(stack, _score().handler(event, Ctx()), 40)


# ------------------------------------------------------------------ DynamoDB / EventBridge faults
def test_idempotency_table_fault_is_transient_and_the_replay_scores_once(stack, monkeypatch):
    _, _, event = _drop(stack, "ddb-fault")
    faults = install_boto_faults(monkeypatch)
    faults.fail(
        "PutItem",
        when=lambda p: p.get("TableName") == stack.res.idempotency_table,
        error=lambda: client_error("ProvisionedThroughputExceededException", "PutItem", 400),
    )
    with pytest.raises(TransientError, match="ProvisionedThroughputExceeded"):
        _score().handler(event, Ctx())
    assert _scored_versions(stack) == [] and stack.events() == []
    faults.enabled = False
    _assert_scored_once(stack, _score().handler(event, Ctx()), 40)


def test_event_bus_fault_is_transient_and_the_replay_publishes_once(stack, monkeypatch):
    _, _, event = _drop(stack, "bus-fault")
    faults = install_boto_faults(monkeypatch)
    faults.fail("PutEvents", error=lambda: client_error("ThrottlingException", "PutEvents", 400))
    with pytest.raises(TransientError, match="event bus"):
        _score().handler(event, Ctx())
    assert stack.events() == []
    faults.enabled = False
    out = _score().handler(event, Ctx())
    _assert_scored_once(stack, out, 40)


def test_scoring_makes_no_cloudwatch_api_call_so_metrics_cannot_fail_it(stack, monkeypatch, capsys):
    # Metrics are EMF lines on stdout (Lambda ships them): a CloudWatch outage cannot fail scoring.
    _, _, event = _drop(stack, "cw")
    faults = install_boto_faults(monkeypatch)
    faults.fail("PutMetricData")
    out = _score().handler(event, Ctx())
    assert out["status"] == "scored" and faults.hits == {}
    assert '"RowsScored"' in capsys.readouterr().out


def test_promote_conditional_write_fault_keeps_the_champion_and_the_retry_promotes_once(stack, monkeypatch):
    reg = registry(stack.res)
    from reliability_kit import SCHEMA, estimator

    challenger = reg.register(
        MODEL, estimator(), task="binary", feature_schema=SCHEMA, now=NOW, classes=(0, 1)
    )
    faults = install_boto_faults(monkeypatch)
    for op in ("TransactWriteItems", "UpdateItem", "PutItem"):
        faults.fail(op, when=lambda p: stack.res.registry_table in json.dumps(p, default=str))
    with pytest.raises(TransientError):
        reg.promote(MODEL, challenger.version, now=NOW, promoted_by="t", expected_champion=stack.card.version)
    assert reg.get(MODEL).version == stack.card.version
    faults.enabled = False
    reg.promote(MODEL, challenger.version, now=NOW, promoted_by="t", expected_champion=stack.card.version)
    statuses = {c.version: c.status for c in reg.list_versions(MODEL)}
    assert statuses == {stack.card.version: "archived", challenger.version: "champion"}


# --------------------------------------------------------------------------- broken model artifacts
def _refuses(stack, event, error, match):
    with pytest.raises(error, match=match):
        _score().handler(event, Ctx())
    assert _scored_versions(stack) == []
    assert stack.events() == []


def _repoint(stack, **artifact) -> None:
    """Rewrite the champion's registry row (card JSON + mirrored attributes) and the card its pointer
    pins, as an attacker with write access to the whole table might (the row alone is ignored for
    the champion: reads use the pinned card, see test_registry_integrity)."""
    ddb = boto3.client("dynamodb")
    key = {"model_name": {"S": MODEL}, "version": {"S": stack.card.version}}
    card = json.loads(ddb.get_item(TableName=stack.res.registry_table, Key=key)["Item"]["card"]["S"])
    card["artifact"].update(artifact)
    ddb.update_item(
        TableName=stack.res.registry_table,
        Key=key,
        UpdateExpression="SET card = :c, sha256 = :h, artifact_key = :k",
        ExpressionAttributeValues={
            ":c": {"S": json.dumps(card)},
            ":h": {"S": card["artifact"]["sha256"]},
            ":k": {"S": card["artifact"]["key"]},
        },
    )
    ddb.update_item(
        TableName=stack.res.registry_table,
        Key={"model_name": {"S": f"champion#{MODEL}"}, "version": {"S": "#champion"}},
        UpdateExpression="SET card = :c",
        ExpressionAttributeValues={":c": {"S": json.dumps(card)}},
    )
    registry_mod.clear_cache()


def _tamper(stack) -> dict:
    """Overwrite the artifact object with flipped bytes (a new S3 version)."""
    key = stack.card.artifact.key
    body = stack.body(key, bucket=stack.res.models_bucket)
    return boto3.client("s3").put_object(
        Bucket=stack.res.models_bucket, Key=key, Body=body[:-1] + bytes([body[-1] ^ 1])
    )


def test_overwritten_artifact_is_ignored_because_loads_are_pinned_to_the_registered_version(stack):
    registry_mod.clear_cache()
    assert stack.card.artifact.version_id
    _tamper(stack)
    _, _, event = _drop(stack, "overwritten")
    out = _score().handler(event, Ctx())
    assert out["status"] == "scored" and out["version"] == stack.card.version


def test_row_repointed_at_a_tampered_version_is_refused_by_sha256_before_parsing(stack):
    put = _tamper(stack)
    _repoint(stack, version_id=put["VersionId"])
    _, _, event = _drop(stack, "tampered")
    _refuses(stack, event, ModelIntegrityError, "sha256")


def test_deleted_artifact_version_is_refused_with_its_key(stack):
    registry_mod.clear_cache()
    boto3.client("s3").delete_object(
        Bucket=stack.res.models_bucket, Key=stack.card.artifact.key, VersionId=stack.card.artifact.version_id
    )
    _, _, event = _drop(stack, "deleted")
    _refuses(stack, event, ModelNotFoundError, stack.card.artifact.key)


def test_registry_row_pointing_at_a_missing_object_is_refused(stack):
    _repoint(stack, key=f"{MODEL}/{stack.card.version}/gone.skops")
    _, _, event = _drop(stack, "dangling")
    _refuses(stack, event, ModelNotFoundError, "gone.skops")


def test_artifact_with_untrusted_types_is_refused_even_when_registry_and_hash_agree(stack):
    # An attacker who can rewrite both the artifact and its registry row still gets no code path:
    # skops refuses every type outside artifacts.TRUSTED_TYPES before anything is constructed.
    import hashlib

    import numpy as np
    import skops.io as sio
    from reliability_kit import SCHEMA, estimator
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    x = frame(50)[SCHEMA.names]
    steps = [
        ("ct", clone(estimator()[0])),
        ("f", FunctionTransformer(np.negative)),
        ("m", LogisticRegression()),
    ]
    data = sio.dumps(Pipeline(steps).fit(x, (x["tenure"] < 20).astype(int)))
    put = boto3.client("s3").put_object(
        Bucket=stack.res.models_bucket, Key=stack.card.artifact.key, Body=data
    )
    _repoint(
        stack, sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data), version_id=put["VersionId"]
    )
    _, _, event = _drop(stack, "untrusted")
    _refuses(stack, event, ModelIntegrityError, "TRUSTED_TYPES")

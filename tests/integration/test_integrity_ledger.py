"""Issue 15, invariant 4 over HTTP on the emulator: a ledger of scored (key, version, model
version), not the 24 h idempotency TTL, decides what a scheduled run scores."""

from __future__ import annotations

import boto3
from handler_kit import MODEL, Ctx, encode, fixture, frame, make_stack, register_champion

from scorewatch.handlers import score


def _forget_idempotency(resources) -> int:
    """What the TTL does after 24 h: every idempotency record gone."""
    table = boto3.resource("dynamodb").Table(resources.idempotency_table)
    items = table.scan()["Items"]
    for item in items:
        table.delete_item(Key={"id": item["id"]})
    return len(items)


def _scheduled(resources, monkeypatch):
    cfg = {"models": [{"name": MODEL, "schedules": {"scoring": "rate(1 hour)"}}]}
    st = make_stack(resources, monkeypatch, config=cfg)
    st.card = register_champion(resources)
    event = dict(fixture("scheduled_event.json"))
    event["resources"] = ["arn:aws:events:us-east-1:123456789012:rule/sw-score-churn"]
    return st, event


def _bad() -> bytes:
    return b"customer_id,tenure\nc1,1\n"  # missing columns: a whole-file rejection


def test_after_the_idempotency_records_expire_a_scheduled_run_scores_nothing_again(resources, monkeypatch):
    st, event = _scheduled(resources, monkeypatch)
    for i in range(4):
        st.put(f"incoming/{MODEL}/f{i}.csv", encode(frame(15, seed=i), "csv"))
    st.put(f"incoming/{MODEL}/bad.csv", _bad())
    first = score.handler(event, Ctx())
    assert sorted(o["status"] for o in first["outcomes"]) == ["rejected"] + ["scored"] * 4
    scored, rejected = st.keys("scored/"), st.keys("rejected/")
    assert [e["detail-type"] for e in st.events()].count("Batch Scored") == 4
    assert _forget_idempotency(resources) == 5

    again = score.handler(event, Ctx())

    assert again["outcomes"] == first["outcomes"]  # the recorded outcomes, not new runs
    assert st.keys("scored/") == scored and st.keys("rejected/") == rejected
    assert st.events() == []  # no second Batch Scored / Batch Rejected
    # a new object in the prefix is the only thing the next run scores
    st.put(f"incoming/{MODEL}/new.csv", encode(frame(15, seed=9), "csv"))
    _forget_idempotency(resources)
    third = score.handler(event, Ctx())
    assert [e["detail"]["source_uri"].rsplit("/", 1)[1] for e in st.events()] == ["new.csv"]
    assert len(st.keys("scored/")) == 5 and third["count"] == 6


def test_after_a_promotion_a_schedule_does_not_rescore_with_the_new_champion(resources, monkeypatch):
    st, event = _scheduled(resources, monkeypatch)
    st.put(f"incoming/{MODEL}/a.csv", encode(frame(15), "csv"))
    first = score.handler(event, Ctx())
    assert len(st.events()) == 1
    new = register_champion(resources, seed=1)
    _forget_idempotency(resources)
    again = score.handler(event, Ctx())
    assert again["outcomes"] == first["outcomes"] and again["outcomes"][0]["version"] == st.card.version
    assert len(st.keys("scored/")) == 1 and st.events() == []
    # an explicit backfill pinning the new champion is its own result, once
    key = f"incoming/{MODEL}/a.csv"
    backfill = {"bucket": st.res.data_bucket, "key": key, "model_version": new.version}
    out = score.handler(backfill, Ctx())
    assert out["status"] == "scored" and out["version"] == new.version
    _forget_idempotency(resources)
    assert score.handler(backfill, Ctx()) == out
    assert len(st.keys("scored/")) == 2
    assert [e["detail"]["version"] for e in st.events()] == [new.version]


def test_a_redelivered_upload_event_after_expiry_publishes_nothing_twice(resources, monkeypatch):
    st, _ = _scheduled(resources, monkeypatch)
    key = f"incoming/{MODEL}/once.csv"
    put = st.put(key, encode(frame(15), "csv"))
    out = score.handler(st.s3_event(key, put), Ctx())
    assert len(st.events()) == 1
    _forget_idempotency(resources)
    assert score.handler(st.s3_event(key, put), Ctx()) == out
    assert st.events() == []
    # a re-upload of the key is a new source version: scored
    put2 = st.put(key, encode(frame(15, seed=3), "csv"))
    assert score.handler(st.s3_event(key, put2), Ctx())["batch_id"] != out["batch_id"]

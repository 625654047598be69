"""Registry integrity on moto's server: promote verdicts, pointer repair, pinned baselines, and
what monitoring and scoring do when a baseline fails its pins (issue 17)."""

from __future__ import annotations

import json

import boto3
import pytest
from handler_kit import MODEL, NOW, SCHEMA, Ctx, emf_blobs, encode, frame, make_stack, register_champion

from scorewatch.cli import EXIT_OK, main
from scorewatch.core.errors import (
    BaselineIntegrityError,
    ModelNotFoundError,
    PromotionConflictError,
    StatusTransitionError,
)
from scorewatch.handlers import monitor, score
from scorewatch.io.registry import Registry, clear_cache
from scorewatch.io.registry.marshalling import card_item, key, marshal, pointer_partition


@pytest.fixture
def stack(resources, monkeypatch):
    cfg = {"models": [{"name": MODEL, "chunk_rows": 200, "drift": {"cooldown_minutes": 60}}]}
    st = make_stack(resources, monkeypatch, config=cfg)
    st.card = register_champion(resources)
    clear_cache()
    return st


@pytest.fixture
def reg(stack) -> Registry:
    return Registry(table_name=stack.res.registry_table, models_bucket=stack.res.models_bucket)


def _candidate(reg: Registry, champion):
    """A second version with the champion's estimator (its artifact loads)."""
    est = reg.load(MODEL, champion.version).estimator
    return reg.register(MODEL, est, task="binary", feature_schema=SCHEMA, now=NOW, classes=(0, 1))


# ------------------------------------------------------------------ promote verdicts


def test_promote_refuses_a_rejected_candidate_unless_forced_with_a_reason(reg, stack):
    cand = _candidate(reg, stack.card)
    reg.reject(MODEL, cand.version, comparison=None, now=NOW, by="gate")
    with pytest.raises(StatusTransitionError, match="rejected -> champion"):
        reg.promote(MODEL, cand.version, now=NOW, promoted_by="me")
    with pytest.raises(StatusTransitionError, match="needs a reason"):
        reg.promote(MODEL, cand.version, now=NOW, promoted_by="me", force=True)
    assert reg.champion_version(MODEL) == stack.card.version
    promoted = reg.promote(
        MODEL, cand.version, now=NOW, promoted_by="me", force=True, reason="gate metric bug"
    )
    assert promoted.status == "champion"
    assert [(c.from_status, c.to_status, c.forced, c.reason) for c in promoted.status_history] == [
        ("candidate", "rejected", False, None),
        ("rejected", "champion", True, "gate metric bug"),
    ]
    old = reg.get(MODEL, stack.card.version)
    assert old.status == "archived" and old.status_history[-1].to_status == "archived"


def test_promote_refuses_an_archived_version_but_rollback_restores_it(reg, stack):
    cand = _candidate(reg, stack.card)
    reg.promote(MODEL, cand.version, now=NOW, promoted_by="me")
    with pytest.raises(StatusTransitionError, match="archived -> champion"):
        reg.promote(MODEL, stack.card.version, now=NOW, promoted_by="me")
    assert reg.rollback(MODEL, now=NOW, promoted_by="me").version == stack.card.version


def test_promote_refuses_a_version_whose_pinned_artifact_was_deleted(reg, stack):
    cand = _candidate(reg, stack.card)
    boto3.client("s3").delete_object(
        Bucket=stack.res.models_bucket, Key=cand.artifact.key, VersionId=cand.artifact.version_id
    )
    with pytest.raises(ModelNotFoundError, match=f"cannot promote {MODEL}@{cand.version}.*does not exist"):
        reg.promote(MODEL, cand.version, now=NOW, promoted_by="me")
    assert reg.champion_version(MODEL) == stack.card.version
    assert reg.load(MODEL).card.version == stack.card.version  # scoring is unaffected


def test_promote_refuses_a_version_whose_baseline_fails_its_pins(reg, stack):
    cand = _candidate(reg, stack.card)
    # registered without a baseline: give it the champion's baseline refs but a wrong hash
    forged = cand.model_copy(
        update={"baseline": stack.card.baseline.model_copy(update={"profile_sha256": "0" * 64})}
    )
    boto3.client("dynamodb").put_item(TableName=stack.res.registry_table, Item=marshal(card_item(forged)))
    with pytest.raises(BaselineIntegrityError, match="cannot promote.*sha256 mismatch"):
        reg.promote(MODEL, cand.version, now=NOW, promoted_by="me")
    assert reg.champion_version(MODEL) == stack.card.version


# ------------------------------------------------------------------ the pointer


def _ddb():
    return boto3.client("dynamodb")


def test_a_damaged_pointer_blocks_promote_and_repair_champion_restores_it(reg, stack, capsys):
    # what a lock-shaped put did to `#champion` before control items had their own keyspace
    damaged = {"model_name": pointer_partition(MODEL), "version": "#champion", "owner": "x", "expires_at": 1}
    _ddb().put_item(TableName=stack.res.registry_table, Item=marshal(damaged))
    with pytest.raises(ModelNotFoundError, match="no champion"):
        reg.load(MODEL)
    cand = _candidate(reg, stack.card)
    with pytest.raises(PromotionConflictError, match="pointer is damaged.*repair-champion"):
        reg.promote(MODEL, cand.version, now=NOW, promoted_by="me", expected_champion=None)
    argv = [
        "models",
        "repair-champion",
        MODEL,
        "--version",
        stack.card.version,
        "--reason",
        "pointer damaged",
    ]
    assert (
        main(
            [*argv, "--registry-table", stack.res.registry_table, "--models-bucket", stack.res.models_bucket]
        )
        == EXIT_OK
    )
    assert f"champion is {stack.card.version}" in capsys.readouterr().out
    assert reg.load(MODEL).card.version == stack.card.version
    assert reg.get(MODEL).status_history[-1].reason == "repair: pointer damaged"
    # the pointer is whole again: an ordinary promotion works
    assert reg.promote(MODEL, cand.version, now=NOW, promoted_by="me").status == "champion"


def test_a_legacy_pointer_is_read_and_repair_champion_migrates_it(reg, stack, capsys):
    table = stack.res.registry_table
    pointer = _ddb().get_item(TableName=table, Key=key(pointer_partition(MODEL), "#champion"))["Item"]
    legacy = {k: v for k, v in pointer.items() if k in ("champion", "history", "rev")}
    _ddb().put_item(TableName=table, Item={**key(MODEL, "#champion"), **legacy})
    _ddb().delete_item(TableName=table, Key=key(pointer_partition(MODEL), "#champion"))
    assert reg.load(MODEL).card.version == stack.card.version  # read through the fallback
    argv = ["models", "repair-champion", MODEL, "--reason", "migrate", "--registry-table", table]
    assert main([*argv, "--models-bucket", stack.res.models_bucket]) == EXIT_OK, capsys.readouterr().err
    item = _ddb().get_item(TableName=table, Key=key(pointer_partition(MODEL), "#champion"))["Item"]
    assert item["champion"] == {"S": stack.card.version} and "card" in item


def test_repair_champion_refuses_a_rejected_version_without_force(reg, stack):
    cand = _candidate(reg, stack.card)
    reg.reject(MODEL, cand.version, comparison=None, now=NOW)
    with pytest.raises(StatusTransitionError, match="rejected"):
        reg.repair_champion(MODEL, cand.version, now=NOW, by="me", reason="x")
    assert reg.champion_version(MODEL) == stack.card.version


def test_rollback_refuses_an_earlier_champion_whose_card_changed(reg, stack):
    cand = _candidate(reg, stack.card)
    reg.promote(MODEL, cand.version, now=NOW, promoted_by="me")
    old = reg.get(MODEL, stack.card.version)
    forged = old.model_copy(update={"artifact": cand.artifact})
    _ddb().put_item(TableName=stack.res.registry_table, Item=marshal(card_item(forged)))
    with pytest.raises(Exception, match="card changed since it was champion"):
        reg.rollback(MODEL, now=NOW, promoted_by="me")
    assert reg.champion_version(MODEL) == cand.version


# ------------------------------------------------------------------ baselines


def _s3():
    return boto3.client("s3")


def test_baselines_are_pinned_and_hashed_on_the_card(reg, stack):
    ref = stack.card.baseline
    assert ref.profile_version_id and ref.sample_version_id
    assert len(ref.profile_sha256) == 64 and len(ref.sample_sha256) == 64


def test_a_replaced_baseline_object_is_ignored_and_drift_is_still_detected(reg, stack):
    (event,) = _scored_events(stack, [frame(400, seed=5, shift=1.0)])
    # the poison: the drifted batch's own profile as the baseline (drift share would be 0.0)
    poison = (
        _s3()
        .get_object(Bucket=stack.res.data_bucket, Key=event["detail"]["profile_uri"].split("/", 3)[3])["Body"]
        .read()
    )
    _s3().put_object(Bucket=stack.res.models_bucket, Key=stack.card.baseline.profile_key, Body=poison)
    out = monitor.handler(event, Ctx(function_name="monitor"))
    assert out["status"] == "evaluated" and out["dataset_drift"] is True and out["drift_share"] > 0.5


def test_a_baseline_failing_its_pins_is_an_integrity_failure_with_a_metric(reg, stack, capsys):
    (event,) = _scored_events(stack, [frame(400, seed=5, shift=1.0)])
    poison = (
        _s3()
        .get_object(Bucket=stack.res.data_bucket, Key=event["detail"]["profile_uri"].split("/", 3)[3])["Body"]
        .read()
    )
    ref = stack.card.baseline
    bucket = stack.res.models_bucket
    _s3().delete_object(Bucket=bucket, Key=ref.profile_key, VersionId=ref.profile_version_id)
    _s3().put_object(Bucket=bucket, Key=ref.profile_key, Body=poison)
    capsys.readouterr()
    out = monitor.handler(event, Ctx(function_name="monitor"))
    assert out["status"] == "baseline_integrity"
    assert "baseline profile" in out["message"] and ref.profile_key in out["message"]
    assert out["drift_share"] is None  # never a reassuring 0.0
    blobs = [b for b in emf_blobs(capsys.readouterr().out) if "BaselineIntegrityFailures" in b]
    assert blobs and blobs[0]["Model"] == MODEL and blobs[0]["BaselineIntegrityFailures"] == [1.0]
    assert [e for e in stack.events() if e["detail-type"] == "Drift Detected"] == []


def test_a_corrupt_baseline_does_not_stop_scoring(reg, stack, capsys):
    ref = stack.card.baseline
    bucket = stack.res.models_bucket
    _s3().delete_object(Bucket=bucket, Key=ref.profile_key, VersionId=ref.profile_version_id)
    _s3().put_object(Bucket=bucket, Key=ref.profile_key, Body=b"{not json")
    key_ = f"incoming/{MODEL}/c/0.csv"
    capsys.readouterr()
    out = score.handler(stack.s3_event(key_, stack.put(key_, encode(frame(50, seed=3), "csv"))), Ctx())
    assert out["status"] == "scored" and out["rows_scored"] == 50
    assert any("BaselineIntegrityFailures" in b for b in emf_blobs(capsys.readouterr().out))


def test_a_card_without_baseline_hashes_is_read_unverified_with_a_warning(reg, stack, caplog):
    cand = _candidate(reg, stack.card)
    unpinned = stack.card.baseline.model_copy(
        update={
            "profile_sha256": None,
            "profile_version_id": None,
            "sample_sha256": None,
            "sample_version_id": None,
        }
    )
    old_style = cand.model_copy(update={"baseline": unpinned})
    _ddb().put_item(TableName=stack.res.registry_table, Item=marshal(card_item(old_style)))
    with caplog.at_level("WARNING"):
        profile = reg.read_baseline_profile(reg.get(MODEL, cand.version))
    assert profile["rows"] == 600
    assert "baseline read unverified" in caplog.text


def _scored_events(stack, frames) -> list[dict]:
    for i, df in enumerate(frames):
        k = f"incoming/{MODEL}/m/{i}.csv"
        assert score.handler(stack.s3_event(k, stack.put(k, encode(df, "csv"))), Ctx())["status"] == "scored"
    events = [e for e in stack.events(wait=0.2) if e["detail-type"] == "Batch Scored"]
    assert len(events) == len(frames)
    return events


def test_pointer_pins_the_champion_card(reg, stack):
    item = _ddb().get_item(
        TableName=stack.res.registry_table, Key=key(pointer_partition(MODEL), "#champion")
    )["Item"]
    assert json.loads(item["card"]["S"])["artifact"]["sha256"] == stack.card.artifact.sha256


def test_a_failed_announcement_gives_its_cooldown_back_and_keeps_its_own_error(reg, monkeypatch):
    claim = {"now": NOW, "minutes": 60}
    assert reg.claim_cooldown(MODEL, "drift", **claim)
    give_back = reg.giving_back_cooldown
    with pytest.raises(RuntimeError, match="publish failed"), give_back(MODEL, "drift", now=NOW):
        raise RuntimeError("publish failed")
    assert reg.claim_cooldown(MODEL, "drift", **claim)  # given back: the retry can announce
    with reg.giving_back_cooldown(MODEL, "drift", now=NOW):
        pass  # published: the cooldown stays held
    assert not reg.claim_cooldown(MODEL, "drift", **claim)

    def broken(*_a, **_k):
        raise ConnectionError("registry unreachable")

    # a give-back that fails too is logged; the publish error is what the caller sees
    monkeypatch.setattr(reg, "release_cooldown", broken)
    give_back = reg.giving_back_cooldown
    with pytest.raises(RuntimeError, match="publish failed"), give_back(MODEL, "drift", now=NOW):
        raise RuntimeError("publish failed")

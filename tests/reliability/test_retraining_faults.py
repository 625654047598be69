"""Retraining under failure: a failing train step, duplicate triggers, a lost promotion race.

The steps are driven through their Lambda handlers exactly as the state machine calls them
(``{"input": <state>, "execution_id": ...}``), with the Catch's ``$.error`` payload built the way
Step Functions builds it; the state machine itself is not run here (its Retry/Catch wiring is
asserted by the infra tests and run end to end by the local-cloud tests).
"""

from __future__ import annotations

import json
import threading

import pytest
from faults import install_boto_faults
from reliability_kit import (
    MODEL,
    NOW,
    SCHEMA,
    Ctx,
    csv_bytes,
    estimator,
    frame,
    make_stack,
    model_config,
    register_champion,
    registry,
)

from scorewatch.core.errors import (
    PromotionConflictError,
    RetrainingInProgressError,
    TrainingError,
    TransientError,
)


def _config(params: dict) -> dict:
    return model_config(
        target="churn",
        id_columns=["customer_id"],
        positive_class=1,
        retraining={
            "spec": {"estimator": "LogisticRegression", "params": params},
            "labeled_prefix": "labeled/churn/",
            "use_scored_with_labels": False,
            "holdout_fraction": 0.25,
            "metric": "roc_auc",
        },
    )


def _world(resources, monkeypatch, params: dict):
    st = make_stack(resources, monkeypatch, models=[_config(params)])
    st.card = register_champion(resources)
    df = frame(400, seed=7)
    df["churn"] = ((df["tenure"] < 20) | (df["plan"] == "basic")).astype(int)
    st.put("labeled/churn/train.csv", csv_bytes(df))
    return st


def _call(step: str, state: dict, execution_id: str) -> dict:
    from scorewatch.handlers import retrain

    return getattr(retrain, step)({"input": state, "execution_id": execution_id}, Ctx(function_name=step))


def _catch(state: dict, exc: Exception) -> dict:
    """What a Catch with ResultPath $.error hands to NotifyFailure."""
    cause = {"errorMessage": str(exc), "errorType": type(exc).__name__}
    return {**state, "error": {"Error": type(exc).__name__, "Cause": json.dumps(cause)}}


def _statuses(reg) -> dict[str, str]:
    return {c.version: c.status for c in reg.list_versions(MODEL)}


def test_failing_train_step_is_caught_notified_and_leaves_the_champion(resources, monkeypatch):
    st = _world(resources, monkeypatch, {"C": -1.0})  # scikit-learn refuses C <= 0 at fit time
    exec_id = "arn:aws:states:us-east-1:123456789012:execution:retraining:bad-train"
    assembled = _call("assemble", {"model_name": MODEL, "reason": "drift"}, exec_id)
    with pytest.raises(TrainingError) as info:
        _call("train", assembled, exec_id)
    failure = _call("notify_failure", _catch(assembled, info.value), exec_id)
    assert failure["lock_released"] is True and failure["error"] == "TrainingError"
    reg = registry(resources)
    assert reg.get(MODEL).version == st.card.version
    assert _statuses(reg) == {st.card.version: "champion"}  # no candidate was registered
    events = st.events()
    assert [e["detail-type"] for e in events] == ["Retraining Failed"]
    assert events[0]["detail"]["model"] == MODEL and events[0]["detail"]["execution_id"] == exec_id
    # the lock is free again: the next trigger runs
    assert _call("assemble", {"model_name": MODEL}, "next")["model_name"] == MODEL


def test_train_step_storage_fault_is_transient_for_retry_then_caught(resources, monkeypatch):
    st = _world(resources, monkeypatch, {"max_iter": 200})
    assembled = _call("assemble", {"model_name": MODEL}, "e1")
    faults = install_boto_faults(monkeypatch)
    faults.fail("PutObject", when=lambda p: p.get("Bucket") == resources.models_bucket)
    with pytest.raises(TransientError) as info:
        _call("train", assembled, "e1")  # Step Functions retries TransientError, then catches it
    faults.enabled = False
    _call("notify_failure", _catch(assembled, info.value), "e1")
    reg = registry(resources)
    assert reg.get(MODEL).version == st.card.version
    assert "champion" in _statuses(reg).values() and list(_statuses(reg).values()).count("champion") == 1
    assert [e["detail-type"] for e in st.events()] == ["Retraining Failed"]


def test_drift_detected_delivered_twice_runs_one_retraining(resources, monkeypatch):
    _world(resources, monkeypatch, {"max_iter": 200})
    trigger = {"detail-type": "Drift Detected", "source": "scorewatch", "detail": {"model": MODEL}}
    _call("assemble", trigger, "first-delivery")
    with pytest.raises(RetrainingInProgressError):  # the Catch routes this to Skipped
        _call("assemble", dict(trigger, id="second-delivery"), "second-delivery")


def test_promote_that_loses_the_race_leaves_exactly_one_champion(resources, monkeypatch):
    st = _world(resources, monkeypatch, {"max_iter": 200})
    assembled = _call("assemble", {"model_name": MODEL}, "slow-run")
    evaluated = _call("evaluate", _call("train", assembled, "slow-run"), "slow-run")
    # meanwhile someone else promotes another version (a manual promote, a run after lock expiry)
    reg = registry(resources)
    other = reg.register(MODEL, estimator(), task="binary", feature_schema=SCHEMA, now=NOW, classes=(0, 1))
    reg.promote(MODEL, other.version, now=NOW, promoted_by="human", expected_champion=st.card.version)
    with pytest.raises(PromotionConflictError):
        _call("promote", dict(evaluated, passed=True), "slow-run")
    statuses = _statuses(reg)
    assert list(statuses.values()).count("champion") == 1 and statuses[other.version] == "champion"
    assert reg.get(MODEL).version == other.version
    assert "Model Promoted" not in [e["detail-type"] for e in st.events()]


def test_concurrent_promotions_from_the_same_champion_have_one_winner(resources, monkeypatch):
    st = _world(resources, monkeypatch, {"max_iter": 200})
    reg = registry(resources)
    candidates = [
        reg.register(MODEL, estimator(), task="binary", feature_schema=SCHEMA, now=NOW, classes=(0, 1))
        for _ in range(4)
    ]
    barrier = threading.Barrier(len(candidates))
    results: dict[str, str] = {}

    def promote(version: str) -> None:
        barrier.wait()
        try:
            registry(resources).promote(
                MODEL, version, now=NOW, promoted_by=version, expected_champion=st.card.version
            )
            results[version] = "won"
        except PromotionConflictError:
            results[version] = "lost"

    threads = [threading.Thread(target=promote, args=(c.version,)) for c in candidates]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [v for v, r in results.items() if r == "won"]
    assert len(winners) == 1 and len(results) == len(candidates)
    statuses = _statuses(reg)
    assert [v for v, s in statuses.items() if s == "champion"] == winners
    assert reg.get(MODEL).version == winners[0]

"""Human approval of a retraining candidate on the emulator: the RequestApproval step, the
``scorewatch models approve`` command, and Promote/Reject after an approval, denial or timeout."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError

from scorewatch.cli import main
from scorewatch.core.errors import ApprovalNotPendingError
from scorewatch.io import registry as registry_mod
from scorewatch.lifecycle.retraining import (
    IN_PROCESS_APPROVAL_REASON,
    RejectResult,
    RetrainRequest,
    decide_approval,
)
from tests.integration.handler_kit import Ctx
from tests.integration.test_lifecycle import MODEL, World, _config

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:sw-retraining:run-1"
TRIGGER = {"detail-type": "Drift Detected", "source": "scorewatch", "detail": {"model": MODEL}}


@pytest.fixture
def waiting(resources, monkeypatch):
    """A passing candidate whose RequestApproval step ran (as Step Functions calls it)."""
    from scorewatch.handlers import retrain

    registry_mod.clear_cache()
    # handlers read the wall clock: the scored batches must fall inside the window before it
    world = World(
        resources,
        monkeypatch,
        config=_config(approval_required=True, approval_timeout_hours=1),
        now=datetime.now(UTC),
    )
    world.champion()
    world.score_batches(concept="new", batches=3, rows=300)
    world.drop_labels("all.csv", world.all_labels())
    state = retrain.assemble({"input": TRIGGER, "execution_id": EXECUTION}, Ctx())
    state = retrain.train({"input": state, "execution_id": EXECUTION}, Ctx())
    state = retrain.evaluate({"input": state, "execution_id": EXECUTION}, Ctx())
    assert state["passed"] is True
    assert state["approval_required"] is True and state["approval_timeout_seconds"] == 3600
    out = retrain.request_approval(
        {"input": state, "execution_id": EXECUTION, "task_token": "token-1"}, Ctx()
    )
    assert out["version"] == state["candidate_version"]
    return world, state


def _approve(world: World, *argv: str) -> int:
    return main(
        [
            "models",
            "approve",
            MODEL,
            "--registry-table",
            world.res.registry_table,
            "--models-bucket",
            world.res.models_bucket,
            *argv,
        ]
    )


def test_request_approval_stores_the_token_and_announces_the_candidate(waiting) -> None:
    world, state = waiting
    request = world.registry.get_approval_request(MODEL)
    assert request is not None
    assert (request.task_token, request.version, request.execution_id) == (
        "token-1",
        state["candidate_version"],
        EXECUTION,
    )
    assert abs((request.expires_at - request.requested_at).total_seconds() - 3600) < 1
    asked = [e["detail"] for e in world.stack.events(wait=1.0) if e["detail-type"] == "Approval Requested"]
    assert len(asked) == 1 and asked[0]["version"] == state["candidate_version"]
    assert asked[0]["execution_id"] == EXECUTION and asked[0]["metric"] == "roc_auc"


def test_approved_candidate_is_promoted_with_the_approver_recorded(waiting, capsys) -> None:
    from scorewatch.handlers import retrain

    world, state = waiting
    assert _approve(world, "--by", "alice") == 0
    assert "approved churn@" in capsys.readouterr().out
    # Step Functions resumes with SendTaskSuccess's output at $.approval
    state = {**state, "approval": {"approved_by": "alice"}}
    result = retrain.promote({"input": state, "execution_id": EXECUTION}, Ctx())
    card = world.registry.get(MODEL, "champion")
    assert card.version == result["version"] == state["candidate_version"]
    assert card.approvals == ("alice",) and card.promoted_by == EXECUTION
    assert world.registry.get_approval_request(MODEL) is None
    # a retried Promote (at-least-once Lambda invocation) records the approver once
    retrain.promote({"input": state, "execution_id": EXECUTION}, Ctx())
    assert world.registry.get(MODEL, "champion").approvals == ("alice",)
    assert world.registry.acquire_lock(MODEL, "retraining", owner="next", now=world.clock, ttl_seconds=60)


def test_denied_candidate_is_rejected_with_the_reason(waiting) -> None:
    from scorewatch.handlers import retrain

    world, state = waiting
    champion = world.registry.get(MODEL).version
    assert _approve(world, "--deny", "--reason", "not before the audit", "--by", "bob") == 0
    # Step Functions' Catch on ApprovalDenied puts {"Error", "Cause"} at $.approval_error
    error = {"Error": "ApprovalDenied", "Cause": "not before the audit (by bob)"}
    out = retrain.reject({"input": {**state, "approval_error": error}, "execution_id": EXECUTION}, Ctx())
    assert out["reasons"][-1] == "approval denied: not before the audit (by bob)"
    rejected = world.registry.get(MODEL, state["candidate_version"])
    assert rejected.status == "rejected" and rejected.comparison.reasons[-1] == out["reasons"][-1]
    assert world.registry.get(MODEL).version == champion
    assert world.registry.get_approval_request(MODEL) is None
    events = [e["detail"] for e in world.stack.events(wait=1.0) if e["detail-type"] == "Model Rejected"]
    assert events[-1]["reasons"][-1] == out["reasons"][-1]


def test_no_decision_before_the_timeout_rejects_the_candidate(waiting) -> None:
    from scorewatch.handlers import retrain

    world, state = waiting
    error = {"Error": "States.Timeout", "Cause": None}
    out = retrain.reject({"input": {**state, "approval_error": error}, "execution_id": EXECUTION}, Ctx())
    assert out["reasons"][-1] == "approval timed out after 1 h"
    assert world.registry.get_approval_request(MODEL) is None


def test_approve_without_a_pending_request_fails_naming_the_model(resources, capsys) -> None:
    registry_mod.clear_cache()
    argv = ["--registry-table", resources.registry_table, "--models-bucket", resources.models_bucket]
    assert main(["models", "approve", MODEL, *argv]) != 0
    assert "no retraining run of 'churn' is waiting for approval" in capsys.readouterr().err


def test_an_expired_task_token_is_reported_as_no_longer_pending(waiting) -> None:
    world, _ = waiting

    class Expired:
        def send_task_success(self, **kw):
            raise ClientError({"Error": {"Code": "TaskTimedOut", "Message": "gone"}}, "SendTaskSuccess")

    with pytest.raises(ApprovalNotPendingError, match="no longer pending: TaskTimedOut"):
        decide_approval(world.registry, Expired(), MODEL, approve=True, by="alice")


def test_in_process_run_never_promotes_without_the_required_approval(resources, monkeypatch) -> None:
    registry_mod.clear_cache()
    world = World(resources, monkeypatch, config=_config(approval_required=True))
    v1 = world.champion()
    world.score_batches(concept="new", batches=3, rows=300)
    world.drop_labels("all.csv", world.all_labels())
    result = world.steps.run(RetrainRequest(model_name=MODEL), execution_id="in-process")
    assert isinstance(result, RejectResult) and result.reasons[-1] == IN_PROCESS_APPROVAL_REASON
    assert world.registry.get(MODEL).version == v1

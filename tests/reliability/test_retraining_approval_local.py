"""The real retraining state machine on the local cloud, with human approval required.

The CDK app is synthesized with a model whose config sets ``retraining.approval_required`` and a
gate every challenger passes; the template runs on the embedded emulator (whose Step Functions
interpreter supports ``lambda:invoke.waitForTaskToken`` and SendTaskSuccess/SendTaskFailure).
Each run stops at RequestApproval until ``scorewatch models approve`` resumes it: approval ->
Promote (the approver recorded on the card), denial -> Reject (the reason recorded).
"""

from __future__ import annotations

import json
import time

import pytest
from reliability_kit import MODEL, local_cloud, model_config

pytestmark = pytest.mark.xdist_group("local-cloud")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    cfg = model_config(
        target="churn",
        id_columns=["customer_id"],
        positive_class=1,
        retraining={
            "spec": {"estimator": "LogisticRegression", "params": {"max_iter": 200}},
            "labeled_prefix": f"labeled/{MODEL}/",
            "use_scored_with_labels": False,
            "min_improvement": -1.0,  # every challenger passes the gate: approval decides
            "approval_required": True,
            "approval_timeout_hours": 1,
        },
    )
    with local_cloud(tmp_path_factory, [cfg]) as c:
        yield c


@pytest.fixture(scope="module")
def res(cloud):
    from reliability_kit import cloud_resources, register_champion, seed_labeled

    res = cloud_resources(cloud)
    register_champion(res)
    seed_labeled(cloud, res, MODEL)
    return res


def _run_until_waiting(cloud, res, name: str):
    """Start a run and wait until RequestApproval has stored its task token."""
    from reliability_kit import registry

    arn = cloud.client("stepfunctions").start_execution(
        stateMachineArn=cloud.state_machine_arn("retraining"),
        name=name,  # the test finds its run by name
        input=json.dumps({"model_name": MODEL, "reason": "manual"}),
    )["executionArn"]
    reg = registry(res)
    deadline = time.monotonic() + 300
    while (request := reg.get_approval_request(MODEL)) is None:
        assert time.monotonic() < deadline, "the run never asked for approval"
        time.sleep(0.5)
    assert request.execution_id == arn
    # The token is stored before Approval Requested is published: wait for the event too.
    while not [e for e in cloud.events_of("Approval Requested") if e["detail"]["execution_id"] == arn]:
        assert time.monotonic() < deadline, "the run never published Approval Requested"
        time.sleep(0.2)
    return reg, request


def _cli(res, *argv: str) -> int:
    from scorewatch.cli import main

    return main(
        [
            "models",
            "approve",
            MODEL,
            "--registry-table",
            res.registry_table,
            "--models-bucket",
            res.models_bucket,
            *argv,
        ]
    )


def _execution(cloud, arn):
    (execution,) = [e for e in cloud.executions() if e.arn == arn]
    return execution


def test_approved_candidate_is_promoted_with_the_approver_on_its_card(cloud, res):
    reg, request = _run_until_waiting(cloud, res, "approve")
    asked = [e["detail"] for e in cloud.events_of("Approval Requested")]
    (asked,) = [d for d in asked if d["execution_id"] == request.execution_id]
    assert asked["version"] == request.version

    assert _cli(res, "--by", "alice") == 0
    cloud.drain(timeout=300)

    execution = _execution(cloud, request.execution_id)
    assert execution.status == "SUCCEEDED", execution
    assert execution.states[-4:] == ("NeedsApproval", "RequestApproval", "Promote", "Promoted")
    champion = reg.get(MODEL)
    assert champion.version == request.version and champion.approvals == ("alice",)
    assert reg.get_approval_request(MODEL) is None
    assert _cli(res, "--by", "alice") != 0  # nothing waits any more


def test_denied_candidate_is_rejected_with_the_denial_as_a_reason(cloud, res):
    reg, request = _run_until_waiting(cloud, res, "deny")
    champion_before = reg.get(MODEL).version

    assert _cli(res, "--deny", "--reason", "not before the audit", "--by", "bob") == 0
    cloud.drain(timeout=300)

    execution = _execution(cloud, request.execution_id)
    assert execution.status == "SUCCEEDED", execution
    assert execution.states[-4:] == ("NeedsApproval", "RequestApproval", "Reject", "Rejected")
    assert reg.get(MODEL).version == champion_before
    assert reg.get(MODEL, request.version).status == "rejected"
    (rejected,) = [e for e in cloud.events_of("Model Rejected") if e["detail"]["version"] == request.version]
    assert any(r.startswith("approval denied") for r in rejected["detail"]["reasons"])
    assert reg.get_approval_request(MODEL) is None
    # Reject released the lock: the next run may take it
    assert reg.acquire_lock(MODEL, "retraining", owner="next", now=request.requested_at, ttl_seconds=60)

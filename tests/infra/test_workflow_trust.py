"""Issue 17, part B: what the synthesized workflows, roles and functions may leak or write.

Each test reads the template the real app synthesizes (tests/infra/conftest.py).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from infra_helpers import Synthesized, statements_of_role
from policy_eval import Call, is_allowed, s3_object

from scorewatch.core import layout
from scorewatch_infra.nag import wildcard_findings

pytestmark = pytest.mark.xdist_group("infra")

TASK_TOKEN = "$$.Task.Token"


def _definition_text(synth: Synthesized, logical_id: str) -> str:
    return json.dumps(synth.props(logical_id)["DefinitionString"])


def test_no_workflow_that_hands_out_a_task_token_logs_execution_data(synth):
    machines = synth.of_type("AWS::StepFunctions::StateMachine")
    with_token = [lid for lid in machines if TASK_TOKEN in _definition_text(synth, lid)]
    # The retraining workflow's RequestApproval is the one task-token step.
    assert with_token == [synth.logical_id(synth.stack.retraining.state_machine)]
    for lid in with_token:
        logging = synth.props(lid)["LoggingConfiguration"]
        # Level OFF or no execution data: a transition is logged, its parameters (the token) are not.
        assert logging["Level"] == "OFF" or logging.get("IncludeExecutionData") is False, logging


def test_the_approval_notification_carries_no_task_token():
    """Approval Requested goes to the ops topic (email): it names the execution, not the token."""
    from scorewatch.io.events import DETAIL_MODELS

    for detail_type, model in DETAIL_MODELS.items():
        assert not any("token" in name for name in model.model_fields), detail_type


def _role_statements(synth: Synthesized, construct: Any) -> list[dict[str, Any]]:
    return statements_of_role(synth, synth.logical_id(construct.role))


def _data(synth: Synthesized) -> str:
    return synth.logical_id(synth.stack.storage.data)


def _asl(synth: Synthesized, machine: Any) -> dict[str, Any]:
    """A state machine's ASL, CloudFormation references replaced by a placeholder."""
    body = synth.props(synth.logical_id(machine))["DefinitionString"]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    return json.loads("".join(p if isinstance(p, str) else "REF" for p in parts))


def _result_prefix(synth: Synthesized, machine: Any) -> str:
    """The Distributed Map's ResultWriter prefix, read from the synthesized definition."""
    states = _states(_asl(synth, machine))
    (prefix,) = {s["ResultWriter"]["Parameters"]["Prefix"] for s in states if "ResultWriter" in s}
    return prefix


def _states(asl: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for state in asl["States"].values():
        out.append(state)
        for nested in ("ItemProcessor", "Iterator"):
            if nested in state:
                out += _states(state[nested])
    return out


@pytest.mark.parametrize("workflow", ["large_file", "backfill"])
def test_map_result_writers_write_only_their_results_prefix(synth, workflow):
    machine = getattr(synth.stack, workflow).state_machine
    statements = _role_statements(synth, machine)
    prefix = _result_prefix(synth, machine)
    data = _data(synth)
    # What the Map Run writes: <prefix><map run id>/manifest.json and SUCCEEDED_0.json
    for key in ("manifest.json", "SUCCEEDED_0.json"):
        call = Call("s3:PutObject", s3_object(data, f"{prefix}3f0c2a9e-map-run/{key}"))
        assert is_allowed(statements, call), call
    denied = (
        "incoming/churn/2026-03-01.csv",
        layout.scored_key("churn", "2026-03-01", "b1"),
        layout.rejected_key("churn", "2026-03-01", "b1", report=True),
        layout.manifest_key("churn", "b1"),
        "results.json",
    )
    for key in denied:
        call = Call("s3:PutObject", s3_object(data, key))
        assert not is_allowed(statements, call), call


def test_score_deletes_only_its_own_scored_output(synth):
    statements = statements_of_role(synth, synth.logical_id(synth.stack.scoring.score.function.role))
    data = _data(synth)
    # scorewatch.scoring.batch._discard: the output of an input replaced while it was scored.
    for key in (
        layout.scored_key("churn", "2026-03-01", "b1"),
        layout.scored_key("churn", "2026-03-01", "b1", part=3),
    ):
        assert is_allowed(statements, Call("s3:DeleteObject", s3_object(data, key))), key
    for key in (
        "incoming/churn/2026-03-01.csv",
        layout.rejected_key("churn", "2026-03-01", "b1", report=True),
        layout.profile_key("churn", "2026-03-01", "b1"),
        layout.manifest_key("churn", "b1"),
    ):
        assert not is_allowed(statements, Call("s3:DeleteObject", s3_object(data, key))), key


def test_no_role_writes_the_whole_data_bucket(synth):
    """A ``<data>/*`` resource appears only in read statements (so cdk-nag's reason is true)."""
    data = _data(synth)
    wide = {f"Resource::<{data}.Arn>/*", f"Resource::arn:<AWS::Partition>:s3:::<{data}>/*"}
    checked = 0
    for lid, policy in synth.of_type("AWS::IAM::Policy").items():
        for finding, actions in wildcard_findings(policy["Properties"]["PolicyDocument"]):
            if finding in wide:
                checked += 1
                assert all(a.startswith(("s3:Get", "s3:List")) for a in actions), (lid, actions)
    assert checked  # the read grants are bucket-wide: the check saw them
    reasons = [r for _, f, r in synth.stack.nag_acknowledgements if f in wide]
    assert reasons and all(r.startswith("Reads of the data bucket") for r in reasons)

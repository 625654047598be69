"""Issue 17, part B: what the synthesized workflows, roles and functions may leak or write.

Each test reads the template the real app synthesizes (tests/infra/conftest.py).
"""

from __future__ import annotations

import json

import pytest
from infra_helpers import Synthesized

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

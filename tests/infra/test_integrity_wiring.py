"""Issue 15 wiring in the synthesized template: Batch Scored also reaches the labels function."""

from __future__ import annotations

import pytest
from infra_helpers import fn_id

from scorewatch.core.contract import EVENT_SOURCE, DetailType
from tests.infra.test_wiring import rule_by_name, target_arn_ref

pytestmark = pytest.mark.xdist_group("infra")


def test_batch_scored_on_the_bus_also_triggers_labels(synth):
    rule = rule_by_name(synth, "scorewatch-batch-scored-to-labels")
    assert rule["EventBusName"] == {"Ref": synth.logical_id(synth.stack.routing.bus)}
    assert rule["EventPattern"] == {"source": [EVENT_SOURCE], "detail-type": [DetailType.BATCH_SCORED]}
    assert [target_arn_ref(t) for t in rule["Targets"]] == [fn_id(synth, "labels")]

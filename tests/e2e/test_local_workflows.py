"""Step Functions features the deployed workflows use, on the emulator's interpreter."""

from __future__ import annotations

import json

import pytest
from local_template import distributed_map_template

from scorewatch_infra.local.cloud import LocalCloud
from scorewatch_infra.local.template import TemplateError

pytestmark = pytest.mark.xdist_group("local-cloud")


@pytest.mark.slow
def test_distributed_map_with_item_reader_and_result_writer_runs_on_the_emulator():
    with LocalCloud(distributed_map_template(), stack_name="dmap") as c:
        s3 = c.client("s3")
        s3.put_object(
            Bucket="dmap-data",
            Key="manifest.json",
            Body=json.dumps([{"value": i} for i in range(3)]).encode(),
        )
        c.start_execution(c.report.state_machines["Parts"], {"key": "manifest.json"})
        c.drain(timeout=120)
        (run,) = c.executions()
        assert run.status == "SUCCEEDED"
        assert (
            sorted(inv.seconds >= 0 and inv.error_type is None for inv in c.runtime.invocations) == [True] * 3
        )
        writer = run.output["r"]["ResultWriterDetails"]
        assert s3.head_object(Bucket=writer["Bucket"], Key=writer["Key"])


@pytest.mark.slow
def test_state_machine_the_interpreter_rejects_is_reported_and_never_faked():
    with LocalCloud(distributed_map_template(tolerated_failure_percentage=5), stack_name="dmap") as c:
        assert "ToleratedFailurePercentage" in c.report.unavailable["Parts"]
        with pytest.raises(TemplateError, match="Parts cannot run locally.*ToleratedFailurePercentage"):
            c.start_execution(c.report.deployed["Parts"].ref, {"key": "manifest.json"})

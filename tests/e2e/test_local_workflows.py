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


@pytest.mark.slow
def test_external_emulator_gets_events_through_tap_queues_and_refuses_executions():
    import logging

    from local_template import template
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        with LocalCloud(template(), stack_name="ext-test", endpoint_url=f"http://{host}:{port}") as c:
            assert c.emulator is not None and not c.emulator.embedded
            s3 = c.client("s3")
            data, out = c.report.deployed["DataBucket"].ref, c.report.deployed["OutBucket"].ref
            s3.put_object(Bucket=data, Key="incoming/x.csv", Body=b"a\n1\n")
            c.drain(timeout=120)
            received = s3.list_objects_v2(Bucket=out, Prefix="received/").get("Contents", [])
            assert len(received) == 1  # S3 -> default bus -> tap -> router -> in-process function
            assert c.events_of("Thing Recorded")  # the function's PutEvents came back through the tap
            assert any("need the embedded emulator" in e for e in c.router.errors)
            assert c.executions() == []
    finally:
        server.stop()


def test_the_emulator_adapter_refuses_a_moto_it_was_not_written_for() -> None:
    from importlib.metadata import version

    from scorewatch_infra.local.emulator import SUPPORTED_MOTO, require_supported_moto

    assert version("moto") == SUPPORTED_MOTO  # the pin in pyproject and the adapter agree
    require_supported_moto()
    with pytest.raises(RuntimeError, match=r"patches moto 5\.2\.5's internals; moto 5\.3\.0 is installed"):
        require_supported_moto("5.3.0")

"""Step Functions features the deployed workflows use, on the emulator's interpreter."""

from __future__ import annotations

import json

import pytest
from local_template import distributed_map_template

from scorewatch_infra.local.cloud import LocalCloud

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


def _run_map(tolerance: float | int, values: list[int]) -> dict:
    with LocalCloud(distributed_map_template(tolerated_failure_percentage=tolerance), stack_name="dmap") as c:
        assert c.report.unavailable == {}
        c.client("s3").put_object(
            Bucket="dmap-data", Key="manifest.json", Body=json.dumps([{"value": v} for v in values]).encode()
        )
        c.start_execution(c.report.state_machines["Parts"], {"key": "manifest.json"})
        c.drain(timeout=120)
        (run,) = c.executions()
        return {"status": run.status, "error": run.error}


@pytest.mark.slow
def test_tolerated_failure_percentage_is_enforced_by_the_interpreter():
    # CDK writes the tolerance as an integer, which moto's ASL grammar rejects; the local cloud
    # spells it 5.0 (the same JSON number) and the interpreter then applies it as Step Functions does.
    # LIMIT is 100 in the template: the item 500 fails, 1 item of 4 is 25%.
    assert _run_map(50, [1, 2, 3, 500])["status"] == "SUCCEEDED"
    failed = _run_map(5, [1, 2, 3, 500])
    assert failed["status"] == "FAILED", failed
    assert failed["error"].startswith("States.ExceedToleratedFailureThreshold: 1 of 4 items failed")


@pytest.mark.slow
def test_a_failed_item_fails_a_distributed_map_without_tolerance():
    # moto 5.2 counted the failed item and reported the map run succeeded; Step Functions fails it.
    with LocalCloud(distributed_map_template(), stack_name="dmap") as c:
        c.client("s3").put_object(
            Bucket="dmap-data", Key="manifest.json", Body=json.dumps([{"value": 1}, {"value": 500}]).encode()
        )
        c.start_execution(c.report.state_machines["Parts"], {"key": "manifest.json"})
        c.drain(timeout=120)
        (run,) = c.executions()
    assert run.status == "FAILED" and "States.ExceedToleratedFailureThreshold" in (run.error or "")


@pytest.mark.parametrize(
    ("failed", "total", "count", "percentage", "fails"),
    [
        (0, 4, 0, 0.0, False),
        (1, 4, 0, 0.0, True),  # neither tolerance set: any failure
        (1, 4, 0, 50.0, False),  # 25% <= 50%
        (3, 4, 0, 50.0, True),  # 75% > 50%
        (2, 4, 2, 0.0, False),  # 2 <= 2 items
        (3, 4, 2, 0.0, True),
        (3, 4, 2, 90.0, True),  # both set: either exceeded
    ],
)
def test_tolerance_rule(failed, total, count, percentage, fails) -> None:
    from scorewatch_infra.local.emulator import exceeds_tolerance

    assert exceeds_tolerance(failed, total, count=count, percentage=percentage) is fails


def test_asl_for_interpreter_changes_only_integer_tolerances() -> None:
    from scorewatch_infra.local.resources import asl_for_interpreter

    nested = {"StartAt": "M", "States": {"M": {"Type": "Map", "ToleratedFailurePercentage": 5, "End": True}}}
    assert (
        json.loads(asl_for_interpreter(json.dumps(nested)))["States"]["M"]["ToleratedFailurePercentage"]
        == 5.0
    )
    assert '"ToleratedFailurePercentage": 5.0' in asl_for_interpreter(json.dumps(nested))
    untouched = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    assert asl_for_interpreter(untouched) == untouched
    assert asl_for_interpreter("not json") == "not json"


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

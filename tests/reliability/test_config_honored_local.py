"""Issue 15, configuration honoured, on the synthesized stack deployed on the local cloud:
``retraining.enabled: false`` starts no retraining (rule filter and Assemble), and the
RealizedPerformance alarm compares in the metric's direction (above the floor for rmse)."""

from __future__ import annotations

import json
import time

import pytest
from reliability_kit import MODEL, local_cloud, model_config

pytestmark = pytest.mark.xdist_group("local-cloud")

ENABLED = "churn-on"
REGRESSION = "demand"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    def binary(name: str, *, enabled: bool, floor: float | None = None) -> dict:
        return model_config(
            name,
            target="churn",
            id_columns=["customer_id"],
            positive_class=1,
            alarms={"performance_floor": floor},
            retraining={
                "enabled": enabled,
                "spec": {"estimator": "LogisticRegression", "params": {"max_iter": 200}},
                "labeled_prefix": f"labeled/{name}/",
                "use_scored_with_labels": False,
                "min_improvement": -1.0,
            },
        )

    models = [
        binary(MODEL, enabled=False, floor=0.7),
        binary(ENABLED, enabled=True),
        model_config(REGRESSION, task="regression", alarms={"performance_floor": 500.0}),
    ]
    with local_cloud(tmp_path_factory, models) as c:
        yield c


@pytest.fixture(scope="module")
def res(cloud):
    from reliability_kit import cloud_resources, register_champion, seed_labeled

    res = cloud_resources(cloud)
    for name in (MODEL, ENABLED):
        register_champion(res, name)
    seed_labeled(cloud, res, *(MODEL, ENABLED))
    return res


def _runs(cloud):
    return [e for e in cloud.executions() if "retraining" in e.state_machine.lower()]


def test_drift_on_a_model_with_retraining_disabled_starts_nothing(cloud, res):
    from scorewatch.core.contract import EVENT_SOURCE, DetailType

    entries = [
        {
            "Source": EVENT_SOURCE,
            "DetailType": DetailType.DRIFT_DETECTED,
            "Detail": json.dumps({"model": m, "version": "1", "scope": "batch", "batch_id": f"b-{m}"}),
            "EventBusName": res.event_bus,
        }
        for m in (MODEL, ENABLED)
    ]
    assert not cloud.client("events").put_events(Entries=entries)["FailedEntryCount"]
    cloud.drain(timeout=300)
    runs = _runs(cloud)
    assert [r.input["detail"]["model"] for r in runs] == [ENABLED], runs
    assert runs[0].status == "SUCCEEDED" and runs[0].states[-1] == "Promoted"
    assert not cloud.router.errors


def test_a_manual_start_for_a_disabled_model_is_skipped_at_assemble(cloud, res):
    from reliability_kit import registry

    before = {r.arn for r in _runs(cloud)}
    champion = registry(res).get(MODEL)
    cloud.start_execution(cloud.state_machine_arn("retraining"), {"model_name": MODEL, "reason": "manual"})
    cloud.drain(timeout=300)
    (run,) = [r for r in _runs(cloud) if r.arn not in before]
    assert run.status == "SUCCEEDED" and run.states == ("Assemble", "Skipped"), run
    assert [c.status for c in registry(res).list_versions(MODEL)] == ["champion"]
    assert registry(res).get(MODEL).version == champion.version
    assert cloud.events_of("Retraining Failed") == []


def _alarm(cloud, model: str):
    (hit,) = [
        (n, p)
        for n, p in cloud.report.alarms.items()
        if p.get("MetricName") == "RealizedPerformance"
        and {"Name": "Model", "Value": model} in p.get("Dimensions", [])
    ]
    return hit


def test_realized_performance_alarm_direction_follows_the_metric(cloud, res):
    from scorewatch_infra.local.alarms import Datapoint

    _, rmse = _alarm(cloud, REGRESSION)
    _, auc = _alarm(cloud, MODEL)
    assert (rmse["ComparisonOperator"], rmse["Statistic"]) == ("GreaterThanThreshold", "Maximum")
    assert (auc["ComparisonOperator"], auc["Statistic"]) == ("LessThanThreshold", "Minimum")

    def state(model: str, value: float, at: float) -> str:
        cloud.metrics.add(Datapoint("Scorewatch", "RealizedPerformance", (("Model", model),), value, at))
        name, _ = _alarm(cloud, model)
        (st,) = [s for s in cloud.alarm_states(now=at + 1) if s.name == name]
        return st.state

    now = time.time()
    assert state(REGRESSION, 123.0, now) == "OK"  # rmse well under its ceiling of 500
    assert state(REGRESSION, 900.0, now + 3600) == "ALARM"
    assert state(MODEL, 0.9, now) == "OK"  # auc above its floor of 0.7
    assert state(MODEL, 0.5, now + 3600) == "ALARM"

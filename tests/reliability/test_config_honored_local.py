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


def test_drift_on_a_model_with_retraining_disabled_trains_nothing(cloud, res):
    from reliability_kit import registry

    from scorewatch.core.contract import EVENT_SOURCE, DetailType

    before = {r.arn for r in _runs(cloud)}
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
    # The Drift Detected rule does not enumerate models (the stack does not grow with the fleet):
    # the disabled model's execution reads its stored config and stops at Assemble.
    runs = {r.input["detail"]["model"]: r for r in _runs(cloud) if r.arn not in before}
    assert sorted(runs) == sorted([MODEL, ENABLED]), runs
    assert runs[MODEL].status == "SUCCEEDED" and runs[MODEL].states == ("Assemble", "Skipped")
    assert [c.status for c in registry(res).list_versions(MODEL)] == ["champion"]
    assert runs[ENABLED].status == "SUCCEEDED" and runs[ENABLED].states[-1] == "Promoted"
    assert cloud.events_of("Retraining Failed") == []
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


def test_realized_performance_alarm_direction_follows_the_metric(cloud, res):
    from scorewatch.handlers.labels import performance_breach
    from scorewatch_infra.local.alarms import Datapoint

    (name,) = [n for n in cloud.report.alarms if n.endswith("-realized-performance")]

    def state(model: str, metric: str, value: float, floor: float, at: float):
        # what the labels function publishes: the value against the model's own floor
        ratio = performance_breach(metric, value, floor)
        assert ratio is not None
        point = Datapoint("Scorewatch", "RealizedPerformanceBreach", (("Model", model),), ratio, at)
        cloud.metrics.add(point)
        (st,) = [s for s in cloud.alarm_states(now=at + 1) if s.name == name]
        return st

    now = time.time()
    assert state(REGRESSION, "rmse", 123.0, 500.0, now).breaching == ()  # rmse well under its ceiling
    hit = state(REGRESSION, "rmse", 900.0, 500.0, now + 3600)
    assert hit.state == "ALARM" and hit.breaching == (REGRESSION,)
    later = now + 7200
    assert state(MODEL, "roc_auc", 0.9, 0.7, later).breaching == ()  # auc above its floor
    hit = state(MODEL, "roc_auc", 0.5, 0.7, later + 3600)
    assert hit.state == "ALARM" and MODEL in hit.breaching

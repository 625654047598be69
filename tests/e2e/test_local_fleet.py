"""The synthesized stack on the local cloud runs a model's schedules and alarms without a deploy.

The template holds no schedule and no per-model alarm: `configure` (here through the demo's
seeding, which is `configure --all`) creates the model's EventBridge Scheduler schedules in the
deployment's group; the local cloud fires them like AWS would (the function gets the schedule's
Input), a retune changes what fires, `retire` stops it, and the fleet alarms see the model as a
contributor of its breach metrics.
"""

from __future__ import annotations

import pytest

from scorewatch_infra.local.cloud import LocalCloud
from scorewatch_infra.local.demo import DEFAULT_CONFIG, MODEL, Scenario
from scorewatch_infra.local.synth import synth

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("local-cloud")]

ROWS = 600


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    stacks, _ = synth(context={"scorewatch:config": str(DEFAULT_CONFIG)})
    stack_name, template = next(iter(stacks.items()))
    with LocalCloud(template, stack_name=stack_name) as cloud:
        scenario = Scenario(
            cloud, output=tmp_path_factory.mktemp("fleet"), seed=5, rows=ROWS, printer=lambda _: None
        )
        scenario.bootstrap()  # seeds the store and the schedules from the models file; a champion
        scenario.drop_stable()
        yield cloud, scenario


def _scheduler(cloud):
    from scorewatch_infra.local.seeding import scheduler_of

    scheduler = scheduler_of(cloud)
    assert scheduler is not None, "the template outputs the schedule wiring"
    return scheduler


def _store(cloud):
    from scorewatch.core.contract import Env
    from scorewatch.io.registry.configs import ConfigStore

    return ConfigStore(cloud.environment_value(Env.REGISTRY_TABLE), client=cloud.client("dynamodb"))


def _fire(cloud) -> tuple[list[str], list]:
    before = len(cloud.runtime.invocations)
    fired = cloud.tick()
    cloud.drain(timeout=300)
    return fired, [i for i in cloud.runtime.invocations[before:] if i.source.startswith("schedule:")]


def test_configure_created_the_models_schedule_in_the_group_and_it_fires(fleet):
    cloud, _ = fleet
    group = cloud.report.outputs["ScheduleGroup"]
    names = {r.name: r for r in cloud.scheduler_schedules()}
    # examples/models.json: churn is monitored daily and has no scoring schedule.
    assert set(names) == {f"{group}/{MODEL}-monitor"}
    assert names[f"{group}/{MODEL}-monitor"].schedule == "rate(1 day)"
    assert cloud.report.schedules == []  # nothing scheduled by the template itself
    fired, runs = _fire(cloud)
    assert f"{group}/{MODEL}-monitor" in fired
    (run,) = runs
    assert run.function == cloud.function("monitor").name and run.error_type is None, run.error_message
    assert cloud.router.errors == []
    # The window run wrote its report next to the batch ones.
    keys = [
        o["Key"]
        for o in cloud.client("s3")
        .list_objects_v2(Bucket=fleet[1].data_bucket, Prefix=f"monitoring/model={MODEL}/drift/")
        .get("Contents", [])
    ]
    assert any("window" in k for k in keys), keys


def test_the_fleet_alarms_see_the_model_as_a_contributor(fleet):
    cloud, _ = fleet
    alarms = {a.name: a for a in cloud.alarm_states()}
    drift = next(a for n, a in alarms.items() if n.endswith("-drift-share"))
    assert drift.contributors == 1 and drift.breaching == ()  # the stable batch: under its limit
    assert drift.state == "OK"
    rejected = next(a for n, a in alarms.items() if n.endswith("-rejected-row-rate"))
    assert rejected.contributors == 1 and rejected.state == "OK"
    assert not any(MODEL in name for name in alarms)  # no alarm is per model


def test_a_retune_changes_what_fires_and_retire_stops_it(fleet):
    from scorewatch.lifecycle.configure import configure, retire

    cloud, _ = fleet
    scheduler, store = _scheduler(cloud), _store(cloud)
    group = scheduler.targets.group
    current = store.current(MODEL)
    assert current is not None
    retuned = current.config.model_copy(
        update={"schedules": current.config.schedules.model_copy(update={"scoring": "rate(6 hours)"})}
    )
    applied = configure(store, retuned, actor="test", scheduler=scheduler)
    assert applied.outcome == "updated" and applied.stored.version == current.version + 1
    fired, runs = _fire(cloud)
    assert {f"{group}/{MODEL}-score", f"{group}/{MODEL}-monitor"} <= set(fired)
    score_runs = [r for r in runs if r.function == cloud.function("score").name]
    assert len(score_runs) == 1 and score_runs[0].error_type is None, score_runs[0].error_message

    retire(store, MODEL, actor="test", scheduler=scheduler)
    fired, runs = _fire(cloud)
    assert not any(name.startswith(f"{group}/{MODEL}-") for name in fired) and runs == []

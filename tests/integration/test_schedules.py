"""EventBridge Scheduler schedules applied by configure/retire, on moto's server; the handlers'
schedule payload."""

from __future__ import annotations

import json

import boto3
import pytest
from handler_kit import MODEL, Ctx, encode, frame, make_stack, register_champion

from scorewatch.core.config import ModelConfig
from scorewatch.core.errors import ConfigError, InputRejectedError
from scorewatch.handlers import score
from scorewatch.io.registry.configs import ConfigStore
from scorewatch.io.schedules import SchedulerTargets, schedule_name, sync_schedules
from scorewatch.lifecycle.configure import Scheduler, configure, configure_all, retire

ACCOUNT = "123456789012"


@pytest.fixture
def scheduler(aws) -> Scheduler:
    client = boto3.client("scheduler")
    group = f"sw-models-{id(client) % 100000}"
    client.create_schedule_group(Name=group)
    targets = SchedulerTargets(
        group=group,
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/sw-scheduler",
        score_arn=f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:sw-score",
        monitor_arn=f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:sw-monitor",
    )
    return Scheduler(client=client, targets=targets)


def _schedules(s: Scheduler) -> dict[str, dict]:
    names = [x["Name"] for x in s.client.list_schedules(GroupName=s.targets.group)["Schedules"]]
    return {n: s.client.get_schedule(Name=n, GroupName=s.targets.group) for n in names}


def test_configure_creates_updates_and_deletes_the_models_schedules(resources, scheduler):
    store = ConfigStore(resources.registry_table)
    cfg = ModelConfig(name="churn", schedules={"scoring": "cron(0 6 * * ? *)", "monitoring": "rate(1 day)"})
    applied = configure(store, cfg, actor="t", scheduler=scheduler)

    assert applied.outcome == "created" and applied.stored.version == 1
    found = _schedules(scheduler)
    assert set(found) == {"churn-score", "churn-monitor"}
    score_sched = found["churn-score"]
    assert score_sched["ScheduleExpression"] == "cron(0 6 * * ? *)"
    assert score_sched["Target"]["Arn"] == scheduler.targets.score_arn
    assert score_sched["Target"]["RoleArn"] == scheduler.targets.role_arn
    assert json.loads(score_sched["Target"]["Input"]) == {
        "scorewatch_schedule": {"kind": "score", "model": "churn"}
    }
    assert found["churn-monitor"]["Target"]["Arn"] == scheduler.targets.monitor_arn

    again = configure(store, cfg, actor="t", scheduler=scheduler)
    assert again.outcome == "unchanged" and {c.action for c in again.schedules} == {"unchanged"}

    # scoring schedule switched off, monitoring retimed
    retuned = cfg.model_copy(
        update={
            "schedules": cfg.schedules.model_copy(update={"scoring": None, "monitoring": "rate(6 hours)"})
        }
    )
    changed = configure(store, retuned, actor="t", scheduler=scheduler)
    assert changed.outcome == "updated" and changed.stored.version == 2
    assert {c.name: c.action for c in changed.schedules} == {
        "churn-score": "deleted",
        "churn-monitor": "updated",
    }
    assert {n: s["ScheduleExpression"] for n, s in _schedules(scheduler).items()} == {
        "churn-monitor": "rate(6 hours)"
    }


def test_configure_all_is_idempotent_and_retire_stops_the_schedules(resources, scheduler):
    from scorewatch.core.config import parse_config

    store = ConfigStore(resources.registry_table)
    doc = parse_config(
        {"models": [{"name": f"m{i}", "schedules": {"scoring": "rate(1 hour)"}} for i in range(3)]}
    )
    first = configure_all(store, doc, actor="seed", scheduler=scheduler)
    second = configure_all(store, doc, actor="seed", scheduler=scheduler)

    assert [a.outcome for a in first] == ["created"] * 3
    assert [a.outcome for a in second] == ["unchanged"] * 3
    assert len(_schedules(scheduler)) == 6
    assert [h.version for h in store.history("m1")] == [1]

    stored, changes = retire(store, "m1", actor="ops", scheduler=scheduler)
    assert stored.status == "retired" and {c.action for c in changes} == {"deleted"}
    assert sorted(_schedules(scheduler)) == ["m0-monitor", "m0-score", "m2-monitor", "m2-score"]
    assert [h.version for h in store.history("m1")] == [1]  # history kept


def test_a_missing_schedule_group_is_a_config_error(resources, scheduler):
    wrong = Scheduler(
        client=scheduler.client,
        targets=SchedulerTargets(**{**scheduler.targets.__dict__, "group": "no-such-group"}),
    )
    with pytest.raises(ConfigError):
        sync_schedules(wrong.client, wrong.targets, ModelConfig(name="x"))


def test_long_model_names_get_unique_schedule_names_within_the_limit():
    a, b = "a" * 60 + "xyz", "a" * 60 + "xyw"
    names = {schedule_name(a, "monitor"), schedule_name(b, "monitor"), schedule_name(a, "score")}
    assert len(names) == 3 and all(len(n) <= 64 for n in names)


def test_the_score_function_scores_the_prefix_a_schedule_payload_names(resources, monkeypatch):
    stack = make_stack(resources, monkeypatch, config={"models": [{"name": MODEL}]})
    register_champion(resources)
    for i in range(2):
        stack.put(f"incoming/{MODEL}/f{i}.csv", encode(frame(50, seed=i), "csv"))

    out = score.handler({"scorewatch_schedule": {"kind": "score", "model": MODEL}}, Ctx())

    assert out["count"] == 2 and {o["status"] for o in out["outcomes"]} == {"scored"}
    assert {o["config_version"] for o in out["outcomes"]} == {1}

    ConfigStore(resources.registry_table).retire(MODEL, actor="ops")
    out = score.handler({"scorewatch_schedule": {"kind": "score", "model": MODEL}}, Ctx())
    assert out["count"] == 0  # a retired model's schedule that fires late scores nothing


def test_the_monitor_function_evaluates_the_window_of_the_model_a_schedule_payload_names(
    resources, monkeypatch
):
    from scorewatch.handlers import monitor

    make_stack(resources, monkeypatch, config={"models": [{"name": MODEL}, {"name": "other"}]})
    register_champion(resources)
    out = monitor.handler(
        {"scorewatch_schedule": {"kind": "monitor", "model": MODEL}}, Ctx(function_name="monitor")
    )
    assert out["count"] == 1 and out["outcomes"][0]["model"] == MODEL  # not "other"
    with pytest.raises(InputRejectedError, match="kind 'score' is not 'monitor'"):
        monitor.handler(
            {"scorewatch_schedule": {"kind": "score", "model": MODEL}}, Ctx(function_name="monitor")
        )

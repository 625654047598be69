"""Many executions of one state machine on the local cloud: back to back and concurrently.

The emulator (moto 5.2's Step Functions interpreter) named every execution started without a name
``None``, so the second execution of any state machine failed with ``ExecutionAlreadyExists``:
one local cloud could retrain once. The real retraining state machine runs here four times, each
started by a ``Drift Detected`` event through the Drift Detected -> retraining rule as on AWS:
twice back to back for one model, then for two models at once (one PutEvents call, the issue's
scenario). Every run succeeds under its own name.
"""

from __future__ import annotations

import json

import pytest
from reliability_kit import MODEL, local_cloud, model_config

pytestmark = pytest.mark.xdist_group("local-cloud")

OTHER = "churn-b"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    def cfg(name: str) -> dict:
        return model_config(
            name,
            target="churn",
            id_columns=["customer_id"],
            positive_class=1,
            retraining={
                "spec": {"estimator": "LogisticRegression", "params": {"max_iter": 200}},
                "labeled_prefix": f"labeled/{name}/",
                "use_scored_with_labels": False,
                "min_improvement": -1.0,  # every challenger passes: each run ends Promoted
            },
        )

    with local_cloud(tmp_path_factory, [cfg(MODEL), cfg(OTHER)]) as c:
        yield c


@pytest.fixture(scope="module")
def res(cloud):
    from reliability_kit import cloud_resources, register_champion, seed_labeled

    res = cloud_resources(cloud)
    for name in (MODEL, OTHER):
        register_champion(res, name)
    seed_labeled(cloud, res, *(MODEL, OTHER))
    return res


def _drift_detected(cloud, res, *models: str) -> dict:
    from scorewatch.core.contract import EVENT_SOURCE, DetailType

    entries = [
        {
            "Source": EVENT_SOURCE,
            "DetailType": DetailType.DRIFT_DETECTED,
            "Detail": json.dumps({"model": m, "version": "1", "scope": "batch", "batch_id": f"batch-{m}"}),
            "EventBusName": res.event_bus,
        }
        for m in models
    ]
    return cloud.client("events").put_events(Entries=entries)


def _retraining_runs(cloud):
    return [e for e in cloud.executions() if "retraining" in e.state_machine.lower()]


def test_retraining_runs_back_to_back_and_concurrently_each_under_its_own_name(cloud, res):
    # back to back: the same model, the same trigger, the same state machine
    for _ in range(2):
        assert not _drift_detected(cloud, res, MODEL)["FailedEntryCount"]
        cloud.drain(timeout=300)
    first, second = _retraining_runs(cloud)
    assert (first.status, second.status) == ("SUCCEEDED", "SUCCEEDED"), (first, second)
    assert first.states[-1] == second.states[-1] == "Promoted"

    # concurrently: two models' Drift Detected in one PutEvents call
    assert not _drift_detected(cloud, res, MODEL, OTHER)["FailedEntryCount"]
    cloud.drain(timeout=300)
    runs = _retraining_runs(cloud)
    assert len(runs) == 4, runs
    assert [r.status for r in runs] == ["SUCCEEDED"] * 4, [(r.name, r.status, r.error) for r in runs]
    third, fourth = runs[2:]
    assert third.started < fourth.stopped and fourth.started < third.stopped  # they overlapped
    assert third.states[-1] == fourth.states[-1] == "Promoted"

    names = [r.name for r in runs]
    assert len(set(names)) == 4, names
    assert all(n != "None" and 1 <= len(n) <= 80 for n in names), names
    assert sum(n.startswith(f"{MODEL}-batch-{MODEL}-") for n in names) == 3, names
    assert sum(n.startswith(f"{OTHER}-batch-{OTHER}-") for n in names) == 1, names
    assert not cloud.router.errors


def test_unnamed_starts_get_unique_names_from_the_local_cloud_and_the_emulator(cloud, res):
    """``LocalCloud.start_execution`` names a run; a bare StartExecution gets a UUID, as on AWS."""
    import uuid

    before = {r.arn for r in _retraining_runs(cloud)}
    arn = cloud.state_machine_arn("retraining")
    payload = {"model_name": MODEL, "reason": "manual"}
    cloud.start_execution(arn, payload)
    raw = cloud.client("stepfunctions").start_execution(stateMachineArn=arn, input=json.dumps(payload))
    cloud.drain(timeout=300)
    new = [r for r in _retraining_runs(cloud) if r.arn not in before]
    assert len(new) == 2, new
    named = next(r for r in new if r.arn != raw["executionArn"])
    bare = next(r for r in new if r.arn == raw["executionArn"])
    assert named.name.startswith(f"{MODEL}-") and len(named.name) == len(MODEL) + 9
    assert str(uuid.UUID(bare.name)) == bare.name
    # same model at once: one holds the lock, the other is Skipped or runs after it; both succeed
    assert [r.status for r in new] == ["SUCCEEDED"] * 2, [(r.name, r.status, r.error) for r in new]

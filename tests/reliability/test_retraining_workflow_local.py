"""The real retraining state machine on the local cloud: a failing train step is caught and notified.

The CDK app is synthesized with a model whose training spec scikit-learn refuses at fit time; the
template is deployed on the embedded emulator (infra/scorewatch_infra/local) and its retraining
state machine runs with the handlers in-process. Expected: Assemble -> Train fails -> Catch ->
NotifyFailure (lock released, ``Retraining Failed`` published) -> the execution fails; the
champion is untouched.
"""

from __future__ import annotations

import pytest
from reliability_kit import MODEL, local_cloud, model_config

pytestmark = pytest.mark.xdist_group("local-cloud")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    cfg = model_config(
        target="churn",
        id_columns=["customer_id"],
        positive_class=1,
        retraining={
            "spec": {"estimator": "LogisticRegression", "params": {"C": -1.0}},
            "labeled_prefix": f"labeled/{MODEL}/",
            "use_scored_with_labels": False,
        },
    )
    with local_cloud(tmp_path_factory, [cfg]) as c:
        yield c


def test_failing_train_step_is_caught_notified_and_the_champion_is_unchanged(cloud):
    from reliability_kit import cloud_resources, register_champion, registry, seed_labeled

    res = cloud_resources(cloud)
    champion = register_champion(res)
    seed_labeled(cloud, res, MODEL)

    arn = cloud.state_machine_arn("retraining")
    cloud.start_execution(arn, {"model_name": MODEL, "reason": "manual"})
    cloud.drain(timeout=300)

    (execution,) = [e for e in cloud.executions() if "retraining" in e.state_machine.lower()]
    assert execution.status == "FAILED", execution
    assert execution.states == ("Assemble", "Train", "NotifyFailure", "Failed")
    failed = cloud.events_of("Retraining Failed")
    assert len(failed) == 1 and failed[0]["detail"]["error"] == "TrainingError"
    reg = registry(res)
    assert reg.get(MODEL).version == champion.version
    assert [c.status for c in reg.list_versions(MODEL)] == ["champion"]
    # NotifyFailure released the lock: the next run may take it
    assert reg.acquire_lock(MODEL, "retraining", owner="next", now=champion.created_at, ttl_seconds=60)

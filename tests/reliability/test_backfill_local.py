"""The backfill state machine, as synthesized, runs on the local cloud over a prefix.

The emulator's ASL parser rejected CDK's integer ``ToleratedFailurePercentage`` (the machine could
not be created locally), and its Distributed Map reported success whatever its items did. The
local cloud now spells the tolerance as the same JSON number the parser reads and fails a map run
above its tolerance, so the backfill runs here as on AWS: every object under the prefix is
scored exactly once (a replay adds no output), and a bad file ends as a rejection, not a failure.
"""

from __future__ import annotations

import pytest
from reliability_kit import MODEL, csv_bytes, frame, local_cloud, model_config

pytestmark = [pytest.mark.xdist_group("local-cloud"), pytest.mark.slow]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    cfg = model_config(MODEL, target="churn", id_columns=["customer_id"], positive_class=1)
    with local_cloud(tmp_path_factory, [cfg]) as c:
        yield c


def _scored_keys(cloud, bucket: str) -> list[str]:
    pages = cloud.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="scored/")
    return sorted(o["Key"] for p in pages for o in p.get("Contents", []) if o["Key"].endswith(".parquet"))


@pytest.fixture(scope="module")
def seeded(cloud):
    """A champion and, under one prefix, three good files and a broken one, scored on arrival."""
    from reliability_kit import cloud_resources, register_champion

    res = cloud_resources(cloud)
    register_champion(res, MODEL)
    s3 = cloud.client("s3")
    prefix = f"incoming/{MODEL}/2026-11/"
    for i in range(3):
        s3.put_object(Bucket=res.data_bucket, Key=f"{prefix}day-{i}.csv", Body=csv_bytes(frame(50, seed=i)))
    s3.put_object(Bucket=res.data_bucket, Key=f"{prefix}broken.csv", Body=b"\x00\x01 not a table\n")
    cloud.drain(timeout=300)
    return res, prefix


def test_backfill_runs_locally_and_scores_each_object_once(cloud, seeded) -> None:
    res, prefix = seeded
    (backfill,) = [arn for arn in cloud.report.state_machines.values() if arn.endswith("-backfill")]
    assert not any(k.lower().startswith("backfill") for k in cloud.report.unavailable)
    s3 = cloud.client("s3")
    on_arrival = _scored_keys(cloud, res.data_bucket)
    assert len(on_arrival) == 3

    name = cloud.start_execution(backfill, {"bucket": res.data_bucket, "prefix": prefix})
    cloud.drain(timeout=300)
    (run,) = [e for e in cloud.executions() if name in e.arn]
    assert run.status == "SUCCEEDED", run.error
    # Exactly once per (object version, model version): the replay over the prefix adds nothing.
    assert _scored_keys(cloud, res.data_bucket) == on_arrival
    rejected = s3.list_objects_v2(Bucket=res.data_bucket, Prefix="rejected/").get("KeyCount", 0)
    assert rejected >= 1


def test_a_backfill_pinning_a_new_champion_rescores_each_object_once(cloud, seeded) -> None:
    """Issue 15: without model_version the ledger answers (above); with it, its own result, once."""
    from reliability_kit import register_champion

    res, prefix = seeded
    (backfill,) = [arn for arn in cloud.report.state_machines.values() if arn.endswith("-backfill")]
    before = _scored_keys(cloud, res.data_bucket)
    assert len(before) == 3  # scored on arrival; a replayed backfill without model_version adds none
    new = register_champion(res, MODEL)
    for attempt in range(2):  # the second run is a replay: nothing more
        name = cloud.start_execution(
            backfill, {"bucket": res.data_bucket, "prefix": prefix, "model_version": new.version}
        )
        cloud.drain(timeout=300)
        (run,) = [e for e in cloud.executions() if name in e.arn]
        assert run.status == "SUCCEEDED", (attempt, run.error)
        assert len(_scored_keys(cloud, res.data_bucket)) == 6, attempt

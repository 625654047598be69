"""Issue 16 on the synthesized stack deployed on the local cloud: the models file seeds the config
store; a model absent from it is onboarded with `configure` alone (no synthesis) and its drops are
scored with its configuration. (Retuning within the TTL and retiring are tested through the
handlers with TTL 0: the local cloud's functions keep the template's 60 s default.)"""

from __future__ import annotations

import io

import pyarrow.parquet as pq
import pytest
from reliability_kit import csv_bytes, frame, local_cloud, model_config

pytestmark = pytest.mark.xdist_group("local-cloud")

SEEDED = "seeded"
ONBOARDED = "onboarded"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    with local_cloud(tmp_path_factory, [model_config(SEEDED)]) as c:
        yield c


def _drop(cloud, res, key: str, n: int = 60) -> None:
    cloud.client("s3").put_object(Bucket=res.data_bucket, Key=key, Body=csv_bytes(frame(n, seed=3)))
    cloud.drain(timeout=300)


def test_a_model_onboarded_by_configure_alone_is_scored_with_its_config(cloud):
    from reliability_kit import cloud_resources, register_champion

    from scorewatch.io.registry.configs import ConfigStore, parse_model_config
    from scorewatch.lifecycle.configure import configure
    from scorewatch_infra.local.seeding import scheduler_of

    res = cloud_resources(cloud)
    store = ConfigStore(res.registry_table, client=cloud.client("dynamodb"))
    seeded = store.current(SEEDED)
    assert seeded is not None and seeded.version == 1 and seeded.stored_by == "tests"
    assert store.current(ONBOARDED) is None  # not in the synthesized models file

    register_champion(res, ONBOARDED)
    cfg = parse_model_config(
        {
            "name": ONBOARDED,
            "id_columns": ["customer_id"],
            "decision": {"kind": "fixed", "threshold": 0.0, "positive_action": "call"},
        }
    )
    applied = configure(store, cfg, actor="onboarding", scheduler=scheduler_of(cloud))
    assert applied.outcome == "created" and applied.stored.version == 1

    _drop(cloud, res, f"incoming/{ONBOARDED}/day-1.csv")
    assert cloud.router.errors == []
    (scored,) = [e for e in cloud.events_of("Batch Scored") if e["detail"]["model"] == ONBOARDED]
    assert scored["detail"]["config_version"] == 1 and scored["detail"]["rows_scored"] == 60
    key = scored["detail"]["output_uri"].split("/", 3)[3]
    body = cloud.client("s3").get_object(Bucket=res.data_bucket, Key=key)["Body"].read()
    table = pq.read_table(io.BytesIO(body)).to_pandas()
    assert "customer_id" in table.columns and set(table["decision"]) == {"call"}

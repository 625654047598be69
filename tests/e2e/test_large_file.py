"""A file over the model's max_input_bytes goes through the large-file workflow on the emulator."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from scorewatch_infra.local.cloud import LocalCloud
from scorewatch_infra.local.demo import CONFIG_CONTEXT_KEY, DEFAULT_CONFIG, Scenario
from scorewatch_infra.local.synth import synth

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("local-cloud")]

ROWS = 3000


def test_oversized_input_is_split_scored_in_parts_by_distributed_map_and_finalized_once(tmp_path):
    cfg = json.loads(DEFAULT_CONFIG.read_text())
    cfg["models"][0]["max_input_bytes"] = 100_000  # the 3000-row CSV is ~400 KB
    path = tmp_path / "models.json"
    path.write_text(json.dumps(cfg))
    stacks, _ = synth(context={CONFIG_CONTEXT_KEY: str(path)})
    stack_name, template = next(iter(stacks.items()))
    with LocalCloud(template, stack_name=stack_name) as cloud:
        scenario = Scenario(
            cloud, output=tmp_path / "out", seed=5, rows=800, printer=lambda _: None, config_path=path
        )
        scenario.bootstrap()
        scenario.drop(
            "incoming/churn/big.csv",
            scenario.gen.generate(ROWS, scenario="stable", seed=5, with_labels=False),
        )
        cloud.drain(timeout=600)
        assert cloud.router.errors == []
        (run,) = [e for e in cloud.executions() if "largefile" in e.state_machine.lower()]
        assert run.status == "SUCCEEDED"
        assert run.states == ("Split", "ScoreParts", "Finalize")
        (scored,) = cloud.events_of("Batch Scored")  # one event for the whole file, from Finalize
        assert scored["detail"]["rows_scored"] == ROWS
        s3 = cloud.client("s3")
        keys = [
            o["Key"] for o in s3.list_objects_v2(Bucket=scenario.data_bucket, Prefix="scored/")["Contents"]
        ]
        assert len(keys) > 1 and all("-part-" in k for k in keys)
        total = 0
        for key in keys:
            local = tmp_path / key.replace("/", "_")
            local.write_bytes(s3.get_object(Bucket=scenario.data_bucket, Key=key)["Body"].read())
            total += pq.read_metadata(local).num_rows
        assert total == ROWS
        score_runs = [i for i in cloud.runtime.invocations if i.function.endswith("-score")]
        assert len(score_runs) == len(keys) + 1  # the S3-triggered call that handed over + one per part

"""Handler environment for tests: the env a deployed function gets, a queue on the bus, the context.

Shared by the integration and reliability kits so both configure handlers the same way.
"""

from __future__ import annotations

import copy
import io
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pyarrow.parquet as pq

from scorewatch.core.contract import EVENT_SOURCE, Env


def seed_configs(registry_table: str, config: dict[str, Any], *, actor: str = "tests") -> list[Any]:
    """Store every model of the models document ``config`` (what `models configure --all` does)."""
    from scorewatch.core.config import parse_config
    from scorewatch.io.registry.configs import ConfigStore

    store = ConfigStore(registry_table)
    return [store.put(m, actor=actor) for m in parse_config(config, source="test config").models]


def wire_handlers(resources: Any, monkeypatch: Any, config: dict[str, Any], extra_env=None) -> str:
    """Set every handler's env for ``resources`` and store ``config``'s models in its registry (read
    back on every call: TTL 0 unless ``extra_env`` sets one); return the URL of a queue capturing bus
    events."""
    from scorewatch.io import registry as registry_mod

    seed_configs(resources.registry_table, config)
    env = {
        Env.DATA_BUCKET: resources.data_bucket,
        Env.MODELS_BUCKET: resources.models_bucket,
        Env.REGISTRY_TABLE: resources.registry_table,
        Env.IDEMPOTENCY_TABLE: resources.idempotency_table,
        Env.EVENT_BUS: resources.event_bus,
        Env.CONFIG_TTL_SECONDS: "0",
        "POWERTOOLS_SERVICE_NAME": "scorewatch",
        **(extra_env or {}),
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"capture-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    ev = boto3.client("events")
    ev.put_rule(
        Name="capture", EventBusName=resources.event_bus, EventPattern=json.dumps({"source": [EVENT_SOURCE]})
    )
    ev.put_targets(Rule="capture", EventBusName=resources.event_bus, Targets=[{"Id": "q", "Arn": arn}])
    registry_mod.clear_cache()
    return url


EVENTS = Path(__file__).resolve().parent / "events"


def fixture(name: str) -> dict[str, Any]:
    """A real event shape from tests/events/."""
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


@dataclass
class Ctx:
    """The parts of the Lambda context Powertools reads."""

    function_name: str = "score"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:score"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@dataclass
class Stack:
    """The data bucket and the captured bus events of one test."""

    res: Any
    queue_url: str

    @property
    def s3(self) -> Any:
        return boto3.client("s3")

    def put(self, key: str, data: bytes) -> dict[str, Any]:
        return self.s3.put_object(Bucket=self.res.data_bucket, Key=key, Body=data)

    def keys(self, prefix: str, bucket: str | None = None) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket or self.res.data_bucket, Prefix=prefix
        )
        return sorted(o["Key"] for p in pages for o in p.get("Contents", []))

    def versions(self, key: str) -> list[dict[str, Any]]:
        out = self.s3.list_object_versions(Bucket=self.res.data_bucket, Prefix=key)
        return [v for v in out.get("Versions", []) if v["Key"] == key]

    def body(self, key: str, bucket: str | None = None) -> bytes:
        return self.s3.get_object(Bucket=bucket or self.res.data_bucket, Key=key)["Body"].read()

    def read_parquet(self, key: str) -> pd.DataFrame:
        return pq.read_table(io.BytesIO(self.body(key))).to_pandas()

    def read_json(self, key: str) -> dict[str, Any]:
        return json.loads(self.body(key))

    def s3_event(self, key: str, put: dict[str, Any], *, template: str = "s3_object_created.json") -> dict:
        ev = copy.deepcopy(fixture(template))
        ev["id"] = str(uuid.uuid4())
        ev["detail"]["bucket"]["name"] = self.res.data_bucket
        ev["detail"]["object"].update(
            {"key": key, "etag": put["ETag"].strip('"'), "version-id": put.get("VersionId")}
        )
        return ev

    def events(self, wait: float = 0.0) -> list[dict[str, Any]]:
        """Every event published on the bus so far (drains the capture queue)."""
        sqs = boto3.client("sqs")
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + wait
        while True:
            msgs = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            for m in msgs:
                out.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
            if not msgs and time.monotonic() >= deadline:
                return out

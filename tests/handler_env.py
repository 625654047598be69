"""Handler environment for tests: the env a deployed function gets, plus a queue on the bus.

Shared by the integration and reliability kits so both configure handlers the same way.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3

from scorewatch.contract import EVENT_SOURCE, Env


def wire_handlers(resources: Any, monkeypatch: Any, config: dict[str, Any], extra_env=None) -> str:
    """Set every handler's env for ``resources``; return the URL of a queue capturing bus events."""
    from scorewatch import registry as registry_mod

    env = {
        Env.DATA_BUCKET: resources.data_bucket,
        Env.MODELS_BUCKET: resources.models_bucket,
        Env.REGISTRY_TABLE: resources.registry_table,
        Env.IDEMPOTENCY_TABLE: resources.idempotency_table,
        Env.EVENT_BUS: resources.event_bus,
        Env.MODELS_CONFIG: json.dumps(config),
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

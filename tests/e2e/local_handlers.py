"""Small Lambda handlers the local-cloud tests deploy through a hand-written template.

They exercise the local cloud's plumbing (environment, events, Step Functions error names, EMF
metrics); scorewatch's real handlers are exercised by the demo scenario tests.
"""

from __future__ import annotations

import json
import os
import time

import boto3


class ValueTooLargeError(Exception):
    """Raised by ``increment`` so a state machine can Catch it by name."""


def record(event, context):
    """Store the received event in OUT_BUCKET and announce it on the custom bus."""
    key = f"received/{event.get('id', 'direct')}.json"
    boto3.client("s3").put_object(Bucket=os.environ["OUT_BUCKET"], Key=key, Body=json.dumps(event).encode())
    boto3.client("events").put_events(
        Entries=[
            {
                "Source": "local.test",
                "DetailType": "Thing Recorded",
                "Detail": json.dumps({"key": key, "mark": os.environ["MARK"]}),
                "EventBusName": os.environ["BUS"],
            }
        ]
    )
    print(
        json.dumps(
            {
                "_aws": {
                    "Timestamp": int(time.time() * 1000),
                    "CloudWatchMetrics": [
                        {
                            "Namespace": "LocalTest",
                            "Dimensions": [["Model"]],
                            "Metrics": [{"Name": "Recorded", "Unit": "Count"}],
                        }
                    ],
                },
                "Model": "churn",
                "Recorded": 7,
            }
        )
    )
    return {"key": key, "mark": os.environ["MARK"], "function": context.function_name}


def increment(event, context):
    """A workflow step: value + 1, failing by name above a limit."""
    value = event["input"]["value"] + 1
    if value > int(os.environ["LIMIT"]):
        raise ValueTooLargeError(f"value {value} exceeds {os.environ['LIMIT']}")
    return {"value": value, "execution_id": event["execution_id"]}

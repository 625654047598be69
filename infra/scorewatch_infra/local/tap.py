"""Event routing for an emulator the local cloud does not embed (``--endpoint-url``).

The in-process seams (patched PutEvents and S3 notifications) do not exist there, so every bus gets
a catch-all rule whose target is a tap queue; a poller feeds the queued events to the router, which
then delivers them to the template's targets exactly as with the embedded emulator. Lambda targets
still run in-process; state-machine executions would run on the external emulator, whose Lambda
tasks cannot reach these handlers, so state-machine targets fail with a clear error.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TAP_PREFIX = "scorewatch-local-tap"
# Every EventBridge event carries version "0": this pattern matches all of them.
CATCH_ALL = {"version": ["0"]}


@dataclass
class EventTap:
    """Catch-all rules -> SQS tap queues -> router."""

    client: Callable[[str], Any]
    submit: Callable[[str, dict[str, Any]], None]
    queues: dict[str, str] = field(default_factory=dict)  # bus -> queue URL

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._inflight = 0
        self._lock = threading.Lock()

    def install(self, buses: list[str]) -> None:
        sqs, events = self.client("sqs"), self.client("events")
        for i, bus in enumerate(buses):
            url = sqs.create_queue(QueueName=f"{TAP_PREFIX}-{i}")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            events.put_rule(Name=TAP_PREFIX, EventBusName=bus, EventPattern=json.dumps(CATCH_ALL))
            events.put_targets(Rule=TAP_PREFIX, EventBusName=bus, Targets=[{"Id": "tap", "Arn": arn}])
            self.queues[bus] = url

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="local-tap", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def pending(self) -> int:
        """Events queued or being handed over (``drain`` waits for zero)."""
        sqs = self.client("sqs")
        n = self._inflight
        for url in self.queues.values():
            attrs = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            n += int(attrs.get("ApproximateNumberOfMessages", 0)) + int(
                attrs.get("ApproximateNumberOfMessagesNotVisible", 0)
            )
        return n

    def _run(self) -> None:
        sqs = self.client("sqs")
        while not self._stop.is_set():
            for bus, url in self.queues.items():
                msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
                    "Messages", []
                )
                for m in msgs:
                    with self._lock:
                        self._inflight += 1
                    try:
                        event = json.loads(m["Body"])
                        # moto delivers S3 notifications to the rules of every bus; S3 sends them
                        # to the default bus only.
                        if event.get("source") != "aws.s3" or bus == "default":
                            self.submit(bus, event)
                        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                    finally:
                        with self._lock:
                            self._inflight -= 1
            self._stop.wait(0.2)

"""Events: scorewatch's custom bus and the shared dead-letter queue of every rule target."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_sqs as sqs
from constructs import Construct

# EventBridge retries a failed delivery with backoff up to this many times / this long, then the
# event goes to the rule target DLQ (alarmed).
TARGET_RETRY_ATTEMPTS = 8
TARGET_MAX_EVENT_AGE = Duration.hours(6)


class EventRouting(Construct):
    """The scorewatch bus and the DLQ that every rule target sends undeliverable events to."""

    def __init__(self, scope: Construct, construct_id: str, *, prefix: str) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "bus", event_bus_name=f"{prefix}-events")
        self.target_dlq = sqs.Queue(
            self,
            "target-dlq",
            queue_name=f"{prefix}-rule-targets-dlq",
            retention_period=Duration.days(14),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        Validations.of(self.target_dlq).acknowledge(
            Acknowledgment(id="AwsSolutions-SQS3", reason="This queue is itself the dead-letter queue."),
            Acknowledgment(
                id="Serverless-SQSRedrivePolicy", reason="This queue is itself the dead-letter queue."
            ),
        )

    def target_options(self) -> dict:
        """Keyword arguments giving a rule target its DLQ and retry policy."""
        return {
            "dead_letter_queue": self.target_dlq,
            "retry_attempts": TARGET_RETRY_ATTEMPTS,
            "max_event_age": TARGET_MAX_EVENT_AGE,
        }


def object_created_pattern(bucket_name: str, key_prefix: str) -> events.EventPattern:
    """S3 (via EventBridge) Object Created under ``key_prefix`` of ``bucket_name``."""
    return events.EventPattern(
        source=["aws.s3"],
        detail_type=["Object Created"],
        detail={"bucket": {"name": [bucket_name]}, "object": {"key": [{"prefix": key_prefix}]}},
    )

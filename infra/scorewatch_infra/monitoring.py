"""Monitoring: the monitor and labels functions and their rules (window schedules: scorewatch_infra.fleet)."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from scorewatch.core.contract import EVENT_SOURCE, DetailType, Prefix
from scorewatch_infra.events import EventRouting, object_created_pattern
from scorewatch_infra.functions import FunctionFactory, ScorewatchFunction
from scorewatch_infra.permissions import grant_data_writes, grant_registry_control


class Monitoring(Construct):
    """Drift/quality per batch (Batch Scored), per window (a model's schedule), and delayed labels."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        factory: FunctionFactory,
        data_bucket: s3.IBucket,
        models_bucket: s3.IBucket,
        registry: dynamodb.ITable,
        routing: EventRouting,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.monitor: ScorewatchFunction = factory.create("monitor")
        self.labels: ScorewatchFunction = factory.create("labels")
        for f in (self.monitor.function, self.labels.function):
            grant_data_writes(f, data_bucket, Prefix.MONITORING)
            models_bucket.grant_read(f)
            # The Drift Detected / Performance Degraded cooldown is a conditional registry write.
            grant_registry_control(f, registry, key)
            routing.bus.grant_put_events_to(f)

        self.batch_scored_rule = events.Rule(
            self,
            "batch-scored",
            rule_name=f"{factory.prefix}-batch-scored-to-monitor",
            description="Batch Scored -> monitor",
            event_bus=routing.bus,
            event_pattern=events.EventPattern(source=[EVENT_SOURCE], detail_type=[DetailType.BATCH_SCORED]),
            targets=[targets.LambdaFunction(self.monitor.function, **routing.target_options())],
        )
        self.labels_rule = events.Rule(
            self,
            "labels",
            rule_name=f"{factory.prefix}-labels-to-labels",
            description="S3 Object Created under labels/ -> labels",
            event_pattern=object_created_pattern(data_bucket.bucket_name, Prefix.LABELS),
            targets=[targets.LambdaFunction(self.labels.function, **routing.target_options())],
        )
        # Labels that arrived before their batch are joined once it is scored (issue 15); the
        # handler returns at once for a model with no stored labels.
        self.batch_scored_labels_rule = events.Rule(
            self,
            "batch-scored-labels",
            rule_name=f"{factory.prefix}-batch-scored-to-labels",
            description="Batch Scored -> labels (join labels that arrived early)",
            event_bus=routing.bus,
            event_pattern=events.EventPattern(source=[EVENT_SOURCE], detail_type=[DetailType.BATCH_SCORED]),
            targets=[targets.LambdaFunction(self.labels.function, **routing.target_options())],
        )

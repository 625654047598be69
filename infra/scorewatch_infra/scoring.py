"""Scoring: the score function and the incoming/ rule (model schedules: scorewatch_infra.fleet)."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from scorewatch.core.contract import Prefix
from scorewatch_infra.events import EventRouting, object_created_pattern
from scorewatch_infra.functions import FunctionFactory, ScorewatchFunction
from scorewatch_infra.permissions import grant_data_deletes, grant_data_writes


class Scoring(Construct):
    """Scores files: S3 Object Created under incoming/ (a model's schedule invokes it directly)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        factory: FunctionFactory,
        data_bucket: s3.IBucket,
        models_bucket: s3.IBucket,
        registry: dynamodb.ITable,
        idempotency: dynamodb.ITable,
        routing: EventRouting,
        key: kms.IKey,
        reserved_concurrency: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # Reserved: a burst of large drops cannot take the account's whole concurrency.
        self.score: ScorewatchFunction = factory.create("score", reserved_concurrency=reserved_concurrency)
        fn = self.score.function
        # Reads inputs and the champion; writes only outputs. No models-bucket or registry writes.
        grant_data_writes(fn, data_bucket, Prefix.SCORED, Prefix.REJECTED, Prefix.MONITORING, Prefix.PARTS)
        # When an input is replaced while it is read, the score step deletes its own output
        # (scorewatch.scoring.batch._discard): delete under scored/ only, never an input.
        grant_data_deletes(fn, data_bucket, Prefix.SCORED)
        models_bucket.grant_read(fn)
        registry.grant_read_data(fn)
        idempotency.grant_read_write_data(fn)
        routing.bus.grant_put_events_to(fn)

        self.incoming_rule = events.Rule(
            self,
            "incoming",
            rule_name=f"{factory.prefix}-incoming-to-score",
            description="S3 Object Created under incoming/ -> score",
            event_pattern=object_created_pattern(data_bucket.bucket_name, Prefix.INCOMING),
            targets=[targets.LambdaFunction(fn, **routing.target_options())],
        )

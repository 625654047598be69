"""The monitoring site in AWS: the ``site`` function and the rule that runs it after each history write."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from scorewatch.core.contract import Prefix
from scorewatch_infra.events import EventRouting
from scorewatch_infra.functions import FunctionFactory, ScorewatchFunction

# The objects whose arrival changes a model's page: a monitor run's history (batch or window)
# and a labels run's performance history. Both are written after the run's other outputs.
SITE_TRIGGER_KEYS = (
    f"{Prefix.MONITORING}model=*/history/*.parquet",
    f"{Prefix.MONITORING}model=*/performance/*.parquet",
)


def history_written_pattern(bucket_name: str) -> events.EventPattern:
    """S3 (via EventBridge) Object Created of a monitoring or performance history object."""
    return events.EventPattern(
        source=["aws.s3"],
        detail_type=["Object Created"],
        detail={
            "bucket": {"name": [bucket_name]},
            "object": {"key": [{"wildcard": k} for k in SITE_TRIGGER_KEYS]},
        },
    )


class MonitoringSite(Construct):
    """Rebuilds a model's page and the index under ``site/`` of the data bucket, one model at a time."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        factory: FunctionFactory,
        data_bucket: s3.IBucket,
        registry: dynamodb.ITable,
        routing: EventRouting,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        # One update at a time: each renders the index from every model's summary, so two racing
        # updates could each miss the other's row.
        self.site: ScorewatchFunction = factory.create("site", reserved_concurrency=1)
        fn = self.site.function
        # Reads the model's history and reports and its scored/rejected footers; writes site/ only.
        for prefix in (Prefix.MONITORING, Prefix.SCORED, Prefix.REJECTED, Prefix.SITE):
            data_bucket.grant_read(fn, f"{prefix}*")
        data_bucket.grant_put(fn, f"{Prefix.SITE}*")
        # Versions and champion of the model (the registry is encrypted with the project key).
        registry.grant_read_data(fn)
        key.grant_decrypt(fn)
        self.rule = events.Rule(
            self,
            "history-written",
            rule_name=f"{factory.prefix}-history-to-site",
            description="S3 Object Created of monitoring/ or performance history -> site",
            event_pattern=history_written_pattern(data_bucket.bucket_name),
            targets=[targets.LambdaFunction(fn, **routing.target_options())],
        )

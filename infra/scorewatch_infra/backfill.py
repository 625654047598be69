"""Backfill: a Distributed Map that scores every object under an S3 prefix (started by hand)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from scorewatch.core.contract import Prefix
from scorewatch_infra.functions import FunctionFactory, ScorewatchFunction
from scorewatch_infra.workflows import PrefixResultWriter, lambda_task, workflow_logs

BACKFILL_CONCURRENCY = 10
TOLERATED_FAILURE_PERCENTAGE = 5
RESULTS_PREFIX = f"{Prefix.BACKFILL}results/"
_DEFAULTS = '{"model_version":null}'


class Backfill(Construct):
    """Input ``{"bucket", "prefix", "model_version"?}``: score each object under ``prefix``.

    Without ``model_version`` an object already scored by any version is answered from the
    scoring ledger (nothing new); with it (an explicit re-score by a new champion) each object
    gets that version's own result, once.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        factory: FunctionFactory,
        score: ScorewatchFunction,
        data_bucket: s3.IBucket,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        score_object = lambda_task(
            self,
            "ScoreObject",
            score.function,
            timeout=score.spec.timeout.plus(Duration.seconds(60)),
        )
        # The reader lists the data bucket (the only bucket the score function may read).
        score_all = sfn.DistributedMap(
            self,
            "ScoreObjects",
            item_reader=sfn.S3ObjectsItemReader(
                bucket=data_bucket, prefix=sfn.JsonPath.string_at("$.prefix")
            ),
            item_selector={
                "bucket": data_bucket.bucket_name,
                "key": sfn.JsonPath.string_at("$$.Map.Item.Value.Key"),
                "model_version": sfn.JsonPath.string_at("$.model_version"),
            },
            max_concurrency=BACKFILL_CONCURRENCY,
            tolerated_failure_percentage=TOLERATED_FAILURE_PERCENTAGE,
            result_writer_v2=PrefixResultWriter(bucket=data_bucket, prefix=RESULTS_PREFIX),
            result_path="$.map_result",
        )
        score_all.item_processor(score_object)
        # model_version is optional in the input: default it to null so the selector can name it.
        defaults = sfn.Pass(
            self,
            "Defaults",
            parameters={"merged.$": f"States.JsonMerge(States.StringToJson('{_DEFAULTS}'), $, false)"},
            output_path="$.merged",
        )
        name = f"{factory.prefix}-backfill"
        self.state_machine = sfn.StateMachine(
            self,
            "state-machine",
            state_machine_name=name,
            definition_body=sfn.DefinitionBody.from_chainable(defaults.next(score_all)),
            timeout=Duration.hours(24),
            tracing_enabled=True,
            logs=workflow_logs(self, "logs", name, key=key),
        )
        # The reader/result writer touch SSE-KMS objects; CDK's S3 grants for them omit the key.
        key.grant_encrypt_decrypt(self.state_machine)

"""Large file: split -> Distributed Map of score over the parts manifest -> finalize."""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from scorewatch.core.contract import Env, Prefix
from scorewatch_infra.events import EventRouting
from scorewatch_infra.functions import FunctionFactory, ScorewatchFunction
from scorewatch_infra.permissions import grant_config_read, grant_data_writes
from scorewatch_infra.workflows import PrefixResultWriter, lambda_task, workflow_logs

PART_CONCURRENCY = 20
RESULTS_PREFIX = f"{Prefix.PARTS}results/"
TASK_TIMEOUT_MARGIN = Duration.seconds(60)


class LargeFile(Construct):
    """The workflow the score function starts when an input exceeds one invocation's limits."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        factory: FunctionFactory,
        score: ScorewatchFunction,
        data_bucket: s3.IBucket,
        key: kms.IKey,
        routing: EventRouting,
        registry: dynamodb.ITable,
    ) -> None:
        super().__init__(scope, construct_id)
        self.split: ScorewatchFunction = factory.create("split")
        self.finalize: ScorewatchFunction = factory.create("finalize")
        grant_data_writes(self.split.function, data_bucket, Prefix.PARTS)
        grant_data_writes(self.finalize.function, data_bucket, Prefix.MONITORING, Prefix.PARTS)
        routing.bus.grant_put_events_to(self.finalize.function)
        # Both read the model's stored configuration (max_input_bytes; the config version).
        for f in (self.split, self.finalize):
            grant_config_read(f.function, registry, key)

        def timeout(f: ScorewatchFunction) -> Duration:
            return f.spec.timeout.plus(TASK_TIMEOUT_MARGIN)

        split = lambda_task(self, "Split", self.split.function, timeout=timeout(self.split))
        score_part = lambda_task(self, "ScorePart", score.function, timeout=timeout(score))
        score_parts = sfn.DistributedMap(
            self,
            "ScoreParts",
            item_reader=sfn.S3JsonItemReader(
                bucket=data_bucket, key=sfn.JsonPath.string_at("$.manifest_key")
            ),
            max_concurrency=PART_CONCURRENCY,
            tolerated_failure_percentage=0,
            result_writer_v2=PrefixResultWriter(bucket=data_bucket, prefix=RESULTS_PREFIX),
            # Keep the Split result (bucket, key, batch_id, manifest) for Finalize.
            result_path="$.map_result",
        )
        score_parts.item_processor(score_part)
        finalize = lambda_task(self, "Finalize", self.finalize.function, timeout=timeout(self.finalize))
        name = f"{factory.prefix}-large-file"
        self.state_machine = sfn.StateMachine(
            self,
            "state-machine",
            state_machine_name=name,
            definition_body=sfn.DefinitionBody.from_chainable(split.next(score_parts).next(finalize)),
            timeout=Duration.hours(6),
            tracing_enabled=True,
            logs=workflow_logs(self, "logs", name, key=key),
        )
        # The reader/result writer touch SSE-KMS objects; CDK's S3 grants for them omit the key.
        key.grant_encrypt_decrypt(self.state_machine)
        # The score function starts this workflow, which invokes the score function: referring to
        # the machine's ARN attribute would be a dependency cycle, so use its (fixed) name instead.
        arn = Stack.of(self).format_arn(
            service="states",
            resource="stateMachine",
            resource_name=name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        score.add_environment(Env.LARGE_FILE_STATE_MACHINE_ARN, arn)
        iam.Grant.add_to_principal(
            grantee=score.function, actions=["states:StartExecution"], resource_arns=[arn]
        )

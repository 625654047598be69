"""Step Functions building blocks shared by the three workflows (retry policy, Lambda tasks, logs)."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from scorewatch.core.contract import ErrorName
from scorewatch_infra.functions import allow_log_encryption

# Transient Lambda service errors plus the runtime's own TransientError (docs/WORKFLOWS.md).
TRANSIENT_ERRORS = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    ErrorName.TRANSIENT,
)


# What a Map Run's result writer does with its prefix (the Step Functions ResultWriter IAM policy).
RESULT_WRITER_ACTIONS = (
    "s3:PutObject",
    "s3:GetObject",
    "s3:ListMultipartUploadParts",
    "s3:AbortMultipartUpload",
)


class PrefixResultWriter(sfn.ResultWriterV2):
    """A Distributed Map result writer whose grant covers its own prefix, not the whole bucket.

    CDK's ``ResultWriterV2`` grants the writes on ``<bucket>/*`` (including ``incoming/``); the
    Map Run writes only ``<prefix><map run id>/...``, so that is all the role may write.
    """

    def __init__(self, *, bucket: s3.IBucket, prefix: str) -> None:
        if not prefix.endswith("/"):
            raise ValueError(f"result prefix {prefix!r} must end with '/'")
        super().__init__(bucket=bucket, prefix=prefix)
        self._objects = bucket.arn_for_objects(f"{prefix}*")

    def provide_policy_statements(self) -> list[iam.PolicyStatement]:
        return [iam.PolicyStatement(actions=list(RESULT_WRITER_ACTIONS), resources=[self._objects])]


def lambda_task(
    scope: Construct,
    state_id: str,
    fn: lambda_.IFunction,
    *,
    payload: sfn.TaskInput | None = None,
    timeout: Duration,
    result_path: str | None = None,
) -> tasks.LambdaInvoke:
    """A Lambda task: explicit payload, ``$.Payload`` as output, a timeout and the transient retry."""
    task = tasks.LambdaInvoke(
        scope,
        state_id,
        lambda_function=fn,
        payload=payload or sfn.TaskInput.from_json_path_at("$"),
        result_selector=None,
        output_path="$.Payload" if result_path is None else None,
        result_path=result_path,
        retry_on_service_exceptions=False,
        task_timeout=sfn.Timeout.duration(timeout),
    )
    task.add_retry(
        errors=list(TRANSIENT_ERRORS),
        interval=Duration.seconds(2),
        max_attempts=3,
        backoff_rate=2,
        jitter_strategy=sfn.JitterType.FULL,
    )
    return task


def workflow_logs(
    scope: Construct,
    construct_id: str,
    name: str,
    *,
    key: kms.IKey,
    include_execution_data: bool = True,
) -> sfn.LogOptions:
    """ALL-level execution logs into a log group with retention.

    ``include_execution_data=False`` logs every state transition without its input, output or
    parameters: a workflow that hands out a task token (``$$.Task.Token``) must not log it, since
    anyone who can read the log group and call ``SendTaskSuccess`` could resume the execution.
    The log group is encrypted with ``key`` (the project's key), like the functions' log groups.
    """
    group_name = f"/aws/vendedlogs/states/{name}"
    allow_log_encryption(key, group_name)
    group = logs.LogGroup(
        scope,
        construct_id,
        log_group_name=group_name,
        encryption_key=key,
        retention=logs.RetentionDays.ONE_MONTH,
        removal_policy=RemovalPolicy.DESTROY,
    )
    return sfn.LogOptions(
        destination=group, level=sfn.LogLevel.ALL, include_execution_data=include_execution_data
    )

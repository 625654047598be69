"""The function factory: every scorewatch Lambda function, built from one container image.

Defaults held here (issue 5): one image asset (layers/Dockerfile, build context = repo root,
one CMD per function = contract.HANDLERS value), arm64 unless x86_64 is chosen, JSON logs into
an explicit log group with retention, X-Ray tracing, explicit memory and timeout per function,
async retry count and maximum event age plus an SQS on-failure destination for every function
that is invoked asynchronously, and an environment made only of contract.Env keys.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from aws_cdk import (
    Acknowledgment,
    ArnFormat,
    Duration,
    IgnoreMode,
    RemovalPolicy,
    Size,
    Stack,
    Token,
    Validations,
)
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from scorewatch.core.contract import HANDLERS, METRIC_NAMESPACE, SERVICE_NAME, Env
from scorewatch.core.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = "layers/Dockerfile"
DOCKERIGNORE = REPO_ROOT / "layers" / ".dockerignore"
# Lambda's hard limit on the total size of a function's environment variables.
ENV_LIMIT_BYTES = 4096
# Stand-in length for a value only known at deploy time (bucket/table names, ARNs) when the
# environment's size is checked at synth time; generous, so the check errs on the safe side.
TOKEN_ESTIMATE_CHARS = 160

# Every function reads the stored model configurations from the registry table.
_COMMON = (Env.DATA_BUCKET, Env.EVENT_BUS, Env.REGISTRY_TABLE)
_REGISTRY = (Env.MODELS_BUCKET,)


@dataclass(frozen=True)
class FunctionSpec:
    """Per-function settings: size, time limit, environment keys, invocation mode."""

    memory_mb: int
    timeout: Duration
    env_keys: tuple[str, ...]
    # Invoked asynchronously (EventBridge rule, schedule): gets retries, max event age and a DLQ.
    asynchronous: bool
    description: str
    ephemeral_mb: int = 512


# Memory is CPU on Lambda: scoring and training are CPU-bound pandas/scikit-learn work.
FUNCTION_SPECS: dict[str, FunctionSpec] = {
    "score": FunctionSpec(
        4096,
        Duration.minutes(15),
        (*_COMMON, *_REGISTRY, Env.IDEMPOTENCY_TABLE, Env.LARGE_FILE_STATE_MACHINE_ARN),
        True,
        "Scores a file (incoming/ upload, schedule, backfill item or large-file part) with the champion",
        ephemeral_mb=4096,
    ),
    "monitor": FunctionSpec(
        3072,
        Duration.minutes(10),
        (*_COMMON, *_REGISTRY),
        True,
        "Drift and data quality of a scored batch or a monitoring window",
        ephemeral_mb=2048,
    ),
    "labels": FunctionSpec(
        2048, Duration.minutes(10), (*_COMMON, *_REGISTRY), True, "Joins delayed labels: realized performance"
    ),
    "split": FunctionSpec(1024, Duration.minutes(5), _COMMON, False, "Large-file workflow: plans the parts"),
    "finalize": FunctionSpec(
        2048,
        Duration.minutes(10),
        _COMMON,
        False,
        "Large-file workflow: merges part profiles, one Batch Scored",
    ),
    "retrain_assemble": FunctionSpec(
        4096,
        Duration.minutes(15),
        (*_COMMON, *_REGISTRY),
        False,
        "Retraining: assembles training and holdout sets",
        ephemeral_mb=4096,
    ),
    "retrain_train": FunctionSpec(
        6144,
        Duration.minutes(15),
        (*_COMMON, *_REGISTRY),
        False,
        "Retraining: trains and registers the challenger",
        ephemeral_mb=4096,
    ),
    "retrain_evaluate": FunctionSpec(
        4096,
        Duration.minutes(15),
        (*_COMMON, *_REGISTRY),
        False,
        "Retraining: evaluates challenger and champion on one holdout",
    ),
    "retrain_promote": FunctionSpec(
        1024, Duration.minutes(2), (*_COMMON, *_REGISTRY), False, "Retraining: promotes the challenger"
    ),
    "retrain_reject": FunctionSpec(
        512, Duration.minutes(2), (*_COMMON, *_REGISTRY), False, "Retraining: records the rejected challenger"
    ),
    "retrain_request_approval": FunctionSpec(
        512,
        Duration.minutes(1),
        (*_COMMON, *_REGISTRY),
        False,
        "Retraining: stores the approval task token, Approval Requested",
    ),
    "retrain_notify_failure": FunctionSpec(
        512, Duration.minutes(2), (*_COMMON, *_REGISTRY), False, "Retraining: reports a failed run"
    ),
    "site": FunctionSpec(
        2048,
        Duration.minutes(5),
        (*_COMMON, *_REGISTRY),
        True,
        "Monitoring site: rebuilds one model's page and the index after its history changes",
    ),
}
assert set(FUNCTION_SPECS) == set(HANDLERS), "every contract.HANDLERS entry needs a FunctionSpec"


def read_dockerignore(path: Path = DOCKERIGNORE) -> list[str]:
    """The image's ignore patterns (also used by CDK to stage only what the image needs)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def estimated_env_bytes(env: dict[str, str]) -> int:
    """Size of ``env`` as Lambda counts it, deploy-time values estimated generously."""
    sized = {k: ("x" * TOKEN_ESTIMATE_CHARS if Token.is_unresolved(v) else v) for k, v in env.items()}
    return len(json.dumps(sized, separators=(",", ":")).encode("utf-8"))


def check_env_size(function_id: str, env: dict[str, str]) -> None:
    """Fail synthesis when ``env`` would exceed Lambda's 4 KB environment limit."""
    size = estimated_env_bytes(env)
    if size > ENV_LIMIT_BYTES:
        raise ConfigError(
            f"function {function_id!r}: environment is ~{size} bytes, "
            f"over Lambda's {ENV_LIMIT_BYTES}-byte limit"
        )


@dataclass
class ScorewatchFunction:
    """One deployed function with what alarms and grants need."""

    function_id: str
    function: lambda_.DockerImageFunction
    spec: FunctionSpec
    log_group: logs.LogGroup
    dlq: sqs.Queue | None = None
    env: dict[str, str] = field(default_factory=dict)

    def add_environment(self, key: str, value: str) -> None:
        """Set a contract.Env key known only after creation (e.g. a state machine ARN)."""
        if key not in self.spec.env_keys:
            raise ValueError(f"{key} is not in {self.function_id}'s FunctionSpec.env_keys")
        self.env[key] = value
        self.function.add_environment(key, value)
        check_env_size(self.function_id, self.env)


# What CloudWatch Logs needs of a customer-managed key to encrypt a log group with it.
LOG_KEY_ACTIONS = (
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:DescribeKey",
)


def allow_log_encryption(key: kms.IKey, log_group_pattern: str) -> None:
    """Let this region's CloudWatch Logs use ``key`` for the log groups named by the pattern only."""
    stack = Stack.of(key)
    arn = stack.format_arn(
        service="logs",
        resource="log-group",
        resource_name=log_group_pattern,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=list(LOG_KEY_ACTIONS),
            resources=["*"],  # in a key policy, "*" is this key
            conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": arn}},
        )
    )


class FunctionFactory(Construct):
    """Creates scorewatch functions with the project's Lambda defaults."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        architecture: str,
        environment: dict[str, str],
        log_key: kms.IKey | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
    ) -> None:
        super().__init__(scope, construct_id)
        self._log_key = log_key
        if log_key is not None:
            allow_log_encryption(log_key, f"/aws/lambda/{prefix}-*")
        if architecture not in ("arm64", "x86_64"):
            raise ConfigError(f"architecture {architecture!r} must be 'arm64' or 'x86_64'")
        self.prefix = prefix
        self.architecture = (
            lambda_.Architecture.ARM_64 if architecture == "arm64" else lambda_.Architecture.X86_64
        )
        self._platform = (
            ecr_assets.Platform.LINUX_ARM64 if architecture == "arm64" else ecr_assets.Platform.LINUX_AMD64
        )
        self._environment = dict(environment)
        self._log_retention = log_retention
        self._exclude = read_dockerignore()
        self.functions: dict[str, ScorewatchFunction] = {}

    def _code(self, handler: str) -> lambda_.DockerImageCode:
        # Same directory, file, platform and excludes for every function: CDK stages and builds
        # ONE image asset; only the CMD (image config, not part of the asset) differs.
        return lambda_.DockerImageCode.from_image_asset(
            str(REPO_ROOT),
            file=DOCKERFILE,
            platform=self._platform,
            exclude=self._exclude,
            ignore_mode=IgnoreMode.DOCKER,
            cmd=[handler],
        )

    def create(self, function_id: str, *, reserved_concurrency: int | None = None) -> ScorewatchFunction:
        """Create the function ``function_id`` (a contract.HANDLERS key), optionally reserved."""
        spec = FUNCTION_SPECS[function_id]
        name = f"{self.prefix}-{function_id.replace('_', '-')}"
        log_group = logs.LogGroup(
            self,
            f"{function_id}-logs",
            log_group_name=f"/aws/lambda/{name}",
            retention=self._log_retention,
            encryption_key=self._log_key,
            removal_policy=RemovalPolicy.DESTROY,
        )
        role = iam.Role(
            self,
            f"{function_id}-role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of {name}",
        )
        # Instead of the AWSLambdaBasicExecutionRole managed policy: write to this log group only.
        log_group.grant_write(role)
        env = {k: self._environment[k] for k in spec.env_keys if k in self._environment}
        env.update(
            {
                Env.POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
                Env.POWERTOOLS_METRICS_NAMESPACE: METRIC_NAMESPACE,
                Env.LOG_LEVEL: "INFO",
            }
        )
        check_env_size(function_id, env)
        dlq = None
        async_options: dict = {}
        if spec.asynchronous:
            dlq = sqs.Queue(
                self,
                f"{function_id}-dlq",
                queue_name=f"{name}-dlq",
                retention_period=Duration.days(14),
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
            )
            Validations.of(dlq).acknowledge(
                Acknowledgment(id="AwsSolutions-SQS3", reason="This queue is itself the dead-letter queue."),
                Acknowledgment(
                    id="Serverless-SQSRedrivePolicy", reason="This queue is itself the dead-letter queue."
                ),
            )
            async_options = {
                "retry_attempts": 2,
                "max_event_age": Duration.hours(6),
                "on_failure": destinations.SqsDestination(dlq),
            }
        fn = lambda_.DockerImageFunction(
            self,
            function_id,
            function_name=name,
            description=spec.description,
            code=self._code(HANDLERS[function_id]),
            architecture=self.architecture,
            memory_size=spec.memory_mb,
            timeout=spec.timeout,
            ephemeral_storage_size=Size.mebibytes(spec.ephemeral_mb),
            environment=env,
            role=role,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            tracing=lambda_.Tracing.ACTIVE,
            reserved_concurrent_executions=reserved_concurrency,
            **async_options,
        )
        if spec.asynchronous:
            Validations.of(fn).acknowledge(
                Acknowledgment(
                    id="Serverless-LambdaDLQ",
                    reason="Asynchronous failures go to an SQS on-failure destination (EventInvokeConfig), "
                    "which supersedes a DeadLetterConfig and also records the error and request context.",
                )
            )
        else:
            Validations.of(fn).acknowledge(
                Acknowledgment(
                    id="Serverless-LambdaDLQ",
                    reason="Invoked synchronously by Step Functions: failures surface as Retry/Catch in the "
                    "workflow, there is no asynchronous event to dead-letter.",
                ),
                Acknowledgment(
                    id="Serverless-LambdaAsyncFailureDestination",
                    reason="Invoked synchronously by Step Functions; failures are caught by the workflow.",
                ),
            )
        created = ScorewatchFunction(function_id, fn, spec, log_group, dlq, env)
        self.functions[function_id] = created
        return created

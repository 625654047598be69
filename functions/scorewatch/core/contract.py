"""Every name shared by the runtime, the infrastructure and the tests.

One source for environment keys, metric names, event detail-types, error names and handler
entry points. Standard library only: infra imports this module without the runtime's
dependencies, and an infra test checks each function's environment against its settings model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

SERVICE_NAME: Final = "scorewatch"
EVENT_SOURCE: Final = "scorewatch"
METRIC_NAMESPACE: Final = "Scorewatch"
DIMENSION_MODEL: Final = "Model"


class Env:
    """Environment variable keys read by the handlers' settings models."""

    DATA_BUCKET: Final = "SCOREWATCH_DATA_BUCKET"
    MODELS_BUCKET: Final = "SCOREWATCH_MODELS_BUCKET"
    REGISTRY_TABLE: Final = "SCOREWATCH_REGISTRY_TABLE"
    IDEMPOTENCY_TABLE: Final = "SCOREWATCH_IDEMPOTENCY_TABLE"
    EVENT_BUS: Final = "SCOREWATCH_EVENT_BUS"
    # Retired (issue 16): the model configuration no longer travels in any environment (it is
    # stored in the registry, scorewatch.io.registry.configs); named so checks can prove its absence.
    MODELS_CONFIG: Final = "SCOREWATCH_MODELS_CONFIG"
    # Fleet configuration as data (issue 16): seconds a function caches a model's stored config.
    CONFIG_TTL_SECONDS: Final = "SCOREWATCH_CONFIG_TTL_SECONDS"
    # EventBridge Scheduler wiring used by `scorewatch models configure/retire` (stack outputs).
    SCHEDULE_GROUP: Final = "SCOREWATCH_SCHEDULE_GROUP"
    SCHEDULER_ROLE_ARN: Final = "SCOREWATCH_SCHEDULER_ROLE_ARN"
    SCORE_FUNCTION_ARN: Final = "SCOREWATCH_SCORE_FUNCTION_ARN"
    MONITOR_FUNCTION_ARN: Final = "SCOREWATCH_MONITOR_FUNCTION_ARN"
    LARGE_FILE_STATE_MACHINE_ARN: Final = "SCOREWATCH_LARGE_FILE_STATE_MACHINE_ARN"
    ALLOW_UNSAFE_PICKLE: Final = "SCOREWATCH_ALLOW_UNSAFE_PICKLE"
    ALLOW_VERSION_MISMATCH: Final = "SCOREWATCH_ALLOW_VERSION_MISMATCH"
    # idle | normal: scheduling class of the scorer's read-ahead thread (scoring.score_source).
    READER_PRIORITY: Final = "SCOREWATCH_READER_PRIORITY"
    # Powertools' own keys, set by infra so every function logs and emits metrics alike.
    POWERTOOLS_SERVICE_NAME: Final = "POWERTOOLS_SERVICE_NAME"
    POWERTOOLS_METRICS_NAMESPACE: Final = "POWERTOOLS_METRICS_NAMESPACE"
    LOG_LEVEL: Final = "POWERTOOLS_LOG_LEVEL"


class Metric:
    """CloudWatch metric names (namespace METRIC_NAMESPACE, dimension DIMENSION_MODEL)."""

    ROWS_SCORED: Final = "RowsScored"
    ROWS_REJECTED: Final = "RowsRejected"
    REJECTED_ROW_RATE: Final = "RejectedRowRate"
    BATCHES_REJECTED: Final = "BatchesRejected"
    BATCH_LATENCY: Final = "BatchLatency"
    DRIFT_SHARE: Final = "DriftShare"
    DRIFTED_FEATURES: Final = "DriftedFeatures"
    MAX_PSI: Final = "MaxPSI"
    PREDICTION_DRIFT: Final = "PredictionDrift"
    MULTIVARIATE_AUC: Final = "MultivariateDriftAUC"
    QUALITY_VIOLATIONS: Final = "QualityViolations"
    REALIZED_PERFORMANCE: Final = "RealizedPerformance"
    ESTIMATED_PERFORMANCE: Final = "EstimatedPerformance"
    LABEL_COVERAGE: Final = "LabelCoverage"
    # 1 each time a baseline fails its pinned sha256/S3 version check (monitoring reports it).
    BASELINE_INTEGRITY_FAILURES: Final = "BaselineIntegrityFailures"
    # The metric above against the model's own alarms.* limit (scorewatch.core.thresholds.breach):
    # > 1 is a breach. One Metrics Insights alarm per concern covers every model.
    DRIFT_SHARE_BREACH: Final = "DriftShareBreach"
    PREDICTION_DRIFT_BREACH: Final = "PredictionDriftBreach"
    REJECTED_ROW_RATE_BREACH: Final = "RejectedRowRateBreach"
    REALIZED_PERFORMANCE_BREACH: Final = "RealizedPerformanceBreach"
    ESTIMATED_PERFORMANCE_BREACH: Final = "EstimatedPerformanceBreach"


class DetailType:
    """EventBridge detail-types published on the scorewatch bus (source EVENT_SOURCE)."""

    BATCH_SCORED: Final = "Batch Scored"
    BATCH_REJECTED: Final = "Batch Rejected"
    DRIFT_DETECTED: Final = "Drift Detected"
    PERFORMANCE_DEGRADED: Final = "Performance Degraded"
    MODEL_PROMOTED: Final = "Model Promoted"
    MODEL_REJECTED: Final = "Model Rejected"
    RETRAINING_FAILED: Final = "Retraining Failed"
    APPROVAL_REQUESTED: Final = "Approval Requested"


class ErrorName:
    """Exception class names that Step Functions Retry/Catch blocks match on."""

    TRANSIENT: Final = "TransientError"
    INPUT_REJECTED: Final = "InputRejectedError"
    INPUT_TOO_LARGE: Final = "InputTooLargeError"
    MODEL_NOT_FOUND: Final = "ModelNotFoundError"
    MODEL_INTEGRITY: Final = "ModelIntegrityError"
    RETRAINING_IN_PROGRESS: Final = "RetrainingInProgressError"
    RETRAINING_DISABLED: Final = "RetrainingDisabledError"
    PROMOTION_CONFLICT: Final = "PromotionConflictError"
    TRAINING_FAILED: Final = "TrainingError"
    # Sent by `scorewatch models approve --deny` (SendTaskFailure); routes the candidate to Reject.
    APPROVAL_DENIED: Final = "ApprovalDenied"


@dataclass(frozen=True)
class Doc:
    """What a contract name means, for the generated events and metrics catalogue (docs site)."""

    description: str
    # HANDLERS ids of the functions that emit the metric or publish the event.
    emitted_by: tuple[str, ...] = ()


METRIC_DOCS: Final[dict[str, Doc]] = {
    Metric.ROWS_SCORED: Doc("Rows of a batch written to the scored output.", ("score", "finalize")),
    Metric.ROWS_REJECTED: Doc(
        "Rows of a batch that failed validation (written to the rejected output).", ("score", "finalize")
    ),
    Metric.REJECTED_ROW_RATE: Doc("Rejected rows / input rows of a batch, 0 to 1.", ("score", "finalize")),
    Metric.BATCHES_REJECTED: Doc("Whole input objects rejected (1 per rejection).", ("score",)),
    Metric.BATCH_LATENCY: Doc(
        "Seconds the score function took for a batch, from the start of the invocation.", ("score",)
    ),
    Metric.DRIFT_SHARE: Doc("Share of drifted features in a batch or window, 0 to 1.", ("monitor",)),
    Metric.DRIFTED_FEATURES: Doc("Number of drifted features in a batch or window.", ("monitor",)),
    Metric.MAX_PSI: Doc("Largest population stability index over the features.", ("monitor",)),
    Metric.PREDICTION_DRIFT: Doc(
        "Largest Jensen-Shannon distance over the prediction and score columns.", ("monitor",)
    ),
    Metric.MULTIVARIATE_AUC: Doc(
        "Out-of-fold ROC AUC of the domain classifier (0.5: the samples cannot be told apart).", ("monitor",)
    ),
    Metric.QUALITY_VIOLATIONS: Doc("Data quality violations found in a batch or window.", ("monitor",)),
    Metric.REALIZED_PERFORMANCE: Doc(
        "The model's metric (retraining.metric) on the scored rows that have labels.", ("labels",)
    ),
    Metric.ESTIMATED_PERFORMANCE: Doc(
        "The same metric estimated without labels (CBPE from the scores; DLE loss models for "
        "regressors), on every batch and window and beside each labels run.",
        ("monitor", "labels"),
    ),
    Metric.LABEL_COVERAGE: Doc("Share of scored rows in the window that have a label, 0 to 1.", ("labels",)),
    Metric.BASELINE_INTEGRITY_FAILURES: Doc(
        "1 each time a baseline fails its pinned S3 version / sha256 check (alarmed above 0); the "
        "monitor then reports baseline_integrity instead of a drift result.",
        ("monitor", "score"),
    ),
    Metric.DRIFT_SHARE_BREACH: Doc(
        "DriftShare against the model's alarms.drift_share (above 1: over the limit).", ("monitor",)
    ),
    Metric.PREDICTION_DRIFT_BREACH: Doc(
        "PredictionDrift against the model's alarms.prediction_drift (above 1: over the limit).", ("monitor",)
    ),
    Metric.REJECTED_ROW_RATE_BREACH: Doc(
        "RejectedRowRate against the model's alarms.rejected_row_rate (above 1: over the limit).",
        ("score", "finalize"),
    ),
    Metric.REALIZED_PERFORMANCE_BREACH: Doc(
        "RealizedPerformance against the model's alarms.performance_floor, in the metric's direction "
        "(above 1: worse than the floor).",
        ("labels",),
    ),
    Metric.ESTIMATED_PERFORMANCE_BREACH: Doc(
        "EstimatedPerformance against the model's alarms.performance_floor, in the metric's direction "
        "(above 1: worse than the floor).",
        ("monitor", "labels"),
    ),
}

DETAIL_TYPE_DOCS: Final[dict[str, Doc]] = {
    DetailType.BATCH_SCORED: Doc(
        "An input object was scored; starts the per-batch drift check (monitor).", ("score", "finalize")
    ),
    DetailType.BATCH_REJECTED: Doc(
        "A whole input object was rejected (format, schema, too many bad rows, too large); sent to "
        "the ops topic.",
        ("score",),
    ),
    DetailType.DRIFT_DETECTED: Doc(
        "Dataset or prediction drift against the champion's baseline, at most once per "
        "drift.cooldown_minutes; starts the retraining workflow.",
        ("monitor",),
    ),
    DetailType.PERFORMANCE_DEGRADED: Doc(
        "Realized (labels) or estimated (monitor) performance is worse than the floor; sent to the ops "
        "topic.",
        ("labels", "monitor"),
    ),
    DetailType.MODEL_PROMOTED: Doc("A challenger became champion after the gate.", ("retrain_promote",)),
    DetailType.MODEL_REJECTED: Doc(
        "A challenger failed the gate (or its approval was denied or timed out).", ("retrain_reject",)
    ),
    DetailType.RETRAINING_FAILED: Doc(
        "A retraining execution failed at a step; sent to the ops topic.", ("retrain_notify_failure",)
    ),
    DetailType.APPROVAL_REQUESTED: Doc(
        "A challenger passed the gate and waits for `scorewatch models approve`; sent to the ops topic.",
        ("retrain_request_approval",),
    ),
}

ERROR_DOCS: Final[dict[str, Doc]] = {
    ErrorName.TRANSIENT: Doc("Throttling, 5xx or a lost connection: Step Functions retries the step."),
    ErrorName.INPUT_REJECTED: Doc("The input cannot be scored (format, schema, too many bad rows)."),
    ErrorName.INPUT_TOO_LARGE: Doc(
        "The input exceeds max_input_bytes: it belongs to the large-file workflow."
    ),
    ErrorName.MODEL_NOT_FOUND: Doc("No such model, version, champion or artifact."),
    ErrorName.MODEL_INTEGRITY: Doc(
        "An artifact's sha256 differs from the registry's, or it holds types off the allowlist."
    ),
    ErrorName.RETRAINING_IN_PROGRESS: Doc(
        "Another retraining of the model holds its lock: the execution is skipped."
    ),
    ErrorName.RETRAINING_DISABLED: Doc(
        "The model's configuration sets retraining.enabled false: the execution is skipped."
    ),
    ErrorName.PROMOTION_CONFLICT: Doc(
        "The champion changed while the challenger was evaluated: not promoted."
    ),
    ErrorName.TRAINING_FAILED: Doc(
        "Training could not run (too few rows, a holdout with one class, a bad spec)."
    ),
    ErrorName.APPROVAL_DENIED: Doc("`scorewatch models approve --deny`: the challenger goes to Reject."),
}


class Prefix:
    """Key prefixes in the data bucket (see DESIGN.md, data layout)."""

    INCOMING: Final = "incoming/"
    SCORED: Final = "scored/"
    REJECTED: Final = "rejected/"
    LABELS: Final = "labels/"
    MONITORING: Final = "monitoring/"
    TRAINING: Final = "training/"
    BACKFILL: Final = "backfill/"
    PARTS: Final = "parts/"
    # The static monitoring site (private; read through presigned URLs): pages and their state.
    SITE: Final = "site/"
    # Athena's query results (the analytics workgroup's output location).
    ATHENA: Final = "athena-results/"


# Lambda entry points: function id -> "module.attribute". Infra creates one function per entry,
# the image's CMD is the value; the local cloud dispatches invocations to the same callables.
HANDLERS: Final[dict[str, str]] = {
    "score": "scorewatch.handlers.score.handler",
    "monitor": "scorewatch.handlers.monitor.handler",
    "labels": "scorewatch.handlers.labels.handler",
    "split": "scorewatch.handlers.split.handler",
    "finalize": "scorewatch.handlers.finalize.handler",
    "retrain_assemble": "scorewatch.handlers.retrain.assemble",
    "retrain_train": "scorewatch.handlers.retrain.train",
    "retrain_evaluate": "scorewatch.handlers.retrain.evaluate",
    "retrain_promote": "scorewatch.handlers.retrain.promote",
    "retrain_reject": "scorewatch.handlers.retrain.reject",
    "retrain_request_approval": "scorewatch.handlers.retrain.request_approval",
    "retrain_notify_failure": "scorewatch.handlers.retrain.notify_failure",
    "site": "scorewatch.handlers.site.handler",
}


class Table:
    """DynamoDB key attributes (infra creates the tables, the runtime reads and writes them)."""

    REGISTRY_PK: Final = "model_name"
    REGISTRY_SK: Final = "version"
    # Partition-key prefixes of the registry's other keyspaces (model names cannot contain '#'):
    # control items (locks, cooldowns, approvals) and the champion pointer. IAM scopes writers
    # to them with dynamodb:LeadingKeys.
    CONTROL_PREFIX: Final = "control#"
    POINTER_PREFIX: Final = "champion#"
    # Stored model configurations (scorewatch.io.registry.configs): history in ``config#<model>``
    # (sort key = zero-padded config version), the current item of every model in the one
    # partition CONFIG_CURRENT (sort key = model name), so all current configs are one Query.
    # '@' cannot occur in a model name, so CONFIG_CURRENT is never a model's history partition.
    CONFIG_PREFIX: Final = "config#"
    CONFIG_CURRENT: Final = "config#@current"
    # Powertools idempotency defaults.
    IDEMPOTENCY_PK: Final = "id"
    IDEMPOTENCY_TTL: Final = "expiration"

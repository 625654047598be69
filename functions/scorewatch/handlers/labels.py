"""labels: S3 Object Created under labels/<model>/ (via EventBridge) -> realized performance.

Also ``Batch Scored``: labels that arrived before their batch are joined once it is scored (a
model with no stored labels returns at once, reading nothing else).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from scorewatch.core.contract import Metric, Prefix
from scorewatch.core.errors import InputRejectedError, ModelNotFoundError
from scorewatch.core.schema import check_model_name
from scorewatch.core.thresholds import breach
from scorewatch.handlers import _once, _registry, fleet_config, logger, observed
from scorewatch.handlers.settings import LabelsSettings, load
from scorewatch.io import storage
from scorewatch.io.events import EventPublisher, PerformanceDegraded
from scorewatch.io.metrics import record
from scorewatch.lifecycle import label_store
from scorewatch.lifecycle.labels import LabelJoiner
from scorewatch.monitoring.performance import higher_is_better

#: The registry cooldown that bounds Performance Degraded events per model.
PERFORMANCE_COOLDOWN = "performance"
BATCH_SCORED = "Batch Scored"


def model_from_label_key(key: str) -> str:
    """``labels/<model>/...`` -> ``<model>`` (InputRejectedError for any other key)."""
    parts = key.split("/")
    if len(parts) < 3 or parts[0] + "/" != Prefix.LABELS or not parts[-1]:
        raise InputRejectedError(f"key {key!r} is not under {Prefix.LABELS}<model>/", reason="unrouted_key")
    return check_model_name(parts[1])


def performance_breach(metric: str, value: float | None, floor: float | None) -> float | None:
    """``value`` against ``floor`` (> 1: worse than it): below the floor is bad for a score
    (roc_auc, accuracy, f1, r2), above it for an error or loss (rmse, mae, log_loss).

    >>> performance_breach("roc_auc", 0.6, 0.75) > 1, performance_breach("rmse", 2.0, 2.5) > 1
    (True, False)
    """
    if value is None or floor is None:
        return None
    return breach(value, floor, higher_is_worse=not higher_is_better(metric))


@observed
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Join all labels of the model with its recent scored outputs; publish metrics and degradation."""
    settings = load(LabelsSettings)
    if event.get("detail-type") == BATCH_SCORED:
        model = check_model_name(str(event["detail"]["model"]))
        batch = str(event["detail"].get("batch_id", ""))
        if not storage.list_uris(label_store.store_prefix(settings.data_bucket, model)):
            return {"model_name": model, "skipped": "no labels stored for this model"}
        trigger = f"batch:{batch}"
    else:
        s3 = S3EventNotificationEventBridgeModel.model_validate(event)
        obj = s3.detail.object
        model = model_from_label_key(obj.key)
        trigger = f"{s3.detail.bucket.name}/{obj.key}@{obj.etag}"
    joiner = _once(
        "labels",
        settings,
        lambda: LabelJoiner(data_bucket=settings.data_bucket, registry=_registry(settings)),
    )
    mc = fleet_config(settings).model(model)
    try:
        result = joiner.run(mc, trigger=trigger)
    except ModelNotFoundError as exc:
        logger.warning("labels not joined: model has no champion", model=model, problem=str(exc))
        return {"model_name": model, "skipped": str(exc)}
    record(
        model,
        {
            Metric.REALIZED_PERFORMANCE: result.value,
            Metric.ESTIMATED_PERFORMANCE: result.estimated_value,
            Metric.LABEL_COVERAGE: result.coverage,
            # Against alarms.performance_floor in the metric's direction (the fleet alarms' scale).
            Metric.REALIZED_PERFORMANCE_BREACH: performance_breach(result.metric, result.value, result.floor),
            Metric.ESTIMATED_PERFORMANCE_BREACH: performance_breach(
                result.metric, result.estimated_value, result.floor
            ),
        },
    )
    if (
        result.degraded
        and result.value is not None
        and joiner.registry.claim_cooldown(
            model,
            PERFORMANCE_COOLDOWN,
            now=result.computed_at,
            minutes=mc.alarms.performance_cooldown_minutes,
        )
    ):
        publisher = _once("publisher", settings, lambda: EventPublisher(settings.event_bus))
        with joiner.registry.giving_back_cooldown(model, PERFORMANCE_COOLDOWN, now=result.computed_at):
            _publish_degraded(publisher, model, result)
    summary = result.model_dump(mode="json", exclude={"batches", "window_estimated", "unknown_sample"})
    logger.info(
        "labels joined",
        **{k: summary[k] for k in ("model_name", "labels", "unknown_ids", "coverage", "value")},
    )
    return summary


def _publish_degraded(publisher: EventPublisher, model: str, result: Any) -> None:
    publisher.publish(
        PerformanceDegraded(
            model=model,
            version=result.model_version,
            kind="realized",
            metric=result.metric,
            value=result.value,
            floor=result.floor,
            rows=result.labeled_rows,
            report_uri=result.summary_uri,
            detected_at=result.computed_at,
        )
    )

"""monitor: Batch Scored events (per-batch drift); a Scheduler schedule, a Scheduled Event or
{"model_name"} (window drift)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from scorewatch.core.contract import DetailType
from scorewatch.handlers import (
    fleet_config,
    is_eventbridge,
    logger,
    observed,
    schedule_payload,
    scheduled_models,
    watcher,
)
from scorewatch.handlers.settings import MonitorSettings, load
from scorewatch.io.events import BatchScored


@observed
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Evaluate drift; returns the outcome (or {"outcomes": [...]} for a window run)."""
    settings = load(MonitorSettings)
    service = watcher(settings)
    if is_eventbridge(event) and event["detail-type"] == DetailType.BATCH_SCORED:
        # Only the detail is validated: emulators may omit envelope fields such as ``account``.
        detail = BatchScored.model_validate(event["detail"])
        outcome = service.on_batch_scored(detail)
        logger.info("batch evaluated", **_fields(outcome))
        return outcome.model_dump(mode="json")
    at = None
    models: list[str] | None
    named = schedule_payload(event, kind="monitor")
    if named is not None:
        models = [] if fleet_config(settings).retired(named) else [named]
    elif is_eventbridge(event):
        scheduled = EventBridgeModel.model_validate(event)
        models, at = scheduled_models(scheduled, fleet_config(settings), kind="monitor"), scheduled.time
    else:
        models = [event["model_name"]] if event.get("model_name") else None
    outcomes = service.on_schedule(models, at=at)
    for o in outcomes:
        logger.info("window evaluated", **_fields(o))
    return {"outcomes": [o.model_dump(mode="json") for o in outcomes], "count": len(outcomes)}


def _fields(outcome: Any) -> dict[str, Any]:
    # ``message`` is reserved by logging's LogRecord.
    d = outcome.model_dump(mode="json", exclude_none=True)
    return {("reason" if k == "message" else k): v for k, v in d.items()}

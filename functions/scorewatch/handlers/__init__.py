"""Lambda entry points (contract.HANDLERS) and what they share.

One Logger (JSON, correlation id from the event), one Tracer and the EMF Metrics instance per
process; services (registry, publisher, scorer, watcher) are built once per cold start from the
validated settings and reused. Event parsing turns every trigger of the score function into
:class:`scorewatch.scoring.batch.ScoreRequest` payloads, the unit of idempotency.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools import Logger, Tracer

from scorewatch.core.contract import SERVICE_NAME, Prefix
from scorewatch.handlers.settings import HandlerSettings, RegistrySettings, ScoreSettings
from scorewatch.io.events import EventPublisher
from scorewatch.io.metrics import METRICS
from scorewatch.io.schedules import PAYLOAD_KEY

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

    from scorewatch.core.config import ConfigSource
    from scorewatch.io.fleet_config import FleetConfig
    from scorewatch.monitoring.window import Watcher
    from scorewatch.scoring.batch import BatchScorer, ScoreRequest

# The orchestration modules (scorewatch.scoring.batch: pandas/pyarrow; scorewatch.monitoring.window)
# are imported by the functions that need them, so the labels and retrain handlers, which share this
# package, do not pay for the score path's imports at cold start.

#: What the X-Ray SDK instruments: the AWS SDK calls (S3, DynamoDB, EventBridge, CloudWatch...).
#: Powertools' default patches every library the SDK supports that is importable, which imports
#: each of them (requests, sqlite3, httpx...) at cold start, and with ``httplib`` traces every AWS
#: call twice (botocore's own subsegment and the HTTP request under it).
TRACED_MODULES = ("botocore",)

logger = Logger(service=SERVICE_NAME)
tracer = Tracer(service=SERVICE_NAME, patch_modules=TRACED_MODULES)
metrics = METRICS

# EventBridge event id; Step Functions payloads carry execution_id / batch_id; else the key.
CORRELATION_ID_PATH = "id || execution_id || input.batch_id || batch_id || key"
S3_OBJECT_CREATED = "Object Created"
SCHEDULED_EVENT = "Scheduled Event"
#: Key of the Input an EventBridge Scheduler schedule made by ``scorewatch models configure`` sends:
#: ``{"scorewatch_schedule": {"kind": "score" | "monitor", "model": "<name>"}}``.
SCHEDULE_PAYLOAD = PAYLOAD_KEY

Handler = TypeVar("Handler", bound=Callable[..., Any])


def observed(handler: Handler, *, emf: bool = True) -> Handler:
    """The Powertools stack every entry point wears, outermost first.

    1. ``logger.inject_lambda_context``: JSON logs with the correlation id taken from the event by
       :data:`CORRELATION_ID_PATH`, state cleared per invocation (no keys leak between requests);
    2. ``tracer.capture_lambda_handler``: the handler's segment with its ColdStart annotation; the
       response is not captured (each outcome would be copied into the trace);
    3. ``metrics.log_metrics``: flushes what :func:`scorewatch.io.metrics.record` added as EMF.
       ``emf=False`` leaves it off for handlers that record no metric (the retraining steps), where
       it would only warn "No application metrics to publish" on every invocation.

    A plain function rather than Powertools' ``lambda_handler_decorator``: that factory calls its
    middleware on each invocation, so the three decorators would wrap the handler afresh per call,
    and it logs every exception a second time outside the correlation id's scope.
    """
    wrapped: Any = handler
    if emf:
        wrapped = metrics.log_metrics(wrapped)
    wrapped = tracer.capture_lambda_handler(wrapped, capture_response=False)
    return logger.inject_lambda_context(wrapped, correlation_id_path=CORRELATION_ID_PATH, clear_state=True)


# ---------------------------------------------------------------------------------- services
def _registry(settings: RegistrySettings) -> Any:
    from scorewatch.io.registry import Registry

    return Registry(
        table_name=settings.registry_table,
        models_bucket=settings.models_bucket,
        allow_unsafe_pickle=settings.allow_unsafe_pickle,
        allow_version_mismatch=settings.allow_version_mismatch,
    )


# Services per settings instance: settings.load returns the same instance while the environment is
# unchanged (a container's life), so this builds each service once per cold start.
# Keyed by the AWS endpoint too: one process that runs two local clouds in turn (tests, benchmarks)
# sees the same settings for both (names are the template's), and clients built for the first
# emulator must not outlive it. On Lambda the endpoint never changes.
_SERVICES: dict[tuple[str, int, str | None], tuple[HandlerSettings, Any]] = {}


def _once(kind: str, settings: HandlerSettings, build: Any) -> Any:
    key = (kind, id(settings), os.environ.get("AWS_ENDPOINT_URL"))
    hit = _SERVICES.get(key)
    if hit is None or hit[0] is not settings:
        hit = (settings, build())
        _SERVICES[key] = hit
    return hit[1]


def fleet_config(settings: HandlerSettings) -> FleetConfig:
    """The stored model configurations, cached for ``settings.config_ttl_seconds`` (one per container)."""

    def build() -> FleetConfig:
        from scorewatch.io.fleet_config import FleetConfig
        from scorewatch.io.registry.configs import ConfigStore

        return FleetConfig(ConfigStore(settings.registry_table), ttl_seconds=settings.config_ttl_seconds)

    return _once("config", settings, build)


def scorer(settings: HandlerSettings) -> BatchScorer:
    """The scorer of this container (split/finalize settings carry no registry: not needed there)."""
    return _once("scorer", settings, lambda: _scorer(settings))


def watcher(settings: RegistrySettings) -> Watcher:
    return _once("watcher", settings, lambda: _watcher(settings))


def _scorer(settings: HandlerSettings) -> BatchScorer:
    from scorewatch.scoring.batch import BatchScorer

    return BatchScorer(
        data_bucket=settings.data_bucket,
        config=fleet_config(settings),
        registry=_registry(settings) if isinstance(settings, RegistrySettings) else None,
        publisher=EventPublisher(settings.event_bus),
        large_file_state_machine_arn=getattr(settings, "large_file_state_machine_arn", None),
        reader_priority=getattr(settings, "reader_priority", "normal"),
    )


def _watcher(settings: RegistrySettings) -> Watcher:
    from scorewatch.monitoring.window import Watcher

    return Watcher(
        data_bucket=settings.data_bucket,
        config=fleet_config(settings),
        registry=_registry(settings),
        publisher=EventPublisher(settings.event_bus),
    )


# ---------------------------------------------------------------------------------- parsing
def is_eventbridge(event: dict[str, Any]) -> bool:
    return isinstance(event, dict) and "detail-type" in event and "source" in event


def schedule_payload(event: Any, *, kind: str) -> str | None:
    """The model a Scheduler schedule's Input (:data:`SCHEDULE_PAYLOAD`) names, for ``kind``; else None.

    Raises
    ------
    InputRejectedError
        When the payload is for the other function or names no valid model.
    """
    from scorewatch.core.errors import InputRejectedError
    from scorewatch.core.schema import check_model_name

    if not isinstance(event, dict) or SCHEDULE_PAYLOAD not in event:
        return None
    body = event[SCHEDULE_PAYLOAD] if isinstance(event[SCHEDULE_PAYLOAD], dict) else {}
    if body.get("kind") != kind:
        raise InputRejectedError(
            f"schedule payload kind {body.get('kind')!r} is not {kind!r}", reason="bad_schedule_payload"
        )
    return check_model_name(str(body.get("model", "")))


def scheduled_models(event: EventBridgeModel, config: ConfigSource, *, kind: str) -> list[str]:
    """Models a Scheduled Event is for: the one its rule names (``...-<kind>-<model>``), else all
    models with a ``schedules.<kind>`` expression."""
    attr = "scoring" if kind == "score" else "monitoring"
    candidates = [m.name for m in config.models if getattr(m.schedules, attr)]
    for arn in event.resources:
        rule = arn.rsplit("/", 1)[-1]
        named = [m for m in candidates if rule.endswith(f"-{m}") or rule == m]
        if named:
            return [max(named, key=len)]
    return candidates


def score_requests(event: dict[str, Any], settings: ScoreSettings) -> Iterator[ScoreRequest]:
    """Normalise an S3 Object Created event, a Scheduler schedule's payload, a Scheduled Event or a
    direct payload.

    Keys of S3 events delivered through EventBridge are already URL-decoded (unlike S3's own
    notifications), so they are used verbatim. A direct payload without version id or ETag is
    pinned to the object's current version, so idempotency always has an identity to key on.
    """
    # Powertools' parser models load every event model (~0.2 s): only the score path needs them.
    from aws_lambda_powertools.utilities.parser.models import (
        EventBridgeModel,
        S3EventNotificationEventBridgeModel,
    )

    from scorewatch.core import layout
    from scorewatch.io import storage
    from scorewatch.scoring.batch import ScoreRequest

    if is_eventbridge(event) and event["detail-type"] == S3_OBJECT_CREATED:
        s3 = S3EventNotificationEventBridgeModel.model_validate(event)
        obj = s3.detail.object
        yield ScoreRequest(
            bucket=s3.detail.bucket.name, key=obj.key, version_id=obj.version_id, etag=obj.etag
        )
        return
    scheduled: list[str] | None = None
    named = schedule_payload(event, kind="score")
    if named is not None:
        scheduled = [] if fleet_config(settings).retired(named) else [named]
    elif is_eventbridge(event) and event["detail-type"] == SCHEDULED_EVENT:
        sched = EventBridgeModel.model_validate(event)
        scheduled = scheduled_models(sched, fleet_config(settings), kind="score")
    if scheduled is not None:
        config = fleet_config(settings)
        for model in scheduled:
            prefix = config.model(model).schedules.scoring_prefix or f"{Prefix.INCOMING}{model}/"
            for info in storage.list_uris(layout.s3_uri(settings.data_bucket, prefix)):
                key = info.uri.split("/", 3)[3]
                if key.endswith("/"):
                    continue  # folder marker
                yield _pinned(ScoreRequest(bucket=settings.data_bucket, key=key, model_name=model))
        return
    yield _pinned(ScoreRequest.model_validate(event.get("input", event)))


def _pinned(req: ScoreRequest) -> ScoreRequest:
    from scorewatch.io import storage

    if req.version_id or req.etag:
        return req
    try:
        info = storage.stat(req.uri)
    except FileNotFoundError:
        return req  # the scorer reports it missing
    return req.model_copy(update={"version_id": info.version_id, "etag": info.etag})

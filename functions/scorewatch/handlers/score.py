"""score: S3 Object Created via EventBridge, a Scheduler schedule, a Scheduled Event, or a direct payload."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyPersistenceLayerError
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from aws_lambda_powertools.utilities.typing import LambdaContext

from scorewatch.core.errors import TransientError
from scorewatch.handlers import (
    SCHEDULE_PAYLOAD,
    SCHEDULED_EVENT,
    _once,
    logger,
    observed,
    score_requests,
    scorer,
)
from scorewatch.handlers.settings import ScoreSettings, load
from scorewatch.io.transient import transient_errors
from scorewatch.scoring.batch import ScoreOutcome, ScoreRequest

# One upload (bucket, key, version id or ETag) or one part of it is scored once per model and
# pinned model version (null = the champion); a replay within a day returns the stored outcome, a
# payload pinning another version is its own run. Deterministic output keys cover replays after
# expiry. Without a version id or ETag the whole key is null, so raise_on_no_idempotency_key
# refuses the payload; the handler never sends one (an object it cannot pin is reported missing).
IDEMPOTENCY = IdempotencyConfig(
    event_key_jmespath=(
        "(version_id || etag) && [bucket, key, version_id || etag, part.index, model_name, model_version]"
    ),
    raise_on_no_idempotency_key=True,
    expires_after_seconds=24 * 3600,
)


def _runner(settings: ScoreSettings) -> Any:
    persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table)
    service = scorer(settings)

    @idempotent_function(
        data_keyword_argument="request",
        persistence_store=persistence,
        config=IDEMPOTENCY,
        output_serializer=PydanticSerializer(model=ScoreOutcome),
    )
    def run(request: ScoreRequest) -> ScoreOutcome:
        return service.score(request)

    return run


def _handle(run: Any, request: ScoreRequest) -> ScoreOutcome:
    if not (request.version_id or request.etag):
        # Could not be pinned (it did not exist when stat'ed): nothing to key on, nothing to
        # score; reported as its own outcome, outside the idempotency store.
        return ScoreOutcome(status="missing", source_uri=request.uri, message=f"{request.uri} does not exist")
    # a throttled/unavailable idempotency table is retryable like any other AWS fault
    with transient_errors(
        what=f"idempotency record for {request.uri}", wrappers=(IdempotencyPersistenceLayerError,)
    ):
        outcome: ScoreOutcome = run(request=request)
    return outcome


@observed
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Score each object the event names; returns the outcome (or {"outcomes": [...]} for a schedule)."""
    settings = load(ScoreSettings)
    IDEMPOTENCY.register_lambda_context(context)
    run = _once("score-run", settings, lambda: _runner(settings))
    scheduled = event.get("detail-type") == SCHEDULED_EVENT or SCHEDULE_PAYLOAD in event
    outcomes = []
    for request in score_requests(event, settings):
        try:
            outcome = _handle(run, request)
        except TransientError:
            raise  # retried as a whole; objects already handled return their stored outcome
        except Exception as exc:
            if not scheduled:
                raise  # one object per invocation: fail it for replay (DLQ)
            # One bad object never stops the others of a scheduled run: it becomes its outcome.
            logger.exception("object failed", source_uri=request.uri, error=type(exc).__name__)
            outcome = ScoreOutcome(
                status="failed", source_uri=request.uri, reason=type(exc).__name__, message=str(exc)[:500]
            )
        logger.info(
            "object handled",
            source_uri=request.uri,
            status=outcome.status,
            batch_id=outcome.batch_id,
            rows_scored=outcome.rows_scored,
            rows_rejected=outcome.rows_rejected,
            reason=outcome.reason,
        )
        outcomes.append(outcome.model_dump(mode="json"))
    if scheduled:
        return {"outcomes": outcomes, "count": len(outcomes)}
    return outcomes[0]

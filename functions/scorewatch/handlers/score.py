"""score: S3 Object Created via EventBridge, a Scheduled Event, or a direct {bucket, key, ...} payload."""

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

from scorewatch.handlers import _once, logger, observed, score_requests, scorer
from scorewatch.handlers.settings import ScoreSettings, load
from scorewatch.io.transient import transient_errors
from scorewatch.scoring.batch import ScoreOutcome, ScoreRequest

# One upload (bucket, key, version id or ETag) or one part of it is scored once; a replay within
# a day returns the stored outcome. Deterministic output keys cover replays after expiry. Without
# a version id or ETag the whole key is null, so raise_on_no_idempotency_key refuses the payload.
IDEMPOTENCY = IdempotencyConfig(
    event_key_jmespath="(version_id || etag) && [bucket, key, version_id || etag, part.index]",
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


@observed
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Score each object the event names; returns the outcome (or {"outcomes": [...]} for a schedule)."""
    settings = load(ScoreSettings)
    IDEMPOTENCY.register_lambda_context(context)
    run = _once("score-run", settings, lambda: _runner(settings))
    outcomes = []
    for request in score_requests(event, settings):
        # a throttled/unavailable idempotency table is retryable like any other AWS fault
        with transient_errors(
            what=f"idempotency record for {request.uri}", wrappers=(IdempotencyPersistenceLayerError,)
        ):
            outcome = run(request=request)
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
    if "detail-type" in event and event["detail-type"] == "Scheduled Event":
        return {"outcomes": outcomes, "count": len(outcomes)}
    return outcomes[0]

"""finalize: the large-file workflow's last step (merges part profiles, emits one Batch Scored)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from scorewatch.handlers import CORRELATION_ID_PATH, logger, metrics, scorer, tracer
from scorewatch.handlers.settings import FinalizeSettings, load
from scorewatch.scoring.batch import SplitResult


@logger.inject_lambda_context(correlation_id_path=CORRELATION_ID_PATH, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Returns the whole file's ScoreOutcome."""
    settings = load(FinalizeSettings)
    outcome = scorer(settings).finalize(SplitResult.model_validate(event.get("input", event)))
    logger.info("large file finalized", batch_id=outcome.batch_id, rows_scored=outcome.rows_scored)
    return outcome.model_dump(mode="json")

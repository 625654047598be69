"""finalize: the large-file workflow's last step (merges part profiles, emits one Batch Scored)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from scorewatch.handlers import logger, observed, scorer
from scorewatch.handlers.settings import FinalizeSettings, load
from scorewatch.scoring.batch import SplitResult


@observed
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Returns the whole file's ScoreOutcome."""
    settings = load(FinalizeSettings)
    outcome = scorer(settings).finalize(SplitResult.model_validate(event.get("input", event)))
    logger.info("large file finalized", batch_id=outcome.batch_id, rows_scored=outcome.rows_scored)
    return outcome.model_dump(mode="json")

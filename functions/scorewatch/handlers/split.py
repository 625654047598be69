"""split: the large-file workflow's first step (plans parts, writes the manifest)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from scorewatch.handlers import logger, observed, scorer
from scorewatch.handlers.settings import SplitSettings, load
from scorewatch.scoring.batch import LargeFileInput


@observed
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Returns SplitResult: the input plus manifest_bucket, manifest_key and parts."""
    settings = load(SplitSettings)
    result = scorer(settings).split(LargeFileInput.model_validate(event.get("input", event)))
    logger.info("split planned", key=result.key, batch_id=result.batch_id, parts=result.parts)
    return result.model_dump(mode="json")

"""site: S3 Object Created under monitoring/model=<m>/history|performance/ -> that model's page + index."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from scorewatch.core.contract import Prefix
from scorewatch.core.errors import InputRejectedError
from scorewatch.core.schema import check_model_name
from scorewatch.handlers import _once, _registry, logger, observed
from scorewatch.handlers.settings import SiteSettings, load


def model_from_monitoring_key(key: str) -> str:
    """``monitoring/model=<m>/...`` -> ``<m>`` (InputRejectedError for any other key)."""
    parts = key.split("/")
    if len(parts) < 3 or parts[0] + "/" != Prefix.MONITORING or not parts[1].startswith("model="):
        raise InputRejectedError(
            f"key {key!r} is not under {Prefix.MONITORING}model=<model>/", reason="unrouted_key"
        )
    return check_model_name(parts[1].removeprefix("model="))


@functools.partial(observed, emf=False)  # records no metric
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Rebuild the model's page and the index; a direct {"model_name": m} payload does the same."""
    from scorewatch.monitoring.site_update import update_model

    settings = load(SiteSettings)
    if event.get("model_name"):
        model = check_model_name(str(event["model_name"]))
    else:
        model = model_from_monitoring_key(
            S3EventNotificationEventBridgeModel.model_validate(event).detail.object.key
        )
    registry = _once("registry", settings, lambda: _registry(settings))
    data = f"s3://{settings.data_bucket}"
    done = update_model(data, f"{data}/{Prefix.SITE}", model, now=datetime.now(UTC), registry=registry)
    logger.info(
        "site updated",
        model=model,
        objects_read=done.objects_read,
        reports_copied=done.reports_copied,
        models_in_index=done.models_in_index,
    )
    return {
        "model_name": model,
        "page_uri": done.page_uri,
        "index_uri": done.index_uri,
        "objects_read": done.objects_read,
        "reports_copied": done.reports_copied,
        "models_in_index": done.models_in_index,
    }

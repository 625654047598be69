"""The scorewatch CDK app: `make synth` (offline, no Docker) or `npx aws-cdk deploy` (see cdk.json).

Context (cdk.json or ``-c``): ``scorewatch:config`` (models file, default examples/models.json),
``scorewatch:prefix`` (resource name prefix), ``scorewatch:architecture`` (arm64 | x86_64),
``scorewatch:score_reserved_concurrency`` (the score function's reserved concurrency, or "none").
A bad configuration entry stops synthesis with a message naming the field.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from scorewatch.core.errors import ConfigError
from scorewatch_infra.configuration import (
    CONTEXT_ARCHITECTURE,
    CONTEXT_CONFIG,
    CONTEXT_PREFIX,
    CONTEXT_SCORE_CONCURRENCY,
    resolve_settings,
)
from scorewatch_infra.stack import ScorewatchStack

# Distributed Map ResultWriter needs the V2 writer (off by default in CDK v2).
FEATURE_FLAGS = {"@aws-cdk/aws-stepfunctions:useDistributedMapResultWriterV2": True}


def build_app(context: dict | None = None, *, outdir: str | None = None) -> App:
    """Create the app with its stack and the cdk-nag checks (raises ConfigError on bad config)."""
    app = App(context={**FEATURE_FLAGS, **(context or {})}, outdir=outdir)
    settings = resolve_settings(
        config_path=app.node.try_get_context(CONTEXT_CONFIG),
        prefix=app.node.try_get_context(CONTEXT_PREFIX),
        architecture=app.node.try_get_context(CONTEXT_ARCHITECTURE),
        score_reserved_concurrency=app.node.try_get_context(CONTEXT_SCORE_CONCURRENCY),
    )
    ScorewatchStack(
        app,
        settings.prefix,
        settings=settings,
        description="scorewatch: serverless batch scoring and model monitoring",
        env=Environment(account=None, region=None),
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
    return app


def main() -> int:
    try:
        # The CDK CLI sets CDK_OUTDIR; `make synth` runs this file directly and writes cdk.out/.
        app = build_app(
            outdir=os.environ.get("CDK_OUTDIR") or str(Path(__file__).resolve().parents[1] / "cdk.out")
        )
    except ConfigError as exc:
        print(f"cdk synth failed: {exc}", file=sys.stderr)
        return 1
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())

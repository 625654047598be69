"""Synthesize the CDK app once per test session (seconds of jsii work) and share the result.

Infra tests carry ``pytest.mark.xdist_group("infra")`` so ``--dist loadgroup`` runs them on one
worker and the synthesis happens once.
"""

from __future__ import annotations

import json
import os
import sys

import pytest
from infra_helpers import CONFIG, REPO, Synthesized

# infra/app.py is a script, not a package module: make it importable as `app`.
if str(REPO / "infra") not in sys.path:
    sys.path.insert(0, str(REPO / "infra"))


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app as `make synth` builds it (examples/models.json, arm64), cdk-nag attached."""
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    from app import build_app

    outdir = tmp_path_factory.mktemp("cdk.out")
    app = build_app({"scorewatch:config": str(CONFIG), "scorewatch:prefix": "scorewatch"}, outdir=str(outdir))
    error = None
    try:
        app.synth()
    except RuntimeError as exc:  # cdk-nag / validation failures; the report says which
        error = str(exc)
    stack = app.node.find_child("scorewatch")
    template_path = outdir / "scorewatch.template.json"
    report_path = outdir / "validation-report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {"pluginReports": []}
    return Synthesized(
        template=json.loads(template_path.read_text()),
        report=report,
        template_path=template_path,
        stack=stack,
        synth_error=error,
    )

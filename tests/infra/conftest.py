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

from scorewatch.core.config import load_config

# infra/app.py is a script, not a package module: make it importable as `app`.
if str(REPO / "infra") not in sys.path:
    sys.path.insert(0, str(REPO / "infra"))


EXTRA_MODEL = {
    "name": "fraud",
    "schedules": {
        "scoring": "cron(15 2 * * ? *)",
        "scoring_prefix": "incoming/fraud/daily/",
        "monitoring": "rate(6 hours)",
    },
    "alarms": {"drift_share": 0.4, "prediction_drift": 0.15, "rejected_row_rate": 0.01},
    "retraining": {"approval_required": True, "approval_timeout_hours": 48},
}


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app as `make synth` builds it (examples/models.json, arm64), cdk-nag attached."""
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    from app import build_app

    outdir = tmp_path_factory.mktemp("cdk.out")
    # The example configuration plus a second model that exercises what the example leaves out
    # (a scoring schedule with its own prefix, no performance floor, human approval).
    doc = json.loads(CONFIG.read_text())
    doc["models"].append(EXTRA_MODEL)
    config_path = tmp_path_factory.mktemp("config") / "models.json"
    config_path.write_text(json.dumps(doc))
    app = build_app(
        {"scorewatch:config": str(config_path), "scorewatch:prefix": "scorewatch"}, outdir=str(outdir)
    )
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
        config=load_config(config_path),
        template=json.loads(template_path.read_text()),
        report=report,
        template_path=template_path,
        stack=stack,
        synth_error=error,
    )

"""The stack does not grow with the fleet: synthesis at 1, 10 and 300 models (issue 16).

Each size is synthesized once for the module (cdk-nag attached, as `make synth` does); the
models are copies of examples/models.json's model under new names, with a scoring schedule, a
performance floor and human approval, so every per-model feature the old stack turned into
resources is present.
"""

from __future__ import annotations

import copy
import json
import os
from collections import Counter
from typing import Any

import pytest
from infra_helpers import CONFIG

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("infra")]

SIZES = (1, 10, 300)


def fleet_file(tmp_path, n: int):
    doc = json.loads(CONFIG.read_text())
    template = doc["models"][0]
    models = []
    for i in range(n):
        m = copy.deepcopy(template)
        m["name"] = f"model-{i:03d}"
        m.setdefault("schedules", {})["scoring"] = "cron(15 2 * * ? *)"
        m["alarms"] = {**m.get("alarms", {}), "performance_floor": 0.6 + (i % 10) / 100}
        m["retraining"] = {**m.get("retraining", {}), "approval_required": i % 2 == 0}
        models.append(m)
    doc["models"] = models
    path = tmp_path / f"models-{n}.json"
    path.write_text(json.dumps(doc))
    return path


def _synth(tmp_path, n: int) -> dict[str, Any]:
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    from app import build_app

    outdir = tmp_path / f"cdk.out-{n}"
    app = build_app(
        {"scorewatch:config": str(fleet_file(tmp_path, n)), "scorewatch:prefix": "scorewatch"},
        outdir=str(outdir),
    )
    error = None
    try:
        app.synth()
    except RuntimeError as exc:  # cdk-nag findings; the report says which
        error = str(exc)
    report_path = outdir / "validation-report.json"
    return {
        "template": json.loads((outdir / "scorewatch.template.json").read_text()),
        "report": json.loads(report_path.read_text()) if report_path.exists() else {"pluginReports": []},
        "error": error,
    }


@pytest.fixture(scope="module")
def fleets(tmp_path_factory) -> dict[int, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("fleet")
    return {n: _synth(tmp, n) for n in SIZES}


def resource_types(synth: dict[str, Any]) -> Counter:
    return Counter(r["Type"] for r in synth["template"]["Resources"].values())


def test_synthesis_succeeds_and_resource_count_at_300_is_within_10_percent_of_10(fleets):
    counts = {n: len(fleets[n]["template"]["Resources"]) for n in SIZES}
    for n in SIZES:
        assert fleets[n]["error"] is None, (n, fleets[n]["error"])
    assert abs(counts[300] - counts[10]) <= 0.1 * counts[10], counts
    # In fact identical: no resource is per model.
    assert resource_types(fleets[1]) == resource_types(fleets[10]) == resource_types(fleets[300])


def test_template_is_the_same_whatever_the_number_of_models(fleets):
    sizes = {n: len(json.dumps(fleets[n]["template"])) for n in SIZES}
    assert fleets[300]["template"] == fleets[10]["template"] == fleets[1]["template"], sizes


def test_no_function_environment_value_grows_with_the_model_count(fleets):
    def envs(n: int) -> dict[str, dict[str, Any]]:
        return {
            logical: r["Properties"].get("Environment", {}).get("Variables", {})
            for logical, r in fleets[n]["template"]["Resources"].items()
            if r["Type"] == "AWS::Lambda::Function"
        }

    small, large = envs(1), envs(300)
    assert small.keys() == large.keys() and small
    for logical in small:
        assert small[logical] == large[logical], logical
        assert "model-000" not in json.dumps(large[logical]), logical


def test_no_model_name_appears_anywhere_in_the_template(fleets):
    body = json.dumps(fleets[300]["template"])
    assert "model-000" not in body and "model-299" not in body


def test_cdk_nag_is_clean_at_every_size(fleets):
    for n in SIZES:
        errors = [
            (v["ruleName"], c["constructPath"])
            for plugin in fleets[n]["report"].get("pluginReports", [])
            for v in plugin.get("violations", [])
            if v.get("severity") == "error"
            for c in v["violatingConstructs"]
        ]
        assert errors == [], n


def test_model_alarms_are_one_metrics_insights_alarm_per_concern(fleets):
    alarms = [
        r["Properties"]
        for r in fleets[300]["template"]["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm" and "Metrics" in r["Properties"]
    ]
    queries = sorted(q["Expression"] for a in alarms for q in a["Metrics"])
    assert len(queries) == len(alarms) == 6
    assert all(q.endswith("GROUP BY Model") and 'FROM SCHEMA("Scorewatch", Model)' in q for q in queries)

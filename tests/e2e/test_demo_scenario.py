"""The issue-7 scenario end to end on the local cloud: the synthesized stack on the emulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scorewatch_infra.local.demo import DEFAULT_CONFIG, run_demo

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("local-cloud")]

ROWS = 800


@pytest.fixture(scope="module")
def promoted(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    return run_demo(out, seed=3, rows=ROWS, printer=lambda _: None)


@pytest.fixture(scope="module")
def rejected(tmp_path_factory):
    """Same scenario with an unreachable gate floor: the challenger must be rejected."""
    cfg = json.loads(DEFAULT_CONFIG.read_text())
    cfg["models"][0]["retraining"]["floor"] = 0.999
    path = tmp_path_factory.mktemp("cfg") / "models.json"
    path.write_text(json.dumps(cfg))
    out = tmp_path_factory.mktemp("demo-reject")
    return run_demo(out, seed=3, rows=ROWS, config_path=path, printer=lambda _: None)


def test_stable_batch_is_scored_without_drift_and_drifted_batch_raises_drift(promoted):
    scored = promoted.of_type("Batch Scored")
    assert [e["detail"]["rows_scored"] for e in scored] == [ROWS, ROWS, ROWS]
    drift = promoted.of_type("Drift Detected")
    assert len(drift) == 1
    detail = drift[0]["detail"]
    assert detail["batch_id"] == scored[1]["detail"]["batch_id"]  # the drifted batch, not the stable one
    assert detail["dataset_drift"] is True
    assert {"contract", "monthly_charges"} <= set(detail["drifted_features"])


def test_retraining_runs_on_the_emulator_and_promotes_the_challenger(promoted):
    (run,) = promoted.executions
    assert run.status == "SUCCEEDED"
    assert run.states == ("Assemble", "Train", "Evaluate", "Gate", "NeedsApproval", "Promote", "Promoted")
    assert run.input["detail-type"] == "Drift Detected"  # started by the template's rule
    (event,) = promoted.of_type("Model Promoted")
    assert event["detail"]["version"] == "000002" and event["detail"]["previous_champion"] == "000001"
    assert event["detail"]["challenger_score"] > event["detail"]["champion_score"]
    assert promoted.champion_before == "000001" and promoted.champion_after == "000002"
    assert promoted.versions == {"000001": "archived", "000002": "champion"}


def test_later_batch_is_scored_by_the_new_champion(promoted):
    versions = [e["detail"]["version"] for e in promoted.of_type("Batch Scored")]
    assert versions == ["000001", "000001", "000002"]


def test_outputs_reports_cards_and_histories_are_written(promoted):
    out: Path = promoted.output
    scored = sorted((out / "data" / "scored").rglob("*.parquet"))
    assert len(scored) == 3
    reports = sorted((out / "data" / "monitoring").rglob("*.html"))
    assert len(reports) == 3 and all(r.with_suffix(".json").is_file() for r in reports)
    cards = {p.name: json.loads(p.read_text()) for p in (out / "cards").glob("*.json")}
    assert set(cards) == {"churn-000001.json", "churn-000002.json"}
    assert cards["churn-000002.json"]["parent_version"] == "000001"
    assert "000002" in (out / "cards" / "churn-000002.html").read_text()
    history = json.loads((out / "executions.json").read_text())
    assert history[0]["states"][-1] == "Promoted"
    assert (out / "events.jsonl").read_text().count('"Drift Detected"') == 1
    assert any((out / "logs").glob("*score*.log"))


def test_labels_produce_realized_performance(promoted):
    labels_step = next(s for s in promoted.steps if s.name.startswith("labels"))
    assert "RealizedPerformance" in labels_step.summary


def test_unreachable_floor_routes_the_workflow_to_reject(rejected):
    (run,) = rejected.executions
    assert run.status == "SUCCEEDED"
    assert run.states == ("Assemble", "Train", "Evaluate", "Gate", "Reject", "Rejected")
    (event,) = rejected.of_type("Model Rejected")
    assert any("floor 0.999" in r and r.endswith("fail") for r in event["detail"]["reasons"])
    assert rejected.of_type("Model Promoted") == []
    assert rejected.champion_after == "000001"
    assert rejected.versions == {"000001": "champion", "000002": "rejected"}
    assert [e["detail"]["version"] for e in rejected.of_type("Batch Scored")] == ["000001"] * 3


def test_alarm_states_follow_the_emitted_metrics(promoted):
    alarms = promoted.alarms
    drift_alarm = next(name for name in alarms if "drift" in name.lower() and "share" in name.lower())
    assert alarms[drift_alarm] == "ALARM"  # the drifted batch's share is over the 0.3 threshold
    failed = [n for n, s in alarms.items() if "retraining" in n.lower() and "fail" in n.lower()]
    assert failed and all(alarms[n] != "ALARM" for n in failed)
    status = (promoted.output / "status.txt").read_text()
    assert "executions:" in status and "Promoted" in status
    # One alarm per concern for the whole fleet; status names the breaching model.
    assert not any("churn" in name for name in alarms)
    assert f"ALARM {drift_alarm} " in status and "1 of 1 models breaching: churn" in status


def test_the_monitoring_site_is_built_from_the_collected_data(promoted):
    import re

    assert promoted.site == promoted.output / "site" / "index.html"
    index = promoted.site.read_text()
    assert re.findall(r'<tr class="model-row" data-status="\w+">\s*<td><a href="([^"]+)"', index) == [
        "models/churn/index.html"
    ]
    page = (promoted.output / "site" / "models" / "churn" / "index.html").read_text()
    drifted = next(e["detail"] for e in promoted.of_type("Drift Detected"))
    cells = re.findall(r'<rect class="cell"[^>]*><title>([^<]*)</title>', page)
    assert len(cells) % 3 == 0 and len(cells) >= 3 * len(drifted["drifted_features"])  # features x 3 batches
    assert any(
        c.startswith("monthly_charges · " + drifted["batch_id"]) and c.endswith(", drifted") for c in cells
    )
    # The promotion (from the emulated registry) falls before the later batch: marked on every time
    # axis (drift share, rows, rejected rate, and performance and label coverage: the later batch
    # has labels).
    # The marker's hover text carries the gate's verdict: "v000002 promoted (gate ...): reason".
    marker = r'<line class="marker" data-kind="promoted"[^>]*><title>v000002 promoted[ :(<]'
    assert len(re.findall(marker, page)) == 5
    assert 'id="performance-chart"' in page and 'id="coverage-chart"' in page
    assert re.search(r"<title>[0-9a-f]+ · [^<]*: realized roc_auc [\d.]+</title>", page)
    assert re.search(r"000002<br><span class=\"muted\">promoted \d+ min ago</span>", index)
    links = re.findall(r'href="(reports/[^"]+\.html)"', page)
    assert links and all((promoted.site.parent / "models" / "churn" / link).is_file() for link in links)

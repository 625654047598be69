"""``scorewatch demo --fleet``: a fleet on one synthesized stack, onboarded with configure only.

Six models (two per task: binary, multiclass, regression), half of them drifting, three batches
each; the drifting models' retraining executions run on the one retraining state machine.
"""

from __future__ import annotations

import json

import pytest

from scorewatch_infra.local.fleet import SUMMARY_KEYS, TASKS, fleet_models, run_fleet

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("local-cloud")]

MODELS = 6
ROWS = 300


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    out = tmp_path_factory.mktemp("fleet")
    printed: list[str] = []
    result = run_fleet(out, models=MODELS, rows=ROWS, seed=3, printer=printed.append)
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    return result, printed, events


def test_the_fleet_mixes_tasks_and_drifting_and_stable_models():
    models = fleet_models(MODELS, drift_fraction=0.5)
    assert {(m.task, m.drifting) for m in models} == {(t, d) for t in TASKS for d in (True, False)}
    assert [m.name for m in models][:3] == ["cancer-000", "wine-001", "diabetes-002"]
    assert sum(m.drifting for m in fleet_models(100, drift_fraction=0.1)) == 10


def test_every_model_scored_every_batch_and_everything_is_accounted_for(fleet):
    result, _, events = fleet
    assert [r["batches_scored"] for r in result.rows] == [3] * MODELS
    a = result.accounting
    assert a["batches_dropped"] == a["batches_scored"] == 3 * MODELS
    assert a["batches_rejected"] == 0 and a["batches_unaccounted"] == []
    assert a["executions_unaccounted"] == [] and a["delivery_errors"] == []
    assert a["iam_findings"] == []
    assert a["all_accounted_for"] is True
    assert len(result.latencies) == 3 * MODELS and all(s > 0 for s in result.latencies)
    # Every model ran under the config version configure stored for it (no synthesis per model).
    scored = [e["detail"] for e in events if e["detail-type"] == "Batch Scored"]
    assert {d["config_version"] for d in scored} == {1}


def test_drifting_models_retrain_on_one_state_machine_and_their_champions_move(fleet):
    result, _, events = fleet
    drifting = [r for r in result.rows if r["drifting"]]
    assert len(drifting) == 3
    for r in drifting:
        assert r["drift_detected"] is True, r
        assert r["retraining_status"] == "SUCCEEDED", r
        assert r["retraining_states"][-1] == "Promoted", r
        assert (r["champion_before"], r["champion_after"]) == ("000001", "000002"), r
    succeeded = [e for e in result.executions if e.status == "SUCCEEDED"]
    assert len(succeeded) > 1
    assert len({e.state_machine for e in result.executions}) == 1  # the same state machine
    assert len({e.name for e in result.executions}) == len(result.executions)  # unique names
    # The third batch of a drifting model is scored by its new champion.
    later = {
        d["model"]: d["version"]
        for e in events
        if e["detail-type"] == "Batch Scored" and (d := e["detail"])["source_uri"].endswith("batch-03.csv")
    }
    assert {r["model"]: later[r["model"]] for r in drifting} == {r["model"]: "000002" for r in drifting}


def test_stable_models_keep_their_champions(fleet):
    result, _, _ = fleet
    stable = [r for r in result.rows if not r["drifting"]]
    assert len(stable) == 3
    for r in stable:
        assert r["drift_detected"] is False, r
        assert r["retraining_status"] is None, r
        assert r["champion_before"] == r["champion_after"] == "000001", r


def test_summary_json_has_one_row_per_model_and_the_table_is_printed(fleet):
    result, printed, _ = fleet
    doc = json.loads((result.output / "summary.json").read_text())
    assert [r["model"] for r in doc["models"]] == [m.name for m in fleet_models(MODELS)]
    for row in doc["models"]:
        assert list(row)[: len(SUMMARY_KEYS)] == list(SUMMARY_KEYS)
        assert isinstance(row["batches_scored"], int) and isinstance(row["drift_detected"], bool)
        assert row["retraining_status"] in (None, "SUCCEEDED")
    assert doc["accounting"]["all_accounted_for"] is True
    table = printed[-1].splitlines()
    assert table[0].split()[:3] == ["model", "task", "drifting"]
    assert len(table) == 2 + MODELS + 1 and "every batch and execution accounted for" in table[-1]


def test_the_fleet_site_has_a_row_and_a_page_per_model(fleet):
    result, _, _ = fleet
    assert result.site is not None and result.site.name == "index.html"
    index = result.site.read_text(encoding="utf-8")
    for row in result.rows:
        assert row["model"] in index
        assert (result.site.parent / "models" / row["model"] / "index.html").exists()

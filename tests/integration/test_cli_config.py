"""``scorewatch models configure|config|retire`` and ``fleet status`` on moto's server."""

from __future__ import annotations

import json

import boto3
import pytest
from handler_kit import MODEL, Ctx, encode, frame, make_stack, register_champion

from scorewatch.cli import EXIT_USAGE, main
from scorewatch.core.contract import Env
from scorewatch.handlers import score

ACCOUNT = "123456789012"


@pytest.fixture
def wired(resources, monkeypatch):
    """A deployment with no model configured: handler env, a schedule group and its wiring env."""
    stack = make_stack(resources, monkeypatch, config={"models": []})
    stack.card = register_champion(resources)
    client = boto3.client("scheduler")
    group = f"sw-models-{resources.registry_table[-8:]}"
    client.create_schedule_group(Name=group)
    monkeypatch.setenv(Env.SCHEDULE_GROUP, group)
    monkeypatch.setenv(Env.SCHEDULER_ROLE_ARN, f"arn:aws:iam::{ACCOUNT}:role/sw-scheduler")
    monkeypatch.setenv(Env.SCORE_FUNCTION_ARN, f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:sw-score")
    monkeypatch.setenv(Env.MONITOR_FUNCTION_ARN, f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:sw-monitor")
    stack.scheduler, stack.group = client, group
    return stack


def _schedules(stack) -> list[str]:
    return sorted(s["Name"] for s in stack.scheduler.list_schedules(GroupName=stack.group)["Schedules"])


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()  # what the handlers logged before
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_configure_onboards_a_model_that_the_next_drop_is_scored_with(wired, tmp_path, capsys):
    path = tmp_path / "churn.json"
    path.write_text(
        json.dumps(
            {
                "id_columns": ["customer_id"],
                "decision": {"kind": "fixed", "threshold": 0.0, "positive_action": "call"},
                "schedules": {"scoring": "cron(0 6 * * ? *)"},
            }
        )
    )
    code, out, _ = _run(capsys, "models", "configure", MODEL, "--file", str(path))
    assert code == 0 and f"{MODEL}: created, config version 1" in out
    assert _schedules(wired) == [f"{MODEL}-monitor", f"{MODEL}-score"]

    key = f"incoming/{MODEL}/2026-01-02/a.csv"
    put = wired.put(key, encode(frame(60), "csv"))
    result = score.handler(wired.s3_event(key, put), Ctx())
    assert result["config_version"] == 1
    assert set(wired.read_parquet(result["output_uri"].split("/", 3)[3])["decision"]) == {"call"}

    code, out, _ = _run(capsys, "models", "config", MODEL, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["version"] == 1 and doc["config"]["decision"]["positive_action"] == "call"


def test_a_bad_config_exits_2_naming_the_field_and_the_stored_one_stays(wired, tmp_path, capsys):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps({"chunk_rows": 500}))
    bad.write_text(json.dumps({"chunk_rows": 500, "drift": {"cooldown_minutes": -1}}))
    assert _run(capsys, "models", "configure", MODEL, "--file", str(good))[0] == 0

    code, out, err = _run(capsys, "models", "configure", MODEL, "--file", str(bad))
    assert code == EXIT_USAGE and "drift.cooldown_minutes" in err and out == ""
    code, out, _ = _run(capsys, "models", "config", MODEL, "--history", "--json")
    assert [h["version"] for h in json.loads(out)] == [1]


def test_configure_all_is_idempotent_and_reports_each_model(wired, tmp_path, capsys):
    path = tmp_path / "models.json"
    models = [{"name": "a"}, {"name": "b", "chunk_rows": 1000}]
    path.write_text(json.dumps({"models": models}))
    code, out, _ = _run(capsys, "models", "configure", "--all", str(path), "--json")
    assert code == 0 and [(r["model"], r["outcome"]) for r in json.loads(out)] == [
        ("a", "created"),
        ("b", "created"),
    ]

    models[1]["chunk_rows"] = 2000
    path.write_text(json.dumps({"models": models}))
    code, out, _ = _run(capsys, "models", "configure", "--all", str(path))
    assert code == 0 and "a: unchanged, config version 1" in out and "b: updated, config version 2" in out
    assert "0 created, 1 updated, 1 unchanged" in out

    code, out, _ = _run(capsys, "models", "config", "b", "--history")
    assert code == 0 and out.splitlines()[0].split()[0] == "1" and out.splitlines()[1].split()[0] == "2"


def test_retire_stops_schedules_and_drops_are_rejected(wired, tmp_path, capsys):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"schedules": {"scoring": "rate(1 hour)"}}))
    assert _run(capsys, "models", "configure", MODEL, "--file", str(path))[0] == 0
    code, out, _ = _run(capsys, "models", "retire", MODEL)
    assert code == 0 and "retired" in out and f"{MODEL}-score" in out
    assert _schedules(wired) == []

    key = f"incoming/{MODEL}/late.csv"
    out = score.handler(wired.s3_event(key, wired.put(key, encode(frame(10), "csv"))), Ctx())
    assert out["status"] == "rejected" and out["reason"] == "model_retired"


def test_fleet_status_lists_every_model_with_config_version_champion_and_volumes(wired, tmp_path, capsys):
    path = tmp_path / "models.json"
    path.write_text(json.dumps({"models": [{"name": MODEL}, {"name": "idle-model"}]}))
    assert _run(capsys, "models", "configure", "--all", str(path))[0] == 0
    key = f"incoming/{MODEL}/b.csv"
    score.handler(wired.s3_event(key, wired.put(key, encode(frame(80), "csv"))), Ctx())

    code, out, _ = _run(capsys, "fleet", "status", "--json")
    rows = {r["model"]: r for r in json.loads(out)}
    assert code == 0 and set(rows) == {MODEL, "idle-model"}
    churn = rows[MODEL]
    assert churn["config_version"] == 1 and churn["champion"] == wired.card.version
    assert churn["rows_scored_24h"] == 80 and churn["rows_rejected_24h"] == 0
    assert churn["last_batch_at"] is not None and churn["retraining"] == "idle"
    assert rows["idle-model"]["champion"] is None and rows["idle-model"]["rows_scored_24h"] == 0

    code, out, _ = _run(capsys, "fleet", "status")
    assert code == 0 and MODEL in out and "idle-model" in out

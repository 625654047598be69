from __future__ import annotations

import json

import pytest

from scorewatch.core.config import ModelConfig, load_config, parse_config
from scorewatch.core.errors import ConfigError, InvalidModelNameError
from scorewatch.core.schema import FeatureSchema, FeatureSpec, check_model_name


def test_defaults_apply_to_a_minimal_model() -> None:
    cfg = parse_config({"models": [{"name": "churn"}]})
    m = cfg.model("churn")
    assert m.max_reject_fraction == 0.05
    assert m.drift.dataset_drift_share == 0.5
    assert m.task == "binary"


def test_unknown_model_gets_defaults() -> None:
    assert parse_config({}).model("other") == ModelConfig(name="other")


def test_bad_field_error_names_the_field_path() -> None:
    with pytest.raises(ConfigError, match=r"models\.0\.drift\.cooldown_minutes"):
        parse_config({"models": [{"name": "churn", "drift": {"cooldown_minutes": -5}}]})


def test_unknown_field_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"models\.0\.colour"):
        parse_config({"models": [{"name": "churn", "colour": "red"}]})


def test_duplicate_model_names_are_refused() -> None:
    with pytest.raises(ConfigError, match="duplicate model names"):
        parse_config({"models": [{"name": "a"}, {"name": "a"}]})


@pytest.mark.parametrize("expr", ["every day", "cron(0 6 * * ? *", "rate 1 day"])
def test_bad_schedule_expression_is_refused(expr: str) -> None:
    with pytest.raises(ConfigError, match="schedules.scoring"):
        parse_config({"models": [{"name": "a", "schedules": {"scoring": expr}}]})


def test_decision_policy_must_be_complete() -> None:
    with pytest.raises(ConfigError, match="needs decision.costs"):
        parse_config({"models": [{"name": "a", "decision": {"kind": "expected_value"}}]})


def test_env_round_trip_is_lossless() -> None:
    cfg = parse_config({"ops_email": "ops@example.com", "models": [{"name": "churn", "id_columns": ["id"]}]})
    assert parse_config(cfg.to_env()) == cfg


def test_load_config_reports_invalid_json_with_path(tmp_path) -> None:
    p = tmp_path / "models.json"
    p.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match=str(p)):
        load_config(p)
    p.write_text(json.dumps({"models": [{"name": "../x"}]}), encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid model name"):
        load_config(p)


@pytest.mark.parametrize("name", ["../x", "a/b", "", ".hidden", "a..b", "x" * 64, "nul\x00"])
def test_unsafe_model_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidModelNameError):
        check_model_name(name)


def test_schema_refuses_duplicate_features_and_bad_bounds() -> None:
    with pytest.raises(ValueError, match="duplicate feature"):
        FeatureSchema(features=(FeatureSpec(name="a", type="numeric"), FeatureSpec(name="a", type="numeric")))
    with pytest.raises(ValueError, match="min 2.0 > max 1.0"):
        FeatureSpec(name="a", type="numeric", min=2, max=1)


def test_approval_required_is_accepted_with_a_bounded_timeout() -> None:
    cfg = parse_config({"models": [{"name": "a", "retraining": {"approval_required": True}}]})
    assert cfg.model("a").retraining.approval_required is True
    assert cfg.model("a").retraining.approval_timeout_hours == 72
    with pytest.raises(ConfigError, match=r"models\.0\.retraining\.approval_timeout_hours"):
        parse_config({"models": [{"name": "a", "retraining": {"approval_timeout_hours": 0}}]})

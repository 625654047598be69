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


# -- the schema field ------------------------------------------------------------------------------

_SCHEMA = {"features": [{"name": "tenure", "type": "numeric"}], "id_columns": ["customer_id"]}


@pytest.mark.parametrize(
    "doc",
    [
        _SCHEMA,
        {"feature_schema": _SCHEMA, "columns": []},  # `scorewatch schema infer` output
        {"model_name": "churn", "feature_schema": _SCHEMA},  # a model card's field
    ],
)
def test_schema_takes_the_documents_a_schema_file_holds_and_stores_the_bare_schema(doc) -> None:
    m = parse_config({"models": [{"name": "churn", "schema": doc}]}).model("churn")
    assert m.feature_schema == FeatureSchema.model_validate(_SCHEMA)
    dumped = m.model_dump(mode="json")
    assert dumped["schema"] == FeatureSchema.model_validate(_SCHEMA).model_dump(mode="json")
    assert ModelConfig.model_validate(dumped) == m


@pytest.mark.parametrize(
    ("schema", "target", "field"),
    [
        ({"features": [{"name": "x", "type": "number"}]}, None, r"models\.0\.schema\.features\.0\.type"),
        ({"features": []}, None, r"models\.0\.schema\.features"),
        ({"features": [{"name": "x", "type": "numeric", "colour": 1}]}, None, r"schema\.features\.0\.colour"),
        (
            {"features": [{"name": "y", "type": "numeric"}]},
            "y",
            r"schema: the target 'y' is listed as a feature",
        ),
    ],
)
def test_a_bad_schema_is_refused_naming_the_field(schema, target, field) -> None:
    with pytest.raises(ConfigError, match=field):
        parse_config({"models": [{"name": "churn", "target": target, "schema": schema}]})


def test_a_config_without_schema_keeps_its_canonical_json_and_sha() -> None:
    from scorewatch.io.registry.configs import canonical_json

    doc = json.loads(canonical_json(ModelConfig(name="churn")))
    assert "schema" not in doc  # stored before the field existed: same sha256, `configure` unchanged
    with_schema = json.loads(canonical_json(ModelConfig.model_validate({"name": "churn", "schema": _SCHEMA})))
    assert with_schema["schema"]["id_columns"] == ["customer_id"]

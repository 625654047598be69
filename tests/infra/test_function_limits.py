"""Issue 17, part B: the score function's concurrency bound and the functions' encrypted logs."""

from __future__ import annotations

import json

import pytest
from infra_helpers import REPO, fn_id

from scorewatch.core.contract import HANDLERS
from scorewatch.core.errors import ConfigError
from scorewatch_infra.configuration import (
    DEFAULT_SCORE_CONCURRENCY,
    MIN_SCORE_CONCURRENCY,
    resolve_settings,
)
from scorewatch_infra.large_file import PART_CONCURRENCY

pytestmark = pytest.mark.xdist_group("infra")

CONFIG = str(REPO / "examples" / "models.json")


def test_score_function_has_reserved_concurrency_by_default(synth):
    props = synth.props(fn_id(synth, "score"))
    assert props["ReservedConcurrentExecutions"] == DEFAULT_SCORE_CONCURRENCY
    # the bound leaves room for a large file's parts scored at once
    assert DEFAULT_SCORE_CONCURRENCY >= MIN_SCORE_CONCURRENCY == PART_CONCURRENCY


@pytest.mark.parametrize(
    ("value", "expected"), [(None, DEFAULT_SCORE_CONCURRENCY), (80, 80), ("35", 35), ("none", None)]
)
def test_score_concurrency_context_value(value, expected):
    settings = resolve_settings(
        config_path=CONFIG, prefix=None, architecture=None, score_reserved_concurrency=value
    )
    assert settings.score_reserved_concurrency == expected


@pytest.mark.parametrize("value", [0, 5, "-1", "lots", 19.5])
def test_bad_score_concurrency_fails_naming_the_context_key(value):
    with pytest.raises(ConfigError, match="scorewatch:score_reserved_concurrency"):
        resolve_settings(config_path=CONFIG, prefix=None, architecture=None, score_reserved_concurrency=value)


@pytest.mark.parametrize(("value", "expected"), [("none", None), ("120", 120)])
def test_score_concurrency_context_reaches_the_function(tmp_path, value, expected):
    from app import build_app

    app = build_app(
        {"scorewatch:config": CONFIG, "scorewatch:score_reserved_concurrency": value},
        outdir=str(tmp_path),
    )
    stack = app.node.find_child("scorewatch")
    cfn = stack.scoring.score.function.node.default_child
    assert cfn.reserved_concurrent_executions == expected


def test_every_function_log_group_is_encrypted_with_the_project_key(synth):
    key = {"Fn::GetAtt": [synth.logical_id(synth.stack.storage.key), "Arn"]}
    groups = {
        fid: synth.props(synth.logical_id(f.log_group)) for fid, f in synth.stack.factory.functions.items()
    }
    assert len(groups) == len(HANDLERS)
    for fid, props in groups.items():
        assert props["LogGroupName"].startswith("/aws/lambda/"), fid
        assert props.get("KmsKeyId") == key, fid


def test_the_key_lets_cloudwatch_logs_encrypt_only_the_function_log_groups(synth):
    policy = synth.props(synth.logical_id(synth.stack.storage.key))["KeyPolicy"]["Statement"]
    for_logs = [s for s in policy if "logs." in json.dumps(s.get("Principal", {}))]
    (statement,) = [s for s in for_logs if "/aws/lambda/" in json.dumps(s["Condition"])]
    assert statement["Effect"] == "Allow" and "kms:GenerateDataKey" in statement["Action"]
    assert not any("*" in a for a in statement["Action"])
    (arn,) = statement["Condition"]["ArnLike"].values()
    flat = json.dumps(arn)
    assert ":log-group:/aws/lambda/scorewatch-*" in flat


def test_every_workflow_log_group_is_encrypted_with_the_project_key(synth):
    key = {"Fn::GetAtt": [synth.logical_id(synth.stack.storage.key), "Arn"]}
    groups = {
        lid: p["Properties"]
        for lid, p in synth.of_type("AWS::Logs::LogGroup").items()
        if p["Properties"]["LogGroupName"].startswith("/aws/vendedlogs/states/")
    }
    assert len(groups) == 3
    assert all(props.get("KmsKeyId") == key for props in groups.values()), groups
    policy = json.dumps(synth.props(synth.logical_id(synth.stack.storage.key))["KeyPolicy"])
    for props in groups.values():
        assert f":log-group:{props['LogGroupName']}" in policy

"""Synthesis refuses a bad models configuration, naming the field (no full synth needed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from scorewatch.core.contract import Env
from scorewatch.core.errors import ConfigError
from scorewatch_infra.functions import ENV_LIMIT_BYTES, check_env_size, estimated_env_bytes

pytestmark = pytest.mark.xdist_group("infra")


def build(tmp_path, doc: dict, **context):
    from app import build_app

    path = tmp_path / "models.json"
    path.write_text(json.dumps(doc))
    return build_app({"scorewatch:config": str(path), **context}, outdir=str(tmp_path / "out"))


def test_bad_model_entry_fails_synth_naming_the_field(tmp_path):
    doc = {"models": [{"name": "churn", "drift": {"cooldown_minutes": -5}}]}
    with pytest.raises(ConfigError, match=r"models\.0\.drift\.cooldown_minutes"):
        build(tmp_path, doc)


def test_bad_schedule_expression_fails_synth_naming_the_field(tmp_path):
    doc = {"models": [{"name": "churn", "schedules": {"scoring": "every day"}}]}
    with pytest.raises(ConfigError, match=r"models\.0\.schedules\.scoring"):
        build(tmp_path, doc)


def test_unknown_architecture_in_context_fails_synth(tmp_path):
    with pytest.raises(ConfigError, match="scorewatch:architecture"):
        build(tmp_path, {"models": []}, **{"scorewatch:architecture": "sparc"})


def test_a_models_file_larger_than_a_lambda_environment_synthesizes_and_no_environment_holds_it(tmp_path):
    # Six models shaped like examples/models.json were ~5.3 KB of environment: over the 4 KB
    # limit when the configuration travelled in every function's environment.
    models = [
        {"name": f"model{i:03d}", "id_columns": [f"customer_identifier_{j}" for j in range(6)]}
        for i in range(24)
    ]
    assert len(json.dumps({"models": models})) > ENV_LIMIT_BYTES
    app = build(tmp_path, {"models": models})
    template = app.synth().stacks[0].template
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function":
            env = resource["Properties"]["Environment"]["Variables"]
            assert Env.MODELS_CONFIG not in env
            assert "customer_identifier_0" not in json.dumps(env)


def test_env_size_counts_deploy_time_values_generously():
    small = {Env.DATA_BUCKET: "b", Env.EVENT_BUS: "bus"}
    assert estimated_env_bytes(small) < 100
    check_env_size("score", small)
    big = {Env.DATA_BUCKET: "x" * ENV_LIMIT_BYTES}
    with pytest.raises(ConfigError, match="function 'monitor'.*4096-byte limit"):
        check_env_size("monitor", big)


def test_make_synth_entry_point_exits_nonzero_naming_the_field(tmp_path):
    """`infra/app.py` as the CDK CLI runs it (context in CDK_CONTEXT_JSON): message, exit 1."""
    from infra_helpers import REPO

    bad = tmp_path / "models.json"
    bad.write_text(json.dumps({"models": [{"name": "churn", "alarms": {"rejected_row_rate": 2}}]}))
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps({"scorewatch:config": str(bad)})}
    env["CDK_OUTDIR"] = str(tmp_path / "out")
    cmd = [sys.executable, str(REPO / "infra" / "app.py")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1
    assert "models.0.alarms.rejected_row_rate" in proc.stderr

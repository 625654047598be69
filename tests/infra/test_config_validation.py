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


def test_config_too_large_for_lambda_environment_fails_synth_naming_the_function(tmp_path):
    models = [
        {
            "name": f"model{i:03d}",
            "id_columns": [f"customer_identifier_{j}" for j in range(6)],
        }
        for i in range(40)
    ]
    with pytest.raises(ConfigError, match=r"function 'score'.*4096"):
        build(tmp_path, {"models": models})


def test_env_size_counts_deploy_time_values_generously():
    small = {Env.DATA_BUCKET: "b", Env.MODELS_CONFIG: "{}"}
    assert estimated_env_bytes(small) < 100
    check_env_size("score", small)
    big = {Env.MODELS_CONFIG: "x" * ENV_LIMIT_BYTES}
    with pytest.raises(ConfigError, match="SCOREWATCH_MODELS_CONFIG alone is 4096 bytes"):
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

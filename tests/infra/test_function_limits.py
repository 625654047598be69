"""Issue 17, part B: the score function's concurrency bound and the functions' encrypted logs."""

from __future__ import annotations

import pytest
from infra_helpers import REPO, fn_id

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

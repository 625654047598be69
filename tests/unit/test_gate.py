"""Promotion gate logic: improvement, floor, guards, direction, undefined values."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scorewatch.core.cards import Comparison
from scorewatch.lifecycle.gate import evaluate_gate


def test_challenger_that_beats_champion_by_the_margin_passes() -> None:
    c = evaluate_gate(
        metric="roc_auc", challenger={"roc_auc": 0.82}, champion={"roc_auc": 0.80}, min_improvement=0.01
    )
    assert c.passed and c.challenger == 0.82 and c.champion == 0.80
    assert "ok" in c.reasons[0]


def test_challenger_inside_the_margin_is_rejected_with_numbers() -> None:
    c = evaluate_gate(
        metric="roc_auc", challenger={"roc_auc": 0.805}, champion={"roc_auc": 0.80}, min_improvement=0.01
    )
    assert not c.passed
    assert "0.805" in c.reasons[0] and "0.8" in c.reasons[0] and c.reasons[0].endswith("fail")


def test_error_metrics_are_lower_is_better_for_improvement_and_floor() -> None:
    c = evaluate_gate(
        metric="rmse", challenger={"rmse": 1.0}, champion={"rmse": 1.2}, min_improvement=0.1, floor=1.1
    )
    assert c.passed
    c = evaluate_gate(metric="rmse", challenger={"rmse": 1.15}, champion={"rmse": 1.2}, min_improvement=0.1)
    assert not c.passed
    c = evaluate_gate(metric="rmse", challenger={"rmse": 1.0}, champion=None, floor=0.9)
    assert not c.passed and "ceiling" in c.reasons[-1]


def test_first_model_needs_only_the_floor() -> None:
    assert evaluate_gate(metric="roc_auc", challenger={"roc_auc": 0.7}, champion=None, floor=0.65).passed
    c = evaluate_gate(metric="roc_auc", challenger={"roc_auc": 0.6}, champion=None, floor=0.65)
    assert not c.passed and c.champion is None


def test_guard_regression_beyond_tolerance_fails_even_when_the_metric_improves() -> None:
    chal = {"roc_auc": 0.85, "recall": 0.50, "log_loss": 0.40}
    champ = {"roc_auc": 0.80, "recall": 0.60, "log_loss": 0.45}
    c = evaluate_gate(
        metric="roc_auc", challenger=chal, champion=champ, guards={"recall": 0.05, "log_loss": 0.0}
    )
    assert not c.passed
    assert c.guards["recall"]["regression"] == pytest.approx(0.10)
    assert c.guards["log_loss"]["regression"] == pytest.approx(-0.05)  # improved
    assert any(r.startswith("guard recall") and r.endswith("fail") for r in c.reasons)
    assert any(r.startswith("guard log_loss") and r.endswith("ok") for r in c.reasons)
    c = evaluate_gate(metric="roc_auc", challenger=chal, champion=champ, guards={"recall": 0.1})
    assert c.passed


def test_undefined_challenger_metric_fails_and_round_trips_through_json() -> None:
    c = evaluate_gate(metric="roc_auc", challenger={"roc_auc": None}, champion={"roc_auc": 0.8})
    assert not c.passed and c.challenger is None
    assert Comparison.model_validate_json(c.model_dump_json()) == c


def test_undefined_champion_metric_does_not_block_a_valid_challenger() -> None:
    c = evaluate_gate(metric="roc_auc", challenger={"roc_auc": 0.7}, champion={"roc_auc": None})
    assert c.passed and c.champion is None


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["roc_auc", "rmse"]),
    st.floats(0, 1),
    st.floats(0, 1),
    st.floats(0, 0.2),
)
def test_a_passing_gate_always_means_the_margin_was_met(metric, chal, champ, margin) -> None:
    c = evaluate_gate(
        metric=metric, challenger={metric: chal}, champion={metric: champ}, min_improvement=margin
    )
    if metric == "roc_auc":
        assert c.passed == (chal >= champ + margin)
    else:
        assert c.passed == (chal <= champ - margin)
    assert len(c.reasons) == 1

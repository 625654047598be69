"""Pure parts of labels, retraining payloads and the model card page."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scorewatch.core.cards import ArtifactRef, ModelCard
from scorewatch.core.errors import InputRejectedError
from scorewatch.core.schema import FeatureSchema, FeatureSpec
from scorewatch.lifecycle.gate import evaluate_gate
from scorewatch.lifecycle.labels import (
    LABEL_COLUMN,
    LABEL_URI,
    LABELED_AT,
    canonical_ids,
    degraded,
    join_labels,
)
from scorewatch.lifecycle.retraining import (
    TIME_COLUMN,
    EvaluateResult,
    RetrainRequest,
    run_id_for,
    time_split,
)
from scorewatch.lifecycle.retraining.approval import cause_message
from scorewatch.reports.card import render_card_html


def test_canonical_ids_match_across_types_but_keep_long_ids_exact() -> None:
    frame = pd.DataFrame({"id": [7, "7", 7.0, "7.0", "007", "12345678901234567890", None]})
    keys = canonical_ids(frame, ["id"]).tolist()
    assert keys[:4] == ["7"] * 4
    assert keys[4] == "007" and keys[5] == "12345678901234567890" and keys[6] == ""


def _labels(ids, values, uri="s3://b/labels/m/a.csv") -> pd.DataFrame:
    return pd.DataFrame(
        {"cid": ids, LABEL_COLUMN: values, LABELED_AT: pd.Timestamp("2026-01-02", tz="UTC"), LABEL_URI: uri}
    )


def test_join_counts_unknown_and_duplicate_labels_and_labels_every_scored_occurrence() -> None:
    scored = pd.DataFrame({"cid": [1, 2, 3, 2], "batch_id": ["a", "a", "a", "b"], "prediction": [1, 0, 1, 0]})
    labels = pd.concat(
        [_labels(["1", "2", "9"], [1, 0, 1]), _labels(["2"], [1], uri="s3://b/labels/m/b.csv")]
    )
    joined = join_labels(scored, labels, id_columns=["cid"])
    assert joined.unknown_ids == 1 and joined.unknown_sample == [{"cid": "9"}]
    assert joined.duplicate_labels == 1 and joined.labels == 4 and joined.unique_labels == 3
    frame = joined.frame
    assert (
        frame[LABEL_COLUMN].iloc[0] == 1
        and frame[LABEL_COLUMN].iloc[1] == 1
        and pd.isna(frame[LABEL_COLUMN].iloc[2])
    )
    assert frame.loc[frame["batch_id"] == "b", LABEL_COLUMN].tolist() == [1]  # later file wins, both batches


def test_join_with_no_labels_reports_nothing_unknown() -> None:
    scored = pd.DataFrame({"cid": [1], "batch_id": ["a"]})
    joined = join_labels(scored, _labels([], []), id_columns=["cid"])
    assert joined.unknown_ids == 0 and joined.frame[LABEL_COLUMN].isna().all()


def test_degraded_is_direction_aware() -> None:
    assert degraded("roc_auc", 0.69, 0.7) and not degraded("roc_auc", 0.7, 0.7)
    assert degraded("rmse", 2.1, 2.0) and not degraded("rmse", 1.9, 2.0)
    assert not degraded("roc_auc", 0.5, None)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 200), st.floats(0.01, 0.99))
def test_time_split_holds_out_the_latest_rows_and_keeps_both_sides(n: int, fraction: float) -> None:
    frame = pd.DataFrame({TIME_COLUMN: pd.date_range("2026-01-01", periods=n, freq="h")[::-1], "x": range(n)})
    train, hold = time_split(frame, holdout_fraction=fraction)
    assert len(train) >= 1 and len(hold) >= 1 and len(train) + len(hold) == n
    assert train[TIME_COLUMN].max() < hold[TIME_COLUMN].min()


def test_run_ids_are_key_safe_and_deterministic() -> None:
    arn = "arn:aws:states:us-east-1:123:execution:sw-retraining:5f1c-22"
    assert run_id_for(arn) == "5f1c-22" == run_id_for(arn)
    assert run_id_for("a/../b c") == "a-..-b-c"
    assert len(run_id_for("///")) == 16


def test_retrain_request_accepts_events_and_manual_input() -> None:
    ev = {
        "detail-type": "Drift Detected",
        "source": "scorewatch",
        "detail": {"model": "churn", "version": "1"},
    }
    assert RetrainRequest.from_input(ev) == RetrainRequest(model_name="churn", reason="Drift Detected")
    assert RetrainRequest.from_input({"model_name": "churn"}).reason == "manual"
    with pytest.raises(InputRejectedError, match="names no model"):
        RetrainRequest.from_input({"detail": {}})


def test_failure_cause_keeps_the_lambda_error_message() -> None:
    assert (
        cause_message(json.dumps({"errorMessage": "no labels", "errorType": "TrainingError"})) == "no labels"
    )
    assert cause_message("plain text") == "plain text"
    assert cause_message(None) is None


def test_evaluate_payload_round_trips_and_stays_small() -> None:
    comparison = evaluate_gate(metric="roc_auc", challenger={"roc_auc": 0.8}, champion={"roc_auc": 0.7})
    payload = EvaluateResult(
        model_name="churn",
        run_id="r",
        execution_id="e",
        champion_version="000001",
        train_uri="s3://d/training/model=churn/run=r/train.parquet",
        holdout_uri="s3://d/training/model=churn/run=r/holdout.parquet",
        manifest_uri="s3://d/training/model=churn/run=r/manifest.json",
        rows=100,
        holdout_rows=25,
        data_sha256="0" * 64,
        candidate_version="000002",
        metric="roc_auc",
        challenger_score=0.8,
        champion_score=0.7,
        passed=True,
        reasons=list(comparison.reasons),
        comparison=comparison,
    )
    text = payload.model_dump_json()
    assert EvaluateResult.model_validate_json(text) == payload and len(text) < 4096


def test_card_page_escapes_every_value_and_shows_the_gate() -> None:
    comparison = evaluate_gate(
        metric="roc_auc",
        challenger={"roc_auc": 0.7, "brier": 0.3},
        champion={"roc_auc": 0.8, "brier": 0.2},
        guards={"brier": 0.01},
    )
    card = ModelCard(
        model_name="churn",
        version="000002",
        task="binary",
        feature_schema=FeatureSchema(
            features=(FeatureSpec(name="plan", type="categorical", categories=("<b>",)),)
        ),
        artifact=ArtifactRef(key="churn/000002/model.skops", sha256="a" * 64, size_bytes=10),
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        status="rejected",
        comparison=comparison,
        description="<script>alert(1)</script>",
        params={"estimator": "LogisticRegression", "nested": {"a": "<i>"}},
    )
    page = render_card_html(card)
    assert "<script>" not in page and "&lt;script&gt;" in page and "<b>" not in page
    assert page.count('<li class="fail">') == 2  # roc_auc improvement and the brier guard
    assert "src=" not in page and "http" not in page  # self-contained


def test_card_page_shows_the_estimators_held_out_check() -> None:
    card = ModelCard(
        model_name="tier",
        version="000002",
        task="multiclass",
        classes=("a", "b"),
        feature_schema=FeatureSchema(features=(FeatureSpec(name="x", type="numeric"),)),
        artifact=ArtifactRef(key="k", sha256="a" * 64, size_bytes=1),
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        calibrator={
            "method": "isotonic_ovr",
            "classes": ["a", "b"],
            "maps": [{"x": [0, 1], "y": [0, 1]}, None],
        },
        estimation={"method": "cbpe", "check": {"f1_macro": {"estimated": 0.8123, "realized": 0.7988}}},
    )
    page = render_card_html(card)
    assert "Confidence-based estimation (CBPE)" in page and "2 knots" in page
    assert "<td>f1_macro</td><td>0.8123</td><td>0.7988</td>" in page


def test_decision_values_realized_beside_expected() -> None:
    from scorewatch.core.config import ModelConfig
    from scorewatch.lifecycle.labels import decision_values

    card = ModelCard(
        model_name="churn",
        version="000001",
        task="binary",
        classes=(0, 1),
        feature_schema=FeatureSchema(features=(FeatureSpec(name="x", type="numeric"),)),
        artifact=ArtifactRef(key="k", sha256="a" * 64, size_bytes=1),
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        decision_policy={"kind": "fixed", "threshold": 0.5, "costs": {"tp": 10, "fp": -2}},
    )
    rows = pd.DataFrame(
        {"score_1": [0.9, 0.2, 0.6], "decision": ["act", "none", "act"], LABEL_COLUMN: ["1", "0", None]}
    )
    realized, expected = decision_values(rows, card=card, config=ModelConfig(name="churn"))
    assert realized["decision_value_per_row"] == pytest.approx(10 / 2)  # labeled rows: one tp, one tn
    # expected: 0.9*10 + 0.1*-2 + 0 + 0.6*10 + 0.4*-2 = 14.0 over 3 rows
    assert expected["decision_value_per_row"] == pytest.approx(14.0 / 3)
    assert decision_values(rows.drop(columns="decision"), card=card, config=ModelConfig(name="churn")) == (
        {},
        {},
    )

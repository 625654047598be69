"""Retraining verdicts and approvals on the model page's timeline (issue 19): registry cards ->
events at known timestamps -> markers at the right batches, escaped."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pandas as pd

from scorewatch.core.cards import ArtifactRef, Comparison, ModelCard, StatusChange
from scorewatch.core.schema import FeatureSchema, FeatureSpec
from scorewatch.io.registry.control import ApprovalRequest
from scorewatch.io.site_history import versions_frame
from scorewatch.reports import site, site_data
from scorewatch.reports.site_events import lifecycle_events

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
EVIL = "<script>alert(1)</script>"


def _card(version: str, status: str, created: datetime, **update) -> ModelCard:
    card = ModelCard(
        model_name="churn",
        version=version,
        task="binary",
        feature_schema=FeatureSchema(features=(FeatureSpec(name="x", type="numeric"),)),
        classes=(0, 1),
        artifact=ArtifactRef(key=f"churn/{version}/model.skops", sha256="a" * 64, size_bytes=10),
        created_at=created,
        status=status,  # type: ignore[arg-type]
    )
    return card.model_copy(update=update)


def _cmp(passed: bool, challenger: float, champion: float, *reasons: str) -> Comparison:
    return Comparison(
        metric="roc_auc",
        challenger=challenger,
        champion=champion,
        min_improvement=0.01,
        passed=passed,
        reasons=reasons,
    )


def t(hours: float) -> datetime:
    """``hours`` before NOW."""
    return NOW - timedelta(hours=hours)


def _promoted(at: datetime, by: str = "exec-1", reason: str | None = None) -> StatusChange:
    return StatusChange(from_status="candidate", to_status="champion", at=at, by=by, reason=reason)


def _rejected(at: datetime) -> StatusChange:
    return StatusChange(from_status="candidate", to_status="rejected", at=at)


def registry_versions() -> pd.DataFrame:
    """v1 registered; v2 retrained and promoted by the gate (t-40 h); v3 rejected by the gate (t-30 h);
    v4 passed the gate, a reviewer denied it (t-20 h); v5 passed and was approved (t-10 h); v6 waits
    for approval since t-2 h."""
    cards = [
        _card("000001", "archived", t(100), promoted_at=t(100), archived_at=t(40)),
        _card(
            "000002",
            "archived",
            t(41),
            parent_version="000001",
            promoted_at=t(40),
            archived_at=t(10),
            comparison=_cmp(True, 0.86, 0.84),
            status_history=(_promoted(t(40)),),
        ),
        _card(
            "000003",
            "rejected",
            t(31),
            parent_version="000002",
            archived_at=t(30),
            comparison=_cmp(False, 0.80, 0.86, f"roc_auc 0.800 is not 0.01 better than 0.860 on {EVIL}"),
            status_history=(_rejected(t(30)),),
        ),
        _card(
            "000004",
            "rejected",
            t(22),
            parent_version="000002",
            archived_at=t(20),
            comparison=_cmp(True, 0.88, 0.86, "approval denied: holdout too small (by bob)"),
            status_history=(_rejected(t(20)),),
        ),
        _card(
            "000005",
            "champion",
            t(12),
            parent_version="000002",
            promoted_at=t(10),
            approvals=("alice",),
            comparison=_cmp(True, 0.89, 0.86),
            status_history=(_promoted(t(10)),),
        ),
        _card("000006", "candidate", t(3), parent_version="000005", comparison=_cmp(True, 0.9, 0.89)),
    ]
    waiting = ApprovalRequest(
        model_name="churn",
        version="000006",
        execution_id="exec-6",
        task_token="token",
        requested_at=t(2),
        expires_at=NOW + timedelta(days=1),
    )
    return versions_frame([("churn", c) for c in cards], {"churn": waiting})


def test_events_have_the_gates_verdict_at_the_recorded_times():
    events = lifecycle_events(registry_versions(), "churn")
    assert [(e.at, e.version, e.kind) for e in events] == [
        (t(100), "000001", "promoted"),  # a card without a status history: its promoted_at
        (t(40), "000002", "promoted"),
        (t(30), "000003", "rejected"),
        (t(20), "000004", "rejected_by_human"),
        (t(10), "000005", "approved"),
        (t(2), "000006", "awaiting_approval"),
    ]
    by = {e.version: e.detail for e in events}
    assert by["000002"] == "v000002 promoted (gate passed: roc_auc 0.860 vs 0.840)"
    assert by["000003"].startswith("v000003 rejected (gate failed: roc_auc 0.800 vs 0.860): roc_auc 0.800")
    assert by["000004"] == "v000004 rejected by a reviewer: approval denied: holdout too small (by bob)"
    assert by["000005"] == "v000005 approved by alice and promoted (gate passed: roc_auc 0.890 vs 0.860)"
    assert by["000006"] == "v000006 awaiting approval (gate passed: roc_auc 0.900 vs 0.890)"
    assert lifecycle_events(registry_versions(), "other") == []


def test_a_rollback_is_its_own_event():
    cards = [
        _card(
            "000001",
            "champion",
            t(50),
            promoted_at=t(5),
            status_history=(
                _promoted(t(50)),
                StatusChange(
                    from_status="champion", to_status="archived", at=t(20), reason="replaced by 000002"
                ),
                _promoted(t(5), by="ops", reason="rollback from 000002"),
            ),
        )
    ]
    events = lifecycle_events(versions_frame([("churn", c) for c in cards]), "churn")
    assert [(e.at, e.kind) for e in events] == [(t(50), "promoted"), (t(5), "rollback")]
    assert events[1].detail == "v000001 champion again: rollback from 000002"


def test_only_the_waiting_version_is_awaiting_approval():
    frame = registry_versions()
    waits = dict(zip(frame["version"], frame["approval_requested_at"], strict=True))
    assert waits["000006"] == t(2) and all(pd.isna(v) for k, v in waits.items() if k != "000006")


def _history(n: int) -> pd.DataFrame:
    rows = []
    for b in range(n):
        at = t(48 - 4 * b)  # b0 at t-48 h ... b11 at t-4 h
        rows.append(
            {
                "model_name": "churn",
                "batch_id": f"b{b:02d}",
                "model_version": "000002",
                "evaluated_at": pd.Timestamp(at),
                "column": "x",
                "role": "feature",
                "test": "ks",
                "pvalue": 0.5,
                "distance": None,
                "threshold": 0.05,
                "drifted": False,
                "severity": 0.1,
                "quality_violations": 0,
                "dataset_drift": False,
                "drift_share": 0.0,
            }
        )
    return pd.DataFrame(rows)


def test_the_model_page_marks_each_event_at_the_first_batch_after_it_escaped():
    pages = {
        p.path: p.html
        for p in site.build_pages(
            _history(12), site_data.empty_outputs(), now=NOW, versions=registry_versions()
        )
    }
    page = pages["models/churn/index.html"]
    # The drift, rows and rejected charts each carry every marker inside the batch range.
    kinds = re.findall(r'<line class="marker" data-kind="(\w+)" x1="([\d.]+)"', page)
    per_chart = kinds[: len(kinds) // 3]
    assert kinds == per_chart * 3
    # v1 (t-100 h) is before the first batch: not drawn. t-40 h -> b02, t-30 h -> b05 (t-28 h),
    # t-20 h -> b07, t-10 h -> b10, t-2 h -> after b11: the right edge (index 12).
    assert [k for k, _ in per_chart] == [
        "promoted",
        "rejected",
        "rejected_by_human",
        "approved",
        "awaiting_approval",
    ]
    xs = [float(x) for _, x in per_chart]
    slot = (xs[1] - xs[0]) / 3
    assert [round((x - xs[0]) / slot) for x in xs] == [0, 3, 5, 8, 10]
    assert "<script>alert(1)</script>" not in page and "<td>nan</td>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    table = page[page.index('<table id="events">') :].split("</table>")[0]
    assert re.findall(r'<tr data-kind="(\w+)">', table) == [
        "promoted",
        "promoted",
        "rejected",
        "rejected_by_human",
        "approved",
        "awaiting_approval",
    ]
    assert "approval denied: holdout too small (by bob)" in table

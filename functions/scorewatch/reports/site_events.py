"""The registry's events on a model's timeline: promotions, rollbacks, retraining verdicts, approvals.

Pure functions over the ``versions`` table (:func:`scorewatch.io.site_history.versions_frame`), as
:mod:`scorewatch.reports.site_data` is over the history; the model page draws each event as a
marker on its time axes (:func:`scorewatch.reports.site_data.marker_positions`) and lists them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from scorewatch.reports.site_data import _float, _ts

#: Optional ``versions`` columns (``io.site_history.versions_frame``) behind the lifecycle markers.
LIFECYCLE_COLUMNS = ("comparison", "approvals", "status_history", "approval_requested_at")
#: Kinds of :class:`LifecycleEvent`, each drawn as a marker on the model page's time axes.
EVENT_KINDS = ("promoted", "approved", "rollback", "rejected", "rejected_by_human", "awaiting_approval")
APPROVAL_DENIED = "approval denied"  # how the gate records a human's rejection (lifecycle.retraining)


@dataclass(frozen=True)
class LifecycleEvent:
    """One registry event on a model's timeline: a promotion, a retraining verdict or an approval."""

    at: datetime
    version: str
    kind: str  # one of EVENT_KINDS
    label: str  # short: drawn on the chart
    detail: str  # the verdict and its reasons: hover text and the events table


def _cell(row: Mapping[str, Any], key: str) -> Any:
    v = row.get(key)
    return None if v is None or (not isinstance(v, tuple | list | dict) and pd.isna(v)) else v


def _gate(comparison: Mapping[str, Any] | None) -> str:
    """``gate passed: roc_auc 0.861 vs 0.842`` (challenger vs champion), or ``""`` without a comparison."""
    if not comparison:
        return ""
    verdict = "gate passed" if comparison.get("passed") else "gate failed"
    ch, cp = _float(comparison.get("challenger")), _float(comparison.get("champion"))
    if comparison.get("metric") and ch is not None:
        versus = f" vs {cp:.3f}" if cp is not None else " (no champion)"
        return f"{verdict}: {comparison['metric']} {ch:.3f}{versus}"
    return verdict


def lifecycle_events(versions: pd.DataFrame, model: str) -> list[LifecycleEvent]:
    """Promotions, rollbacks, retraining verdicts and approvals of ``model``, oldest first.

    From each version's card (the registry's ``versions``, with :data:`LIFECYCLE_COLUMNS` when
    read from a registry): every recorded change to champion is a promotion (``approved`` when the
    card records approvers, ``rollback`` when the change says so), a ``rejected`` version is the
    gate's rejection at its ``archived_at`` with the comparison's reasons (``rejected_by_human``
    when a reviewer denied the approval), and a pending approval request is ``awaiting_approval``
    at its request time. Cards without a status history fall back to ``promoted_at``.
    """
    v = versions[versions["model"] == model]
    out: list[LifecycleEvent] = []
    for row in v.to_dict("records"):
        ver = str(row["version"])
        comparison = _cell(row, "comparison")
        approvals = tuple(_cell(row, "approvals") or ())
        history = list(_cell(row, "status_history") or ())
        gate = _gate(comparison)
        to_champion = [h for h in history if h.get("to_status") == "champion"]
        if not to_champion and _cell(row, "promoted_at") is not None:
            to_champion = [{"at": row["promoted_at"], "reason": None}]
        for i, change in enumerate(to_champion):
            reason = str(change.get("reason") or "")
            if reason.startswith("rollback"):
                out.append(
                    LifecycleEvent(
                        _ts(change["at"]).to_pydatetime(),
                        ver,
                        "rollback",
                        f"v{ver} rollback",
                        f"v{ver} champion again: {reason}",
                    )
                )
            elif approvals and i == 0:
                by = ", ".join(str(a) for a in approvals)
                detail = f"v{ver} approved by {by} and promoted" + (f" ({gate})" if gate else "")
                out.append(
                    LifecycleEvent(
                        _ts(change["at"]).to_pydatetime(), ver, "approved", f"v{ver} approved", detail
                    )
                )
            else:
                detail = (
                    f"v{ver} promoted" + (f" ({gate})" if gate else "") + (f": {reason}" if reason else "")
                )
                out.append(
                    LifecycleEvent(
                        _ts(change["at"]).to_pydatetime(), ver, "promoted", f"v{ver} promoted", detail
                    )
                )
        if row.get("status") == "rejected":
            rejected = [h for h in history if h.get("to_status") == "rejected"]
            at = rejected[-1]["at"] if rejected else _cell(row, "archived_at")
            if at is not None:
                reasons = [str(r) for r in (comparison or {}).get("reasons") or ()]
                human = [r for r in reasons if r.startswith(APPROVAL_DENIED)]
                kind = "rejected_by_human" if human else "rejected"
                why = "; ".join(human or reasons) or "no reason recorded"
                who = "rejected by a reviewer" if human else "rejected"
                detail = f"v{ver} {who}" + (f" ({gate})" if gate and not human else "") + f": {why}"
                out.append(LifecycleEvent(_ts(at).to_pydatetime(), ver, kind, f"v{ver} rejected", detail))
        requested = _cell(row, "approval_requested_at")
        if requested is not None and row.get("status") == "candidate":
            detail = f"v{ver} awaiting approval" + (f" ({gate})" if gate else "")
            out.append(
                LifecycleEvent(
                    _ts(requested).to_pydatetime(),
                    ver,
                    "awaiting_approval",
                    f"v{ver} awaiting approval",
                    detail,
                )
            )
    return sorted(out, key=lambda e: (e.at, EVENT_KINDS.index(e.kind), e.version))

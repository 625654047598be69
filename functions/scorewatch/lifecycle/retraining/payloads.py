"""The retraining steps' payloads: small pydantic models of S3 pointers and numbers, never data."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from scorewatch.core.cards import Comparison
from scorewatch.core.errors import (
    InputRejectedError,
)

LOCK_NAME = "retraining"
IN_PROCESS_APPROVAL_REASON = "approval required: only the retraining workflow can wait for one"


# ---------------------------------------------------------------------------------- payloads
class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class RetrainRequest(_Payload):
    """Execution input: ``{"model_name", "reason"}`` or an EventBridge event whose detail has ``model``."""

    model_name: str
    reason: str = "manual"

    @classmethod
    def from_input(cls, payload: Mapping[str, Any]) -> RetrainRequest:
        """Accept the manual shape or a Drift Detected / Performance Degraded event.

        Raises
        ------
        InputRejectedError
            No model name can be found in the payload.
        """
        if "detail" in payload and isinstance(payload["detail"], Mapping):
            detail = payload["detail"]
            name = detail.get("model") or detail.get("model_name")
            if name:
                return cls(model_name=name, reason=str(payload.get("detail-type") or "event"))
        if payload.get("model_name"):
            return cls(model_name=payload["model_name"], reason=str(payload.get("reason") or "manual"))
        raise InputRejectedError(
            f"retraining input names no model (keys: {sorted(payload)}); "
            "expected {'model_name': ...} or an event whose detail has 'model'",
            reason="no_model",
        )


class AssembleResult(_Payload):
    model_name: str
    run_id: str
    execution_id: str
    reason: str = "manual"
    champion_version: str | None
    train_uri: str
    holdout_uri: str
    manifest_uri: str
    rows: int
    holdout_rows: int
    data_sha256: str


class TrainResult(AssembleResult):
    candidate_version: str


class Approval(_Payload):
    """What ``scorewatch models approve`` sends with SendTaskSuccess (the task's result)."""

    approved_by: str


class EvaluateResult(TrainResult):
    metric: str
    challenger_score: float | None
    champion_score: float | None
    passed: bool
    reasons: list[str]
    comparison: Comparison
    # From the model's config: the workflow's NeedsApproval choice reads it; the wait's timeout too.
    approval_required: bool = False
    approval_timeout_seconds: int = 72 * 3600
    # Set by the workflow: RequestApproval's result ($.approval) or its denial/timeout Catch
    # ($.approval_error, {"Error", "Cause"}).
    approval: Approval | None = None
    approval_error: dict[str, Any] | None = None


class ApprovalTask(EvaluateResult):
    """RequestApproval's input: the evaluated state plus the token that resumes the execution."""

    task_token: str


class ApprovalRequestResult(_Payload):
    model_name: str
    version: str
    execution_id: str
    expires_at: datetime


class PromoteResult(_Payload):
    model_name: str
    version: str
    previous_champion: str | None
    promoted_by: str


class RejectResult(_Payload):
    model_name: str
    version: str
    reasons: list[str]


class FailureResult(_Payload):
    model_name: str | None
    execution_id: str
    error: str
    cause: str | None = None
    lock_released: bool


def run_id_for(execution_id: str) -> str:
    """A key-safe run id from a Step Functions execution id/ARN (deterministic: replays overwrite).

    >>> run_id_for("arn:aws:states:us-east-1:1:execution:sw-retraining:manual-42")
    'manual-42'
    """
    tail = execution_id.rsplit(":", 1)[-1]
    safe = re.sub(r"[^A-Za-z0-9_.-]", "-", tail).strip("-.")[:64]
    return safe or hashlib.sha256(execution_id.encode()).hexdigest()[:16]

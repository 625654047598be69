"""Human approval of a challenger: resume the waiting run, and the reasons a gate asks for one."""

from __future__ import annotations

import json
from typing import Any

from scorewatch.core.cards import ModelCard
from scorewatch.core.contract import ErrorName
from scorewatch.core.errors import (
    TrainingError,
)
from scorewatch.lifecycle.retraining.payloads import Approval, EvaluateResult


def decide_approval(
    registry: Any, stepfunctions: Any, model_name: str, *, approve: bool, by: str, reason: str | None = None
) -> Any:
    """Resume the retraining run waiting on ``model_name``'s approval: Promote, or Reject if denied.

    Parameters
    ----------
    registry
        ``scorewatch.io.registry.Registry`` holding the pending approval (its task token).
    stepfunctions
        A boto3 Step Functions client (SendTaskSuccess / SendTaskFailure).
    model_name
        The model whose candidate waits.
    approve
        True: SendTaskSuccess with ``{"approved_by": by}`` (recorded in the card's approvals).
        False: SendTaskFailure with error ``ApprovalDenied`` and ``reason`` as the cause.
    by, reason
        Who decided; why (denials).

    Returns
    -------
    scorewatch.io.registry.ApprovalRequest
        The request that was decided.

    Raises
    ------
    ApprovalNotPendingError
        Nothing waits for approval, or the execution no longer waits (timed out, stopped).

    Examples
    --------
    >>> sfn = boto3.client("stepfunctions")  # doctest: +SKIP
    >>> decide_approval(reg, sfn, "churn", approve=True, by="alice")  # doctest: +SKIP
    """
    from botocore.exceptions import ClientError

    from scorewatch.core.errors import ApprovalNotPendingError

    request = registry.get_approval_request(model_name)
    if request is None:
        raise ApprovalNotPendingError(f"no retraining run of {model_name!r} is waiting for approval")
    try:
        if approve:
            stepfunctions.send_task_success(
                taskToken=request.task_token, output=Approval(approved_by=by).model_dump_json()
            )
        else:
            cause = f"{reason or 'no reason given'} (by {by})"
            stepfunctions.send_task_failure(
                taskToken=request.task_token, error=ErrorName.APPROVAL_DENIED, cause=cause[:32768]
            )
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken"):
            raise ApprovalNotPendingError(
                f"the approval of {model_name} v{request.version} (execution {request.execution_id}) "
                f"is no longer pending: {code}"
            ) from exc
        raise
    return request


def approval_reasons(evaluated: EvaluateResult) -> list[str]:
    """The reason a passing candidate was rejected by its approval step (denied or timed out)."""
    error = evaluated.approval_error
    if not error:
        return []
    name = str(error.get("Error") or "")
    if name == ErrorName.APPROVAL_DENIED:
        cause = cause_message(error.get("Cause"))
        return [f"approval denied: {cause}" if cause else "approval denied"]
    if name == "States.Timeout":
        return [f"approval timed out after {evaluated.approval_timeout_seconds // 3600} h"]
    return [f"approval failed: {name}"]


def performance_classes(estimator: Any, card: ModelCard) -> list[Any]:
    """The challenger's classes in its ``predict_proba`` column order, checked against the champion's."""
    classes = [
        c.item() if hasattr(c, "item") else c for c in getattr(estimator, "classes_", card.classes or [])
    ]
    if card.classes and set(map(str, classes)) - set(map(str, card.classes)):
        raise TrainingError(
            f"challenger classes {classes} differ from the model's classes {list(card.classes)}"
        )
    return classes


def cause_message(cause: Any) -> str | None:
    """Step Functions' Cause is a JSON string from Lambda ({"errorMessage": ...}); keep the message."""
    if cause is None:
        return None
    text = str(cause)
    try:
        doc = json.loads(text)
    except ValueError:
        return text[:2000]
    if isinstance(doc, dict) and doc.get("errorMessage"):
        return str(doc["errorMessage"])[:2000]
    return text[:2000]

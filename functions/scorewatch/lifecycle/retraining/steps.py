"""The retraining steps for one deployment; the decisions (approval, promote, reject, failure) and ``run``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from scorewatch.core.errors import (
    InputRejectedError,
    RetrainingDisabledError,
    RetrainingInProgressError,
)
from scorewatch.lifecycle.retraining.approval import approval_reasons, cause_message
from scorewatch.lifecycle.retraining.assemble import AssembleStep
from scorewatch.lifecycle.retraining.challenger import ChallengerSteps
from scorewatch.lifecycle.retraining.payloads import (
    IN_PROCESS_APPROVAL_REASON,
    LOCK_NAME,
    ApprovalRequestResult,
    ApprovalTask,
    EvaluateResult,
    FailureResult,
    PromoteResult,
    RejectResult,
    RetrainRequest,
)

logger = logging.getLogger(__name__)


class RetrainingSteps(AssembleStep, ChallengerSteps):
    """The retraining steps for one deployment (data bucket, registry, event bus).

    Parameters
    ----------
    data_bucket
        Holds labels, scored outputs, inputs and training runs.
    registry
        ``scorewatch.io.registry.Registry``.
    config
        The validated model configuration.
    publisher
        ``scorewatch.io.events.EventPublisher`` (``None``: events are not published, e.g. dry runs).
    now
        Clock; a parameter so tests are deterministic.
    """

    # ------------------------------------------------------------------ human approval
    def request_approval(self, task: ApprovalTask) -> ApprovalRequestResult:
        """Store the task token for ``scorewatch models approve`` and publish ``Approval Requested``.

        The execution then waits (``waitForTaskToken``) until SendTaskSuccess (-> Promote),
        SendTaskFailure ``ApprovalDenied`` or the task timeout (both -> Reject).
        """
        from scorewatch.io.events import ApprovalRequested

        model = task.model_name
        now = self.now()
        request = self.registry.put_approval_request(
            model,
            version=task.candidate_version,
            execution_id=task.execution_id,
            task_token=task.task_token,
            now=now,
            ttl_seconds=task.approval_timeout_seconds,
        )
        if self.publisher is not None:
            self.publisher.publish(
                ApprovalRequested(
                    model=model,
                    version=task.candidate_version,
                    champion_version=task.champion_version,
                    execution_id=task.execution_id,
                    metric=task.metric,
                    challenger_score=task.challenger_score,
                    champion_score=task.champion_score,
                    requested_at=now,
                    expires_at=request.expires_at,
                )
            )
        logger.info("approval requested", extra={"model": model, "version": task.candidate_version})
        return ApprovalRequestResult(
            model_name=model,
            version=task.candidate_version,
            execution_id=task.execution_id,
            expires_at=request.expires_at,
        )

    # ------------------------------------------------------------------ promote / reject / failure
    def promote(self, evaluated: EvaluateResult) -> PromoteResult:
        """Conditionally make the challenger champion (only if the champion is still the one compared).

        Raises
        ------
        PromotionConflictError
            The champion changed since assemble (the lock is kept for NotifyFailure to release).
        """
        from scorewatch.io.events import ModelPromoted

        model = evaluated.model_name
        now = self.now()
        if evaluated.approval is not None:
            # Recorded on the candidate before the conditional promote, so an approved challenger
            # is never champion without its approval; a retried step does not record it twice.
            candidate = self.registry.get(model, evaluated.candidate_version)
            approver = evaluated.approval.approved_by
            if approver not in candidate.approvals:
                self.registry.update_card(
                    candidate.model_copy(update={"approvals": (*candidate.approvals, approver)})
                )
        card = self.registry.promote(
            model,
            evaluated.candidate_version,
            now=now,
            promoted_by=evaluated.execution_id,
            comparison=evaluated.comparison,
            expected_champion=evaluated.champion_version,
        )
        if evaluated.approval_required:
            self.registry.clear_approval_request(model, execution_id=evaluated.execution_id)
        if self.publisher is not None:
            self.publisher.publish(
                ModelPromoted(
                    model=model,
                    version=card.version,
                    previous_champion=evaluated.champion_version,
                    promoted_by=evaluated.execution_id,
                    metric=evaluated.metric,
                    challenger_score=evaluated.challenger_score,
                    champion_score=evaluated.champion_score,
                    promoted_at=now,
                )
            )
        self.registry.release_lock(model, LOCK_NAME, owner=evaluated.execution_id)
        return PromoteResult(
            model_name=model,
            version=card.version,
            previous_champion=evaluated.champion_version,
            promoted_by=evaluated.execution_id,
        )

    def reject(self, evaluated: EvaluateResult) -> RejectResult:
        """Record the gate's comparison on the rejected candidate and release the lock."""
        from scorewatch.io.events import ModelRejected

        model = evaluated.model_name
        now = self.now()
        reasons = [*evaluated.reasons, *approval_reasons(evaluated)]
        comparison = evaluated.comparison
        if len(reasons) > len(evaluated.reasons):
            comparison = comparison.model_copy(update={"reasons": (*comparison.reasons, *reasons[-1:])})
        self.registry.reject(model, evaluated.candidate_version, comparison=comparison, now=now)
        if evaluated.approval_required:
            self.registry.clear_approval_request(model, execution_id=evaluated.execution_id)
        if self.publisher is not None:
            self.publisher.publish(
                ModelRejected(
                    model=model,
                    version=evaluated.candidate_version,
                    champion_version=evaluated.champion_version,
                    metric=evaluated.metric,
                    challenger_score=evaluated.challenger_score,
                    champion_score=evaluated.champion_score,
                    reasons=tuple(reasons),
                    rejected_at=now,
                )
            )
        self.registry.release_lock(model, LOCK_NAME, owner=evaluated.execution_id)
        return RejectResult(model_name=model, version=evaluated.candidate_version, reasons=reasons)

    def notify_failure(self, payload: Mapping[str, Any], *, execution_id: str) -> FailureResult:
        """Publish ``Retraining Failed`` (error/cause from the Catch) and release the lock."""
        from scorewatch.io.events import RetrainingFailed

        raw_error = payload.get("error")
        error: Mapping[str, Any] = raw_error if isinstance(raw_error, Mapping) else {}
        name = str(error.get("Error") or "UnknownError")
        cause = cause_message(error.get("Cause"))
        model = payload.get("model_name")
        if not model:
            try:
                model = RetrainRequest.from_input(payload).model_name
            except InputRejectedError:
                model = None
        released = False
        if model:
            released = self.registry.release_lock(model, LOCK_NAME, owner=execution_id)
            self.registry.clear_approval_request(model, execution_id=execution_id)
            if self.publisher is not None:
                self.publisher.publish(
                    RetrainingFailed(
                        model=model,
                        execution_id=execution_id,
                        step=payload.get("step"),
                        error=name,
                        cause=cause,
                        failed_at=self.now(),
                    )
                )
        logger.error("retraining failed", extra={"model": model, "error": name, "cause": cause})
        return FailureResult(
            model_name=model, execution_id=execution_id, error=name, cause=cause, lock_released=released
        )

    # ------------------------------------------------------------------ all at once
    def run(self, request: RetrainRequest, *, execution_id: str) -> PromoteResult | RejectResult:
        """All steps in one process (CLI, tests); on failure the lock is released and the error re-raised."""
        assembled = None
        try:
            assembled = self.assemble(request, execution_id=execution_id)
            evaluated = self.evaluate(self.train(assembled))
            if evaluated.passed and evaluated.approval_required:
                # In one process nobody can approve: never promote without the approval asked for.
                evaluated = evaluated.model_copy(
                    update={"passed": False, "reasons": [*evaluated.reasons, IN_PROCESS_APPROVAL_REASON]}
                )
            return self.promote(evaluated) if evaluated.passed else self.reject(evaluated)
        except (RetrainingInProgressError, RetrainingDisabledError):
            raise  # nothing was started: no lock of ours to release, no failure to announce
        except Exception as exc:
            self.notify_failure(
                {"model_name": request.model_name, "error": {"Error": type(exc).__name__, "Cause": str(exc)}},
                execution_id=execution_id,
            )
            raise

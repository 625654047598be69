"""retrain_*: the retraining workflow's Lambda steps, invoked with {"input": ..., "execution_id": ...}."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from scorewatch.core.errors import InputRejectedError
from scorewatch.handlers import _once, _registry, fleet_config, logger, observed
from scorewatch.handlers.settings import RetrainSettings, load
from scorewatch.io.events import EventPublisher
from scorewatch.io.transient import transient_errors
from scorewatch.lifecycle.retraining import (
    ApprovalTask,
    AssembleResult,
    EvaluateResult,
    RetrainingSteps,
    RetrainRequest,
    TrainResult,
)


def steps(settings: RetrainSettings) -> RetrainingSteps:
    """The steps of this container (registry and publisher built once per cold start)."""
    return _once(
        "retraining",
        settings,
        lambda: RetrainingSteps(
            data_bucket=settings.data_bucket,
            registry=_registry(settings),
            config=fleet_config(settings),
            publisher=EventPublisher(settings.event_bus),
        ),
    )


def _step(
    func: Callable[[RetrainingSteps, dict[str, Any], str], Any],
) -> Callable[[dict, LambdaContext], dict]:
    """Parse the task payload, run one step, map errors to names Step Functions Retry/Catch match."""

    @functools.wraps(func)
    @functools.partial(observed, emf=False)  # the steps record no metric
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        payload = event.get("input", event) if isinstance(event, dict) else {}
        if isinstance(event, dict) and "task_token" in event:  # RequestApproval ($$.Task.Token)
            payload = {**payload, "task_token": event["task_token"]}
        execution_id = str(event.get("execution_id") or getattr(context, "aws_request_id", "local"))
        try:
            with transient_errors(what=f"retraining step {func.__name__}"):
                result = func(steps(load(RetrainSettings)), payload, execution_id)
        except ValidationError as exc:
            raise InputRejectedError(
                f"{func.__name__}: invalid step payload: {exc}", reason="invalid_payload"
            ) from exc
        logger.info("retraining step done", step=func.__name__, execution_id=execution_id)
        return result.model_dump(mode="json")

    return handler


@_step
def assemble(s: RetrainingSteps, payload: dict[str, Any], execution_id: str) -> AssembleResult:
    """Assemble: take the lock, write the training run (RetrainingInProgressError -> Skipped)."""
    return s.assemble(RetrainRequest.from_input(payload), execution_id=execution_id)


@_step
def train(s: RetrainingSteps, payload: dict[str, Any], execution_id: str) -> TrainResult:
    """Train: fit and register the challenger as a candidate."""
    return s.train(AssembleResult.model_validate(payload))


@_step
def evaluate(s: RetrainingSteps, payload: dict[str, Any], execution_id: str) -> EvaluateResult:
    """Evaluate: challenger vs champion on the holdout; the gate's verdict is `passed`."""
    return s.evaluate(TrainResult.model_validate(payload))


@_step
def request_approval(s: RetrainingSteps, payload: dict[str, Any], execution_id: str) -> Any:
    """RequestApproval (waitForTaskToken): store the token, Approval Requested; the execution waits."""
    return s.request_approval(ApprovalTask.model_validate(payload))


@_step
def promote(s: RetrainingSteps, payload: dict[str, Any], execution_id: str) -> Any:
    """Promote: conditional registry write, Model Promoted, lock released."""
    return s.promote(EvaluateResult.model_validate(payload))


@_step
def reject(s: RetrainingSteps, payload: dict[str, Any], execution_id: str) -> Any:
    """Reject: record the comparison, Model Rejected, lock released."""
    return s.reject(EvaluateResult.model_validate(payload))


@_step
def notify_failure(s: RetrainingSteps, payload: dict[str, Any], execution_id: str) -> Any:
    """NotifyFailure: Retraining Failed event, lock released (the execution then fails)."""
    return s.notify_failure(payload, execution_id=execution_id)

"""The retraining handlers map failures to the error names Step Functions Retry/Catch match."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from scorewatch.core.errors import InputRejectedError, RetrainingInProgressError, TransientError
from scorewatch.handlers import retrain


class _Ctx:
    function_name = "retrain"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:retrain"
    aws_request_id = "req-1"


class _Steps:
    def __init__(self, exc: Exception | None = None):
        self.exc = exc
        self.calls: list[tuple[str, str]] = []

    def assemble(self, request, *, execution_id):
        self.calls.append((request.model_name, execution_id))
        if self.exc:
            raise self.exc
        raise AssertionError("unreachable in these tests")

    def train(self, assembled):
        raise AssertionError("a malformed payload must not reach the step")


@pytest.fixture
def fake(monkeypatch):
    def install(exc: Exception | None = None) -> _Steps:
        steps = _Steps(exc)
        monkeypatch.setattr(retrain, "load", lambda cls: None)
        monkeypatch.setattr(retrain, "steps", lambda settings: steps)
        return steps

    return install


def test_throttling_becomes_transient_error(fake) -> None:
    throttled = ClientError(
        {"Error": {"Code": "ThrottlingException"}, "ResponseMetadata": {"HTTPStatusCode": 400}}, "Query"
    )
    steps = fake(throttled)
    with pytest.raises(TransientError, match="assemble"):
        retrain.assemble({"input": {"model_name": "churn"}, "execution_id": "exec-9"}, _Ctx())
    assert steps.calls == [("churn", "exec-9")]


def test_domain_errors_keep_their_class_name(fake) -> None:
    fake(RetrainingInProgressError("busy"))
    with pytest.raises(RetrainingInProgressError):
        retrain.assemble({"input": {"model_name": "churn"}, "execution_id": "e"}, _Ctx())


def test_malformed_step_payload_is_input_rejected(fake) -> None:
    fake()
    with pytest.raises(InputRejectedError, match="invalid step payload"):
        retrain.train({"input": {"model_name": "churn"}, "execution_id": "e"}, _Ctx())
    with pytest.raises(InputRejectedError, match="names no model"):
        retrain.assemble({"input": {"reason": "manual"}, "execution_id": "e"}, _Ctx())

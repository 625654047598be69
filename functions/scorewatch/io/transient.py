"""Which infrastructure failures are worth a retry, mapped onto errors.TransientError.

Lambda, EventBridge and Step Functions retry a failed invocation; that only helps when the cause
is transient (throttling, 5xx, timeouts, connection resets). Everything else (missing bucket,
access denied, validation) fails the same way on every attempt and is re-raised unchanged.
Code that talks to AWS wraps the call in :func:`transient_errors`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from scorewatch.core.errors import ScorewatchError, TransientError

_TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "InternalException",
        "RequestTimeout",
        "RequestTimeoutException",
        "TransactionInProgressException",
    }
)
# How pyarrow's S3 filesystem (AWS SDK for C++) names retryable failures in its OSError text.
_ARROW_TRANSIENT = (
    "SLOW_DOWN",
    "SlowDown",
    "SERVICE_UNAVAILABLE",
    "ServiceUnavailable",
    "INTERNAL_FAILURE",
    "InternalError",
    "THROTTLING",
    "NETWORK_CONNECTION",
    "REQUEST_TIMEOUT",
    "HTTP response code: 5",
    "curlCode: 28",
)
_NETWORK = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)


def is_transient(exc: BaseException) -> bool:
    """True when retrying the same call later may succeed.

    >>> is_transient(ClientError({"Error": {"Code": "SlowDown"}}, "GetObject"))
    True
    >>> is_transient(ClientError({"Error": {"Code": "NoSuchBucket"}}, "GetObject"))
    False
    """
    if isinstance(exc, TransientError):
        return True
    if isinstance(exc, _NETWORK):
        return True
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return err.get("Code") in _TRANSIENT_CODES or int(status) >= 500 or int(status) == 429
    if type(exc).__name__ in ("S3UploadFailedError", "S3TransferFailedError"):
        # boto3's managed upload re-raises the ClientError as this (as context, not cause)
        inner = exc.__cause__ or exc.__context__
        return inner is not None and is_transient(inner)
    if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError | PermissionError):
        # pyarrow's S3 filesystem reports AWS errors as OSError with the AWS error text.
        text = str(exc)
        return any(code in text for code in _ARROW_TRANSIENT)
    return False


def transient(exc: BaseException, *, what: str) -> TransientError:
    """A TransientError naming ``what`` failed (chain it: ``raise transient(e, what=...) from e``)."""
    return TransientError(f"transient failure {what}: {type(exc).__name__}: {exc}")


@contextmanager
def transient_errors(*, what: str, wrappers: tuple[type[Exception], ...] = ()) -> Iterator[None]:
    """Re-raise a transient failure inside the block as :class:`TransientError` naming ``what``.

    scorewatch's own errors (a TransientError included) and every non-transient failure leave the
    block unchanged. ``wrappers`` are exception types that carry the real failure as their cause
    (Powertools' IdempotencyPersistenceLayerError around a throttled DynamoDB call): those are
    judged, and named, by that cause.

    >>> with transient_errors(what="reading s3://b/k"):  # doctest: +SKIP
    ...     s3.get_object(Bucket="b", Key="k")
    """
    try:
        yield
    except ScorewatchError:
        raise
    except wrappers as exc:
        cause = exc.__cause__ or exc.__context__
        if cause is not None and is_transient(cause):
            raise transient(cause, what=what) from exc
        raise
    except Exception as exc:
        if is_transient(exc):
            raise transient(exc, what=what) from exc
        raise

"""Fault injection for the reliability suite.

* boto3 calls (S3 writes, DynamoDB, EventBridge): ``botocore.client.BaseClient._make_api_call`` is
  wrapped, so every client — including the cached ones built at cold start, s3transfer's upload
  threads and Powertools' idempotency client — sees the fault before any request is sent.
* pyarrow reads (S3 GetObject through ``pyarrow.fs``): ``scorewatch.io.storage.uri.filesystem``
  returns a wrapper whose ``open_input_*`` raise the OSError the AWS SDK for C++ produces for a 503.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import botocore.client
from botocore.exceptions import ClientError


def client_error(code: str, operation: str, status: int = 503) -> ClientError:
    response = {
        "Error": {"Code": code, "Message": "injected fault"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, operation)


@dataclass
class BotoFaults:
    """Fail matching boto3 operations; ``times`` None = until disabled."""

    rules: list[tuple[str, Callable[[dict[str, Any]], bool], Callable[[], Exception], list[int]]] = field(
        default_factory=list
    )
    hits: dict[str, int] = field(default_factory=dict)
    enabled: bool = True
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(
        self,
        operation: str,
        *,
        when: Callable[[dict[str, Any]], bool] = lambda params: True,
        error: Callable[[], Exception] | None = None,
        times: int | None = None,
    ) -> BotoFaults:
        err = error or (lambda: client_error("SlowDown", operation))
        self.rules.append((operation, when, err, [times if times is not None else -1]))
        return self

    def check(self, operation: str, params: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with self._lock:
            for op, when, err, left in self.rules:
                if op == operation and left[0] != 0 and when(params):
                    left[0] -= 1
                    self.hits[op] = self.hits.get(op, 0) + 1
                    raise err()


def install_boto_faults(monkeypatch: Any) -> BotoFaults:
    faults = BotoFaults()
    original = botocore.client.BaseClient._make_api_call

    def wrapped(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        faults.check(operation_name, api_params)
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", wrapped)
    return faults


class _FaultyFS:
    def __init__(self, fs: Any, state: ArrowFaults):
        self._fs, self._state = fs, state

    def _maybe_fail(self, path: str) -> None:
        if self._state.enabled and self._state.when(path):
            self._state.hits += 1
            raise OSError(
                "When reading information for key in bucket: AWS Error SLOW_DOWN during GetObject operation: "
                "Please reduce your request rate. (injected)"
            )

    def open_input_file(self, path: str, *args: Any, **kwargs: Any) -> Any:
        self._maybe_fail(path)
        return self._fs.open_input_file(path, *args, **kwargs)

    def open_input_stream(self, path: str, *args: Any, **kwargs: Any) -> Any:
        self._maybe_fail(path)
        return self._fs.open_input_stream(path, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fs, name)


@dataclass
class ArrowFaults:
    when: Callable[[str], bool]
    enabled: bool = True
    hits: int = 0


def install_arrow_read_faults(monkeypatch: Any, when: Callable[[str], bool]) -> ArrowFaults:
    """Fail pyarrow reads of S3 paths (``bucket/key``) matching ``when``."""
    from scorewatch.io import storage

    state = ArrowFaults(when=when)
    original = storage.uri.filesystem

    def filesystem(uri: str) -> Any:
        fs, path = original(uri)
        if uri.startswith("s3://"):
            return _FaultyFS(fs, state), path
        return fs, path

    monkeypatch.setattr(storage.uri, "filesystem", filesystem)
    return state

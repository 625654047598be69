"""In-process Lambda runtime: the template's functions run as Python callables in this process.

Each function keeps the handler id and environment the template gave it. An invocation applies
that environment (os.environ is process-global, so invocations are serialized by one lock),
captures what the function writes to stdout (structured logs and CloudWatch EMF metrics) into a
per-invocation buffer, and returns the result or the Lambda error payload
(``errorType``/``errorMessage``) that Step Functions' Retry/Catch match on.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scorewatch.core.contract import Env
from scorewatch_infra.local.iam import attributed_to
from scorewatch_infra.local.template import TemplateError


@dataclass
class FunctionSpec:
    """One Lambda function of the template, as deployed locally."""

    logical_id: str
    name: str
    arn: str
    handler_id: str | None  # "module.attr"; None for custom-resource providers (not invocable)
    environment: dict[str, str]
    timeout_seconds: int = 3
    memory_mb: int = 128
    inert_reason: str | None = None


@dataclass
class Invocation:
    """The record of one invocation (kept for ``status`` and the demo's logs)."""

    function: str
    request_id: str
    started: float
    seconds: float
    error_type: str | None
    error_message: str | None
    source: str
    output: str = ""


class LambdaContext:
    """The attributes of the Lambda context object that handlers and Powertools read."""

    def __init__(self, spec: FunctionSpec, request_id: str):
        self.function_name = spec.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = spec.arn
        self.memory_limit_in_mb = spec.memory_mb
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{spec.name}"
        self.log_stream_name = f"local/{request_id}"
        self._deadline = time.monotonic() + spec.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _ThreadStdout(io.TextIOBase):
    """sys.stdout replacement: writes from a thread inside an invocation go to its buffer.

    Loggers bind ``sys.stdout`` once when created, so swapping the stream per invocation would
    miss them; routing by thread catches every write of the function and nothing else.
    """

    # Shared by every instance: a logger bound to an earlier wrapper still routes correctly.
    local = threading.local()

    def __init__(self, real: Any):
        self.real = real

    def write(self, s: str) -> int:
        buf = getattr(self.local, "buffer", None)
        if buf is not None:
            return buf.write(s)
        return self.real.write(s)

    def flush(self) -> None:
        if getattr(self.local, "buffer", None) is None:
            self.real.flush()

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.real, "encoding", "utf-8")


@dataclass
class FunctionRuntime:
    """Function registry + invoker shared by the router and the emulator's patched Lambda invoke."""

    base_environment: dict[str, str] = field(default_factory=dict)
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    invocations: list[Invocation] = field(default_factory=list)
    on_output: Callable[[FunctionSpec, str, float], None] | None = None
    lock_timeout_seconds: float = 900.0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._records_lock = threading.Lock()
        self._stdout: _ThreadStdout | None = None

    def add(self, spec: FunctionSpec) -> None:
        self.functions[spec.name] = spec

    def find(self, name_or_arn: str) -> FunctionSpec:
        name = name_or_arn
        if name.startswith("arn:"):
            parts = name.split(":")
            name = parts[6] if len(parts) > 6 else parts[-1]
        if name not in self.functions:
            raise TemplateError(f"no local function named {name_or_arn!r}")
        return self.functions[name]

    def _function_keys(self) -> set[str]:
        keys = set(self.base_environment)
        for spec in self.functions.values():
            keys.update(spec.environment)
        return keys

    def install_stdout(self) -> None:
        # Re-wrapped when someone (a test runner's capture) replaced sys.stdout since.
        if not isinstance(sys.stdout, _ThreadStdout):
            self._stdout = _ThreadStdout(sys.stdout)
            sys.stdout = self._stdout

    def uninstall_stdout(self) -> None:
        if self._stdout is not None and sys.stdout is self._stdout:
            sys.stdout = self._stdout.real
        self._stdout = None

    def invoke(self, name_or_arn: str, event: Any, *, source: str) -> tuple[Any, str | None]:
        """Run the function on ``event``; return (result or error payload, error type or None)."""
        spec = self.find(name_or_arn)
        if spec.handler_id is None:
            raise TemplateError(f"function {spec.name} is not invocable locally: {spec.inert_reason}")
        request_id = str(uuid.uuid4())
        if not self._lock.acquire(timeout=self.lock_timeout_seconds):
            raise TemplateError(
                f"function {spec.name}: another invocation held the runtime for "
                f"{self.lock_timeout_seconds}s (a handler synchronously invoking another?)"
            )
        buffer = io.StringIO()
        self.install_stdout()
        saved = dict(os.environ)
        started = time.time()
        t0 = time.perf_counter()
        error_type = error_message = None
        try:
            # Overlay rather than replace: emulator threads read os.environ concurrently
            # (MOTO_PORT, credentials), so only keys of other functions are removed.
            # A laptop is shared: the scorer's reader thread keeps normal priority here unless the
            # template says otherwise (idle, the Lambda default, would wait for every other process).
            env = {Env.READER_PRIORITY: "normal", **self.base_environment}
            env.update(spec.environment)
            env.update(
                {
                    "AWS_LAMBDA_FUNCTION_NAME": spec.name,
                    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
                    "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
                    "_HANDLER": spec.handler_id,
                }
            )
            for key in self._function_keys() - env.keys():
                os.environ.pop(key, None)
            os.environ.update(env)
            _ThreadStdout.local.buffer = buffer
            try:
                handler = load_handler(spec.handler_id)
                with attributed_to(spec.logical_id):
                    result = handler(event, LambdaContext(spec, request_id))
                result = json.loads(json.dumps(result, default=str))
            except Exception as exc:  # noqa: BLE001 - a function error becomes Lambda's error payload
                error_type, error_message = type(exc).__name__, str(exc)
                result = {
                    "errorType": error_type,
                    "errorMessage": error_message,
                    "stackTrace": traceback.format_exception(exc)[-8:],
                }
                buffer.write(json.dumps({"level": "ERROR", "local": "unhandled", **result}) + "\n")
        finally:
            _ThreadStdout.local.buffer = None
            for key in set(os.environ) - saved.keys():
                del os.environ[key]
            os.environ.update(saved)
            self._lock.release()
        seconds = time.perf_counter() - t0
        output = buffer.getvalue()
        with self._records_lock:
            self.invocations.append(
                Invocation(spec.name, request_id, started, seconds, error_type, error_message, source, output)
            )
        if self.on_output is not None:
            self.on_output(spec, output, started)
        return result, error_type


def load_handler(handler_id: str) -> Callable[[Any, Any], Any]:
    """Import ``package.module.attr`` (the image CMD / zip Handler form)."""
    module_name, _, attr = handler_id.rpartition(".")
    if not module_name:
        raise TemplateError(f"handler {handler_id!r} is not of the form 'module.attribute'")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise TemplateError(f"handler {handler_id!r}: module {module_name!r} not found ({exc})") from exc
    try:
        return getattr(module, attr)
    except AttributeError as exc:
        raise TemplateError(f"handler {handler_id!r}: {module_name} has no attribute {attr!r}") from exc

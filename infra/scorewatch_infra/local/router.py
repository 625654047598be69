"""EventBridge routing from the template's rules to their targets.

Events arrive from the emulator (PutEvents by handlers and state machines, S3's EventBridge
notifications) or from schedules (``tick``). One worker thread delivers them in arrival order:
patterns are matched with moto's EventBridge pattern matcher (prefix, suffix, anything-but,
numeric, exists, wildcard, $or); Lambda targets run in-process, state-machine targets start an
execution on the emulator (each under a unique name, see ``execution_name``), SNS targets publish
to the emulator's topic. SQS, CloudWatch Logs and event-bus targets are delivered by moto itself
when the event is put.

event-ruler 0.3.0 (the pip package wrapping a Go matcher) was measured to reject ``prefix``
patterns ("invalid pattern"), which the S3 drop-zone rule needs, so moto's matcher is used.
"""

from __future__ import annotations

import json
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.events.models import EventPattern

from scorewatch_infra.local.template import TemplateError

# The pseudo bus of EventBridge Scheduler schedules (they target a function directly, no bus).
SCHEDULER_BUS = "(scheduler)"
# Step Functions execution names: 1-80 characters; CloudWatch logging needs [0-9A-Za-z_-].
EXECUTION_NAME_MAX = 80
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def execution_name(payload: Any, *, event: dict[str, Any] | None = None) -> str:
    """A unique, readable execution name: ``<model>-<batch/trigger/event id>-<8 hex>``.

    EventBridge gives every execution it starts a unique generated name (a rule target cannot set
    one), so the local cloud never reuses a name either; the prefix only helps a reader find the
    run. The model and trigger come from the target's input or, failing that, the event; parts
    that are missing are left out. Characters outside ``[A-Za-z0-9_-]`` become ``-``.
    """
    sources = [s for s in (payload, event) if isinstance(s, dict)]
    sources += [s["detail"] for s in list(sources) if isinstance(s.get("detail"), dict)]

    def first(*keys: str) -> str | None:
        for key in keys:  # the preferred key wins over the nearer source
            for source in sources:
                value = source.get(key)
                if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value):
                    return str(value)
        return None

    parts = [first("model_name", "model"), first("batch_id", "trigger_id", "run_id", "id")]
    prefix = "-".join(p for p in (_NAME_UNSAFE.sub("-", part).strip("-") for part in parts if part) if p)
    suffix = uuid.uuid4().hex[:8]
    prefix = prefix[: EXECUTION_NAME_MAX - len(suffix) - 1].rstrip("-")
    return f"{prefix}-{suffix}" if prefix else suffix


@dataclass(frozen=True)
class Target:
    id: str
    arn: str
    input: str | None = None
    input_path: str | None = None
    input_transformer: dict[str, Any] | None = None


@dataclass
class Rule:
    name: str
    logical_id: str
    bus: str
    pattern: dict[str, Any] | None
    schedule: str | None
    targets: list[Target]
    enabled: bool = True
    arn: str = ""

    def matches(self, event: dict[str, Any]) -> bool:
        if not self.enabled or self.pattern is None:
            return False
        return EventPattern.load(json.dumps(self.pattern)).matches_event(event)


@dataclass(frozen=True)
class Delivery:
    """One event delivered (or failed to deliver) to one target: the router's audit trail."""

    rule: str
    target: str
    detail_type: str
    source: str
    at: float
    error: str | None = None


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """EventBridge pattern matching (moto's implementation of the EventBridge spec)."""
    return EventPattern.load(json.dumps(pattern)).matches_event(event)


def transform_input(target: Target, event: dict[str, Any]) -> Any:
    """What the target receives: the event, ``Input``, ``InputPath`` or ``InputTransformer``."""
    if target.input is not None:
        return json.loads(target.input)
    if target.input_path is not None:
        return json_path(event, target.input_path)
    if target.input_transformer is not None:
        values = {
            k: json_path(event, path) for k, path in target.input_transformer.get("InputPathsMap", {}).items()
        }
        template = target.input_transformer["InputTemplate"]

        def repl(m: re.Match[str]) -> str:
            v = values.get(m.group(1))
            if isinstance(v, str) and not _inside_quotes(template, m.start()):
                return json.dumps(v)
            return v if isinstance(v, str) else json.dumps(v)

        text = re.sub(r"<([A-Za-z0-9_.\-$]+)>", repl, template)
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text
    return event


def _inside_quotes(text: str, pos: int) -> bool:
    return text[:pos].count('"') % 2 == 1


def json_path(doc: Any, path: str) -> Any:
    """The simple JSONPath subset EventBridge accepts (``$``, ``$.a.b``, ``$.a[0]``)."""
    if path in ("$", ""):
        return doc
    node = doc
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path.removeprefix("$")):
        if part.startswith("["):
            node = node[int(part[1:-1])] if isinstance(node, list) and len(node) > int(part[1:-1]) else None
        else:
            node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            return None
    return node


@dataclass
class Router:
    """The template's rules plus a worker thread that delivers events to their targets."""

    invoke_lambda: Callable[[str, Any, str], Any]
    start_execution: Callable[..., str]  # (state machine arn, input, *, name) -> execution arn
    publish_sns: Callable[[str, Any], None]
    rules: list[Rule] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._queue: queue.Queue[tuple[str, Any] | None] = queue.Queue()
        self._busy = 0
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="local-router", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    def submit(self, bus: str, event: dict[str, Any]) -> None:
        """Accept an event put on ``bus`` (called from emulator threads: never blocks)."""
        with self._cv:
            self._busy += 1
        self._queue.put(("event", (bus, event)))

    def submit_invoke(self, function: str, event: Any) -> None:
        """An asynchronous Lambda invocation (InvocationType=Event)."""
        with self._cv:
            self._busy += 1
        self._queue.put(("invoke", (function, event)))

    def idle(self) -> bool:
        with self._cv:
            return self._busy == 0

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cv:
            while self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(left)
        return True

    # -- schedules ---------------------------------------------------------------------------

    def scheduled_rules(self) -> list[Rule]:
        return [r for r in self.rules if r.schedule and r.enabled]

    def fire_schedule(self, rule: Rule, *, now: datetime | None = None) -> None:
        """Deliver the ``Scheduled Event`` EventBridge sends when ``rule``'s schedule fires."""
        when = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            # Recorded as the router's history; a Scheduler target receives its Input instead.
            "source": "aws.scheduler" if rule.bus == SCHEDULER_BUS else "aws.events",
            "account": rule.arn.split(":")[4] if rule.arn.count(":") >= 5 else "123456789012",
            "time": when,
            "region": rule.arn.split(":")[3] if rule.arn.count(":") >= 5 else "us-east-1",
            "resources": [rule.arn],
            "detail": {},
        }
        with self._cv:
            self._busy += 1
        self._queue.put(("schedule", (rule, event)))

    # -- delivery ----------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            kind, payload = item
            try:
                if kind == "event":
                    bus, event = payload
                    self.events.append((bus, event))
                    for rule in self.rules:
                        if rule.bus == bus and rule.matches(event):
                            self._deliver(rule, event)
                elif kind == "schedule":
                    rule, event = payload
                    self.events.append((rule.bus, event))
                    self._deliver(rule, event)
                else:
                    function, event = payload
                    self.invoke_lambda(function, event, "async-invoke")
            except Exception as exc:  # noqa: BLE001 - the router must outlive one bad event; the error is kept
                self.errors.append(f"{kind}: {type(exc).__name__}: {exc}")
            finally:
                with self._cv:
                    self._busy -= 1
                    self._cv.notify_all()

    def _deliver(self, rule: Rule, event: dict[str, Any]) -> None:
        for target in rule.targets:
            service = target.arn.split(":")[2] if target.arn.startswith("arn:") else ""
            error = None
            try:
                payload = transform_input(target, event)
                if service == "lambda":
                    kind = "schedule" if rule.bus == SCHEDULER_BUS else "rule"
                    self.invoke_lambda(target.arn, payload, f"{kind}:{rule.name}")
                elif service == "states":
                    self.start_execution(target.arn, payload, name=execution_name(payload, event=event))
                elif service == "sns":
                    self.publish_sns(target.arn, payload)
                elif service in ("sqs", "logs", "events"):
                    pass  # delivered by moto when the event was put
                else:
                    raise TemplateError(
                        f"rule {rule.name}: target {target.arn} ({service}) is not supported locally"
                    )
            except Exception as exc:  # noqa: BLE001 - recorded per delivery like EventBridge's failed invocations
                error = f"{type(exc).__name__}: {exc}"
                self.errors.append(f"rule {rule.name} -> {target.arn}: {error}")
            self.deliveries.append(
                Delivery(
                    rule.name,
                    target.arn,
                    event.get("detail-type", ""),
                    event.get("source", ""),
                    time.time(),
                    error,
                )
            )

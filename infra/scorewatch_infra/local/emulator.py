"""The embedded AWS emulator: moto's server in this process, wired to the local cloud.

Three seams of moto are connected to the local cloud while it runs:

- Lambda ``Invoke`` (Docker-free backend) runs the in-process function (``FunctionRuntime``), so
  the emulator's Step Functions interpreter reaches the same handlers as EventBridge targets;
- ``PutEvents`` (after moto's own delivery to SQS/log/bus targets) hands each accepted event to
  the router, which delivers it to the template's Lambda, state-machine and SNS targets;
- S3's EventBridge notification is replaced by the shape S3 really sends (``Object Created``
  with ``etag``, ``version-id``, ``sequencer``, ``reason``), put on the account's default bus.

Two gaps in moto's interpreting Step Functions backend are closed as well. A Distributed Map run
fails when its failed items exceed ``ToleratedFailureCount`` or ``ToleratedFailurePercentage``
(default 0: any failed item), with ``States.ExceedToleratedFailureThreshold``, as Step Functions
does; moto 5.2 counted failed items and reported the map run succeeded whatever failed. And ``StartExecution``
without a ``name`` gets a generated UUID name, as Step Functions (and moto's non-interpreting
backend) does. moto 5.2's interpreter uses the missing name as is, so every unnamed execution was
called ``None`` and the second one of a state machine failed with ``ExecutionAlreadyExists``.

Every patch of moto's internals lives in this module, behind :func:`require_supported_moto`: the
patched methods' names and signatures are moto 5.2.5's, so another moto fails loudly here
instead of misbehaving later.
"""

from __future__ import annotations

import copy
import itertools
import json
import logging
import os
import threading
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# The moto release whose internals the patches below were written against (pyproject pins it).
SUPPORTED_MOTO = "5.2.5"

# One local cloud per process: the patches below are process-wide.
_SINK: dict[str, Any] = {}
_PATCH_LOCK = threading.Lock()
_SEQUENCER = itertools.count(1)

_S3_REASONS = {
    "Put": "PutObject",
    "Copy": "CopyObject",
    "Post": "POST Object",
    "CompleteMultipartUpload": "CompleteMultipartUpload",
}

EventSink = Callable[[str, dict[str, Any]], None]  # (bus name, event envelope)
InvokeSink = Callable[
    [str, Any, bool], tuple[bytes, str | None]
]  # (function, event, async) -> payload, error


@dataclass
class Emulator:
    """A running emulator endpoint (embedded or external)."""

    url: str
    port: int | None
    embedded: bool
    _server: Any = None
    _saved_config: dict[str, Any] | None = None

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._saved_config is not None:
            from moto.core.config import default_user_config

            default_user_config["stepfunctions"]["execute_state_machine"] = self._saved_config[
                "execute_state_machine"
            ]
            default_user_config["lambda"]["use_docker"] = self._saved_config["use_docker"]
            self._saved_config = None


def require_supported_moto(version: str | None = None) -> None:
    """Fail loudly unless the installed moto is the release the local cloud's patches target."""
    if version is None:
        from importlib.metadata import version as dist_version

        version = dist_version("moto")
    if version != SUPPORTED_MOTO:
        raise RuntimeError(
            f"the local cloud patches moto {SUPPORTED_MOTO}'s internals; moto {version} is installed: "
            f"install moto[server]=={SUPPORTED_MOTO} (pyproject's 'local' extra) or port "
            "scorewatch_infra/local/emulator.py to it"
        )


def start_embedded(*, ip: str = "127.0.0.1", port: int = 0) -> Emulator:
    """Start moto's server in-process (free port) with state-machine execution and Docker-free Lambda."""
    require_supported_moto()
    from moto.core.config import default_user_config
    from moto.server import ThreadedMotoServer

    saved = {
        "execute_state_machine": default_user_config["stepfunctions"]["execute_state_machine"],
        "use_docker": default_user_config["lambda"]["use_docker"],
    }
    default_user_config["stepfunctions"]["execute_state_machine"] = True
    default_user_config["lambda"]["use_docker"] = False
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # Execution failures are in the execution history; the interpreter also logs them as errors.
    logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
    server = ThreadedMotoServer(ip_address=ip, port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    # moto's Step Functions interpreter calls services at http://localhost:$MOTO_PORT.
    os.environ["MOTO_PORT"] = str(bound)
    url = f"http://{host}:{bound}"
    # moto's backends are process-wide: start from an empty account, as a fresh AWS account would.
    req = urllib.request.Request(f"{url}/moto-api/reset", method="POST")  # noqa: S310 - 127.0.0.1
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - our own 127.0.0.1 server
        resp.read()
    return Emulator(url=url, port=bound, embedded=True, _server=server, _saved_config=saved)


def install(*, on_event: EventSink, on_invoke: InvokeSink) -> None:
    """Connect moto's Lambda invoke, PutEvents and S3->EventBridge to the local cloud."""
    require_supported_moto()
    with _PATCH_LOCK:
        _SINK["event"] = on_event
        _SINK["invoke"] = on_invoke
        if _SINK.get("installed"):
            return
        from moto.awslambda_simple.models import LambdaSimpleBackend
        from moto.events.models import EventsBackend
        from moto.s3 import notifications
        from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
            distributed_iteration_component as dmap,
        )
        from moto.stepfunctions.parser.models import StepFunctionsParserBackend

        original_put_events = EventsBackend.put_events
        original_map_run = dmap.DistributedIterationComponent._map_run

        def map_run(self, env, eval_input):
            original_map_run(self, env, eval_input)
            _enforce_tolerated_failures(env, eval_input.map_run_record)

        original_start_execution = StepFunctionsParserBackend.start_execution

        def start_execution(self, state_machine_arn, name=None, execution_input=None, trace_header=None):
            # Step Functions names an unnamed execution with a UUID; moto's interpreter does not.
            return original_start_execution(
                self, state_machine_arn, name or str(uuid.uuid4()), execution_input, trace_header
            )

        def invoke(self, function_name, qualifier, body, headers, response_headers):  # noqa: PLR0917
            sink = _SINK.get("invoke")
            if sink is None:
                return b'{"errorType":"LocalCloudStopped","errorMessage":"the local cloud is not running"}'
            raw = body.decode() if isinstance(body, bytes) else (body or "")
            event = json.loads(raw) if raw else {}
            is_async = (headers or {}).get("X-Amz-Invocation-Type") == "Event"
            payload, error = sink(function_name, event, is_async)
            if error:
                response_headers["x-amz-function-error"] = "Unhandled"
            return payload

        def put_events(self, events):
            entries = original_put_events(self, events)
            sink = _SINK.get("event")
            if sink is not None:
                for event, entry in zip(events, entries, strict=True):
                    if "EventId" not in entry:
                        continue
                    bus = self._normalize_event_bus_arn(event.get("EventBusName"))
                    sink(bus, envelope(event, entry["EventId"], self.account_id, self.region_name))
            return entries

        def send_event_bridge_message(account_id, bucket, event_name, key):
            from moto.events.models import events_backends

            detail_type = notifications._detail_type(event_name)
            if detail_type == "Object Tags Added" and not _has_tags(account_id, key):
                return  # moto tags every new object (with no tags); S3 sends this only for real tags
            obj = {"key": key.name, "size": key.size, "etag": key.etag.replace('"', "")}
            if key.version_id and key.version_id != "null":
                obj["version-id"] = key.version_id
            obj["sequencer"] = f"{next(_SEQUENCER):016X}"
            detail = {
                "version": "0",
                "bucket": {"name": bucket.name},
                "object": obj,
                "request-id": f"LOCAL{obj['sequencer']}",
                "requester": account_id,
                "source-ip-address": "127.0.0.1",
                "reason": _S3_REASONS.get(event_name.rsplit(":", 1)[-1], event_name.rsplit(":", 1)[-1]),
            }
            backend = events_backends[account_id][bucket.region_name]
            backend.put_events(
                [
                    {
                        "Source": "aws.s3",
                        "DetailType": detail_type,
                        "Detail": json.dumps(detail),
                        "Resources": [f"arn:aws:s3:::{bucket.name}"],
                        "EventBusName": "default",
                    }
                ]
            )

        LambdaSimpleBackend.invoke = invoke
        EventsBackend.put_events = put_events
        StepFunctionsParserBackend.start_execution = start_execution
        dmap.DistributedIterationComponent._map_run = map_run
        notifications._send_event_bridge_message = send_event_bridge_message
        _SINK["installed"] = True


def exceeds_tolerance(failed: int, total: int, *, count: int, percentage: float) -> bool:
    """Step Functions' rule: a map run fails when failed items exceed a tolerance that is set.

    Neither set (both 0): any failed item fails the run. moto keeps an unset tolerance as 0, so a
    0 beside a positive other one counts as unset (an explicit ``ToleratedFailureCount: 0`` next
    to a percentage is read as the percentage alone).
    """
    if failed == 0:
        return False
    if count == 0 and percentage == 0:
        return True
    by_count = count > 0 and failed > count
    by_share = percentage > 0 and total > 0 and 100.0 * failed / total > percentage
    return by_count or by_share


def _enforce_tolerated_failures(env: Any, record: Any) -> None:
    from moto.stepfunctions.parser.api import HistoryEventType, MapRunFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    items = record.item_counter
    failed = items.failed.get() + items.timed_out.get()
    total = items.total.get() or (failed + items.succeeded.get())
    count = int(record.tolerated_failure_count or 0)
    percentage = float(record.tolerated_failure_percentage or 0.0)
    if not exceeds_tolerance(failed, total, count=count, percentage=percentage):
        return
    error = StatesErrorName(typ=StatesErrorNameType.StatesExceedToleratedFailureThreshold)
    cause = (
        f"{failed} of {total} items failed, above the tolerated {count} items or {percentage:g}% "
        "(scorewatch local cloud)"
    )
    details = MapRunFailedEventDetails(error=error.error_name, cause=cause)
    raise FailureEventException(
        FailureEvent(
            env=env,
            error_name=error,
            event_type=HistoryEventType.MapRunFailed,
            event_details=EventDetails(mapRunFailedEventDetails=details),
        )
    )


def _has_tags(account_id: str, key: Any) -> bool:
    from moto.s3.models import s3_backends

    backend = s3_backends[account_id]["aws"]
    return bool(backend.tagger.list_tags_for_resource(key.arn).get("Tags"))


def uninstall() -> None:
    """Detach the local cloud (the patches stay but deliver nowhere)."""
    with _PATCH_LOCK:
        _SINK.pop("event", None)
        _SINK.pop("invoke", None)


def envelope(event: dict[str, Any], event_id: str, account: str, region: str) -> dict[str, Any]:
    """The EventBridge event as targets receive it."""
    when = event.get("Time")
    if isinstance(when, datetime):
        stamp = when.astimezone(UTC)
    elif isinstance(when, (int, float)):
        stamp = datetime.fromtimestamp(when, UTC)
    else:
        stamp = datetime.now(UTC)
    return {
        "version": "0",
        "id": event_id,
        "detail-type": event["DetailType"],
        "source": event["Source"],
        "account": account,
        "time": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": copy.deepcopy(event.get("Resources", [])),
        "detail": json.loads(event["Detail"]),
    }

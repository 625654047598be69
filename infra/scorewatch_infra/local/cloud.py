"""The local cloud: a CloudFormation template deployed on the emulator, events routed, functions in-process.

>>> with LocalCloud(template, stack_name="demo") as cloud:      # doctest: +SKIP
...     cloud.upload("data", "incoming/churn/a.csv", path)
...     cloud.drain()
...     cloud.executions()
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scorewatch_infra.local import emulator as emu
from scorewatch_infra.local.alarms import AlarmState, Datapoint, MetricStore, evaluate_alarm
from scorewatch_infra.local.iam import CallRecorder, Finding, function_roles, role_statements
from scorewatch_infra.local.iam import Resources as IamResources
from scorewatch_infra.local.resources import Deployer, DeploymentReport
from scorewatch_infra.local.router import SCHEDULER_BUS, Router, Rule, Target, execution_name
from scorewatch_infra.local.runtime import FunctionRuntime, FunctionSpec
from scorewatch_infra.local.tap import EventTap
from scorewatch_infra.local.template import Template, TemplateError

REGION = "us-east-1"
# moto's backends and the emulator seams are process-wide: one embedded local cloud at a time.
_ACTIVE: list[LocalCloud] = []
_ACTIVE_LOCK = threading.Lock()
# StartExecution's name rule (moto's interpreter does not check it): 1-80 characters, none of
# whitespace, < > { } [ ] ? * " # % \ ^ | ~ ` $ & , ; : / or control characters.
# How often the local clock looks for EventBridge Scheduler schedules created or changed at run time.
SCHEDULE_REFRESH_SECONDS = 5.0
_EXECUTION_NAME = re.compile(r"[^\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]{1,80}")


@dataclass(frozen=True)
class ExecutionRecord:
    state_machine: str
    arn: str
    name: str
    status: str
    started: datetime
    stopped: datetime | None
    states: tuple[str, ...]  # states entered, in order
    input: Any
    output: Any
    error: str | None


class LocalCloud:
    """Deploys ``template`` on an embedded (or external) emulator and runs it.

    Parameters
    ----------
    template
        The synthesized CloudFormation template (a dict).
    stack_name
        Stack name used for ``AWS::StackName`` and generated physical names.
    endpoint_url
        An emulator the user runs; default: moto's server embedded in this process. With an
        external emulator, Step Functions executions cannot reach the in-process handlers, so
        state-machine targets fail with a clear error.
    parameters
        Template parameter values (others use their Default).
    """

    def __init__(
        self,
        template: dict[str, Any],
        *,
        stack_name: str = "scorewatch-local",
        endpoint_url: str | None = None,
        parameters: dict[str, str] | None = None,
    ):
        self.template = Template(
            template, stack_name=stack_name, region=REGION, parameter_overrides=parameters or {}
        )
        self.endpoint_url = endpoint_url
        self.emulator: emu.Emulator | None = None
        self.report = DeploymentReport()
        self.metrics = MetricStore()
        self.runtime = FunctionRuntime(on_output=self._on_output)
        self.router = Router(
            invoke_lambda=self._invoke_from_router,
            start_execution=self.start_execution,
            publish_sns=self._publish_sns,
        )
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self._saved_env: dict[str, str | None] = {}
        self._clock: threading.Thread | None = None
        self._clock_stop = threading.Event()
        self._recorded_executions: set[str] = set()
        self.tap: EventTap | None = None
        self.iam_recorder = CallRecorder()
        self._role_statements: dict[str, list[dict[str, Any]]] = {}
        self._function_roles: dict[str, str] = {}

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> LocalCloud:
        """Start (or connect to) the emulator, deploy the template, start routing."""
        with _ACTIVE_LOCK:
            if _ACTIVE and not self.endpoint_url:
                raise TemplateError("another embedded local cloud is running in this process; stop it first")
            if not self.endpoint_url:
                _ACTIVE.append(self)
        for k in (
            "AWS_ENDPOINT_URL",
            "AWS_DEFAULT_REGION",
            "AWS_REGION",
            "MOTO_PORT",
            "POWERTOOLS_TRACE_DISABLED",
        ):
            self._saved_env.setdefault(k, os.environ.get(k))
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            self._saved_env.setdefault(k, os.environ.get(k))
        if self.endpoint_url:
            self.emulator = emu.Emulator(url=self.endpoint_url, port=None, embedded=False)
        else:
            self.emulator = emu.start_embedded()
        env = {
            "AWS_ENDPOINT_URL": self.emulator.url,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
            "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
            "AWS_SESSION_TOKEN": os.environ.get("AWS_SESSION_TOKEN", "testing"),
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
        if self.emulator.port:
            env["MOTO_PORT"] = str(self.emulator.port)
        for k, v in env.items():
            self._saved_env.setdefault(k, os.environ.get(k))
            os.environ[k] = v
        if self.emulator.embedded:
            emu.install(on_event=self.router.submit, on_invoke=self._invoke_from_emulator)
        deployer = Deployer(self.template, self.client)
        self.report = deployer.deploy()
        self._install_iam_recorder(deployer)
        for spec in self.report.functions.values():
            self.runtime.add(spec)
        self.router.rules = list(self.report.rules)
        self.router.start()
        if not self.emulator.embedded:
            buses = sorted({"default", *(d.ref for d in self.report.by_type("AWS::Events::EventBus"))})
            self.tap = EventTap(self.client, self.router.submit)
            self.tap.install(buses)
            self.tap.start()
        self.runtime.install_stdout()
        return self

    def stop(self) -> None:
        self.stop_clock()
        self.iam_recorder.uninstall()
        if self.tap is not None:
            self.tap.stop()
            self.tap = None
        self.router.stop()
        self.runtime.uninstall_stdout()
        if self.emulator is not None and self.emulator.embedded:
            emu.uninstall()
            self.emulator.stop()
        with _ACTIVE_LOCK:
            if self in _ACTIVE:
                _ACTIVE.remove(self)
        for k, v in self._saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        self._saved_env.clear()

    # -- least privilege -----------------------------------------------------------------------

    def _install_iam_recorder(self, deployer: Deployer) -> None:
        resources = self.template.resources
        tables, buckets = {}, {}
        for lid, d in self.report.deployed.items():
            props = resources.get(lid, {}).get("Properties", {})
            if d.type == "AWS::DynamoDB::Table":
                schema = props.get("KeySchema", [])
                hash_keys = [k["AttributeName"] for k in schema if k.get("KeyType") == "HASH"]
                tables[str(d.ref)] = hash_keys[0] if hash_keys else ""
            elif d.type == "AWS::S3::Bucket":
                encryption = deployer.props(lid).get("BucketEncryption", {})
                rules = encryption.get("ServerSideEncryptionConfiguration", [])
                for rule in rules:
                    default = rule.get("ServerSideEncryptionByDefault", {})
                    if default.get("SSEAlgorithm") == "aws:kms" and default.get("KMSMasterKeyID"):
                        buckets[str(d.ref)] = str(default["KMSMasterKeyID"])
        self._role_statements = role_statements(
            resources, lambda v: self.template.resolve(v, deployer.lookup)
        )
        self._function_roles = function_roles(resources)
        self.iam_recorder.install(
            IamResources(
                region=REGION, account=self.template.account_id, table_keys=tables, bucket_keys=buckets
            )
        )

    def iam_findings(self) -> list[Finding]:
        """Calls the functions made that their roles in the template would not allow on AWS.

        Every AWS call a function makes while it runs locally is recorded and judged against the
        identity policies of its role (scorewatch_infra.local.iam). Empty: least privilege held
        for everything that ran.
        """

        def statements_of(function_lid: str) -> list[dict[str, Any]]:
            return self._role_statements.get(self._function_roles.get(function_lid, ""), [])

        return self.iam_recorder.findings(statements_of)

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self, service: str) -> Any:
        import boto3

        with self._clients_lock:
            if service not in self._clients:
                assert self.emulator is not None, "start() the local cloud first"
                self._clients[service] = boto3.client(
                    service, region_name=REGION, endpoint_url=self.emulator.url
                )
            return self._clients[service]

    # -- lookups -------------------------------------------------------------------------------

    def function(self, function_id: str) -> FunctionSpec:
        """The deployed function whose handler is ``contract.HANDLERS[function_id]`` (or that handler id)."""
        from scorewatch.core.contract import HANDLERS

        handler = HANDLERS.get(function_id, function_id)
        for spec in self.report.functions.values():
            if spec.handler_id == handler:
                return spec
        raise TemplateError(f"no function with handler {handler!r} in the template")

    def environment_value(self, key: str) -> str:
        """A value every function that sets ``key`` agrees on (bucket, table, bus names)."""
        values = {s.environment[key] for s in self.report.functions.values() if key in s.environment}
        if len(values) != 1:
            raise TemplateError(f"environment key {key} has {len(values)} distinct values across functions")
        return values.pop()

    def state_machine_arn(self, contains: str) -> str:
        matches = [
            arn for lid, arn in self.report.state_machines.items() if contains.lower() in (lid + arn).lower()
        ]
        if len(matches) != 1:
            raise TemplateError(
                f"{len(matches)} state machines match {contains!r}: {sorted(self.report.state_machines)}"
            )
        return matches[0]

    # -- actions -------------------------------------------------------------------------------

    def upload(self, bucket: str, key: str, path: str | Path) -> dict[str, Any]:
        """PutObject a local file (S3 emits Object Created to EventBridge if the bucket says so)."""
        with open(path, "rb") as fh:
            return self.client("s3").put_object(Bucket=bucket, Key=key, Body=fh.read())

    def invoke(self, function_id: str, event: Any) -> Any:
        """Invoke a function synchronously through the emulator's Lambda API."""
        spec = self.function(function_id)
        if self.emulator is not None and not self.emulator.embedded:
            # An external emulator's Lambda cannot reach the in-process handlers: run it directly.
            result, error = self._invoke(spec.name, event, "direct")
            if error:
                raise TemplateError(f"{spec.name} failed: {error}: {result.get('errorMessage')}")
            return result
        resp = self.client("lambda").invoke(FunctionName=spec.name, Payload=json.dumps(event).encode())
        payload = json.loads(resp["Payload"].read() or b"null")
        if resp.get("FunctionError"):
            raise TemplateError(
                f"{spec.name} failed: {payload.get('errorType')}: {payload.get('errorMessage')}"
            )
        return payload

    def start_execution(self, state_machine_arn: str, payload: Any, *, name: str | None = None) -> str:
        """Start an execution on the emulator; unnamed ones get a unique ``execution_name``."""
        if self.emulator is None or not self.emulator.embedded:
            raise TemplateError(
                "state-machine executions need the embedded emulator: an external emulator's Step "
                "Functions cannot reach the local cloud's in-process Lambda handlers"
            )
        for logical_id, reason in self.report.unavailable.items():
            if self.report.deployed[logical_id].ref == state_machine_arn:
                raise TemplateError(f"state machine {logical_id} cannot run locally: {reason}")
        name = name or execution_name(payload)
        if not _EXECUTION_NAME.fullmatch(name):
            raise TemplateError(f"invalid execution name {name!r}: StartExecution would reject it")
        resp = self.client("stepfunctions").start_execution(
            stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload)
        )
        return resp["executionArn"]

    def tick(self, *, now: datetime | None = None) -> list[str]:
        """Fire every enabled schedule once: the template's scheduled rules and schedules, and the
        EventBridge Scheduler schedules that exist in the emulator (created at run time, e.g. by
        ``scorewatch models configure``); return the names fired."""
        fired = []
        for rule in [*self.report.schedules, *self.scheduler_schedules()]:
            if rule.enabled:
                self.router.fire_schedule(rule, now=now)
                fired.append(rule.name)
        return fired

    def scheduler_schedules(self) -> list[Rule]:
        """The emulator's EventBridge Scheduler schedules (every group), as the router fires them:
        the target is invoked with the schedule's ``Input`` (``{}`` when it has none)."""
        if self.emulator is None:
            return []
        client = self.client("scheduler")
        out: list[Rule] = []
        token = None
        while True:
            page = client.list_schedules(**({"NextToken": token} if token else {}))
            for item in page.get("Schedules", []):
                full = client.get_schedule(GroupName=item.get("GroupName") or "default", Name=item["Name"])
                target = full["Target"]
                out.append(
                    Rule(
                        name=f"{full.get('GroupName') or 'default'}/{full['Name']}",
                        logical_id="(scheduler)",
                        bus=SCHEDULER_BUS,
                        pattern=None,
                        schedule=full["ScheduleExpression"],
                        targets=[
                            Target(id="scheduler", arn=target["Arn"], input=target.get("Input") or "{}")
                        ],
                        enabled=full.get("State", "ENABLED") == "ENABLED",
                        arn=full["Arn"],
                    )
                )
            token = page.get("NextToken")
            if not token:
                return sorted(out, key=lambda r: r.name)

    def drain(self, timeout: float = 600) -> None:
        """Wait until no event is being routed and no execution is running (twice in a row)."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while quiet < 2:
            if time.monotonic() > deadline:
                raise TimeoutError(f"local cloud still busy after {timeout}s")
            busy = not self.router.wait_idle(max(0.1, deadline - time.monotonic()))
            busy = busy or self._running_executions() > 0 or (self.tap is not None and self.tap.pending() > 0)
            quiet = 0 if busy else quiet + 1
            time.sleep(0.05 if not busy else 0.2)

    def _running_executions(self) -> int:
        sfn = self.client("stepfunctions")
        n = 0
        for arn in self.report.state_machines.values():
            n += len(sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"])
        return n

    # -- clock ---------------------------------------------------------------------------------

    def start_clock(self) -> None:
        """Fire ``rate(...)`` schedules on the wall clock (cron schedules fire on ``tick`` only).

        The template's scheduled rules are fixed; EventBridge Scheduler schedules are looked up
        again every ``SCHEDULE_REFRESH_SECONDS`` (configure creates, changes and deletes them).
        """
        static = [r for r in self.report.schedules if r.enabled and rate_seconds(r.schedule or "")]
        dynamic = bool(self.report.by_type("AWS::Scheduler::ScheduleGroup"))
        if (not static and not dynamic) or self._clock is not None:
            return
        self._clock_stop.clear()

        def run() -> None:
            next_due: dict[str, float] = {}
            found: list[Rule] = []
            refreshed = float("-inf")
            while not self._clock_stop.wait(1.0):
                now = time.monotonic()
                if dynamic and now - refreshed >= SCHEDULE_REFRESH_SECONDS:
                    refreshed = now
                    try:
                        found = [r for r in self.scheduler_schedules() if r.enabled]
                    except Exception as exc:  # noqa: BLE001 - the clock outlives one failed lookup
                        self.router.errors.append(f"clock: listing schedules: {type(exc).__name__}: {exc}")
                for r in [*static, *found]:
                    every = rate_seconds(r.schedule or "")
                    if not every:
                        continue
                    key = r.arn or r.name
                    due = next_due.setdefault(key, now + every)
                    if now >= due:
                        self.router.fire_schedule(r)
                        next_due[key] = due + every

        self._clock = threading.Thread(target=run, name="local-clock", daemon=True)
        self._clock.start()

    def stop_clock(self) -> None:
        if self._clock is not None:
            self._clock_stop.set()
            self._clock.join(timeout=5)
            self._clock = None

    # -- observation -----------------------------------------------------------------------------

    def executions(self) -> list[ExecutionRecord]:
        sfn = self.client("stepfunctions")
        out = []
        for logical_id, arn in self.report.state_machines.items():
            for ex in sfn.list_executions(stateMachineArn=arn)["executions"]:
                out.append(self._execution_record(logical_id, ex["executionArn"]))
        return sorted(out, key=lambda e: e.started)

    def _execution_record(self, logical_id: str, arn: str) -> ExecutionRecord:
        sfn = self.client("stepfunctions")
        desc = sfn.describe_execution(executionArn=arn)
        events = []
        token = None
        while True:
            kw = {"executionArn": arn, "maxResults": 1000, **({"nextToken": token} if token else {})}
            page = sfn.get_execution_history(**kw)
            events.extend(page["events"])
            token = page.get("nextToken")
            if not token:
                break
        states = tuple(
            e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e
        )
        error = None
        if desc["status"] == "FAILED":
            error = f"{desc.get('error', '')}: {desc.get('cause', '')}"[:2000]
        return ExecutionRecord(
            state_machine=logical_id,
            arn=arn,
            name=desc.get("name") or arn.rsplit(":", 1)[-1],
            status=desc["status"],
            started=desc["startDate"],
            stopped=desc.get("stopDate"),
            states=states,
            input=json.loads(desc.get("input") or "null"),
            output=json.loads(desc["output"]) if desc.get("output") else None,
            error=error,
        )

    def alarm_states(self, *, now: float | None = None) -> list[AlarmState]:
        """The template's alarms evaluated on the metrics the functions and services emitted."""
        t = time.time() if now is None else now
        self._service_metrics(t)
        return [
            evaluate_alarm(name, props, self.metrics, now=t) for name, props in self.report.alarms.items()
        ]

    def _service_metrics(self, now: float) -> None:
        """Metrics AWS services publish themselves: Step Functions execution outcomes, SQS depth."""
        for ex in self.executions():
            if ex.stopped is None or ex.arn in self._recorded_executions:
                continue
            self._recorded_executions.add(ex.arn)
            sm_arn = self.report.state_machines[ex.state_machine]
            name = {"SUCCEEDED": "ExecutionsSucceeded", "FAILED": "ExecutionsFailed"}.get(ex.status)
            if name:
                dims = (("StateMachineArn", sm_arn),)
                self.metrics.add(Datapoint("AWS/States", name, dims, 1.0, ex.stopped.timestamp(), "Count"))
        sqs = self.client("sqs")
        for d in self.report.by_type("AWS::SQS::Queue"):
            attrs = sqs.get_queue_attributes(QueueUrl=d.ref, AttributeNames=["ApproximateNumberOfMessages"])
            depth = float(attrs["Attributes"].get("ApproximateNumberOfMessages", 0))
            dims = (("QueueName", d.attributes["QueueName"]),)
            metric = "ApproximateNumberOfMessagesVisible"
            self.metrics.add(Datapoint("AWS/SQS", metric, dims, depth, now, "Count"))

    def events_of(self, detail_type: str) -> list[dict[str, Any]]:
        return [e for _, e in self.router.events if e.get("detail-type") == detail_type]

    # -- plumbing ------------------------------------------------------------------------------

    def _invoke(self, name_or_arn: str, event: Any, source: str) -> tuple[Any, str | None]:
        result, error = self.runtime.invoke(name_or_arn, event, source=source)
        spec = self.runtime.find(name_or_arn)
        inv = self.runtime.invocations[-1]
        dims = (("FunctionName", spec.name),)
        ts = inv.started + inv.seconds
        self.metrics.add(Datapoint("AWS/Lambda", "Invocations", dims, 1.0, ts, "Count"))
        self.metrics.add(Datapoint("AWS/Lambda", "Errors", dims, 1.0 if error else 0.0, ts, "Count"))
        self.metrics.add(Datapoint("AWS/Lambda", "Duration", dims, inv.seconds * 1000, ts, "Milliseconds"))
        return result, error

    def _invoke_from_router(self, name_or_arn: str, event: Any, source: str) -> Any:
        result, error = self._invoke(name_or_arn, event, source)
        if error:
            raise TemplateError(f"{name_or_arn}: {error}: {result.get('errorMessage')}")
        return result

    def _invoke_from_emulator(
        self, function_name: str, event: Any, is_async: bool
    ) -> tuple[bytes, str | None]:
        if is_async:
            self.router.submit_invoke(function_name, event)
            return b"", None
        try:
            result, error = self._invoke(function_name, event, "lambda:Invoke")
        except TemplateError as exc:
            result, error = {"errorType": "LocalCloudError", "errorMessage": str(exc)}, "LocalCloudError"
        return json.dumps(result).encode(), error

    def _publish_sns(self, topic_arn: str, payload: Any) -> None:
        message = payload if isinstance(payload, str) else json.dumps(payload)
        self.client("sns").publish(TopicArn=topic_arn, Message=message)

    def _on_output(self, spec: FunctionSpec, output: str, started: float) -> None:
        self.metrics.add_emf_output(output, default_time=started)


def rate_seconds(expression: str) -> int | None:
    """Seconds of a ``rate(N unit)`` expression; None for cron or anything else."""
    if not expression.startswith("rate(") or not expression.endswith(")"):
        return None
    value, unit = expression[5:-1].split()
    per = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
    return int(value) * per[unit]


def utcnow() -> datetime:
    return datetime.now(UTC)

"""Deploys a CloudFormation template's resources onto the emulator.

Each supported type has a deployer that creates the resource through the emulator's AWS API and
returns its ``Ref`` value and ``Fn::GetAtt`` attributes. Types without local meaning are listed in
``NO_LOCAL_EFFECT`` with the reason; any other type is an ``UnsupportedResourceError`` naming it.
Properties a deployer does not apply are recorded in the deployment report, not dropped silently.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scorewatch_infra.local.router import SCHEDULER_BUS, Rule, Target
from scorewatch_infra.local.runtime import FunctionSpec
from scorewatch_infra.local.template import NO_VALUE, Template, TemplateError, UnsupportedResourceError

# Resource types that exist in the template but have nothing to emulate locally, each with why.
NO_LOCAL_EFFECT: dict[str, str] = {
    "AWS::CDK::Metadata": "CDK analytics metadata",
    "AWS::IAM::Role": "permissions are not enforced by the emulator",
    "AWS::IAM::Policy": "permissions are not enforced by the emulator",
    "AWS::IAM::ManagedPolicy": "permissions are not enforced by the emulator",
    "AWS::IAM::InstanceProfile": "no compute instances locally",
    "AWS::S3::BucketPolicy": "bucket access policies are not enforced by the emulator",
    "AWS::SQS::QueuePolicy": "queue access policies are not enforced by the emulator",
    "AWS::SNS::TopicPolicy": "topic access policies are not enforced by the emulator",
    "AWS::KMS::Key": "data is not encrypted locally",
    "AWS::KMS::Alias": "data is not encrypted locally",
    "AWS::Logs::LogGroup": "function logs are captured by the local runtime",
    "AWS::Logs::MetricFilter": "function logs are captured by the local runtime",
    "Custom::LogRetention": "log retention has no meaning for captured local logs",
    "AWS::Lambda::Permission": "invoke permissions are not enforced by the emulator",
    "AWS::Lambda::LayerVersion": "dependencies come from the local virtualenv",
    "AWS::Lambda::EventInvokeConfig": "asynchronous retries/destinations: local targets run once",
    "AWS::CloudWatch::Dashboard": "dashboards are a console view; `scorewatch local status` shows the data",
    "AWS::CloudWatch::CompositeAlarm": "composite alarms are not evaluated locally",
    "AWS::Glue::Database": "the Athena catalog is not emulated (query outputs with DuckDB/pyarrow locally)",
    "AWS::Glue::Table": "the Athena catalog is not emulated (query outputs with DuckDB/pyarrow locally)",
    "AWS::Athena::WorkGroup": "Athena is not emulated",
    "AWS::Athena::NamedQuery": "Athena is not emulated",
    "AWS::XRay::Group": "tracing is disabled locally",
    "AWS::ECR::Repository": "functions run from the local source tree, not an image",
    "AWS::Events::Archive": "event history is kept by the local router (`scorewatch local status`)",
}

_LAMBDA_ROLE = "scorewatch-local-lambda"


@dataclass
class Deployed:
    logical_id: str
    type: str
    ref: Any
    attributes: dict[str, Any] = field(default_factory=dict)
    note: str | None = None


@dataclass
class DeploymentReport:
    """What was deployed, what was accepted without local effect, and ignored properties."""

    deployed: dict[str, Deployed] = field(default_factory=dict)
    no_local_effect: dict[str, str] = field(default_factory=dict)  # logical id -> reason
    skipped_by_condition: list[str] = field(default_factory=list)
    ignored_properties: dict[str, list[str]] = field(default_factory=dict)
    functions: dict[str, FunctionSpec] = field(default_factory=dict)  # logical id -> spec
    rules: list[Rule] = field(default_factory=list)
    schedules: list[Rule] = field(default_factory=list)
    state_machines: dict[str, str] = field(default_factory=dict)  # logical id -> ARN
    alarms: dict[str, dict[str, Any]] = field(default_factory=dict)  # alarm name -> resolved props
    unavailable: dict[str, str] = field(default_factory=dict)  # logical id -> why it cannot run locally
    outputs: dict[str, Any] = field(default_factory=dict)  # the template's Outputs, resolved

    def by_type(self, resource_type: str) -> list[Deployed]:
        return [d for d in self.deployed.values() if d.type == resource_type]


class Deployer:
    """Creates the template's resources on the emulator through boto3 clients."""

    def __init__(self, template: Template, clients: Callable[[str], Any], *, name_prefix: str | None = None):
        self.t = template
        self.clients = clients
        self.prefix = (name_prefix or template.stack_name).lower()
        self.report = DeploymentReport()
        self._role_arn: str | None = None

    # -- Ref / GetAtt -------------------------------------------------------------------------

    def lookup(self, logical_id: str, attribute: str | None) -> Any:
        d = self.report.deployed.get(logical_id)
        if d is None:
            if logical_id in self.report.skipped_by_condition:
                raise TemplateError(f"{logical_id} is referenced but its Condition is false")
            raise TemplateError(f"{logical_id} is referenced before it is deployed")
        if attribute is None:
            return d.ref
        if attribute not in d.attributes:
            raise TemplateError(f"Fn::GetAtt {logical_id}.{attribute} ({d.type}) is not available locally")
        return d.attributes[attribute]

    def props(self, logical_id: str) -> dict[str, Any]:
        raw = self.t.resources[logical_id].get("Properties", {})
        return self.t.resolve(raw, self.lookup, where=f"Resources.{logical_id}")

    def physical_name(self, logical_id: str, max_len: int = 63) -> str:
        """Deterministic stand-in for a CloudFormation-generated name."""
        digest = hashlib.sha256(f"{self.t.stack_name}/{logical_id}".encode()).hexdigest()[:8]
        base = f"{self.prefix}-{logical_id}".lower()[: max_len - 9]
        return f"{base}-{digest}"

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.t.region}:{self.t.account_id}:{resource}"

    def _ignored(self, logical_id: str, props: dict[str, Any], applied: set[str]) -> None:
        rest = sorted(set(props) - applied)
        if rest:
            self.report.ignored_properties[logical_id] = rest

    # -- deploy ------------------------------------------------------------------------------

    def check_supported(self) -> None:
        """Fail before creating anything if a resource type is neither supported nor allow-listed."""
        for logical_id, res in self.t.resources.items():
            rtype = res.get("Type", "")
            if rtype not in DEPLOYERS and rtype not in NO_LOCAL_EFFECT:
                raise UnsupportedResourceError(rtype, logical_id)

    def deploy(self) -> DeploymentReport:
        self.check_supported()
        service_tokens = self._service_token_functions()
        for logical_id in self.t.deployment_order():
            rtype = self.t.resources[logical_id]["Type"]
            if not self.t.resource_enabled(logical_id, self.lookup):
                self.report.skipped_by_condition.append(logical_id)
                continue
            if rtype in NO_LOCAL_EFFECT:
                self.report.no_local_effect[logical_id] = f"{rtype}: {NO_LOCAL_EFFECT[rtype]}"
                self.report.deployed[logical_id] = self._placeholder(logical_id, rtype)
                continue
            deployer = DEPLOYERS[rtype]
            if rtype == "AWS::Lambda::Function" and logical_id in service_tokens:
                d = _lambda_function(self, logical_id, provider_for=service_tokens[logical_id])
            else:
                d = deployer(self, logical_id)
            self.report.deployed[logical_id] = d
        for name, output in self.t.body.get("Outputs", {}).items():
            if "Condition" in output and not self.t.condition(output["Condition"], self.lookup):
                continue
            self.report.outputs[name] = self.t.resolve(output["Value"], self.lookup, where=f"Outputs.{name}")
        return self.report

    def _service_token_functions(self) -> dict[str, str]:
        """Functions that back custom resources (their custom resource is applied natively)."""
        out: dict[str, str] = {}
        for _logical_id, res in self.t.resources.items():
            if (
                res.get("Type", "").startswith("Custom::")
                or res.get("Type") == "AWS::CloudFormation::CustomResource"
            ):
                token = res.get("Properties", {}).get("ServiceToken")
                refs: set[str] = set()
                from scorewatch_infra.local.template import _collect_refs

                _collect_refs(token, refs)
                for r in refs:
                    out.setdefault(r, res["Type"])
        return out

    def _placeholder(self, logical_id: str, rtype: str) -> Deployed:
        name = self.physical_name(logical_id)
        service = rtype.split("::")[1].lower()
        attrs = {"Arn": self.arn(service, name), "RoleId": name.upper()[:21], "KeyId": name}
        if rtype == "AWS::IAM::Role":
            attrs["Arn"] = f"arn:aws:iam::{self.t.account_id}:role/{name}"
        if rtype == "AWS::Logs::LogGroup":
            props = self.t.resources[logical_id].get("Properties", {})
            lg = props.get("LogGroupName")
            name = self.t.resolve(lg, self.lookup) if lg else name
            attrs["Arn"] = self.arn("logs", f"log-group:{name}:*")
        if rtype == "AWS::Lambda::LayerVersion":
            name = self.arn("lambda", f"layer:{name}:1")
        return Deployed(logical_id, rtype, name, attrs, note=NO_LOCAL_EFFECT[rtype])

    def lambda_role(self) -> str:
        if self._role_arn is None:
            iam = self.clients("iam")
            try:
                self._role_arn = iam.get_role(RoleName=_LAMBDA_ROLE)["Role"]["Arn"]
            except iam.exceptions.NoSuchEntityException:
                doc = {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
                role = iam.create_role(RoleName=_LAMBDA_ROLE, AssumeRolePolicyDocument=json.dumps(doc))
                self._role_arn = role["Role"]["Arn"]
        return self._role_arn


# -- per-type deployers ---------------------------------------------------------------------


def _bucket(d: Deployer, logical_id: str) -> Deployed:
    p = d.props(logical_id)
    s3 = d.clients("s3")
    name = p.get("BucketName") or d.physical_name(logical_id)
    s3.create_bucket(Bucket=name)
    applied = {"BucketName"}
    if p.get("VersioningConfiguration", {}).get("Status") == "Enabled":
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        applied.add("VersioningConfiguration")
    notif = p.get("NotificationConfiguration")
    if notif:
        _apply_notifications(s3, name, notif)
        applied.add("NotificationConfiguration")
    d._ignored(logical_id, p, applied)
    return Deployed(
        logical_id,
        "AWS::S3::Bucket",
        name,
        {
            "Arn": f"arn:aws:s3:::{name}",
            "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{d.t.region}.amazonaws.com",
            "WebsiteURL": f"http://{name}.s3-website-{d.t.region}.amazonaws.com",
        },
    )


def _apply_notifications(s3: Any, bucket: str, notif: dict[str, Any]) -> None:
    config: dict[str, Any] = {}
    if "EventBridgeConfiguration" in notif:
        config["EventBridgeConfiguration"] = {}
    for cfn_key, api_key, arn_key in (
        ("LambdaConfigurations", "LambdaFunctionConfigurations", "LambdaFunctionArn"),
        ("QueueConfigurations", "QueueConfigurations", "QueueArn"),
        ("TopicConfigurations", "TopicConfigurations", "TopicArn"),
    ):
        items = notif.get(cfn_key) or notif.get(api_key) or []
        if items:
            config[api_key] = [
                {
                    arn_key: item.get("Function")
                    or item.get("Queue")
                    or item.get("Topic")
                    or item.get(arn_key),
                    "Events": [item["Event"]] if "Event" in item else item["Events"],
                    **({"Filter": item["Filter"]} if "Filter" in item else {}),
                }
                for item in items
            ]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=config)


def _bucket_notifications(d: Deployer, logical_id: str) -> Deployed:
    """CDK's Custom::S3BucketNotifications (how CDK turns on EventBridge for a bucket)."""
    p = d.props(logical_id)
    _apply_notifications(d.clients("s3"), p["BucketName"], p.get("NotificationConfiguration", {}))
    return Deployed(logical_id, "Custom::S3BucketNotifications", f"{p['BucketName']}-notifications")


def _table(d: Deployer, logical_id: str) -> Deployed:
    p = d.props(logical_id)
    ddb = d.clients("dynamodb")
    name = p.get("TableName") or d.physical_name(logical_id, 255)
    args: dict[str, Any] = {
        "TableName": name,
        "KeySchema": p["KeySchema"],
        "AttributeDefinitions": p["AttributeDefinitions"],
        "BillingMode": p.get("BillingMode", "PROVISIONED"),
    }
    applied = {"TableName", "KeySchema", "AttributeDefinitions", "BillingMode"}
    if args["BillingMode"] == "PROVISIONED":
        args["ProvisionedThroughput"] = p.get(
            "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        )
        applied.add("ProvisionedThroughput")
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if key in p:
            args[key] = p[key]
            applied.add(key)
    if "StreamSpecification" in p:
        args["StreamSpecification"] = {"StreamEnabled": True, **p["StreamSpecification"]}
        applied.add("StreamSpecification")
    desc = ddb.create_table(**args)["TableDescription"]
    ttl = p.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        ddb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]}
        )
        applied.add("TimeToLiveSpecification")
    d._ignored(logical_id, p, applied)
    attrs = {"Arn": desc["TableArn"]}
    if desc.get("LatestStreamArn"):
        attrs["StreamArn"] = desc["LatestStreamArn"]
    return Deployed(logical_id, "AWS::DynamoDB::Table", name, attrs)


def _queue(d: Deployer, logical_id: str) -> Deployed:
    p = d.props(logical_id)
    sqs = d.clients("sqs")
    fifo = bool(p.get("FifoQueue"))
    name = p.get("QueueName") or d.physical_name(logical_id, 75 if fifo else 80) + (".fifo" if fifo else "")
    attrs: dict[str, str] = {}
    applied = {"QueueName"}
    for key in (
        "DelaySeconds",
        "MaximumMessageSize",
        "MessageRetentionPeriod",
        "ReceiveMessageWaitTimeSeconds",
        "VisibilityTimeout",
        "FifoQueue",
        "ContentBasedDeduplication",
    ):
        if key in p:
            v = p[key]
            attrs[key] = ("true" if v else "false") if isinstance(v, bool) else str(v)
            applied.add(key)
    if "RedrivePolicy" in p:
        attrs["RedrivePolicy"] = json.dumps(p["RedrivePolicy"])
        applied.add("RedrivePolicy")
    url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    d._ignored(logical_id, p, applied)
    return Deployed(logical_id, "AWS::SQS::Queue", url, {"Arn": arn, "QueueUrl": url, "QueueName": name})


def _topic(d: Deployer, logical_id: str) -> Deployed:
    p = d.props(logical_id)
    sns = d.clients("sns")
    name = p.get("TopicName") or d.physical_name(logical_id, 256)
    arn = sns.create_topic(Name=name)["TopicArn"]
    for sub in p.get("Subscription", []):
        sns.subscribe(TopicArn=arn, Protocol=sub["Protocol"], Endpoint=sub["Endpoint"])
    d._ignored(logical_id, p, {"TopicName", "Subscription"})
    return Deployed(logical_id, "AWS::SNS::Topic", arn, {"TopicArn": arn, "TopicName": name})


def _subscription(d: Deployer, logical_id: str) -> Deployed:
    p = d.props(logical_id)
    sub = d.clients("sns").subscribe(TopicArn=p["TopicArn"], Protocol=p["Protocol"], Endpoint=p["Endpoint"])
    d._ignored(logical_id, p, {"TopicArn", "Protocol", "Endpoint"})
    return Deployed(logical_id, "AWS::SNS::Subscription", sub["SubscriptionArn"])


def _event_bus(d: Deployer, logical_id: str) -> Deployed:
    p = d.props(logical_id)
    arn = d.clients("events").create_event_bus(Name=p["Name"])["EventBusArn"]
    d._ignored(logical_id, p, {"Name"})
    return Deployed(logical_id, "AWS::Events::EventBus", p["Name"], {"Arn": arn, "Name": p["Name"]})


def _rule(d: Deployer, logical_id: str) -> Deployed:
    p = d.props(logical_id)
    events = d.clients("events")
    name = p.get("Name") or d.physical_name(logical_id, 64)
    bus = p.get("EventBusName", "default")
    if bus.startswith("arn:"):
        bus = bus.rsplit("/", 1)[-1]
    args: dict[str, Any] = {"Name": name, "EventBusName": bus, "State": p.get("State", "ENABLED")}
    if "EventPattern" in p:
        args["EventPattern"] = json.dumps(p["EventPattern"])
    if "ScheduleExpression" in p:
        args["ScheduleExpression"] = p["ScheduleExpression"]
    if "Description" in p:
        args["Description"] = p["Description"]
    arn = events.put_rule(**args)["RuleArn"]
    targets = []
    api_targets = []
    for t in p.get("Targets", []):
        target = Target(
            id=t["Id"],
            arn=t["Arn"],
            input=t.get("Input"),
            input_path=t.get("InputPath"),
            input_transformer=t.get("InputTransformer"),
        )
        targets.append(target)
        if t["Arn"].split(":")[2:3] not in (["sqs"], ["logs"], ["events"]):
            # moto delivers only these itself (it raises on others); the router delivers the rest.
            continue
        api = {
            k: v
            for k, v in t.items()
            if k in ("Id", "Arn", "Input", "InputPath", "InputTransformer", "RoleArn")
        }
        api_targets.append(api)
    if api_targets:
        events.put_targets(Rule=name, EventBusName=bus, Targets=api_targets)
    rule = Rule(
        name=name,
        logical_id=logical_id,
        bus=bus,
        pattern=p.get("EventPattern"),
        schedule=p.get("ScheduleExpression"),
        targets=targets,
        enabled=p.get("State", "ENABLED") == "ENABLED",
        arn=arn,
    )
    (d.report.schedules if rule.schedule else d.report.rules).append(rule)
    ignored = {k for t in p.get("Targets", []) for k in t if k in ("RetryPolicy", "DeadLetterConfig")}
    d._ignored(
        logical_id,
        p,
        {"Name", "EventBusName", "State", "EventPattern", "ScheduleExpression", "Description", "Targets"},
    )
    if ignored:
        d.report.ignored_properties.setdefault(logical_id, []).extend(f"Targets.{k}" for k in sorted(ignored))
    return Deployed(logical_id, "AWS::Events::Rule", name, {"Arn": arn})


def _schedule(d: Deployer, logical_id: str) -> Deployed:
    """EventBridge Scheduler: fires like a scheduled rule (on ``tick`` or the local clock)."""
    p = d.props(logical_id)
    name = p.get("Name") or d.physical_name(logical_id, 64)
    t = p["Target"]
    rule = Rule(
        name=name,
        logical_id=logical_id,
        bus=SCHEDULER_BUS,
        pattern=None,
        schedule=p["ScheduleExpression"],
        targets=[Target(id="scheduler", arn=t["Arn"], input=t.get("Input"))],
        enabled=p.get("State", "ENABLED") == "ENABLED",
        arn=d.arn("scheduler", f"schedule/default/{name}"),
    )
    d.report.schedules.append(rule)
    d._ignored(logical_id, p, {"Name", "Target", "ScheduleExpression", "State"})
    return Deployed(logical_id, "AWS::Scheduler::Schedule", name, {"Arn": rule.arn})


def _schedule_group(d: Deployer, logical_id: str) -> Deployed:
    """An EventBridge Scheduler group on the emulator: `scorewatch models configure` creates the
    models' schedules in it at run time; the local cloud fires them like rules (``LocalCloud.tick``)."""
    p = d.props(logical_id)
    name = p.get("Name") or d.physical_name(logical_id, 64)
    arn = d.clients("scheduler").create_schedule_group(Name=name)["ScheduleGroupArn"]
    d._ignored(logical_id, p, {"Name"})
    return Deployed(logical_id, "AWS::Scheduler::ScheduleGroup", name, {"Arn": arn})


def _dummy_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("local.py", "# code runs in-process from the local source tree\n")
    return buf.getvalue()


def _lambda_function(d: Deployer, logical_id: str, provider_for: str | None = None) -> Deployed:
    p = d.props(logical_id)
    name = p.get("FunctionName") or d.physical_name(logical_id, 64)
    if p.get("PackageType") == "Image" or "ImageUri" in p.get("Code", {}):
        command = p.get("ImageConfig", {}).get("Command") or []
        handler_id = command[0] if command else None
    else:
        handler_id = p.get("Handler")
    env = {k: str(v) for k, v in p.get("Environment", {}).get("Variables", {}).items()}
    lam = d.clients("lambda")
    fn = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=d.lambda_role(),
        Handler=handler_id or "local.handler",
        Code={"ZipFile": _dummy_zip()},
        Timeout=int(p.get("Timeout", 3)),
        MemorySize=int(p.get("MemorySize", 128)),
        Environment={"Variables": env},
    )
    spec = FunctionSpec(
        logical_id=logical_id,
        name=name,
        arn=fn["FunctionArn"],
        handler_id=None if provider_for else handler_id,
        environment=env,
        timeout_seconds=int(p.get("Timeout", 3)),
        memory_mb=int(p.get("MemorySize", 128)),
        inert_reason=(
            f"provider of {provider_for}, which the local cloud applies natively" if provider_for else None
        ),
    )
    if not provider_for and not handler_id:
        raise TemplateError(f"function {logical_id}: no Handler and no ImageConfig.Command to run locally")
    d.report.functions[logical_id] = spec
    return Deployed(logical_id, "AWS::Lambda::Function", name, {"Arn": fn["FunctionArn"]})


def asl_for_interpreter(definition: str) -> str:
    """The same definition, spelled so the emulator's ASL parser accepts it.

    moto 5.2's grammar reads ``ToleratedFailurePercentage`` only as a JSON number with a fraction
    (``5.0``); CDK writes integers (``5``), which the parser rejects. The value is unchanged (JSON
    has one number type) and the interpreter enforces it, so the backfill's tolerance runs here as
    on AWS. Anything else the parser rejects still makes the state machine unavailable.
    """
    try:
        parsed = json.loads(definition)
    except ValueError:
        return definition
    changed = False

    def walk(node: Any) -> None:
        nonlocal changed
        if isinstance(node, dict):
            value = node.get("ToleratedFailurePercentage")
            if isinstance(value, int) and not isinstance(value, bool):
                node["ToleratedFailurePercentage"] = float(value)
                changed = True
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(parsed)
    return json.dumps(parsed) if changed else definition


def _state_machine(d: Deployer, logical_id: str) -> Deployed:
    p = d.props(logical_id)
    name = p.get("StateMachineName") or d.physical_name(logical_id, 80)
    if "DefinitionString" in p:
        definition = p["DefinitionString"]
        if isinstance(definition, dict):
            definition = json.dumps(definition)
    elif "Definition" in p:
        definition = json.dumps(p["Definition"])
    else:
        raise TemplateError(f"state machine {logical_id}: DefinitionS3Location is not supported locally")
    for key, value in (p.get("DefinitionSubstitutions") or {}).items():
        definition = definition.replace("${" + key + "}", str(value))
    definition = asl_for_interpreter(definition)
    role = p.get("RoleArn") or f"arn:aws:iam::{d.t.account_id}:role/{name}"
    sfn = d.clients("stepfunctions")
    try:
        sm = sfn.create_state_machine(
            name=name, definition=definition, roleArn=role, type=p.get("StateMachineType", "STANDARD")
        )
    except sfn.exceptions.ClientError as exc:
        # The emulator's ASL interpreter does not accept every field of the language: the state
        # machine is reported as unavailable (its executions fail naming this), never faked.
        message = str(exc).split(": ", 1)[-1]
        arn = d.arn("states", f"stateMachine:{name}")
        d.report.unavailable[logical_id] = f"the emulator's Step Functions interpreter rejects it: {message}"
        return Deployed(logical_id, "AWS::StepFunctions::StateMachine", arn, {"Arn": arn, "Name": name})
    arn = sm["stateMachineArn"]
    d.report.state_machines[logical_id] = arn
    d._ignored(
        logical_id,
        p,
        {
            "StateMachineName",
            "DefinitionString",
            "Definition",
            "DefinitionSubstitutions",
            "RoleArn",
            "StateMachineType",
        },
    )
    return Deployed(logical_id, "AWS::StepFunctions::StateMachine", arn, {"Arn": arn, "Name": name})


def _alarm(d: Deployer, logical_id: str) -> Deployed:
    """A metric alarm or a Metrics Insights alarm (one query, evaluated per contributor locally);
    any other metric-math shape is recorded as not evaluable, with why."""
    from scorewatch_infra.local.alarms import UnsupportedQueryError, insights_query_of

    p = d.props(logical_id)
    name = p.get("AlarmName") or d.physical_name(logical_id, 255)
    d.report.alarms[name] = p
    try:
        insights_query_of(p)
    except UnsupportedQueryError as exc:
        d.report.unavailable[logical_id] = f"alarm {name} is not evaluated locally: {exc}"
    return Deployed(logical_id, "AWS::CloudWatch::Alarm", name, {"Arn": d.arn("cloudwatch", f"alarm:{name}")})


def _ssm_parameter(d: Deployer, logical_id: str) -> Deployed:
    p = d.props(logical_id)
    name = p.get("Name") or f"/{d.prefix}/{logical_id}"
    d.clients("ssm").put_parameter(
        Name=name, Value=str(p["Value"]), Type=p.get("Type", "String"), Overwrite=True
    )
    return Deployed(
        logical_id, "AWS::SSM::Parameter", name, {"Type": p.get("Type", "String"), "Value": p["Value"]}
    )


DEPLOYERS: dict[str, Callable[[Deployer, str], Deployed]] = {
    "AWS::S3::Bucket": _bucket,
    "Custom::S3BucketNotifications": _bucket_notifications,
    "AWS::DynamoDB::Table": _table,
    "AWS::SQS::Queue": _queue,
    "AWS::SNS::Topic": _topic,
    "AWS::SNS::Subscription": _subscription,
    "AWS::Events::EventBus": _event_bus,
    "AWS::Events::Rule": _rule,
    "AWS::Scheduler::Schedule": _schedule,
    "AWS::Scheduler::ScheduleGroup": _schedule_group,
    "AWS::Lambda::Function": _lambda_function,
    "AWS::StepFunctions::StateMachine": _state_machine,
    "AWS::CloudWatch::Alarm": _alarm,
    "AWS::SSM::Parameter": _ssm_parameter,
}

__all__ = ["DEPLOYERS", "NO_LOCAL_EFFECT", "NO_VALUE", "Deployed", "Deployer", "DeploymentReport"]

"""cdk-nag acknowledgements for the wildcards that CDK's own grants produce.

AwsSolutions-IAM5 reports every ``*`` in an IAM policy as a separate finding
(``AwsSolutions-IAM5[Action::s3:GetObject*]``, ``...[Resource::<dataA0A3A214.Arn>/scored/*]``),
and cdk-nag v3 acknowledges findings one by one on a construct. The findings here come from
``grant_*`` methods (object keys below a prefix are data-dependent; their action families are
made explicit by ``scorewatch_infra.actions`` before this runs) and from services
without resource-level permissions (X-Ray, CloudWatch Logs delivery, ECR authorization).

Every policy's wildcards are enumerated exactly as cdk-nag does, and each one is acknowledged on
that policy only if it matches one of the explained cases below; anything else stays
unacknowledged and fails synthesis (and the cdk-nag test). A bucket-wide (``<bucket>/*``)
resource is explained only for reads, or for the models bucket's version writers: a bucket-wide
write to the data bucket (which holds ``incoming/``) fails.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import IConstruct

RULE = "AwsSolutions-IAM5"
# Actions of services that do not support resource-level permissions ("Resource": "*").
_LOG_DELIVERY = "Step Functions log delivery: CloudWatch Logs delivery APIs need Resource '*'."
RESOURCE_STAR_ACTIONS = {
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions for sending traces.",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions for sending traces.",
    "xray:GetSamplingRules": "X-Ray has no resource-level permissions for sampling rules.",
    "xray:GetSamplingTargets": "X-Ray has no resource-level permissions for sampling rules.",
    "logs:CreateLogDelivery": _LOG_DELIVERY,
    "logs:GetLogDelivery": _LOG_DELIVERY,
    "logs:UpdateLogDelivery": _LOG_DELIVERY,
    "logs:DeleteLogDelivery": _LOG_DELIVERY,
    "logs:ListLogDeliveries": _LOG_DELIVERY,
    "logs:PutResourcePolicy": _LOG_DELIVERY,
    "logs:DescribeResourcePolicies": _LOG_DELIVERY,
    "logs:DescribeLogGroups": _LOG_DELIVERY,
    "ecr:GetAuthorizationToken": "ECR's registry login token is not a resource-scoped action.",
}


@dataclass(frozen=True)
class _Case:
    pattern: re.Pattern[str]
    reason: str
    # True: only a statement of read actions (s3:Get*/s3:List*) may be acknowledged by this case.
    reads_only: bool = False


def _reads_only(actions: list[str]) -> bool:
    return all(a.startswith(("s3:Get", "s3:List")) for a in actions)


def flatten_cfn_reference(node: object) -> str:
    """cdk-nag's ``flattenCfnReference``: a resolved CloudFormation value as a flat string."""
    if node is None:
        return ""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict):
        if node.get("Fn::Join"):
            delimiter, items = node["Fn::Join"]
            return delimiter.join(flatten_cfn_reference(i) for i in items)
        if node.get("Fn::Sub"):
            return flatten_cfn_reference(node["Fn::Sub"])
        if node.get("Fn::GetAtt"):
            resource, attribute = node["Fn::GetAtt"]
            return f"<{flatten_cfn_reference(resource)}.{flatten_cfn_reference(attribute)}>"
        if node.get("Fn::ImportValue"):
            return flatten_cfn_reference(node["Fn::ImportValue"])
        if node.get("Ref"):
            return f"<{flatten_cfn_reference(node['Ref'])}>"
    return json.dumps(node, separators=(",", ":"))


def _as_list(value: object) -> list:
    return value if isinstance(value, list) else [value]


def wildcard_findings(document: dict) -> list[tuple[str, list[str]]]:
    """(finding, actions of the statement it came from) for every wildcard, like IAM5 reports them."""
    found: list[tuple[str, list[str]]] = []
    for statement in document.get("Statement", []):
        if statement.get("Effect") != "Allow":
            continue
        actions = [a for a in _as_list(statement.get("Action")) if isinstance(a, str)]
        found += [(f"Action::{a}", actions) for a in actions if "*" in a]
        for resource in _as_list(statement.get("Resource")):
            flat = flatten_cfn_reference(resource)
            if "*" in flat:
                found.append((f"Resource::{flat}", actions))
    return found


def _bucket_cases(stack: Stack, buckets: dict[str, s3.IBucket]) -> list[_Case]:
    cases: list[_Case] = []
    for label, bucket in buckets.items():
        logical = stack.get_logical_id(bucket.node.default_child)  # type: ignore[arg-type]
        arn = re.escape(f"<{logical}.Arn>")
        name = re.escape(f"arn:<AWS::Partition>:s3:::<{logical}>")
        cases.append(
            _Case(
                re.compile(f"Resource::{arn}/[a-z_]+/\\*"),
                f"Limited to one key prefix of the {label} bucket (the role's own outputs); keys below "
                "it are data-dependent (model, date, batch id).",
            )
        )
        cases.append(
            _Case(
                re.compile(f"Resource::{arn}/[a-z_]+/results/\\*"),
                f"Distributed Map result writer: only its own results prefix of the {label} bucket; "
                "Step Functions names the objects below it (map run id).",
            )
        )
        cases.append(
            _Case(
                re.compile(f"Resource::{arn}/\\*/card\\.json"),
                f"Only the readable card mirrors of the {label} bucket (<model>/<version>/card.json); "
                "the model and version segments are data-dependent.",
            )
        )
        cases.append(
            _Case(
                re.compile(f"Resource::({arn}|{name})/\\*"),
                f"Reads of the {label} bucket: the objects read (inputs, manifests, model versions) are "
                "data-dependent; the statement has no write action and names that one bucket.",
                reads_only=True,
            )
        )
    if "models" in buckets:
        logical = stack.get_logical_id(buckets["models"].node.default_child)  # type: ignore[arg-type]
        cases.append(
            _Case(
                re.compile(f"Resource::{re.escape(f'<{logical}.Arn>')}/\\*"),
                "Training and promotion write model versions (<model>/<version>/...) of the models "
                "bucket: model and version are data-dependent; the statement names that one bucket.",
            )
        )
    return cases


def _workflow_cases() -> list[_Case]:
    return [
        _Case(
            re.compile(r"Resource::<[A-Za-z0-9]+\.Arn>:\*"),
            "Step Functions LambdaInvoke grant: any version/alias of this workflow's own step function.",
        ),
        _Case(
            re.compile(
                r"Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:.*\*"
            ),
            "Distributed Map: the state machine starts and stops its own child executions (CDK grant).",
        ),
    ]


def _reason_for(finding: str, actions: list[str], cases: list[_Case]) -> str | None:
    if finding == "Resource::*":
        reasons = {RESOURCE_STAR_ACTIONS.get(a) for a in actions}
        return None if None in reasons else " ".join(sorted(r for r in reasons if r))
    if finding.startswith("Action::"):
        return None  # scorewatch_infra.actions makes every action explicit; a wildcard is a defect
    for case in cases:
        if case.reads_only and not _reads_only(actions):
            continue
        if case.pattern.fullmatch(finding):
            return case.reason
    return None


def acknowledge_grant_wildcards(
    stack: Stack, *, buckets: dict[str, s3.IBucket]
) -> list[tuple[str, str, str]]:
    """Acknowledge explained IAM5 findings on each policy; return (path, finding, reason) rows."""
    cases = _bucket_cases(stack, buckets) + _workflow_cases()
    rows: list[tuple[str, str, str]] = []
    for construct in _walk(stack, lambda c: isinstance(c, iam.CfnPolicy)):
        document = stack.resolve(construct.policy_document)  # type: ignore[attr-defined]
        acks: dict[str, str] = {}
        for finding, actions in wildcard_findings(document):
            reason = _reason_for(finding, actions, cases)
            if reason is not None and finding not in acks:
                acks[finding] = reason
        if acks:
            Validations.of(construct).acknowledge(
                *(Acknowledgment(id=f"{RULE}[{f}]", reason=r) for f, r in acks.items())
            )
            rows += [(construct.node.path, f, r) for f, r in acks.items()]
    return rows


def _walk(root: IConstruct, keep: Callable[[IConstruct], bool]) -> list[IConstruct]:
    return [c for c in root.node.find_all() if keep(c)]

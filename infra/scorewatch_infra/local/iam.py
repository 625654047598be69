"""Least privilege checked on the local cloud: every AWS call a function makes, judged by its role.

The emulator does not enforce IAM, so a function whose role lacks a permission works locally and
fails on AWS. The local cloud closes that gap: while a function runs, each AWS call it makes is
recorded (botocore calls, and pyarrow's S3 reads, which bypass botocore) and judged against the
identity policies of that function's role in the synthesized template, resolved to physical
ARNs as deployed. ``LocalCloud.iam_findings()`` lists the calls AWS would deny, and the calls this
module cannot judge (an action it does not know is a finding too, never a silent pass).

What AWS checks implicitly is derived as well: S3 reads and writes of an SSE-KMS bucket need
``kms:Decrypt`` / ``kms:GenerateDataKey`` on the bucket's key (and a multipart upload's completion
needs ``kms:Decrypt``). Judged: identity policies (inline, ``AWS::IAM::Policy`` and customer
``AWS::IAM::ManagedPolicy``). Not judged: resource policies (a bucket policy's TLS-only deny is
met on AWS, not over the emulator's HTTP), permission boundaries, AWS managed policies (the
functions' basic execution role grants logs only), and calls made by state machines' roles.

Calls are attributed to a function by thread: the runtime marks the invoking thread; calls from
threads the handler starts itself (the scorer's read-ahead thread) are not attributed, and the
same reads are made on the invoking thread first.

The evaluation rules are IAM's: explicit Deny wins, then any matching Allow, else implicit deny;
``*``/``?`` wildcards in actions and resources; the string condition operators with the
``ForAllValues:``/``ForAnyValue:`` qualifiers. An operator it does not know raises, so a policy it
cannot judge fails loudly instead of passing.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

_WORDS = {
    "set",
    "add",
    "remove",
    "delete",
    "and",
    "or",
    "not",
    "between",
    "in",
    "attribute_exists",
    "attribute_not_exists",
    "attribute_type",
    "begins_with",
    "contains",
    "size",
    "list_append",
    "if_not_exists",
}
_OPERATORS = ("StringEquals", "StringNotEquals", "StringLike", "StringNotLike")
_NAME = re.compile(r"(?<![:#\w])([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class Call:
    """One API call as IAM sees it: action, target resource and condition context."""

    action: str
    resource: str
    context: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False, compare=False)


class UnjudgedCall(Exception):
    """An API operation this module does not know how to express as IAM calls."""


# -- request -> IAM calls ---------------------------------------------------------------------


def _bare_names(expression: str | None) -> set[str]:
    if not expression:
        return set()
    return {m for m in _NAME.findall(expression) if m.lower() not in _WORDS}


def _value(v: Any) -> str:
    return str(v["S"] if isinstance(v, dict) and "S" in v else v)


def dynamodb_calls(operation: str, params: dict[str, Any], table: str, *, partition_key: str) -> list[Call]:
    """The IAM calls of one DynamoDB request on ``table`` (a transaction is one call per item).

    ``dynamodb:LeadingKeys`` is the partition key value; ``dynamodb:Attributes`` the top-level
    attribute names a write touches (item or key attributes, names in expressions, bare names in
    update and condition expressions), as AWS documents them.
    """
    if operation == "TransactWriteItems":
        out: list[Call] = []
        for entry in params["TransactItems"]:
            ((kind, sub),) = entry.items()
            op = {
                "Put": "PutItem",
                "Update": "UpdateItem",
                "Delete": "DeleteItem",
                "ConditionCheck": "ConditionCheckItem",
            }[kind]
            out += dynamodb_calls(op, sub, table, partition_key=partition_key)
        return out
    names = set((params.get("ExpressionAttributeNames") or {}).values())
    context: dict[str, tuple[str, ...]] = {}
    for part in ("Item", "Key"):
        if part in params:
            names |= set(params[part])
            if partition_key in params[part]:
                context["dynamodb:LeadingKeys"] = (_value(params[part][partition_key]),)
    if operation == "Query":
        # a query's partition key value sits in the key condition's values
        values = params.get("ExpressionAttributeValues") or {}
        context["dynamodb:LeadingKeys"] = tuple(_value(v) for v in values.values())[:1]
    names |= _bare_names(params.get("UpdateExpression")) | _bare_names(params.get("ConditionExpression"))
    if operation in ("PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem"):
        context["dynamodb:Attributes"] = tuple(sorted(names))
    return [Call(f"dynamodb:{operation}", table, context)]


@dataclass(frozen=True)
class Resources:
    """Physical names of the deployed resources that calls are judged against."""

    region: str
    account: str
    table_keys: dict[str, str] = field(default_factory=dict)  # table name -> partition key attribute
    bucket_keys: dict[str, str] = field(default_factory=dict)  # bucket name -> its SSE-KMS key ARN

    def table_arn(self, name: str) -> str:
        if name.startswith("arn:"):
            return name
        return f"arn:aws:dynamodb:{self.region}:{self.account}:table/{name}"

    def bus_arn(self, name: str | None) -> str:
        name = name or "default"
        if name.startswith("arn:"):
            return name
        return f"arn:aws:events:{self.region}:{self.account}:event-bus/{name}"


_S3_OBJECT_READ = {"GetObject", "HeadObject"}
_S3_OBJECT_WRITE = {"PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"}


def _s3_calls(operation: str, params: dict[str, Any], res: Resources) -> list[Call]:
    bucket = params.get("Bucket", "")
    bucket_arn = f"arn:aws:s3:::{bucket}"
    obj = f"{bucket_arn}/{params.get('Key', '')}"
    key_arn = res.bucket_keys.get(bucket)
    versioned = bool(params.get("VersionId"))
    if operation in _S3_OBJECT_READ:
        calls = [Call("s3:GetObjectVersion" if versioned else "s3:GetObject", obj)]
        if operation == "GetObject" and key_arn:
            calls.append(Call("kms:Decrypt", key_arn))
        return calls
    if operation in _S3_OBJECT_WRITE:
        calls = [Call("s3:PutObject", obj)]
        if key_arn and operation in ("PutObject", "CreateMultipartUpload"):
            calls.append(Call("kms:GenerateDataKey", key_arn))
        if key_arn and operation == "CompleteMultipartUpload":
            # S3 decrypts the parts to complete an SSE-KMS multipart upload.
            calls.append(Call("kms:Decrypt", key_arn))
        return calls
    if operation == "AbortMultipartUpload":
        return [Call("s3:AbortMultipartUpload", obj)]
    if operation == "DeleteObject":
        return [Call("s3:DeleteObjectVersion" if versioned else "s3:DeleteObject", obj)]
    if operation in ("ListObjectsV2", "ListObjects"):
        return [Call("s3:ListBucket", bucket_arn, {"s3:prefix": (str(params.get("Prefix", "")),)})]
    if operation == "ListObjectVersions":
        return [Call("s3:ListBucketVersions", bucket_arn, {"s3:prefix": (str(params.get("Prefix", "")),)})]
    if operation == "CopyObject":
        source = params.get("CopySource")
        if isinstance(source, dict):
            src = f"arn:aws:s3:::{source.get('Bucket')}/{source.get('Key')}"
            src_versioned = bool(source.get("VersionId"))
        else:
            text = str(source).lstrip("/").split("?versionId=")
            src, src_versioned = f"arn:aws:s3:::{text[0]}", len(text) > 1
        return [
            Call("s3:GetObjectVersion" if src_versioned else "s3:GetObject", src),
            *_s3_calls("PutObject", params, res),
        ]
    raise UnjudgedCall(f"s3:{operation}")


def api_calls(service: str, operation: str, params: dict[str, Any], res: Resources) -> list[Call]:
    """The IAM calls one API request needs (raises :class:`UnjudgedCall` for unknown operations)."""
    if service == "s3":
        return _s3_calls(operation, params, res)
    if service == "dynamodb":
        if operation == "TransactWriteItems":
            out: list[Call] = []
            for entry in params["TransactItems"]:
                ((_, sub),) = entry.items()
                table = sub["TableName"]
                out += dynamodb_calls(
                    operation,
                    {"TransactItems": [entry]},
                    res.table_arn(table),
                    partition_key=res.table_keys.get(table, ""),
                )
            return out
        if operation in ("BatchGetItem", "BatchWriteItem"):
            raise UnjudgedCall(f"dynamodb:{operation}")
        table = params.get("TableName", "")
        return dynamodb_calls(
            operation, params, res.table_arn(table), partition_key=res.table_keys.get(table, "")
        )
    if service == "events" and operation == "PutEvents":
        buses = {e.get("EventBusName") for e in params.get("Entries", [])} or {None}
        return [Call("events:PutEvents", res.bus_arn(b)) for b in sorted(buses, key=str)]
    if service in {"stepfunctions", "sfn"}:
        if operation in ("StartExecution", "StartSyncExecution"):
            return [Call(f"states:{operation}", params["stateMachineArn"])]
        if operation in ("DescribeExecution", "StopExecution", "GetExecutionHistory"):
            return [Call(f"states:{operation}", params["executionArn"])]
        if operation in ("SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"):
            return [Call(f"states:{operation}", "*")]
    if service == "sns" and operation == "Publish":
        return [Call("sns:Publish", params.get("TopicArn") or params.get("TargetArn", ""))]
    if service == "lambda" and operation == "Invoke":
        fn = str(params["FunctionName"])
        arn = fn if fn.startswith("arn:") else f"arn:aws:lambda:{res.region}:{res.account}:function:{fn}"
        return [Call("lambda:InvokeFunction", arn)]
    if service == "cloudwatch" and operation == "PutMetricData":
        namespace = (str(params.get("Namespace", "")),)
        return [Call("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": namespace})]
    if service == "sts" and operation == "GetCallerIdentity":
        return []  # needs no permission
    raise UnjudgedCall(f"{service}:{operation}")


# -- policy evaluation ------------------------------------------------------------------------


def _iam_match(pattern: str, value: str) -> bool:
    # IAM wildcards are * and ? only: a literal '[' in a key is not a character class.
    return fnmatchcase(value, pattern.replace("[", "[[]"))


def _op(operator: str, value: str, patterns: list[str]) -> bool:
    if operator == "StringEquals":
        return value in patterns
    if operator == "StringNotEquals":
        return value not in patterns
    if operator == "StringLike":
        return any(_iam_match(p, value) for p in patterns)
    if operator == "StringNotLike":
        return not any(_iam_match(p, value) for p in patterns)
    raise NotImplementedError(f"condition operator {operator!r} is not understood by the local IAM check")


def condition_holds(qualified: str, key: str, expected: Any, context: dict[str, tuple[str, ...]]) -> bool:
    """One condition block entry (``ForAllValues:StringLike`` / key / values) against ``context``."""
    qualifier, _, operator = qualified.rpartition(":")
    if operator not in _OPERATORS:
        raise NotImplementedError(f"condition operator {operator!r} is not understood by the local IAM check")
    patterns = [str(p) for p in (expected if isinstance(expected, list) else [expected])]
    values = context.get(key)
    if qualifier == "ForAllValues":
        return all(_op(operator, v, patterns) for v in values or ())
    if qualifier == "ForAnyValue":
        return any(_op(operator, v, patterns) for v in values or ())
    if qualifier:
        raise NotImplementedError(
            f"condition qualifier {qualifier!r} is not understood by the local IAM check"
        )
    if values is None:
        return operator.startswith("StringNot")
    if len(values) != 1:
        raise NotImplementedError(f"single-valued operator {operator} on multivalued key {key}")
    return _op(operator, values[0], patterns)


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statement_applies(
    statement: dict[str, Any], call: Call, *, resource_matches: Callable[[Any, str], bool] | None = None
) -> bool:
    """True when ``statement``'s actions, resources and conditions all cover ``call``."""
    if "NotAction" in statement or "NotResource" in statement:
        raise NotImplementedError("NotAction/NotResource are not understood by the local IAM check")
    if not any(fnmatchcase(call.action.lower(), str(a).lower()) for a in _listed(statement["Action"])):
        return False
    match = resource_matches or (lambda r, c: r == "*" or (isinstance(r, str) and _iam_match(r, c)))
    if not any(match(r, call.resource) for r in _listed(statement["Resource"])):
        return False
    for qualified, keys in (statement.get("Condition") or {}).items():
        for key, expected in keys.items():
            if not condition_holds(qualified, key, expected, call.context):
                return False
    return True


def is_allowed(
    statements: list[dict[str, Any]],
    call: Call,
    *,
    resource_matches: Callable[[Any, str], bool] | None = None,
) -> bool:
    """IAM's decision for ``call`` under ``statements`` (the identity policies of one role)."""
    allowed = False
    for statement in statements:
        if statement_applies(statement, call, resource_matches=resource_matches):
            if statement["Effect"] == "Deny":
                return False
            allowed = True
    return allowed


# -- recording --------------------------------------------------------------------------------

_CURRENT = threading.local()


@contextmanager
def attributed_to(function_logical_id: str) -> Iterator[None]:
    """Attribute the AWS calls this thread makes inside the block to ``function_logical_id``."""
    previous = getattr(_CURRENT, "function", None)
    _CURRENT.function = function_logical_id
    try:
        yield
    finally:
        _CURRENT.function = previous


@dataclass(frozen=True)
class Finding:
    """A call AWS would deny (or that could not be judged), with how often it was made."""

    function: str
    operation: str  # service:Operation of the request
    action: str  # the IAM action it needs ("" when unjudged)
    resource: str
    verdict: str  # "denied" | "unjudged"
    count: int

    def __str__(self) -> str:
        what = f"{self.action} on {self.resource}" if self.action else "an operation the check does not know"
        return f"{self.function}: {self.operation} needs {what} -> {self.verdict} ({self.count}x)"


class CallRecorder:
    """Records every attributed AWS call in this process while installed (one at a time)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[tuple[str, str, str, tuple[Call, ...] | None]] = Counter()
        self._resources: Resources | None = None
        self._undo: list[Callable[[], None]] = []

    def install(self, resources: Resources) -> None:
        import botocore.client

        from scorewatch.io import storage
        from scorewatch.io.storage import uri as storage_uri

        self._resources = resources
        original = botocore.client.BaseClient._make_api_call
        recorder = self

        def _make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            function = getattr(_CURRENT, "function", None)
            if function is not None:
                recorder.record(function, client.meta.service_model.service_name, operation_name, api_params)
            return original(client, operation_name, api_params)

        botocore.client.BaseClient._make_api_call = _make_api_call  # type: ignore[method-assign]
        self._undo.append(lambda: setattr(botocore.client.BaseClient, "_make_api_call", original))

        # pyarrow's S3 filesystem is a C++ client: every use of it in scorewatch reads the one
        # object whose URI it was obtained for (scorewatch.io.storage.uri.filesystem callers).
        fs_original = storage_uri.filesystem

        def filesystem(uri: str) -> Any:
            function = getattr(_CURRENT, "function", None)
            if function is not None and uri.startswith("s3://"):
                bucket, _, key = uri[len("s3://") :].partition("/")
                recorder.record(function, "s3", "GetObject", {"Bucket": bucket, "Key": key})
            return fs_original(uri)

        for module in (storage_uri, storage):
            if getattr(module, "filesystem", None) is fs_original:
                module.filesystem = filesystem  # type: ignore[attr-defined]
                self._undo.append(lambda m=module: setattr(m, "filesystem", fs_original))

    def uninstall(self) -> None:
        while self._undo:
            self._undo.pop()()

    def record(self, function: str, service: str, operation: str, params: dict[str, Any]) -> None:
        assert self._resources is not None
        try:
            calls: tuple[Call, ...] | None = tuple(api_calls(service, operation, params, self._resources))
        except UnjudgedCall:
            calls = None
        except (KeyError, TypeError, ValueError):
            calls = None
        with self._lock:
            self.calls[(function, service, operation, calls)] += 1

    def findings(self, statements_of: Callable[[str], list[dict[str, Any]]]) -> list[Finding]:
        """The recorded calls AWS would deny (or that are unjudged), merged and counted."""
        with self._lock:
            recorded = list(self.calls.items())
        out: Counter[tuple[str, str, str, str, str]] = Counter()
        for (function, service, operation, calls), count in recorded:
            op = f"{service}:{operation}"
            if calls is None:
                out[(function, op, "", "", "unjudged")] += count
                continue
            statements = statements_of(function)
            for call in calls:
                if not is_allowed(statements, call):
                    out[(function, op, call.action, call.resource, "denied")] += count
        return [Finding(*k, count=n) for k, n in sorted(out.items())]

    def calls_made(self) -> int:
        with self._lock:
            return sum(self.calls.values())


# -- the template's roles ---------------------------------------------------------------------


def role_statements(
    resources: dict[str, dict[str, Any]], resolve: Callable[[Any], Any]
) -> dict[str, list[dict[str, Any]]]:
    """Role logical id -> every resolved statement of its identity policies."""
    out: dict[str, list[dict[str, Any]]] = {}
    for lid, res in resources.items():
        props = res.get("Properties", {})
        if res.get("Type") == "AWS::IAM::Role":
            out.setdefault(lid, [])
            for policy in props.get("Policies") or []:
                out[lid] += _listed(resolve(policy["PolicyDocument"]).get("Statement", []))
    for res in resources.values():
        if res.get("Type") not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            continue
        props = res.get("Properties", {})
        roles = [r["Ref"] for r in props.get("Roles") or [] if isinstance(r, dict) and "Ref" in r]
        if not roles:
            continue
        statements = _listed(resolve(props["PolicyDocument"]).get("Statement", []))
        for role in roles:
            out.setdefault(role, []).extend(statements)
    return out


def function_roles(resources: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Function logical id -> the logical id of its execution role."""
    out = {}
    for lid, res in resources.items():
        if res.get("Type") != "AWS::Lambda::Function":
            continue
        role = res.get("Properties", {}).get("Role")
        if isinstance(role, dict) and "Fn::GetAtt" in role:
            out[lid] = role["Fn::GetAtt"][0]
    return out

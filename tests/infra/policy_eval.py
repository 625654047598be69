"""Evaluate a recorded AWS call against a role's synthesized IAM statements (tests only).

moto's IAM enforcement ignores Condition blocks, and the registry's least privilege lives in
them (``dynamodb:LeadingKeys``, ``dynamodb:Attributes``), so this small evaluator implements the
IAM rules the template uses: explicit Deny wins, then any matching Allow, else implicit deny;
actions and resources match with ``*``/``?`` wildcards; the string condition operators with the
``ForAllValues:``/``ForAnyValue:`` set qualifiers. An operator it does not know raises, so a
policy it cannot judge fails the test instead of passing it.

Resources are CloudFormation references: a call names the logical id of the resource it targets
(e.g. the registry table), and a statement matches it through ``Fn::GetAtt [id, Arn]`` (the table
itself, not ``.../index/*``) or ``*``. An S3 object is named ``<bucket logical id.Arn>/<key>``
(``s3_object``) and matches a statement's object ARN pattern, flattened like cdk-nag does.

DynamoDB condition keys are derived from the request as AWS documents them: ``LeadingKeys`` is
the partition key value; ``Attributes`` the top-level attribute names the request touches (item
or key attributes, names in expressions, bare names in update and condition expressions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from scorewatch.core.contract import Table
from scorewatch_infra.nag import flatten_cfn_reference

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
    """One API call as IAM sees it: action, target resource (logical id) and condition context."""

    action: str
    resource: str
    context: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _bare_names(expression: str | None) -> set[str]:
    if not expression:
        return set()
    return {m for m in _NAME.findall(expression) if m.lower() not in _WORDS}


def _pk(key_or_item: dict[str, Any]) -> str:
    value = key_or_item[Table.REGISTRY_PK]
    return value["S"] if isinstance(value, dict) else value


def dynamodb_calls(operation: str, params: dict[str, Any], table: str) -> list[Call]:
    """The IAM calls of one DynamoDB request (a transaction is one call per item)."""
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
            out += dynamodb_calls(op, sub, table)
        return out
    names = set((params.get("ExpressionAttributeNames") or {}).values())
    context: dict[str, tuple[str, ...]] = {}
    if "Item" in params:
        names |= set(params["Item"])
        context["dynamodb:LeadingKeys"] = (_pk(params["Item"]),)
    if "Key" in params:
        names |= set(params["Key"])
        context["dynamodb:LeadingKeys"] = (_pk(params["Key"]),)
    if operation in ("Query",):
        # a query's partition key value sits in the key condition's values
        values = params.get("ExpressionAttributeValues") or {}
        context["dynamodb:LeadingKeys"] = tuple(v["S"] for v in values.values() if "S" in v)[:1]
    names |= _bare_names(params.get("UpdateExpression")) | _bare_names(params.get("ConditionExpression"))
    if operation in ("PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem"):
        context["dynamodb:Attributes"] = tuple(sorted(names))
    return [Call(f"dynamodb:{operation}", table, context)]


def s3_object(bucket_logical_id: str, key: str) -> str:
    """The resource of an object-level S3 call (``<data.Arn>/incoming/x.csv``)."""
    return f"<{bucket_logical_id}.Arn>/{key}"


def _object_pattern(resource: Any) -> str:
    flat = flatten_cfn_reference(resource)
    # arn:<partition>:s3:::<bucket name> is the bucket's Arn attribute written out
    return re.sub(r"^arn:<AWS::Partition>:s3:::<([A-Za-z0-9]+)>", r"<\1.Arn>", flat)


def _matches_resource(resource: Any, logical_id: str) -> bool:
    if resource == "*":
        return True
    if resource == {"Fn::GetAtt": [logical_id, "Arn"]}:
        return True
    return "/" in logical_id and fnmatchcase(logical_id, _object_pattern(resource))


def _op(operator: str, value: str, patterns: list[str]) -> bool:
    if operator == "StringEquals":
        return value in patterns
    if operator == "StringNotEquals":
        return value not in patterns
    if operator == "StringLike":
        return any(fnmatchcase(value, p) for p in patterns)
    if operator == "StringNotLike":
        return not any(fnmatchcase(value, p) for p in patterns)
    raise NotImplementedError(f"condition operator {operator!r} is not understood by policy_eval")


def _condition_holds(qualified: str, key: str, expected: Any, context: dict[str, tuple[str, ...]]) -> bool:
    qualifier, _, operator = qualified.rpartition(":")
    if operator not in _OPERATORS:
        raise NotImplementedError(f"condition operator {operator!r} is not understood by policy_eval")
    patterns = [str(p) for p in (expected if isinstance(expected, list) else [expected])]
    values = context.get(key)
    if qualifier == "ForAllValues":
        return all(_op(operator, v, patterns) for v in values or ())
    if qualifier == "ForAnyValue":
        return any(_op(operator, v, patterns) for v in values or ())
    if qualifier:
        raise NotImplementedError(f"condition qualifier {qualifier!r} is not understood by policy_eval")
    if values is None:
        return operator.startswith("StringNot")
    if len(values) != 1:
        raise NotImplementedError(f"single-valued operator {operator} on multivalued key {key}")
    return _op(operator, values[0], patterns)


def _applies(statement: dict[str, Any], call: Call) -> bool:
    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    if not any(fnmatchcase(call.action.lower(), a.lower()) for a in actions):
        return False
    resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    if not any(_matches_resource(r, call.resource) for r in resources):
        return False
    for qualified, keys in (statement.get("Condition") or {}).items():
        for key, expected in keys.items():
            if not _condition_holds(qualified, key, expected, call.context):
                return False
    return True


def is_allowed(statements: list[dict[str, Any]], call: Call) -> bool:
    """IAM's decision for ``call`` under ``statements`` (identity policies of one role)."""
    allowed = False
    for statement in statements:
        if "NotAction" in statement or "NotResource" in statement:
            raise NotImplementedError("NotAction/NotResource are not understood by policy_eval")
        if _applies(statement, call):
            if statement["Effect"] == "Deny":
                return False
            allowed = True
    return allowed

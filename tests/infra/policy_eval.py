"""Evaluate a call against a role's synthesized (unresolved) IAM statements (tests only).

The IAM rules themselves (conditions, wildcards, explicit deny) are the local cloud's
(scorewatch_infra.local.iam), which judges every call functions make while they run locally
against the *deployed* template. Here the same rules judge calls against the synthesized
template before anything is deployed: a call names the logical id of the resource it targets
(e.g. the registry table), and a statement matches it through ``Fn::GetAtt [id, Arn]`` (the table
itself, not ``.../index/*``) or ``*``. An S3 object is named ``<bucket logical id.Arn>/<key>``
(``s3_object``) and matches a statement's object ARN pattern, flattened like cdk-nag does.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import Any

from scorewatch.core.contract import Table
from scorewatch_infra.local import iam
from scorewatch_infra.local.iam import Call
from scorewatch_infra.nag import flatten_cfn_reference

__all__ = ["Call", "dynamodb_calls", "is_allowed", "s3_object"]


def dynamodb_calls(operation: str, params: dict[str, Any], table: str) -> list[Call]:
    """The IAM calls of one request on the registry table (a transaction is one call per item)."""
    return iam.dynamodb_calls(operation, params, table, partition_key=Table.REGISTRY_PK)


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


def is_allowed(statements: list[dict[str, Any]], call: Call) -> bool:
    """IAM's decision for ``call`` under ``statements`` (identity policies of one role)."""
    return iam.is_allowed(statements, call, resource_matches=_matches_resource)

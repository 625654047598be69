"""Explicit IAM actions in place of the action families CDK's ``grant_*`` methods emit.

``bucket.grant_read`` grants ``s3:GetObject*``, ``s3:GetBucket*`` and ``s3:List*``; key grants
give ``kms:GenerateDataKey*`` and ``kms:ReEncrypt*``. Those families cover far more than
scorewatch calls (object ACLs, tags, legal holds, bucket policies...). After every grant exists,
each policy's wildcard actions are replaced by the explicit actions the runtime and the workflows
use; a wildcard action with no mapping here fails synthesis, so none can slip in unexplained.
"""

from __future__ import annotations

import jsii
from aws_cdk import IAspect, Stack
from aws_cdk import aws_iam as iam
from constructs import IConstruct

# What scorewatch actually calls under each family (boto3 + pyarrow S3 + Step Functions ItemReader /
# ResultWriter + SSE-KMS on S3 and DynamoDB).
EXPLICIT_ACTIONS: dict[str, tuple[str, ...]] = {
    # GetObject/HeadObject and reads pinned to a version id (registry artifacts, replays).
    "s3:GetObject*": ("s3:GetObject", "s3:GetObjectVersion"),
    "s3:GetBucket*": ("s3:GetBucketLocation",),
    # ListObjectsV2 (prefix listings, ItemReader); parts of the Map ResultWriter's multipart uploads.
    "s3:List*": ("s3:ListBucket", "s3:ListMultipartUploadParts"),
    # Writers abort a failed multipart upload so no partial object or orphaned part remains.
    "s3:Abort*": ("s3:AbortMultipartUpload",),
    "s3:DeleteObject*": ("s3:DeleteObject",),
    "kms:GenerateDataKey*": ("kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext"),
    "kms:ReEncrypt*": ("kms:ReEncryptFrom", "kms:ReEncryptTo"),
}


class UnexplainedWildcardError(ValueError):
    """A policy grants a wildcard action that has no explicit mapping."""


def _explicit(actions: list[str], where: str) -> list[str]:
    out: list[str] = []
    for action in actions:
        if action in EXPLICIT_ACTIONS:
            expanded: tuple[str, ...] = EXPLICIT_ACTIONS[action]
        elif "*" in action:
            raise UnexplainedWildcardError(
                f"{where}: wildcard action {action!r} has no explicit mapping in scorewatch_infra.actions"
            )
        else:
            expanded = (action,)
        out += [a for a in expanded if a not in out]
    return out


def rewrite_policy(policy: iam.CfnPolicy) -> int:
    """Replace the wildcard actions of one policy; return how many were replaced."""
    stack = Stack.of(policy)
    document = stack.resolve(policy.policy_document)
    replaced = 0
    for statement in document.get("Statement", []):
        raw = statement.get("Action")
        actions = raw if isinstance(raw, list) else [raw]
        wild = [a for a in actions if isinstance(a, str) and "*" in a]
        if wild:
            replaced += len(wild)
            explicit = _explicit(actions, policy.node.path)
            statement["Action"] = explicit[0] if len(explicit) == 1 else explicit
    if replaced:
        policy.policy_document = document
    return replaced


@jsii.implements(IAspect)
class ExplicitActions:
    """Aspect: every identity policy gets explicit actions when the app is synthesized.

    Aspects run after all construction code, so grants made anywhere (constructs, the app) are
    included; an unmapped wildcard family fails synthesis with UnexplainedWildcardError.
    """

    def __init__(self) -> None:
        self.replaced = 0

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, iam.CfnPolicy):
            self.replaced += rewrite_policy(node)

"""Least-privilege grants shared by the capability constructs.

Every permission comes from a ``grant_*`` method, except the registry writes below: DynamoDB has
no grant that limits which attributes a role may write, so those statements are written out,
with explicit actions (never ``*``) on the registry table only.
"""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from scorewatch.core.contract import Table

# The champion pointer item's attributes (scorewatch.io.registry): only the promote step writes them.
CHAMPION_ATTRIBUTES = ("champion", "history", "rev")
# Lock, cooldown and pending-approval control items (Registry.acquire_lock / release_lock /
# claim_cooldown / put_approval_request / clear_approval_request).
CONTROL_ATTRIBUTES = (
    Table.REGISTRY_PK,
    Table.REGISTRY_SK,
    "owner",
    "acquired_at",
    "expires_at",
    "claimed_at",
    "until",
    "candidate",
    "execution_id",
    "task_token",
    "requested_at",
)


def grant_data_writes(grantee: iam.IGrantable, bucket: s3.IBucket, *prefixes: str) -> None:
    """Read the bucket; write (never delete) only under ``prefixes``."""
    bucket.grant_read(grantee)
    for prefix in prefixes:
        bucket.grant_put(grantee, f"{prefix}*")


def grant_registry_control(grantee: iam.IGrantable, table: dynamodb.ITable, key: kms.IKey) -> None:
    """Read the registry; write only lock/cooldown attributes (no card, status or champion)."""
    table.grant_read_data(grantee)
    key.grant_encrypt_decrypt(grantee)
    iam.Grant.add_to_principal(
        grantee=grantee,
        actions=["dynamodb:PutItem", "dynamodb:DeleteItem"],
        resource_arns=[table.table_arn],
        conditions={"ForAllValues:StringEquals": {"dynamodb:Attributes": list(CONTROL_ATTRIBUTES)}},
    )


def grant_registry_versions(grantee: iam.IGrantable, table: dynamodb.ITable, key: kms.IKey) -> None:
    """Read the registry; write versions, cards and locks but never the champion pointer's fields."""
    table.grant_read_data(grantee)
    key.grant_encrypt_decrypt(grantee)
    iam.Grant.add_to_principal(
        grantee=grantee,
        actions=["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
        resource_arns=[table.table_arn],
        conditions={"ForAllValues:StringNotEquals": {"dynamodb:Attributes": list(CHAMPION_ATTRIBUTES)}},
    )

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

# The champion pointer item's attributes (scorewatch.io.registry.champion): only promote writes them.
CHAMPION_ATTRIBUTES = ("champion", "history", "rev", "pins")
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
# What Registry.reject / archive write on a version item (status and its history, never the card).
STATUS_ATTRIBUTES = (
    Table.REGISTRY_PK,
    Table.REGISTRY_SK,
    "status",
    "archived_at",
    "comparison",
    "status_history",
)
# The version counter's update (Registry._allocate_version).
COUNTER_ATTRIBUTES = (Table.REGISTRY_PK, Table.REGISTRY_SK, "next_version", "updated_at")
# Partition keys of the control items and of the champion pointer (contract.Table prefixes).
CONTROL_KEYS = f"{Table.CONTROL_PREFIX}*"
POINTER_KEYS = f"{Table.POINTER_PREFIX}*"
# Stored model configurations (history and the current partition): written only by the CLI host.
CONFIG_KEYS = f"{Table.CONFIG_PREFIX}*"
# Model partitions: versions and the counter, never control items, the pointer or configurations.
_MODEL_PARTITIONS = {
    "ForAllValues:StringNotLike": {"dynamodb:LeadingKeys": [CONTROL_KEYS, POINTER_KEYS, CONFIG_KEYS]}
}


def grant_data_writes(grantee: iam.IGrantable, bucket: s3.IBucket, *prefixes: str) -> None:
    """Read the bucket; write (never delete) only under ``prefixes``."""
    bucket.grant_read(grantee)
    for prefix in prefixes:
        bucket.grant_put(grantee, f"{prefix}*")


def grant_data_deletes(grantee: iam.IGrantable, bucket: s3.IBucket, *prefixes: str) -> None:
    """Delete objects only under ``prefixes`` (a function's own outputs, never ``incoming/``)."""
    iam.Grant.add_to_principal(
        grantee=grantee,
        actions=["s3:DeleteObject"],
        resource_arns=[bucket.arn_for_objects(f"{prefix}*") for prefix in prefixes],
    )


def _write(grantee: iam.IGrantable, table: dynamodb.ITable, actions: list[str], conditions: dict) -> None:
    iam.Grant.add_to_principal(
        grantee=grantee, actions=actions, resource_arns=[table.table_arn], conditions=conditions
    )


def grant_config_read(grantee: iam.IGrantable, table: dynamodb.ITable, key: kms.IKey) -> None:
    """Read only the current model configurations (partition ``config#@current``: GetItem, Query).

    For functions that need a model's configuration but nothing else of the registry
    (scorewatch.io.fleet_config.FleetConfig reads that one partition).
    """
    key.grant_decrypt(grantee)
    iam.Grant.add_to_principal(
        grantee=grantee,
        actions=["dynamodb:GetItem", "dynamodb:Query"],
        resource_arns=[table.table_arn],
        conditions={"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [Table.CONFIG_CURRENT]}},
    )


def grant_registry_control(grantee: iam.IGrantable, table: dynamodb.ITable, key: kms.IKey) -> None:
    """Read the registry; write only control items: partition ``control#*``, control attributes.

    The partition condition is what keeps a lock-shaped item off ``#champion`` and the versions:
    the attribute list has to include the key attributes, so on its own it allows any key.
    """
    table.grant_read_data(grantee)
    key.grant_encrypt_decrypt(grantee)
    _write(
        grantee,
        table,
        ["dynamodb:PutItem", "dynamodb:DeleteItem"],
        {
            "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [CONTROL_KEYS]},
            "ForAllValues:StringEquals": {"dynamodb:Attributes": list(CONTROL_ATTRIBUTES)},
        },
    )


def grant_registry_versions(grantee: iam.IGrantable, table: dynamodb.ITable, key: kms.IKey) -> None:
    """Read the registry; register versions (counter, reservation, card) in model partitions only.

    IAM cannot make PutItem insert-only, so this role could still rewrite a version item; the
    code writes cards only over their own reservation, and the champion's content is pinned by
    its pointer, which this role cannot reach (partition ``champion#*``).
    """
    table.grant_read_data(grantee)
    key.grant_encrypt_decrypt(grantee)
    _write(
        grantee,
        table,
        ["dynamodb:PutItem", "dynamodb:DeleteItem"],
        {
            **_MODEL_PARTITIONS,
            "ForAllValues:StringNotEquals": {"dynamodb:Attributes": list(CHAMPION_ATTRIBUTES)},
        },
    )
    _write(
        grantee,
        table,
        ["dynamodb:UpdateItem"],
        {
            **_MODEL_PARTITIONS,
            "ForAllValues:StringEquals": {"dynamodb:Attributes": list(COUNTER_ATTRIBUTES)},
        },
    )


def grant_registry_status(grantee: iam.IGrantable, table: dynamodb.ITable, key: kms.IKey) -> None:
    """Read the registry; update only a version's status fields (never its card, sha256 or artifact)."""
    table.grant_read_data(grantee)
    key.grant_encrypt_decrypt(grantee)
    _write(
        grantee,
        table,
        ["dynamodb:UpdateItem"],
        {
            **_MODEL_PARTITIONS,
            "ForAllValues:StringEquals": {"dynamodb:Attributes": list(STATUS_ATTRIBUTES)},
        },
    )

"""Registry: the model registry table and the idempotency table."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from scorewatch.core.contract import Table


class RegistryTables(Construct):
    """DynamoDB tables (keys from contract.Table): on-demand, PITR, KMS-encrypted."""

    def __init__(self, scope: Construct, construct_id: str, *, prefix: str, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.registry = dynamodb.Table(
            self,
            "registry",
            table_name=f"{prefix}-registry",
            partition_key=dynamodb.Attribute(name=Table.REGISTRY_PK, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=Table.REGISTRY_SK, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # Powertools idempotency records: short-lived, expired by DynamoDB TTL.
        self.idempotency = dynamodb.Table(
            self,
            "idempotency",
            table_name=f"{prefix}-idempotency",
            partition_key=dynamodb.Attribute(name=Table.IDEMPOTENCY_PK, type=dynamodb.AttributeType.STRING),
            time_to_live_attribute=Table.IDEMPOTENCY_TTL,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            removal_policy=RemovalPolicy.DESTROY,
        )

"""Storage: the data and models buckets, their KMS key and the server access logs bucket."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Validations
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from scorewatch.core.contract import Prefix


class DataStorage(Construct):
    """KMS-encrypted, TLS-only, versioned data and models buckets with access logging."""

    def __init__(self, scope: Construct, construct_id: str, *, prefix: str) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "key",
            alias=f"alias/{prefix}-data",
            description="Encrypts scorewatch's data and models buckets",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # S3 server access logs can only be delivered to an SSE-S3 bucket (not SSE-KMS).
        self.access_logs = s3.Bucket(
            self,
            "access-logs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=Duration.days(365),
                    noncurrent_version_expiration=Duration.days(30),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        Validations.of(self.access_logs).acknowledge(
            Acknowledgment(
                id="AwsSolutions-S1",
                reason="This is the server access logs bucket; logging it into itself would loop.",
            )
        )
        self.data = s3.Bucket(
            self,
            "data",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            # On: a second upload to the same key gets a new version id, so its batch_id differs.
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="data/",
            lifecycle_rules=_data_lifecycle(),
            removal_policy=RemovalPolicy.RETAIN,
        )
        # S3 -> EventBridge as a plain bucket property (no Custom::S3BucketNotifications resource).
        cfn_data: s3.CfnBucket = self.data.node.default_child  # type: ignore[assignment]
        cfn_data.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(
                event_bridge_enabled=True
            )
        )
        self.models = s3.Bucket(
            self,
            "models",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="models/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-old-artifact-versions",
                    noncurrent_version_expiration=Duration.days(365),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )


def _data_lifecycle() -> list[s3.LifecycleRule]:
    def rule(rule_id: str, key_prefix: str | None, days: int | None) -> s3.LifecycleRule:
        return s3.LifecycleRule(
            id=rule_id,
            prefix=key_prefix,
            expiration=Duration.days(days) if days else None,
            noncurrent_version_expiration=Duration.days(30),
            abort_incomplete_multipart_upload_after=Duration.days(7),
        )

    return [
        rule("all-noncurrent-versions", None, None),
        rule("incoming", Prefix.INCOMING, 90),
        rule("rejected", Prefix.REJECTED, 90),
        rule("parts", Prefix.PARTS, 14),
        rule("training", Prefix.TRAINING, 180),
        rule("backfill-results", Prefix.BACKFILL, 30),
    ]

"""The registry's AWS clients, error mapping and item/object primitives shared by its parts."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from scorewatch.core.errors import ConfigError, ModelError, ModelNotFoundError, TransientError
from scorewatch.io.registry.marshalling import key, marshal, unmarshal
from scorewatch.io.transient import is_transient

# One logger for the whole registry, named as before the split so log configuration still applies.
logger = logging.getLogger("scorewatch.io.registry")

_VERSION = re.compile(r"^\d{1,12}$")


def format_version(version: str | int) -> str:
    """Zero-padded version string: ``3`` / ``"3"`` / ``"000003"`` -> ``"000003"``.

    Raises
    ------
    ModelNotFoundError
        If ``version`` is not a positive integer.
    """
    text = str(version).strip()
    if not _VERSION.match(text) or int(text) < 1:
        raise ModelNotFoundError(f"invalid model version {version!r}: expected a number such as 000003")
    return f"{int(text):06d}"


def is_conditional_failure(exc: Exception) -> bool:
    """True when ``exc`` is a failed condition (a lost race), not an error."""
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):
        return False
    code = exc.response.get("Error", {}).get("Code")
    if code == "ConditionalCheckFailedException":
        return True
    if code == "TransactionCanceledException":
        reasons = exc.response.get("CancellationReasons") or []
        text = str(exc)
        return any(r.get("Code") == "ConditionalCheckFailed" for r in reasons) or (
            "ConditionalCheckFailed" in text
        )
    return False


@contextmanager
def aws_errors(what: str, *, table_name: str, models_bucket: str | None = None) -> Iterator[None]:
    """AWS errors inside the block as scorewatch errors: transient ones retried by the caller,
    a missing table or bucket a configuration error, anything else a ModelError naming ``what``."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if is_transient(exc):
            raise TransientError(f"transient failure {what}: {code}: {exc}") from exc
        if code == "ResourceNotFoundException":
            raise ConfigError(f"{what}: registry table {table_name!r} does not exist") from exc
        if code == "NoSuchBucket" and models_bucket:
            raise ConfigError(f"{what}: models bucket {models_bucket!r} does not exist") from exc
        raise ModelError(f"{what}: {code}: {exc}") from exc
    except BotoCoreError as exc:
        if is_transient(exc):
            raise TransientError(f"transient failure {what}: {exc}") from exc
        raise ModelError(f"{what}: {exc}") from exc


class RegistryBase:
    """Clients for one table and models bucket, with AWS errors mapped to scorewatch errors."""

    def __init__(
        self,
        *,
        table_name: str,
        models_bucket: str,
        allow_unsafe_pickle: bool = False,
        allow_version_mismatch: bool = False,
    ):
        import boto3
        from botocore.config import Config

        if not table_name or not models_bucket:
            raise ConfigError("the registry needs a table name and a models bucket")
        self.table_name = table_name
        self.models_bucket = models_bucket
        self.allow_unsafe_pickle = allow_unsafe_pickle
        self.allow_version_mismatch = allow_version_mismatch
        cfg = Config(
            retries={"mode": "standard", "max_attempts": 4},
            max_pool_connections=32,
            connect_timeout=5,
            read_timeout=60,
        )
        # Created once per Registry; handlers keep one Registry per container.
        self._ddb = boto3.client("dynamodb", config=cfg)
        self._s3 = boto3.client("s3", config=cfg)

    @contextmanager
    def _aws(self, what: str) -> Iterator[None]:
        with aws_errors(what, table_name=self.table_name, models_bucket=self.models_bucket):
            yield

    # ------------------------------------------------------------------ DynamoDB

    def _get_item(self, model_name: str, sort: str) -> dict[str, Any] | None:
        """The unmarshalled item ``model_name``/``sort`` (consistent read), or None."""
        with self._aws(f"reading {model_name}/{sort} from {self.table_name}"):
            resp = self._ddb.get_item(
                TableName=self.table_name, Key=key(model_name, sort), ConsistentRead=True
            )
        item = resp.get("Item")
        return unmarshal(item) if item is not None else None

    def _conditional_put(
        self,
        item: Mapping[str, Any],
        condition: str,
        values: Mapping[str, Any],
        names: dict[str, str],
        *,
        what: str,
    ) -> bool:
        """Put the plain ``item`` if ``condition`` holds; False (nothing written) otherwise."""
        from botocore.exceptions import ClientError

        # DynamoDB refuses an empty ExpressionAttributeValues: leave it out when there are none.
        extra = {"ExpressionAttributeValues": marshal(values)} if values else {}
        with self._aws(what):
            try:
                self._ddb.put_item(
                    TableName=self.table_name,
                    Item=marshal(item),
                    ConditionExpression=condition,
                    ExpressionAttributeNames=names,
                    **extra,
                )
            except ClientError as exc:
                if is_conditional_failure(exc):
                    return False
                raise
        return True

    def _conditional_delete(
        self,
        model_name: str,
        sort: str,
        condition: str,
        values: Mapping[str, Any],
        names: dict[str, str] | None = None,
        *,
        what: str,
    ) -> bool:
        """Delete ``model_name``/``sort`` if ``condition`` holds; False (nothing changed) otherwise."""
        from botocore.exceptions import ClientError

        extra = {"ExpressionAttributeNames": names} if names else {}
        with self._aws(what):
            try:
                self._ddb.delete_item(
                    TableName=self.table_name,
                    Key=key(model_name, sort),
                    ConditionExpression=condition,
                    ExpressionAttributeValues=marshal(values),
                    **extra,
                )
            except ClientError as exc:
                if is_conditional_failure(exc):
                    return False
                raise
        return True

    def _transact(self, items: list[dict[str, Any]], *, what: str) -> bool:
        """Run a transaction; False when a condition failed (lost race), errors mapped otherwise."""
        from botocore.exceptions import ClientError

        with self._aws(what):
            try:
                self._ddb.transact_write_items(TransactItems=items)
            except ClientError as exc:
                if is_conditional_failure(exc):
                    return False
                raise
        return True

    # ------------------------------------------------------------------ S3

    def _put_object(self, key: str, data: bytes, content_type: str) -> str | None:
        """Upload; returns the S3 version id (None on an unversioned bucket)."""
        with self._aws(f"writing s3://{self.models_bucket}/{key}"):
            resp = self._s3.put_object(
                Bucket=self.models_bucket, Key=key, Body=data, ContentType=content_type
            )
        version_id = resp.get("VersionId")
        return version_id if version_id not in (None, "null") else None

    def _get_object(self, key: str, *, what: str, version_id: str | None = None) -> bytes:
        from botocore.exceptions import ClientError

        extra = {"VersionId": version_id} if version_id else {}
        with self._aws(f"reading s3://{self.models_bucket}/{key}"):
            try:
                body: bytes = self._s3.get_object(Bucket=self.models_bucket, Key=key, **extra)["Body"].read()
                return body
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                missing = {"NoSuchKey", "NoSuchVersion", "404", "NotFound"}
                if code in missing or (version_id and code == "InvalidArgument"):
                    pinned = f" (version {version_id})" if version_id else ""
                    raise ModelNotFoundError(
                        f"{what}: s3://{self.models_bucket}/{key}{pinned} does not exist"
                    ) from exc
                raise

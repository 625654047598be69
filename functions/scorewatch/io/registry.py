"""The model registry: versions and cards in DynamoDB, artifacts and baselines in the models bucket.

Table layout (partition ``model_name``, sort ``version``; see contract.Table):

- ``000001``, ``000002`` ... one item per version: the card as JSON plus its mutable fields
  (``status``, ``promoted_at``, ``promoted_by``, ``comparison``, ``previous_champion``,
  ``archived_at``) as attributes, which are the source of truth for those fields.
- ``#counter``: the version counter (atomic ``ADD``), also marks that the model exists.
- ``#champion``: the champion pointer (``champion``, ``history`` of earlier champions, ``rev``).
  Promotion and rollback move it with a conditional write on ``rev`` (the one point deciding a
  race: exactly one champion however many promotions race), then flip the new and previous
  champions' status items together in one TransactWriteItems. Readers derive "champion" from
  the pointer.
- ``#lock#<name>`` and ``#cooldown#<name>``: control items with an expiry, claimed with
  conditional writes.
- ``#approval``: the pending human approval of a retraining run (its Step Functions task token,
  candidate version and execution id); written by the workflow, read by ``models approve``.

Bucket layout: ``<model>/<version>/model.skops``, ``card.json`` (a readable mirror of the card),
``baseline/profile.json``, ``baseline/sample.parquet``.
"""

from __future__ import annotations

import io
import json
import logging
import random
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from scorewatch.core.cards import ArtifactRef, BaselineRef, Comparison, DataRef, ModelCard, Status, Task
from scorewatch.core.contract import Table
from scorewatch.core.errors import (
    ConfigError,
    ModelError,
    ModelNotFoundError,
    PromotionConflictError,
    TransientError,
    UnsafeModelFormatError,
)
from scorewatch.core.schema import FeatureSchema, check_model_name
from scorewatch.io import artifacts
from scorewatch.io.transient import is_transient

logger = logging.getLogger(__name__)

PK = Table.REGISTRY_PK
SK = Table.REGISTRY_SK
_COUNTER = "#counter"
_CHAMPION = "#champion"
_LOCK = "#lock#"
_COOLDOWN = "#cooldown#"
_APPROVAL = "#approval"
_VERSION = re.compile(r"^\d{1,12}$")
_HISTORY_MAX = 50
_PROMOTE_ATTEMPTS = 10
_ALLOCATE_ATTEMPTS = 20
_RESERVED = "registering"
_CACHE_MAX = 8
# Mutable card fields kept as item attributes (the card JSON holds the rest).
_MUTABLE = ("status", "promoted_at", "promoted_by", "comparison", "previous_champion", "archived_at")


@dataclass(frozen=True)
class LoadedModel:
    """A verified, deserialized estimator with the card it was loaded from."""

    card: ModelCard
    estimator: Any


@dataclass(frozen=True)
class ApprovalRequest:
    """A retraining run waiting for a human: the candidate and the task token that resumes it."""

    model_name: str
    version: str
    execution_id: str
    task_token: str
    requested_at: datetime
    expires_at: datetime


# Per-container cache of deserialized estimators keyed by (name, version, sha256): a warm Lambda
# does not re-download or re-parse the champion, and a changed artifact hash is a cache miss.
_LOADED: OrderedDict[tuple[str, str, str], Any] = OrderedDict()
_LOADED_LOCK = threading.Lock()


def clear_cache() -> None:
    """Forget cached estimators (tests, or to force a re-download)."""
    with _LOADED_LOCK:
        _LOADED.clear()


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


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _plain(value: Any) -> Any:
    """numpy scalars -> Python scalars (cards are JSON)."""
    return value.item() if hasattr(value, "item") else value


class Registry:
    """Model versions, champion pointer, locks and cooldowns for one table and models bucket.

    Parameters
    ----------
    table_name : str
        DynamoDB table keyed by contract.Table.REGISTRY_PK / REGISTRY_SK.
    models_bucket : str
        Versioned S3 bucket holding artifacts, cards and baselines.
    allow_unsafe_pickle : bool
        Load joblib/pickle artifacts (still hash-checked). Off by default.
    allow_version_mismatch : bool
        Load artifacts written under another scikit-learn minor version (logged loudly).

    Examples
    --------
    >>> reg = Registry(table_name="sw-registry", models_bucket="sw-models")  # doctest: +SKIP
    >>> card = reg.register("churn", pipe, task="binary", feature_schema=schema, now=now)  # doctest: +SKIP
    >>> reg.promote("churn", card.version, now=now, promoted_by="me")  # doctest: +SKIP
    >>> reg.load("churn").estimator.predict_proba(X)  # doctest: +SKIP
    """

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

    # ------------------------------------------------------------------ low level

    @contextmanager
    def _aws(self, what: str) -> Iterator[None]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if is_transient(exc):
                raise TransientError(f"transient failure {what}: {code}: {exc}") from exc
            if code == "ResourceNotFoundException":
                raise ConfigError(f"{what}: registry table {self.table_name!r} does not exist") from exc
            if code == "NoSuchBucket":
                raise ConfigError(f"{what}: models bucket {self.models_bucket!r} does not exist") from exc
            raise ModelError(f"{what}: {code}: {exc}") from exc
        except BotoCoreError as exc:
            if is_transient(exc):
                raise TransientError(f"transient failure {what}: {exc}") from exc
            raise ModelError(f"{what}: {exc}") from exc

    @staticmethod
    def _key(model_name: str, sort: str) -> dict[str, dict[str, str]]:
        return {PK: {"S": model_name}, SK: {"S": sort}}

    def _get_item(self, model_name: str, sort: str) -> dict[str, Any] | None:
        with self._aws(f"reading {model_name}/{sort} from {self.table_name}"):
            resp = self._ddb.get_item(
                TableName=self.table_name, Key=self._key(model_name, sort), ConsistentRead=True
            )
        return resp.get("Item")

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
                return self._s3.get_object(Bucket=self.models_bucket, Key=key, **extra)["Body"].read()
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                missing = {"NoSuchKey", "NoSuchVersion", "404", "NotFound"}
                if code in missing or (version_id and code == "InvalidArgument"):
                    pinned = f" (version {version_id})" if version_id else ""
                    raise ModelNotFoundError(
                        f"{what}: s3://{self.models_bucket}/{key}{pinned} does not exist"
                    ) from exc
                raise

    @staticmethod
    def _is_conditional_failure(exc: Exception) -> bool:
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

    # ------------------------------------------------------------------ cards

    @staticmethod
    def _card_from_item(item: dict[str, Any], champion: str | None) -> ModelCard:
        doc = json.loads(item["card"]["S"])
        for field in _MUTABLE:
            attr = item.get(field)
            if attr is None or "NULL" in attr:
                doc[field] = None if field != "status" else doc.get("status")
            elif field == "comparison":
                doc[field] = json.loads(attr["S"])
            else:
                doc[field] = attr["S"]
        # The pointer is authoritative for who is champion; item statuses are written in the same
        # transaction, so they agree on DynamoDB. Deriving it here keeps "exactly one champion"
        # true by construction even where a transaction is not isolated (moto's server).
        if champion == doc["version"]:
            doc["status"] = "champion"
        elif doc["status"] == "champion":
            doc["status"] = "archived"
        return ModelCard.model_validate(doc)

    @staticmethod
    def _pointer_champion(pointer: dict[str, Any] | None) -> str | None:
        if not pointer or "S" not in pointer.get("champion", {}):
            return None
        return pointer["champion"]["S"]

    def _item_from_card(self, card: ModelCard) -> dict[str, Any]:
        item: dict[str, Any] = {
            **self._key(card.model_name, card.version),
            "card": {"S": card.model_dump_json()},
            "sha256": {"S": card.artifact.sha256},
            "artifact_key": {"S": card.artifact.key},
            "created_at": {"S": card.created_at.isoformat()},
        }
        item.update(self._mutable_attrs(card))
        return item

    @staticmethod
    def _mutable_attrs(card: ModelCard) -> dict[str, Any]:
        values = {
            "status": card.status,
            "promoted_at": _iso(card.promoted_at),
            "promoted_by": card.promoted_by,
            "comparison": card.comparison.model_dump_json() if card.comparison else None,
            "previous_champion": card.previous_champion,
            "archived_at": _iso(card.archived_at),
        }
        return {k: ({"S": v} if v is not None else {"NULL": True}) for k, v in values.items()}

    def _mirror_card(self, card: ModelCard) -> None:
        """Rewrite card.json (the table is authoritative; the bucket copy is for people and tools)."""
        key = f"{card.model_name}/{card.version}/card.json"
        self._put_object(key, card.model_dump_json(indent=2).encode(), "application/json")

    # ------------------------------------------------------------------ register

    def _allocate_version(self, model_name: str, now: datetime) -> str:
        """Take the next version number and reserve its item before anything is uploaded.

        The counter is an atomic ADD; the reservation is a conditional put, so even if two callers
        ever saw the same number (moto's server does not serialize ADD), only one owns the version
        and no artifact can be overwritten by another registration.
        """
        from botocore.exceptions import ClientError

        for _ in range(_ALLOCATE_ATTEMPTS):
            with self._aws(f"allocating a version of {model_name}"):
                resp = self._ddb.update_item(
                    TableName=self.table_name,
                    Key=self._key(model_name, _COUNTER),
                    UpdateExpression="ADD next_version :one SET updated_at = :now",
                    ExpressionAttributeValues={":one": {"N": "1"}, ":now": {"S": now.isoformat()}},
                    ReturnValues="UPDATED_NEW",
                )
            version = format_version(resp["Attributes"]["next_version"]["N"])
            with self._aws(f"reserving {model_name}@{version}"):
                try:
                    self._ddb.put_item(
                        TableName=self.table_name,
                        Item={
                            **self._key(model_name, version),
                            "status": {"S": _RESERVED},
                            "created_at": {"S": now.isoformat()},
                        },
                        ConditionExpression="attribute_not_exists(#sk)",
                        ExpressionAttributeNames={"#sk": SK},
                    )
                except ClientError as exc:
                    if self._is_conditional_failure(exc):
                        continue
                    raise
            return version
        raise TransientError(
            f"could not allocate a version of {model_name} after {_ALLOCATE_ATTEMPTS} attempts"
        )

    def _drop_reservation(self, model_name: str, version: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._ddb.delete_item(
                TableName=self.table_name,
                Key=self._key(model_name, version),
                ConditionExpression="#st = :reserved",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues={":reserved": {"S": _RESERVED}},
            )
        except (ClientError, BotoCoreError):
            logger.warning("could not drop reservation", extra={"model": model_name, "version": version})

    def register(
        self,
        model_name: str,
        estimator: Any,
        *,
        task: Task,
        feature_schema: FeatureSchema,
        now: datetime,
        target: str | None = None,
        classes: tuple[Any, ...] | list[Any] | None = None,
        metrics: dict[str, float] | None = None,
        params: dict[str, Any] | None = None,
        training_data: DataRef | None = None,
        parent_version: str | None = None,
        baseline_profile: dict[str, Any] | None = None,
        baseline_sample: Any | None = None,
        calibration: dict[str, float] | None = None,
        decision_policy: Any | None = None,
        description: str | None = None,
        fmt: artifacts.ArtifactFormat = "skops",
    ) -> ModelCard:
        """Store a fitted estimator as a new candidate version.

        Parameters
        ----------
        model_name : str
            Checked with schema.check_model_name before any I/O.
        estimator : object
            Fitted scikit-learn estimator/Pipeline (only TRUSTED_TYPES; see artifacts).
        task, feature_schema, now, target, classes, metrics, params, training_data, parent_version,
        calibration, decision_policy, description
            Recorded on the card. ``classes`` defaults to ``estimator.classes_`` for classifiers.
        baseline_profile : dict, optional
            Written to ``baseline/profile.json`` (a Profile.to_dict()).
        baseline_sample : pyarrow.Table, optional
            Written to ``baseline/sample.parquet``.
        fmt : {"skops", "joblib"}

        Returns
        -------
        ModelCard
            Status ``candidate``, with a version no concurrent registration can also get.

        Raises
        ------
        InvalidModelNameError, ModelIntegrityError (untrusted types), TransientError
        """
        check_model_name(model_name)
        if fmt == "joblib" and not self.allow_unsafe_pickle:
            raise UnsafeModelFormatError(
                f"{model_name}: registering a joblib/pickle artifact needs allow_unsafe_pickle"
            )
        art = artifacts.dump_artifact(estimator, fmt=fmt)
        if classes is None and task != "regression" and hasattr(estimator, "classes_"):
            classes = tuple(_plain(c) for c in estimator.classes_)
        if hasattr(decision_policy, "model_dump"):
            decision_policy = decision_policy.model_dump(mode="json")

        version = self._allocate_version(model_name, now)
        try:
            prefix = f"{model_name}/{version}"
            artifact_key = f"{prefix}/model.{fmt}"
            artifact_version = self._put_object(artifact_key, art.data, "application/octet-stream")

            baseline = BaselineRef()
            if baseline_profile is not None:
                profile_key = f"{prefix}/baseline/profile.json"
                self._put_object(profile_key, json.dumps(baseline_profile).encode(), "application/json")
                baseline = baseline.model_copy(update={"profile_key": profile_key})
                rows = baseline_profile.get("rows") if isinstance(baseline_profile, dict) else None
                if isinstance(rows, int):
                    baseline = baseline.model_copy(update={"rows": rows})
            if baseline_sample is not None:
                import pyarrow.parquet as pq

                buf = io.BytesIO()
                pq.write_table(baseline_sample, buf)
                sample_key = f"{prefix}/baseline/sample.parquet"
                self._put_object(sample_key, buf.getvalue(), "application/vnd.apache.parquet")
                baseline = baseline.model_copy(update={"sample_key": sample_key})
                if baseline.rows is None:
                    baseline = baseline.model_copy(update={"rows": baseline_sample.num_rows})

            card = ModelCard(
                model_name=model_name,
                version=version,
                task=task,
                target=target,
                feature_schema=feature_schema,
                classes=tuple(_plain(c) for c in classes) if classes is not None else None,
                artifact=ArtifactRef(
                    key=artifact_key,
                    format=art.format,
                    sha256=art.sha256,
                    size_bytes=art.size_bytes,
                    trusted_types=art.trusted_types,
                    version_id=artifact_version,
                ),
                status="candidate",
                created_at=now,
                metrics={k: float(v) for k, v in (metrics or {}).items()},
                params=params or {},
                library_versions=art.library_versions,
                training_data=training_data or DataRef(),
                baseline=baseline,
                parent_version=format_version(parent_version) if parent_version else None,
                calibration=calibration,
                decision_policy=decision_policy,
                description=description,
            )
            self._mirror_card(card)
            with self._aws(f"recording {model_name}@{version}"):
                self._ddb.put_item(
                    TableName=self.table_name,
                    Item=self._item_from_card(card),
                    ConditionExpression="#st = :reserved",
                    ExpressionAttributeNames={"#st": "status"},
                    ExpressionAttributeValues={":reserved": {"S": _RESERVED}},
                )
        except BaseException:
            # Free the reserved number's item so the failed registration leaves no placeholder row
            # (uploaded objects under the prefix are orphans a retry never reuses).
            self._drop_reservation(model_name, version)
            raise
        logger.info(
            "registered model version",
            extra={"model": model_name, "version": version, "sha256": art.sha256, "format": fmt},
        )
        return card

    # ------------------------------------------------------------------ read

    def _champion_pointer(self, model_name: str) -> dict[str, Any] | None:
        return self._get_item(model_name, _CHAMPION)

    def champion_version(self, model_name: str) -> str | None:
        """The champion's version, or None when the model has none."""
        check_model_name(model_name)
        return self._pointer_champion(self._champion_pointer(model_name))

    def resolve(self, model_name: str, ref: str | int = "champion") -> str:
        """``"champion"`` or a version number -> a zero-padded version (existence not checked)."""
        check_model_name(model_name)
        if str(ref) == "champion":
            version = self.champion_version(model_name)
            if version is None:
                raise ModelNotFoundError(f"model {model_name!r} has no champion")
            return version
        return format_version(ref)

    def get(self, model_name: str, ref: str | int = "champion") -> ModelCard:
        """The card of ``model_name@ref`` (``ref`` = ``"champion"`` or a version).

        Raises
        ------
        ModelNotFoundError
            No such model, version or champion.
        """
        check_model_name(model_name)
        champion = self.champion_version(model_name)
        if str(ref) == "champion":
            if champion is None:
                raise ModelNotFoundError(f"model {model_name!r} has no champion")
            version = champion
        else:
            version = format_version(ref)
        item = self._get_item(model_name, version)
        if item is None or "card" not in item:
            raise ModelNotFoundError(f"model {model_name!r} has no version {version}")
        return self._card_from_item(item, champion)

    def load(self, model_name: str, ref: str | int = "champion") -> LoadedModel:
        """Fetch, verify (sha256 before parsing) and deserialize ``model_name@ref``.

        Cached per container by (name, version, sha256).

        Raises
        ------
        ModelNotFoundError
            No such version, or its artifact is missing from the bucket.
        ModelIntegrityError, IncompatibleModelError, UnsafeModelFormatError
            See artifacts.load_artifact.
        """
        card = self.get(model_name, ref)
        what = f"{card.model_name}@{card.version}"
        # Policy checks come before the cache: an estimator cached by a registry that allows
        # pickle or version mismatches must not reach one that does not.
        if card.artifact.format == "joblib" and not self.allow_unsafe_pickle:
            raise UnsafeModelFormatError(
                f"{what}: joblib/pickle artifacts can execute code when loaded; refused "
                "(enable allow_unsafe_pickle only for artifacts you produced yourself)"
            )
        artifacts.check_library_versions(
            card.library_versions, what=what, allow_version_mismatch=self.allow_version_mismatch
        )
        cache_key = (card.model_name, card.version, card.artifact.sha256)
        with _LOADED_LOCK:
            if cache_key in _LOADED:
                _LOADED.move_to_end(cache_key)
                return LoadedModel(card=card, estimator=_LOADED[cache_key])
        # The pinned version: overwriting the key later cannot change what this version loads.
        data = self._get_object(card.artifact.key, what=what, version_id=card.artifact.version_id)
        estimator = artifacts.load_artifact(
            data,
            fmt=card.artifact.format,
            expected_sha256=card.artifact.sha256,
            what=what,
            library_versions_recorded=None,  # checked above
            allow_unsafe_pickle=self.allow_unsafe_pickle,
            allow_version_mismatch=self.allow_version_mismatch,
        )
        with _LOADED_LOCK:
            _LOADED[cache_key] = estimator
            while len(_LOADED) > _CACHE_MAX:
                _LOADED.popitem(last=False)
        logger.info("loaded model", extra={"model": model_name, "version": card.version})
        return LoadedModel(card=card, estimator=estimator)

    def list_models(self) -> list[str]:
        """Names of every registered model, sorted."""
        names: list[str] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "FilterExpression": "#sk = :counter",
            "ProjectionExpression": "#pk",
            "ExpressionAttributeNames": {"#sk": SK, "#pk": PK},
            "ExpressionAttributeValues": {":counter": {"S": _COUNTER}},
        }
        while True:
            with self._aws(f"listing models in {self.table_name}"):
                resp = self._ddb.scan(**kwargs)
            names.extend(item[PK]["S"] for item in resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                return sorted(names)
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def list_versions(self, model_name: str) -> list[ModelCard]:
        """Every version's card, oldest first."""
        check_model_name(model_name)
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "#pk = :m",
            "ExpressionAttributeNames": {"#pk": PK},
            "ExpressionAttributeValues": {":m": {"S": model_name}},
            "ConsistentRead": True,
        }
        while True:
            with self._aws(f"listing versions of {model_name}"):
                resp = self._ddb.query(**kwargs)
            items.extend(resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        pointer = next((i for i in items if i[SK]["S"] == _CHAMPION), None)
        champion = self._pointer_champion(pointer)
        # Items without a card are reservations of registrations in progress (or that failed).
        cards = [self._card_from_item(i, champion) for i in items if "card" in i]
        return sorted(cards, key=lambda c: c.version)

    def read_baseline_profile(self, card: ModelCard) -> dict[str, Any]:
        """The baseline profile recorded at registration (a Profile.to_dict()).

        Raises
        ------
        ModelNotFoundError
            The version has no baseline profile, or its object is missing.
        """
        what = f"{card.model_name}@{card.version}"
        if not card.baseline.profile_key:
            raise ModelNotFoundError(f"{what} has no baseline profile")
        data = self._get_object(card.baseline.profile_key, what=f"baseline profile of {what}")
        try:
            return json.loads(data)
        except ValueError as exc:
            raise ModelError(f"baseline profile of {what} is not valid JSON: {exc}") from exc

    def read_baseline_sample(self, card: ModelCard) -> Any | None:
        """The baseline sample as a pyarrow Table, or None when none was recorded."""
        if not card.baseline.sample_key:
            return None
        import pyarrow as pa
        import pyarrow.parquet as pq

        what = f"{card.model_name}@{card.version}"
        data = self._get_object(card.baseline.sample_key, what=f"baseline sample of {what}")
        try:
            return pq.read_table(pa.BufferReader(data))
        except (pa.ArrowInvalid, OSError) as exc:
            raise ModelError(f"baseline sample of {what} is not valid Parquet: {exc}") from exc

    # ------------------------------------------------------------------ status changes

    def _transact(self, items: list[dict[str, Any]], *, what: str) -> bool:
        """Run a transaction; False when a condition failed (lost race), errors mapped otherwise."""
        from botocore.exceptions import ClientError

        with self._aws(what):
            try:
                self._ddb.transact_write_items(TransactItems=items)
            except ClientError as exc:
                if self._is_conditional_failure(exc):
                    return False
                raise
        return True

    def _status_update(
        self,
        model_name: str,
        version: str,
        sets: dict[str, str | None],
        condition: str | None = None,
        values: dict | None = None,
    ) -> dict[str, Any]:
        names = {"#sk": SK}
        exprs = []
        attr_values = dict(values or {})
        for i, (field, value) in enumerate(sets.items()):
            names[f"#f{i}"] = field
            attr_values[f":f{i}"] = {"S": value} if value is not None else {"NULL": True}
            exprs.append(f"#f{i} = :f{i}")
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": self._key(model_name, version),
                "UpdateExpression": "SET " + ", ".join(exprs),
                "ConditionExpression": f"attribute_exists(#sk) AND ({condition})"
                if condition
                else "attribute_exists(#sk)",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": attr_values,
            }
        }

    def _pointer_write(
        self,
        model_name: str,
        pointer: dict[str, Any] | None,
        champion: str,
        history: list[str],
        now: datetime,
    ) -> dict[str, Any]:
        rev = int(pointer["rev"]["N"]) if pointer and "rev" in pointer else 0
        item = {
            **self._key(model_name, _CHAMPION),
            "champion": {"S": champion},
            "history": {"L": [{"S": v} for v in history[-_HISTORY_MAX:]]},
            "rev": {"N": str(rev + 1)},
            "updated_at": {"S": now.isoformat()},
        }
        if pointer is None:
            cond: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(#sk)"}
        else:
            cond = {
                "ConditionExpression": "#rev = :rev",
                "ExpressionAttributeValues": {":rev": {"N": str(rev)}},
            }
        names = {"#sk": SK} if pointer is None else {"#rev": "rev"}
        return {
            "Put": {"TableName": self.table_name, "Item": item, "ExpressionAttributeNames": names, **cond}
        }

    def _move_champion(
        self,
        model_name: str,
        pointer: dict[str, Any] | None,
        *,
        new: str,
        history: list[str],
        old: str | None,
        sets: dict[str, str | None],
        now: datetime,
    ) -> bool:
        """Point the champion at ``new`` (False if the pointer changed since it was read).

        The conditional write of the pointer (on its ``rev``) is the single point that decides a
        race: there is exactly one champion whatever happens next. The version items' statuses
        (new champion, archived predecessor) then change together in one TransactWriteItems.
        Readers derive "champion" from the pointer, so a crash between the two steps, or an
        emulator whose failed transactions are not isolated (moto restores a table snapshot),
        never shows two champions.
        """
        from botocore.exceptions import ClientError

        put = self._pointer_write(model_name, pointer, new, history, now)["Put"]
        with self._aws(f"moving the champion of {model_name} to {new}"):
            try:
                self._ddb.put_item(**put)
            except ClientError as exc:
                if self._is_conditional_failure(exc):
                    return False
                raise
        items = [self._status_update(model_name, new, sets)]
        if old:
            items.append(
                self._status_update(model_name, old, {"status": "archived", "archived_at": now.isoformat()})
            )
        if not self._transact(items, what=f"recording {model_name} champion {new}"):
            logger.warning("champion status items not updated", extra={"model": model_name, "version": new})
        return True

    @staticmethod
    def _history(pointer: dict[str, Any] | None) -> list[str]:
        if not pointer or "history" not in pointer:
            return []
        return [v["S"] for v in pointer["history"]["L"]]

    def promote(
        self,
        model_name: str,
        version: str | int,
        *,
        now: datetime,
        promoted_by: str,
        comparison: Comparison | None = None,
        expected_champion: Any = ...,
    ) -> ModelCard:
        """Make ``version`` the champion (conditional pointer write); the previous champion is archived.

        Parameters
        ----------
        expected_champion : str, None or ... (default)
            ``...``: whatever the champion is (a lost race is retried against the new state).
            ``None``: only if the model has no champion. A version: only if it is still champion.

        Returns
        -------
        ModelCard
            The new champion's card (``previous_champion`` names the version it replaced).

        Raises
        ------
        PromotionConflictError
            The champion is not ``expected_champion`` (or changed during the write).
        ModelNotFoundError
            No such version.
        """
        check_model_name(model_name)
        version = format_version(version)
        if expected_champion not in (..., None):
            expected_champion = format_version(expected_champion)
        attempts = _PROMOTE_ATTEMPTS if expected_champion is ... else 1
        for attempt in range(attempts):
            if attempt:
                # Jittered backoff so racing promoters do not collide again in lockstep.
                time.sleep(random.uniform(0, 0.02 * 2**attempt))
            card = self.get(model_name, version)
            pointer = self._champion_pointer(model_name)
            current = self._pointer_champion(pointer)
            if current == version:
                # Already champion: a replayed promote (at-least-once delivery) is a no-op, even
                # though the champion it expected has since been replaced by this very version.
                return card
            if expected_champion is not ... and expected_champion != current:
                raise PromotionConflictError(
                    f"cannot promote {model_name}@{version}: expected champion {expected_champion}, "
                    f"found {current}"
                )
            history = [*self._history(pointer), current] if current else self._history(pointer)
            sets = {
                "status": "champion",
                "promoted_at": now.isoformat(),
                "promoted_by": promoted_by,
                "previous_champion": current,
                "archived_at": None,
                **({"comparison": comparison.model_dump_json()} if comparison else {}),
            }
            if self._move_champion(
                model_name, pointer, new=version, history=history, old=current, sets=sets, now=now
            ):
                new = self.get(model_name, version)
                self._mirror_card(new)
                if current:
                    self._mirror_card(self.get(model_name, current))
                logger.info(
                    "promoted model",
                    extra={"model": model_name, "version": version, "previous": current, "by": promoted_by},
                )
                return new
        raise PromotionConflictError(
            f"cannot promote {model_name}@{version}: the champion changed during the write "
            f"({attempts} attempt(s)); retry"
        )

    def rollback(self, model_name: str, *, now: datetime, promoted_by: str) -> ModelCard:
        """Restore the previous champion in one step (the current one is archived).

        Raises
        ------
        ModelNotFoundError
            No champion or no earlier champion to restore.
        PromotionConflictError
            The champion changed while rolling back.
        """
        check_model_name(model_name)
        pointer = self._champion_pointer(model_name)
        current = self._pointer_champion(pointer)
        history = self._history(pointer)
        if current is None or not history:
            raise ModelNotFoundError(f"model {model_name!r} has no previous champion to roll back to")
        previous = history[-1]
        sets: dict[str, str | None] = {
            "status": "champion",
            "promoted_at": now.isoformat(),
            "promoted_by": promoted_by,
            "previous_champion": current,
            "archived_at": None,
        }
        if not self._move_champion(
            model_name, pointer, new=previous, history=history[:-1], old=current, sets=sets, now=now
        ):
            raise PromotionConflictError(f"cannot roll back {model_name}: the champion changed; retry")
        restored = self.get(model_name, previous)
        self._mirror_card(restored)
        self._mirror_card(self.get(model_name, current))
        logger.info(
            "rolled back model", extra={"model": model_name, "restored": previous, "retired": current}
        )
        return restored

    def _set_status(
        self, model_name: str, version: str | int, status: Status, sets: dict[str, str | None]
    ) -> ModelCard:
        """Record a non-champion status; the champion (per the pointer) is refused."""
        check_model_name(model_name)
        version = format_version(version)
        if self.get(model_name, version).status == "champion":
            raise PromotionConflictError(
                f"cannot mark {model_name}@{version} {status}: it is the champion "
                "(promote another version or roll back first)"
            )
        # Racing a promotion of this version is harmless: the pointer decides who is champion.
        update = self._status_update(model_name, version, {"status": status, **sets})["Update"]
        with self._aws(f"setting {model_name}@{version} to {status}"):
            self._ddb.update_item(**update)
        card = self.get(model_name, version)
        self._mirror_card(card)
        return card

    def reject(
        self, model_name: str, version: str | int, *, comparison: Comparison | None, now: datetime
    ) -> ModelCard:
        """Mark a candidate rejected by the gate (never the champion)."""
        sets: dict[str, str | None] = {"archived_at": now.isoformat()}
        if comparison is not None:
            sets["comparison"] = comparison.model_dump_json()
        return self._set_status(model_name, version, "rejected", sets)

    def archive(self, model_name: str, version: str | int, *, now: datetime) -> ModelCard:
        """Archive a version that is not the champion (promote or roll back first)."""
        return self._set_status(model_name, version, "archived", {"archived_at": now.isoformat()})

    def update_card(self, card: ModelCard) -> ModelCard:
        """Rewrite a card's recorded fields (metrics, calibration, policy, approvals...).

        Status changes go through promote/reject/archive/rollback: the stored status must equal
        ``card.status``, otherwise PromotionConflictError.
        """
        check_model_name(card.model_name)
        stored = self.get(card.model_name, card.version)
        if stored.status != card.status:
            raise PromotionConflictError(
                f"cannot update {card.model_name}@{card.version}: its status is {stored.status!r}, "
                f"not {card.status!r} (status changes go through promote/reject/archive/rollback)"
            )
        item = self._item_from_card(card)
        with self._aws(f"updating {card.model_name}@{card.version}"):
            from botocore.exceptions import ClientError

            try:
                self._ddb.put_item(
                    TableName=self.table_name,
                    Item=item,
                    ConditionExpression="attribute_exists(card) AND sha256 = :sha",
                    ExpressionAttributeValues={":sha": {"S": card.artifact.sha256}},
                )
            except ClientError as exc:
                if self._is_conditional_failure(exc):
                    raise PromotionConflictError(
                        f"cannot update {card.model_name}@{card.version}: its artifact sha256 differs "
                        "from the registered one"
                    ) from exc
                raise
        self._mirror_card(card)
        return card

    # ------------------------------------------------------------------ locks and cooldowns

    def acquire_lock(
        self, model_name: str, name: str, *, owner: str, now: datetime, ttl_seconds: int
    ) -> bool:
        """Take ``model_name``'s lock ``name`` for ``owner``; False if someone else holds it.

        The lock expires ``ttl_seconds`` after ``now`` so a crashed holder blocks nobody forever;
        the same owner may re-acquire (refresh) it.
        """
        check_model_name(model_name)
        check_model_name(name)
        expires = int(now.timestamp()) + int(ttl_seconds)
        return self._conditional_put(
            {
                **self._key(model_name, _LOCK + name),
                "owner": {"S": owner},
                "acquired_at": {"S": now.isoformat()},
                "expires_at": {"N": str(expires)},
            },
            "attribute_not_exists(#sk) OR expires_at <= :now OR #owner = :owner",
            {":now": {"N": str(int(now.timestamp()))}, ":owner": {"S": owner}},
            {"#sk": SK, "#owner": "owner"},
            what=f"locking {model_name}/{name}",
        )

    def release_lock(self, model_name: str, name: str, *, owner: str) -> bool:
        """Release the lock if ``owner`` holds it; False (nothing changed) otherwise."""
        from botocore.exceptions import ClientError

        check_model_name(model_name)
        check_model_name(name)
        with self._aws(f"unlocking {model_name}/{name}"):
            try:
                self._ddb.delete_item(
                    TableName=self.table_name,
                    Key=self._key(model_name, _LOCK + name),
                    ConditionExpression="#owner = :owner",
                    ExpressionAttributeNames={"#owner": "owner"},
                    ExpressionAttributeValues={":owner": {"S": owner}},
                )
            except ClientError as exc:
                if self._is_conditional_failure(exc):
                    return False
                raise
        return True

    def claim_cooldown(self, model_name: str, name: str, *, now: datetime, minutes: int) -> bool:
        """True at most once per ``minutes`` window (a conditional write decides among racers)."""
        check_model_name(model_name)
        check_model_name(name)
        until = int(now.timestamp()) + int(minutes) * 60
        return self._conditional_put(
            {
                **self._key(model_name, _COOLDOWN + name),
                "claimed_at": {"S": now.isoformat()},
                "until": {"N": str(until)},
            },
            "attribute_not_exists(#sk) OR #until <= :now",
            {":now": {"N": str(int(now.timestamp()))}},
            {"#sk": SK, "#until": "until"},
            what=f"claiming cooldown {model_name}/{name}",
        )

    # ------------------------------------------------------------------ pending approval

    def put_approval_request(
        self,
        model_name: str,
        *,
        version: str,
        execution_id: str,
        task_token: str,
        now: datetime,
        ttl_seconds: int,
    ) -> ApprovalRequest:
        """Record the pending approval of ``version`` (one per model: the retraining lock ensures it)."""
        check_model_name(model_name)
        request = ApprovalRequest(
            model_name=model_name,
            version=format_version(version),
            execution_id=execution_id,
            task_token=task_token,
            requested_at=now,
            expires_at=now + timedelta(seconds=int(ttl_seconds)),
        )
        with self._aws(f"recording the approval request of {model_name}"):
            self._ddb.put_item(
                TableName=self.table_name,
                Item={
                    **self._key(model_name, _APPROVAL),
                    "candidate": {"S": request.version},
                    "execution_id": {"S": execution_id},
                    "task_token": {"S": task_token},
                    "requested_at": {"S": now.isoformat()},
                    "expires_at": {"N": str(int(request.expires_at.timestamp()))},
                },
            )
        return request

    def get_approval_request(self, model_name: str) -> ApprovalRequest | None:
        """The pending approval of ``model_name``, or None."""
        check_model_name(model_name)
        item = self._get_item(model_name, _APPROVAL)
        if item is None:
            return None
        return ApprovalRequest(
            model_name=model_name,
            version=item["candidate"]["S"],
            execution_id=item["execution_id"]["S"],
            task_token=item["task_token"]["S"],
            requested_at=datetime.fromisoformat(item["requested_at"]["S"]),
            expires_at=datetime.fromtimestamp(int(item["expires_at"]["N"]), tz=UTC),
        )

    def clear_approval_request(self, model_name: str, *, execution_id: str) -> bool:
        """Delete the pending approval if ``execution_id`` made it; False (nothing changed) otherwise."""
        from botocore.exceptions import ClientError

        check_model_name(model_name)
        with self._aws(f"clearing the approval request of {model_name}"):
            try:
                self._ddb.delete_item(
                    TableName=self.table_name,
                    Key=self._key(model_name, _APPROVAL),
                    ConditionExpression="execution_id = :e",
                    ExpressionAttributeValues={":e": {"S": execution_id}},
                )
            except ClientError as exc:
                if self._is_conditional_failure(exc):
                    return False
                raise
        return True

    def _conditional_put(
        self, item: dict[str, Any], condition: str, values: dict, names: dict, *, what: str
    ) -> bool:
        from botocore.exceptions import ClientError

        with self._aws(what):
            try:
                self._ddb.put_item(
                    TableName=self.table_name,
                    Item=item,
                    ConditionExpression=condition,
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                )
            except ClientError as exc:
                if self._is_conditional_failure(exc):
                    return False
                raise
        return True

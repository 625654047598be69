"""Stored model configurations: a versioned, immutable history and one current item per model.

Each model's configuration (:class:`scorewatch.core.config.ModelConfig`) is a document in the
registry table, written by ``scorewatch models configure`` and read by every function at run time
through :class:`scorewatch.io.fleet_config.FleetConfig`:

- history: partition ``config#<model>`` (contract.Table.CONFIG_PREFIX), sort key the zero-padded
  config version (``000001``, ``000002``...); written once, never changed;
- current: partition ``config#@current`` (contract.Table.CONFIG_CURRENT), sort key the model name,
  carrying the version, the config JSON, its sha256, who stored it and when, and the status
  (``active`` | ``retired``). Every model's current item lives in that one partition, so all
  current configurations are one paginated Query.

A new version is written with one transaction: the history item must not exist and the current
item must still name the version the writer read, so two ``configure`` calls racing on one model
never lose an update (the loser re-reads and retries). A document identical to the current one
(same sha256 of the canonical JSON) writes nothing. Documents are validated by the same pydantic
model before anything is written, so a bad configuration never replaces a good one.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import ValidationError

from scorewatch.core.config import ModelConfig
from scorewatch.core.contract import Table
from scorewatch.core.errors import ConfigError
from scorewatch.core.schema import check_model_name
from scorewatch.io.registry.base import aws_errors, is_conditional_failure
from scorewatch.io.registry.marshalling import PK, SK, key, marshal, unmarshal

logger = logging.getLogger("scorewatch.io.registry")

Status = Literal["active", "retired"]
#: Attempts of a put that keeps losing the race to other writers before it gives up.
MAX_ATTEMPTS = 5


def config_partition(model_name: str) -> str:
    """Partition of ``model_name``'s config history (``config#<model>``)."""
    return Table.CONFIG_PREFIX + check_model_name(model_name)


def canonical_json(cfg: ModelConfig) -> str:
    """The configuration as canonical JSON: every field (defaults included), keys sorted, compact.

    An unset ``schema`` is left out, so configurations stored before the field existed keep
    their sha256 (re-configuring them is ``unchanged``, not a new version).
    """
    doc = cfg.model_dump(mode="json")
    if doc.get("schema") is None:
        doc.pop("schema", None)
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def config_sha256(cfg: ModelConfig) -> str:
    """sha256 of :func:`canonical_json`: equal for equal configurations however they were written."""
    return hashlib.sha256(canonical_json(cfg).encode("utf-8")).hexdigest()


def describe_validation(exc: ValidationError, source: str) -> str:
    """``invalid model config <source>: drift.cooldown_minutes: Input should be ...`` (every field)."""
    parts = [f"{'.'.join(str(p) for p in err['loc']) or '<document>'}: {err['msg']}" for err in exc.errors()]
    return f"invalid model config {source}: " + "; ".join(parts)


def parse_model_config(data: dict[str, Any] | str, *, source: str = "<inline>") -> ModelConfig:
    """Validate one model's configuration document (dict or JSON text).

    Raises
    ------
    ConfigError
        Naming every offending field by its dotted path (``drift.cooldown_minutes``).
    """
    try:
        if isinstance(data, str):
            return ModelConfig.model_validate_json(data)
        return ModelConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation(exc, source)) from exc


@dataclass(frozen=True)
class StoredConfig:
    """One stored version of a model's configuration (the current one, or one of its history)."""

    name: str
    version: int
    config: ModelConfig
    sha256: str
    stored_at: datetime
    stored_by: str
    status: Status = "active"

    def summary(self) -> dict[str, Any]:
        """JSON-able description without the document (for listings)."""
        return {
            "model": self.name,
            "version": self.version,
            "sha256": self.sha256,
            "stored_at": self.stored_at.isoformat(),
            "stored_by": self.stored_by,
            "status": self.status,
        }


def _stored(item: dict[str, Any], *, status: Status | None = None) -> StoredConfig:
    name = item["config_model"]
    return StoredConfig(
        name=name,
        version=int(item["config_version"]),
        config=parse_model_config(item["config"], source=f"stored for {name}"),
        sha256=item["sha256"],
        stored_at=datetime.fromisoformat(item["stored_at"]),
        stored_by=item["stored_by"],
        status=status or item.get("status", "active"),
    )


class ConfigStore:
    """The registry table's configuration items (see the module docstring).

    Parameters
    ----------
    table_name : str
        The registry table (keyed by contract.Table.REGISTRY_PK / REGISTRY_SK).
    client : optional
        A DynamoDB client to reuse (default: one created here, once).

    Examples
    --------
    >>> store = ConfigStore("sw-registry")  # doctest: +SKIP
    >>> store.put(ModelConfig(name="churn", id_columns=("id",)), actor="me").version  # doctest: +SKIP
    1
    >>> store.current("churn").config.id_columns  # doctest: +SKIP
    ('id',)
    """

    def __init__(self, table_name: str, *, client: Any = None, now: Any = None):
        if not table_name:
            raise ConfigError("the config store needs the registry table's name")
        self.table_name = table_name
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client(
                "dynamodb",
                config=Config(
                    retries={"mode": "standard", "max_attempts": 4}, connect_timeout=5, read_timeout=30
                ),
            )
        self._ddb = client
        self._now = now or (lambda: datetime.now(UTC))

    @contextmanager
    def _aws(self, what: str) -> Iterator[None]:
        with aws_errors(what, table_name=self.table_name):
            yield

    # ------------------------------------------------------------------ reads

    def _current_item(self, name: str) -> dict[str, Any] | None:
        check_model_name(name)
        with self._aws(f"reading the config of {name}"):
            resp = self._ddb.get_item(
                TableName=self.table_name, Key=key(Table.CONFIG_CURRENT, name), ConsistentRead=True
            )
        item = resp.get("Item")
        return unmarshal(item) if item is not None else None

    def current(self, name: str) -> StoredConfig | None:
        """The current configuration of ``name`` (active or retired), or None if never stored."""
        item = self._current_item(name)
        return _stored(item) if item is not None else None

    def history(self, name: str) -> list[StoredConfig]:
        """Every stored version of ``name``, oldest first (status: the model's current status)."""
        current = self._current_item(name)
        status: Status = current.get("status", "active") if current else "active"
        items = self._query(config_partition(name), what=f"listing the config history of {name}")
        return [_stored(i, status=status) for i in items]

    def all_current(self, *, include_retired: bool = False) -> list[StoredConfig]:
        """The current configuration of every model (one paginated Query), sorted by name."""
        items = self._query(Table.CONFIG_CURRENT, what="listing the current configs")
        out = [_stored(i) for i in items]
        return [s for s in out if include_retired or s.status == "active"]

    def _query(self, partition: str, *, what: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        with self._aws(what):
            while True:
                extra = {"ExclusiveStartKey": start} if start else {}
                resp = self._ddb.query(
                    TableName=self.table_name,
                    KeyConditionExpression="#pk = :pk",
                    ExpressionAttributeNames={"#pk": PK},
                    ExpressionAttributeValues=marshal({":pk": partition}),
                    ConsistentRead=True,
                    **extra,
                )
                out.extend(unmarshal(i) for i in resp.get("Items", []))
                start = resp.get("LastEvaluatedKey")
                if not start:
                    return out

    # ------------------------------------------------------------------ writes

    def put(self, cfg: ModelConfig, *, actor: str) -> StoredConfig:
        """Store ``cfg`` as the model's next version and make it current.

        A configuration identical to the current active one writes nothing and returns the
        current version; storing a retired model's configuration re-activates it as a new version.

        Raises
        ------
        ConfigError
            When ``cfg`` is not a valid ModelConfig (re-validated here, naming the field), or when
            other writers kept winning the race for ``MAX_ATTEMPTS`` attempts.
        """
        cfg = parse_model_config(cfg.model_dump(mode="json"), source=f"for {cfg.name}")
        text, digest = canonical_json(cfg), config_sha256(cfg)
        for _ in range(MAX_ATTEMPTS):
            current = self._current_item(cfg.name)
            if current and current["sha256"] == digest and current.get("status", "active") == "active":
                return _stored(current)
            version = int(current["config_version"]) + 1 if current else 1
            stored_at = self._now()
            item = {
                "config_model": cfg.name,
                "config_version": version,
                "config": text,
                "sha256": digest,
                "stored_at": stored_at.isoformat(),
                "stored_by": actor,
            }
            history = {PK: config_partition(cfg.name), SK: f"{version:06d}", **item}
            head = {PK: Table.CONFIG_CURRENT, SK: cfg.name, **item, "status": "active"}
            if self._write(history, head, previous=current, what=f"storing config {version} of {cfg.name}"):
                logger.info("stored model config %s version %d (%s)", cfg.name, version, digest[:12])
                return _stored(head)
        raise ConfigError(f"storing the config of {cfg.name}: {MAX_ATTEMPTS} attempts lost to other writers")

    def retire(self, name: str, *, actor: str) -> StoredConfig:
        """Mark ``name`` retired (history kept); retiring a retired model changes nothing.

        Raises
        ------
        ConfigError
            When ``name`` has no stored configuration.
        """
        for _ in range(MAX_ATTEMPTS):
            current = self._current_item(name)
            if current is None:
                raise ConfigError(f"model {name!r} has no stored configuration to retire")
            if current.get("status") == "retired":
                return _stored(current)
            head = {
                **current,
                "status": "retired",
                "retired_at": self._now().isoformat(),
                "retired_by": actor,
            }
            if self._write(None, head, previous=current, what=f"retiring {name}"):
                return _stored(head)
        raise ConfigError(f"retiring {name}: {MAX_ATTEMPTS} attempts lost to other writers")

    def _write(
        self,
        history: dict[str, Any] | None,
        head: dict[str, Any],
        *,
        previous: dict[str, Any] | None,
        what: str,
    ) -> bool:
        """Write ``head`` (and the new ``history`` item) if nobody changed the current item since
        ``previous`` was read; False when the race was lost."""
        from botocore.exceptions import ClientError

        names: dict[str, str]
        if previous is None:
            names, condition, values = {"#sk": SK}, "attribute_not_exists(#sk)", {}
        else:
            names = {"#v": "config_version", "#s": "status"}
            condition = "#v = :v AND #s = :s"
            values = {":v": int(previous["config_version"]), ":s": previous.get("status", "active")}
        put_head: dict[str, Any] = {
            "TableName": self.table_name,
            "Item": marshal(head),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
        }
        if values:
            put_head["ExpressionAttributeValues"] = marshal(values)
        items: list[dict[str, Any]] = [{"Put": put_head}]
        if history is not None:
            items.append(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": marshal(history),
                        "ConditionExpression": "attribute_not_exists(#sk)",
                        "ExpressionAttributeNames": {"#sk": SK},
                    }
                }
            )
        with self._aws(what):
            try:
                self._ddb.transact_write_items(TransactItems=items)
            except ClientError as exc:
                if is_conditional_failure(exc):
                    return False
                raise
        return True

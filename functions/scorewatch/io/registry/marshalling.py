"""DynamoDB attribute values and the registry's item shapes.

Conversion between plain Python values and DynamoDB's typed attribute values (``{"S": ...}``,
``{"N": ...}``, ``{"NULL": True}``, ``{"L": [...]}``) goes through boto3's ``TypeSerializer`` and
``TypeDeserializer``. Every registry item is built as a plain dict (strings, ints, None, lists of
strings) and marshalled at the call to DynamoDB; items read back are unmarshalled before use.

Numbers: the registry stores only integers (``rev``, ``next_version``, ``expires_at``, ``until``)
and reads them back with ``int()``; the deserializer returns them as ``decimal.Decimal``. No float
is ever written (metrics and other float fields live inside the card JSON), and the serializer
refuses floats (``TypeError``) rather than rounding them silently.

boto3 is imported on first use, so importing the registry stays cheap at cold start.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

from scorewatch.core.cards import ModelCard
from scorewatch.core.contract import Table

PK = Table.REGISTRY_PK
SK = Table.REGISTRY_SK
# Mutable card fields kept as item attributes (the card JSON holds the rest).
MUTABLE = (
    "status",
    "promoted_at",
    "promoted_by",
    "comparison",
    "previous_champion",
    "archived_at",
    "status_history",
)
# The champion pointer's sort key, in its own partition (``champion#<model>``).
CHAMPION = "#champion"


def control_partition(model_name: str) -> str:
    """Partition of ``model_name``'s locks, cooldowns and approvals (``control#<model>``)."""
    return Table.CONTROL_PREFIX + model_name


def pointer_partition(model_name: str) -> str:
    """Partition of ``model_name``'s champion pointer (``champion#<model>``)."""
    return Table.POINTER_PREFIX + model_name


@cache
def _serializer() -> Any:
    from boto3.dynamodb.types import TypeSerializer

    return TypeSerializer()


@cache
def _deserializer() -> Any:
    from boto3.dynamodb.types import TypeDeserializer

    return TypeDeserializer()


def to_attribute(value: Any) -> dict[str, Any]:
    """One plain value -> a DynamoDB attribute value (``"a"`` -> ``{"S": "a"}``, None -> NULL)."""
    attribute: dict[str, Any] = _serializer().serialize(value)
    return attribute


def marshal(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """A plain item (or ExpressionAttributeValues) -> DynamoDB attribute values."""
    ser = _serializer()
    return {name: ser.serialize(value) for name, value in values.items()}


def unmarshal(item: Mapping[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute values -> a plain dict (numbers come back as ``Decimal``)."""
    de = _deserializer()
    return {name: de.deserialize(value) for name, value in item.items()}


def key(model_name: str, sort: str) -> dict[str, dict[str, Any]]:
    """The marshalled primary key of ``model_name``'s item ``sort``."""
    return marshal({PK: model_name, SK: sort})


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# ------------------------------------------------------------------ version items (plain dicts)


def mutable_fields(card: ModelCard) -> dict[str, Any]:
    """The card's mutable fields as the version item holds them (None is stored as NULL)."""
    return {
        "status_history": [change.model_dump_json() for change in card.status_history],
        "status": card.status,
        "promoted_at": _iso(card.promoted_at),
        "promoted_by": card.promoted_by,
        "comparison": card.comparison.model_dump_json() if card.comparison else None,
        "previous_champion": card.previous_champion,
        "archived_at": _iso(card.archived_at),
    }


def card_item(card: ModelCard) -> dict[str, Any]:
    """The plain version item of ``card`` (key, card JSON, artifact hash and mutable fields)."""
    return {
        PK: card.model_name,
        SK: card.version,
        "card": card.model_dump_json(),
        "sha256": card.artifact.sha256,
        "artifact_key": card.artifact.key,
        "created_at": card.created_at.isoformat(),
        **mutable_fields(card),
    }


def card_from_item(item: Mapping[str, Any], champion: str | None) -> ModelCard:
    """The card of an unmarshalled version item; ``champion`` is the pointer's version."""
    doc = json.loads(item["card"])
    for field in MUTABLE:
        value = item.get(field)
        if field == "status_history":
            doc[field] = [json.loads(change) for change in value or ()]
        elif value is None:
            doc[field] = None if field != "status" else doc.get("status")
        elif field == "comparison":
            doc[field] = json.loads(value)
        else:
            doc[field] = value
    # The pointer is authoritative for who is champion; item statuses are written in the same
    # transaction, so they agree on DynamoDB. Deriving it here keeps "exactly one champion"
    # true by construction even where a transaction is not isolated (moto's server).
    if champion == doc["version"]:
        doc["status"] = "champion"
    elif doc["status"] == "champion":
        doc["status"] = "archived"
    return ModelCard.model_validate(doc)


# ------------------------------------------------------------------ champion pointer (plain dicts)


def pointer_champion(pointer: Mapping[str, Any] | None) -> str | None:
    """The champion named by an unmarshalled ``#champion`` item, or None."""
    if not pointer:
        return None
    champion = pointer.get("champion")
    return champion if isinstance(champion, str) else None


def pointer_history(pointer: Mapping[str, Any] | None) -> list[str]:
    """Earlier champions recorded on an unmarshalled ``#champion`` item, oldest first."""
    if not pointer or "history" not in pointer:
        return []
    return list(pointer["history"])


def pointer_rev(pointer: Mapping[str, Any] | None) -> int:
    """The pointer's revision (0 when there is no pointer yet)."""
    return int(pointer["rev"]) if pointer and "rev" in pointer else 0

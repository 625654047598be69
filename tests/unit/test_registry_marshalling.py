"""Registry items through boto3's TypeSerializer/TypeDeserializer: the wire shapes the registry wrote
by hand before (``{"S": ...}``, ``{"N": "..."}``, ``{"NULL": True}``, ``{"L": [...]}``) and round trips
of every item shape it stores."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from scorewatch.core.cards import ArtifactRef, Comparison, ModelCard
from scorewatch.core.schema import FeatureSchema, FeatureSpec
from scorewatch.io.registry import marshalling as m

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _card(**update) -> ModelCard:
    card = ModelCard(
        model_name="churn",
        version="000003",
        task="binary",
        feature_schema=FeatureSchema(features=(FeatureSpec(name="x", type="numeric"),)),
        classes=(0, 1),
        artifact=ArtifactRef(key="churn/000003/model.skops", sha256="a" * 64, size_bytes=10),
        created_at=NOW,
        metrics={"roc_auc": 0.8125, "brier": 0.1},
    )
    return card.model_copy(update=update)


def test_version_item_wire_shape_matches_the_hand_written_one() -> None:
    card = _card()
    wire = m.marshal(m.card_item(card))
    assert wire == {
        "model_name": {"S": "churn"},
        "version": {"S": "000003"},
        "card": {"S": card.model_dump_json()},
        "sha256": {"S": "a" * 64},
        "artifact_key": {"S": "churn/000003/model.skops"},
        "created_at": {"S": NOW.isoformat()},
        "status": {"S": "candidate"},
        "promoted_at": {"NULL": True},
        "promoted_by": {"NULL": True},
        "comparison": {"NULL": True},
        "previous_champion": {"NULL": True},
        "archived_at": {"NULL": True},
        "status_history": {"L": []},
    }


@pytest.mark.parametrize("champion", [None, "000003", "000004"])
def test_version_item_round_trip(champion) -> None:
    comparison = Comparison(metric="roc_auc", challenger=0.81, champion=0.8, min_improvement=0.0, passed=True)
    card = _card(
        status="champion",
        promoted_at=NOW,
        promoted_by="alice",
        comparison=comparison,
        previous_champion="000002",
    )
    back = m.card_from_item(m.unmarshal(m.marshal(m.card_item(card))), champion)
    # The pointer decides who is champion; everything else (floats in the card JSON too) survives.
    expected = card if champion == "000003" else card.model_copy(update={"status": "archived"})
    assert back == expected
    assert back.metrics == {"roc_auc": 0.8125, "brier": 0.1}
    assert back.comparison == comparison


def test_candidate_item_round_trip_keeps_nulls() -> None:
    card = _card()
    assert m.card_from_item(m.unmarshal(m.marshal(m.card_item(card))), None) == card


def test_champion_pointer_round_trip() -> None:
    plain = {
        "model_name": "champion#churn",
        "version": "#champion",
        "champion": "000003",
        "history": ["000001", "000002"],
        "rev": 7,
        "updated_at": NOW.isoformat(),
    }
    wire = m.marshal(plain)
    assert wire["history"] == {"L": [{"S": "000001"}, {"S": "000002"}]}
    assert wire["rev"] == {"N": "7"}
    back = m.unmarshal(wire)
    assert back == plain
    assert isinstance(back["rev"], Decimal)  # numbers come back as Decimal; the registry int()s them
    assert m.pointer_champion(back) == "000003"
    assert m.pointer_history(back) == ["000001", "000002"]
    assert m.pointer_rev(back) == 7 and isinstance(m.pointer_rev(back), int)


def test_pointer_helpers_without_a_pointer() -> None:
    assert m.pointer_champion(None) is None
    assert m.pointer_champion(m.unmarshal({"champion": {"NULL": True}})) is None
    assert m.pointer_history(None) == [] and m.pointer_history({"champion": "000001"}) == []
    assert m.pointer_rev(None) == 0


@pytest.mark.parametrize(
    "plain",
    [
        # reservation
        {"model_name": "churn", "version": "000004", "status": "registering", "created_at": NOW.isoformat()},
        # lock
        {
            "model_name": "control#churn",
            "version": "lock#retraining",
            "owner": "exec-1",
            "acquired_at": NOW.isoformat(),
            "expires_at": 1_772_370_000,
        },
        # cooldown
        {
            "model_name": "control#churn",
            "version": "cooldown#drift",
            "claimed_at": NOW.isoformat(),
            "until": 1_772_370_000,
        },
        # pending approval
        {
            "model_name": "control#churn",
            "version": "approval",
            "candidate": "000004",
            "execution_id": "exec-1",
            "task_token": "tok",
            "requested_at": NOW.isoformat(),
            "expires_at": 1_772_370_000,
        },
        # counter update and condition values
        {":one": 1, ":now": NOW.isoformat(), ":owner": "exec-1", ":null": None},
    ],
)
def test_control_and_expression_values_round_trip(plain) -> None:
    wire = m.marshal(plain)
    for name, value in plain.items():
        if isinstance(value, int):
            assert wire[name] == {"N": str(value)}
        elif value is None:
            assert wire[name] == {"NULL": True}
        else:
            assert wire[name] == {"S": value}
    back = m.unmarshal(wire)
    assert back == plain
    assert {k: type(v) for k, v in back.items() if isinstance(v, Decimal)} == {
        k: Decimal for k, v in plain.items() if isinstance(v, int)
    }


def test_key_and_floats() -> None:
    assert m.key("churn", "000001") == {"model_name": {"S": "churn"}, "version": {"S": "000001"}}
    # Floats are never stored as attributes (they live in the card JSON); boto3 refuses them.
    with pytest.raises(TypeError):
        m.marshal({"x": 0.5})


def test_status_history_round_trips_through_the_item() -> None:
    from scorewatch.core.cards import StatusChange

    change = StatusChange(
        from_status="rejected", to_status="champion", at=NOW, by="me", reason="x", forced=True
    )
    card = _card(status_history=(change,))
    wire = m.marshal(m.card_item(card))
    assert wire["status_history"] == {"L": [{"S": change.model_dump_json()}]}
    assert m.card_from_item(m.unmarshal(wire), None).status_history == (change,)


def test_control_and_pointer_partitions_cannot_be_model_names() -> None:
    from scorewatch.core.errors import InvalidModelNameError
    from scorewatch.core.schema import check_model_name

    for partition in (m.control_partition("churn"), m.pointer_partition("churn")):
        with pytest.raises(InvalidModelNameError):
            check_model_name(partition)

"""The registry's writes judged against the synthesized roles: what each step does is allowed, the
attacks of issue 17 are denied.

Each step's registry calls are made for real against the emulator (the Registry methods the step
calls, with their real keys and expressions), recorded with a botocore hook, and evaluated
against that function's role in the template with tests/infra/policy_eval.py (moto's own IAM
enforcement ignores conditions). The denied table replays the attacks with the same request
shapes, aimed at the keys they must not reach.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from infra_helpers import Synthesized, statements_of_role
from policy_eval import Call, dynamodb_calls, is_allowed
from sklearn.linear_model import LogisticRegression

from scorewatch.core.cards import Comparison
from scorewatch.core.contract import HANDLERS
from scorewatch.core.schema import FeatureSchema, FeatureSpec
from scorewatch.io.registry import Registry, clear_cache
from scorewatch.io.registry.marshalling import card_item, control_partition, marshal, pointer_partition

pytestmark = pytest.mark.xdist_group("infra")

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SCHEMA = FeatureSchema(features=(FeatureSpec(name="x", type="numeric"),))
CONTROL_ROLES = (
    "monitor",
    "labels",
    "retrain_assemble",
    "retrain_notify_failure",
    "retrain_request_approval",
)
VERSION_ROLES = ("retrain_train", "retrain_evaluate", "retrain_reject")


def _model() -> LogisticRegression:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 1))
    return LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))


def _statements(synth: Synthesized, fid: str) -> list[dict[str, Any]]:
    role = synth.stack.factory.functions[fid].function.role
    return statements_of_role(synth, synth.logical_id(role))


def _table(synth: Synthesized) -> str:
    return synth.logical_id(synth.stack.tables.registry)


@contextmanager
def recorded(reg: Any, table: str) -> Iterator[list[Call]]:
    """Every DynamoDB call ``reg`` (a Registry or a ConfigStore) makes inside the block, as IAM calls."""
    calls: list[Call] = []

    def hook(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.extend(dynamodb_calls(model.name, params, table))

    reg._ddb.meta.events.register("before-parameter-build.dynamodb", hook)
    try:
        yield calls
    finally:
        reg._ddb.meta.events.unregister("before-parameter-build.dynamodb", hook)


@pytest.fixture
def reg(resources) -> Registry:
    clear_cache()
    registry = Registry(table_name=resources.registry_table, models_bucket=resources.models_bucket)
    first = registry.register("churn", _model(), task="binary", feature_schema=SCHEMA, now=NOW)
    registry.promote("churn", first.version, now=NOW, promoted_by="setup")
    return registry


# What each function does to the registry (the calls of lifecycle/retraining.py, window.py, labels).
def _monitor(reg: Registry) -> None:
    from scorewatch.monitoring.window import PERFORMANCE_COOLDOWN

    reg.get("churn", "champion")
    reg.claim_cooldown("churn", "drift", now=NOW, minutes=60)
    reg.claim_cooldown("churn", PERFORMANCE_COOLDOWN, now=NOW, minutes=60)  # estimated performance
    reg.release_cooldown("churn", "drift", now=NOW)  # a failed Drift Detected publish


def _labels(reg: Registry) -> None:
    from scorewatch.handlers.labels import PERFORMANCE_COOLDOWN

    reg.get("churn", "champion")
    reg.claim_cooldown("churn", PERFORMANCE_COOLDOWN, now=NOW, minutes=60)
    reg.release_cooldown("churn", PERFORMANCE_COOLDOWN, now=NOW)  # a failed publish


def _assemble(reg: Registry) -> None:
    reg.list_versions("churn")
    reg.acquire_lock("churn", "retraining", owner="exec-1", now=NOW, ttl_seconds=600)


def _train(reg: Registry) -> None:
    reg.register(
        "churn",
        _model(),
        task="binary",
        feature_schema=SCHEMA,
        now=NOW,
        parent_version="1",
        calibrator={"method": "isotonic", "x": [0.0], "y": [0.0]},
        estimation={"method": "cbpe", "check": {}},
    )


def _evaluate(reg: Registry) -> None:
    reg.load("churn", "champion")


def _request_approval(reg: Registry) -> None:
    reg.put_approval_request(
        "churn", version="2", execution_id="exec-1", task_token="tok", now=NOW, ttl_seconds=600
    )


def _notify_failure(reg: Registry) -> None:
    reg.release_lock("churn", "retraining", owner="exec-1")
    reg.clear_approval_request("churn", execution_id="exec-1")


STEPS: dict[str, Callable[[Registry], None]] = {
    "monitor": _monitor,
    "labels": _labels,
    "retrain_assemble": _assemble,
    "retrain_train": _train,
    "retrain_evaluate": _evaluate,
    "retrain_request_approval": _request_approval,
    "retrain_notify_failure": _notify_failure,
}


@pytest.mark.parametrize("fid", sorted(STEPS))
def test_every_registry_call_a_function_makes_is_allowed_by_its_role(synth, reg, fid):
    table = _table(synth)
    with recorded(reg, table) as calls:
        STEPS[fid](reg)
    assert calls, fid
    denied = [c for c in calls if not is_allowed(_statements(synth, fid), c)]
    assert denied == [], (fid, denied)


def test_the_reject_step_calls_are_allowed_by_its_role(synth, reg):
    table = _table(synth)
    version = reg.register("churn", _model(), task="binary", feature_schema=SCHEMA, now=NOW).version
    reg.acquire_lock("churn", "retraining", owner="exec-1", now=NOW, ttl_seconds=600)
    comparison = Comparison(metric="roc_auc", challenger=0.5, champion=0.9, min_improvement=0.0, passed=False)
    with recorded(reg, table) as calls:
        reg.reject("churn", version, comparison=comparison, now=NOW, by="exec-1")
        reg.clear_approval_request("churn", execution_id="exec-1")
        assert reg.release_lock("churn", "retraining", owner="exec-1")
    writes = [c for c in calls if c.action != "dynamodb:GetItem" and c.action != "dynamodb:Query"]
    assert {c.action for c in writes} == {"dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    assert [c for c in calls if not is_allowed(_statements(synth, "retrain_reject"), c)] == []


def test_the_promote_path_may_write_the_pointer_and_nobody_else_may(synth, reg):
    table = _table(synth)
    version = reg.register("churn", _model(), task="binary", feature_schema=SCHEMA, now=NOW).version
    with recorded(reg, table) as calls:
        reg.promote("churn", version, now=NOW, promoted_by="exec-1")
    pointer_writes = [
        c for c in calls if c.context.get("dynamodb:LeadingKeys") == (pointer_partition("churn"),)
    ]
    pointer_writes = [c for c in pointer_writes if c.action == "dynamodb:PutItem"]
    assert pointer_writes
    assert all(is_allowed(_statements(synth, "retrain_promote"), c) for c in calls)
    for fid in (*CONTROL_ROLES, *VERSION_ROLES, "score", "split", "finalize"):
        assert not any(is_allowed(_statements(synth, fid), c) for c in pointer_writes), fid


def _put(pk: str, sk: str, attributes: dict[str, Any], table: str) -> Call:
    (call,) = dynamodb_calls(
        "PutItem", {"Item": marshal({"model_name": pk, "version": sk, **attributes})}, table
    )
    return call


def _lock_shaped(pk: str, sk: str, table: str) -> Call:
    return _put(pk, sk, {"owner": "x", "acquired_at": NOW.isoformat(), "expires_at": 1}, table)


def _update(pk: str, sk: str, expression: str, names: dict[str, str], table: str) -> Call:
    params = {
        "Key": marshal({"model_name": pk, "version": sk}),
        "UpdateExpression": expression,
        "ExpressionAttributeNames": names,
    }
    (call,) = dynamodb_calls("UpdateItem", params, table)
    return call


def _delete(pk: str, sk: str, table: str) -> Call:
    (call,) = dynamodb_calls("DeleteItem", {"Key": marshal({"model_name": pk, "version": sk})}, table)
    return call


def _attacks(table: str, card_json: str) -> list[tuple[str, Call]]:
    """(what, call): the attacks of issue 17 with the request shapes the code itself uses."""
    pointer = pointer_partition("churn")
    return [
        ("lock-shaped put over the champion pointer", _lock_shaped(pointer, "#champion", table)),
        ("lock-shaped put over the legacy pointer", _lock_shaped("churn", "#champion", table)),
        ("lock-shaped put over a version", _lock_shaped("churn", "000001", table)),
        ("cooldown-shaped put over the counter", _put("churn", "#counter", {"until": 1}, table)),
        ("delete of a version", _delete("churn", "000001", table)),
        ("delete of the pointer", _delete(pointer, "#champion", table)),
        (
            "put of a pointer naming another version",
            _put(pointer, "#champion", {"champion": "000002"}, table),
        ),
        (
            "put of a pointer-less item at the pointer key",
            _put(pointer, "#champion", {"card": card_json}, table),
        ),
        (
            "repointing card.artifact of a version in place",
            _update("churn", "000001", "SET #c = :c, #s = :s", {"#c": "card", "#s": "sha256"}, table),
        ),
        (
            "flipping the pointer's champion",
            _update(pointer, "#champion", "SET #c = :c", {"#c": "champion"}, table),
        ),
        # Stored configurations are written by the CLI host only (scorewatch models configure).
        ("put over a model's current config", _put("config#@current", "churn", {"config": "{}"}, table)),
        ("put of a config history version", _put("config#churn", "000002", {"config": "{}"}, table)),
        ("delete of a model's current config", _delete("config#@current", "churn", table)),
    ]


# Every attack against every non-promote role; the one residual (train may PutItem a version item:
# IAM cannot make PutItem insert-only) is handled by pinning and tested on the emulator.
RESIDUAL = {("retrain_train", "lock-shaped put over a version"), ("retrain_train", "delete of a version")}
RESIDUAL |= {("retrain_train", "cooldown-shaped put over the counter")}
# The pointer of an earlier release sits in the model partition: until `models repair-champion`
# (or a promotion) writes the new one, the train role could replace it (the champion is then
# missing, never another version: `champion` is an attribute it may not write).
RESIDUAL |= {("retrain_train", "lock-shaped put over the legacy pointer")}


@pytest.mark.parametrize("fid", [*CONTROL_ROLES, *VERSION_ROLES, "score", "split", "finalize"])
def test_the_attacks_are_denied_to_every_role_but_promote(synth, fid):
    table = _table(synth)
    allowed = [what for what, call in _attacks(table, "{}") if is_allowed(_statements(synth, fid), call)]
    assert {(fid, what) for what in allowed} <= RESIDUAL, (fid, allowed)


def test_the_attack_table_can_fail_the_promote_role_may_do_all_of_it(synth):
    table = _table(synth)
    assert all(is_allowed(_statements(synth, "retrain_promote"), call) for _, call in _attacks(table, "{}"))


def test_control_writes_land_only_in_the_control_partition(synth, reg):
    table = _table(synth)
    with recorded(reg, table) as calls:
        reg.acquire_lock("churn", "champion", owner="a", now=NOW, ttl_seconds=60)
        reg.claim_cooldown("churn", "counter", now=NOW, minutes=1)
        reg.put_approval_request(
            "churn", version="1", execution_id="e", task_token="t", now=NOW, ttl_seconds=60
        )
        reg.release_lock("churn", "champion", owner="a")
        reg.clear_approval_request("churn", execution_id="e")
    writes = [c for c in calls if c.action in ("dynamodb:PutItem", "dynamodb:DeleteItem")]
    assert len(writes) == 5
    assert {c.context["dynamodb:LeadingKeys"] for c in writes} == {(control_partition("churn"),)}
    # ... and the champion survives lock names that look like registry keys
    assert reg.get("churn", "champion").version == "000001"


def test_a_train_role_overwrite_of_the_champion_item_does_not_change_what_scores(synth, reg, resources):
    import boto3

    champion = reg.get("churn", "champion")
    other = reg.register("churn", _model(), task="binary", feature_schema=SCHEMA, now=NOW)
    reg.reject("churn", other.version, comparison=None, now=NOW)
    forged = champion.model_copy(update={"artifact": other.artifact})
    call = _put("churn", champion.version, {"card": forged.model_dump_json()}, _table(synth))
    assert is_allowed(_statements(synth, "retrain_train"), call)  # the residual IAM cannot close
    boto3.client("dynamodb").put_item(TableName=resources.registry_table, Item=marshal(card_item(forged)))
    clear_cache()
    assert reg.get("churn", "champion").artifact == champion.artifact
    assert reg.load("churn", champion.version).card.artifact.sha256 == champion.artifact.sha256


def test_policy_eval_known_answers():
    arn = {"Fn::GetAtt": ["T", "Arn"]}
    allow = {
        "Effect": "Allow",
        "Action": "dynamodb:PutItem",
        "Resource": arn,
        "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["control#*"]}},
    }
    ok = _lock_shaped("control#churn", "lock#x", "T")
    assert is_allowed([allow], ok)
    assert not is_allowed([allow], _lock_shaped("churn", "lock#x", "T"))
    assert not is_allowed([allow], _lock_shaped("control#churn", "lock#x", "Other"))  # another table
    assert not is_allowed([{**allow, "Resource": {"Fn::Join": ["", [arn, "/index/*"]]}}], ok)
    assert not is_allowed([allow, {**allow, "Effect": "Deny"}], ok)  # an explicit deny wins
    with pytest.raises(NotImplementedError, match="NumericLessThan"):
        is_allowed([{**allow, "Condition": {"NumericLessThan": {"x": "1"}}}], ok)


@pytest.mark.parametrize("fid", sorted(HANDLERS))
def test_every_function_may_read_the_stored_configurations_it_runs_under(synth, resources, fid):
    from scorewatch.core.config import ModelConfig
    from scorewatch.io.fleet_config import FleetConfig
    from scorewatch.io.registry.configs import ConfigStore

    store = ConfigStore(resources.registry_table)
    store.put(ModelConfig(name="churn"), actor="t")
    reader = FleetConfig(store, ttl_seconds=0)
    table = _table(synth)
    with recorded(store, table) as calls:  # the reads a function's FleetConfig makes
        assert [m.name for m in reader.models] == ["churn"]
        assert reader.version("churn") == 1 and reader.model("never-stored").name == "never-stored"
    assert {c.action for c in calls} == {"dynamodb:Query", "dynamodb:GetItem"}
    denied = [c for c in calls if not is_allowed(_statements(synth, fid), c)]
    assert denied == [], (fid, denied)

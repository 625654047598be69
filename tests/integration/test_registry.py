"""The registry against moto's server over HTTP: versions, champion, rollback, locks, integrity."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import boto3
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from scorewatch.core.cards import Comparison
from scorewatch.core.errors import (
    ConfigError,
    IncompatibleModelError,
    InvalidModelNameError,
    ModelIntegrityError,
    ModelNotFoundError,
    PromotionConflictError,
    StatusTransitionError,
    TransientError,
    UnsafeModelFormatError,
)
from scorewatch.core.schema import FeatureSchema, FeatureSpec
from scorewatch.io import registry as registry_mod
from scorewatch.io.registry import Registry

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SCHEMA = FeatureSchema(
    features=(
        FeatureSpec(name="tenure", type="numeric"),
        FeatureSpec(name="plan", type="categorical", categories=("basic", "max", "pro")),
    ),
    id_columns=("customer_id",),
)


def _data(n: int = 200) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"tenure": rng.normal(size=n), "plan": rng.choice(["basic", "pro", "max"], n)})
    return X, pd.Series((X["tenure"] > 0).astype(int))


@pytest.fixture(scope="module")
def hgb() -> Pipeline:
    X, y = _data()
    ct = ColumnTransformer(
        [("num", "passthrough", ["tenure"]), ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"])]
    )
    return Pipeline([("ct", ct), ("model", HistGradientBoostingClassifier(max_iter=5))]).fit(X, y)


@pytest.fixture(scope="module")
def logreg() -> LogisticRegression:
    X, y = _data()
    return LogisticRegression().fit(X[["tenure"]], y)


@pytest.fixture
def reg(resources) -> Registry:
    registry_mod.clear_cache()
    return Registry(table_name=resources.registry_table, models_bucket=resources.models_bucket)


def _register(reg: Registry, est, name: str = "churn", **kw):
    return reg.register(name, est, task="binary", feature_schema=SCHEMA, now=NOW, **kw)


def test_register_get_and_load_roundtrip(reg, hgb, resources):
    card = _register(reg, hgb, metrics={"roc_auc": 0.91}, target="churned")
    assert card.version == "000001"
    assert card.status == "candidate"
    assert card.classes == (0, 1)
    assert card.library_versions["scikit-learn"]
    assert reg.get("churn", "1") == card
    assert reg.get("churn", "000001").metrics == {"roc_auc": 0.91}

    loaded = reg.load("churn", "000001")
    X, _ = _data()
    np.testing.assert_array_equal(loaded.estimator.predict_proba(X), hgb.predict_proba(X))
    s3 = boto3.client("s3")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=resources.models_bucket)["Contents"]}
    assert {"churn/000001/model.skops", "churn/000001/card.json"} <= keys
    mirrored = json.loads(
        s3.get_object(Bucket=resources.models_bucket, Key="churn/000001/card.json")["Body"].read()
    )
    assert mirrored["artifact"]["sha256"] == card.artifact.sha256


def test_champion_ref_without_champion_is_model_not_found(reg, logreg):
    _register(reg, logreg)
    with pytest.raises(ModelNotFoundError, match="no champion"):
        reg.get("churn", "champion")
    with pytest.raises(ModelNotFoundError, match="no version 000007"):
        reg.get("churn", "7")


def test_promote_archives_previous_champion_and_rollback_restores_it(reg, logreg):
    v1 = _register(reg, logreg).version
    v2 = _register(reg, logreg, parent_version=v1).version
    first = reg.promote("churn", v1, now=NOW, promoted_by="alice")
    assert first.status == "champion" and first.previous_champion is None
    comparison = Comparison(metric="roc_auc", challenger=0.9, champion=0.8, min_improvement=0.0, passed=True)
    second = reg.promote("churn", v2, now=NOW, promoted_by="sfn:exec-1", comparison=comparison)
    assert second.status == "champion"
    assert second.previous_champion == v1
    assert second.parent_version == v1
    assert second.comparison == comparison
    assert reg.get("churn", v1).status == "archived"
    assert reg.get("churn").version == v2

    restored = reg.rollback("churn", now=NOW + timedelta(hours=1), promoted_by="oncall")
    assert restored.version == v1 and restored.status == "champion"
    assert reg.get("churn", v2).status == "archived"
    assert reg.get("churn").version == v1
    with pytest.raises(ModelNotFoundError, match="no previous champion"):
        reg.rollback("churn", now=NOW, promoted_by="oncall")


def test_promote_with_stale_expected_champion_conflicts(reg, logreg):
    v1 = _register(reg, logreg).version
    v2 = _register(reg, logreg).version
    reg.promote("churn", v1, now=NOW, promoted_by="a", expected_champion=None)
    with pytest.raises(PromotionConflictError, match="expected champion None"):
        reg.promote("churn", v2, now=NOW, promoted_by="b", expected_champion=None)
    assert reg.promote("churn", v2, now=NOW, promoted_by="b", expected_champion=v1).version == v2


def test_replayed_promote_of_the_current_champion_is_a_no_op(reg, logreg):
    v1 = _register(reg, logreg).version
    v2 = _register(reg, logreg).version
    reg.promote("churn", v1, now=NOW, promoted_by="a")
    first = reg.promote("churn", v2, now=NOW, promoted_by="sfn:1", expected_champion=v1)
    # the same step delivered again: its expected champion (v1) is gone, replaced by v2 itself
    again = reg.promote(
        "churn", v2, now=NOW + timedelta(minutes=1), promoted_by="sfn:1", expected_champion=v1
    )
    assert again == first
    assert reg.get("churn", v1).status == "archived"
    # a different version still conflicts
    v3 = _register(reg, logreg).version
    with pytest.raises(PromotionConflictError, match="expected champion 000001"):
        reg.promote("churn", v3, now=NOW, promoted_by="b", expected_champion=v1)


def test_list_models_versions_archive_and_reject(reg, logreg):
    _register(reg, logreg, name="churn")
    _register(reg, logreg, name="churn")
    _register(reg, logreg, name="fraud")
    assert reg.list_models() == ["churn", "fraud"]
    assert [c.version for c in reg.list_versions("churn")] == ["000001", "000002"]
    reg.promote("churn", "1", now=NOW, promoted_by="a")
    with pytest.raises(PromotionConflictError, match="champion"):
        reg.archive("churn", "1", now=NOW)
    with pytest.raises(StatusTransitionError, match="candidate -> archived"):
        reg.archive("churn", "2", now=NOW)
    archived = reg.archive("churn", "2", now=NOW, by="ops", force=True, reason="never deployed")
    assert archived.status == "archived"
    assert [(c.from_status, c.to_status, c.reason, c.forced) for c in archived.status_history] == [
        ("candidate", "archived", "never deployed", True)
    ]
    comparison = Comparison(metric="roc_auc", challenger=0.7, champion=0.8, min_improvement=0.0, passed=False)
    rejected = reg.reject("fraud", "1", comparison=comparison, now=NOW)
    assert rejected.status == "rejected" and rejected.comparison == comparison
    assert [c.status for c in reg.list_versions("churn")] == ["champion", "archived"]


def test_concurrent_promotes_leave_exactly_one_champion(reg, logreg):
    versions = [_register(reg, logreg).version for _ in range(6)]
    outcomes: dict[str, str] = {}

    def promote(v: str) -> None:
        try:
            reg.promote("churn", v, now=NOW, promoted_by=f"t{v}", expected_champion=None)
            outcomes[v] = "won"
        except PromotionConflictError:
            outcomes[v] = "lost"

    threads = [threading.Thread(target=promote, args=(v,)) for v in versions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [v for v, o in outcomes.items() if o == "won"]
    assert len(winners) == 1
    champions = [c.version for c in reg.list_versions("churn") if c.status == "champion"]
    assert champions == winners
    assert reg.get("churn").version == winners[0]


def test_concurrent_unconditional_promotes_converge_on_one_champion(reg, logreg):
    versions = [_register(reg, logreg).version for _ in range(4)]
    outcomes: list[str] = []

    def promote(v: str) -> None:
        try:
            reg.promote("churn", v, now=NOW, promoted_by="x")
            outcomes.append("promoted")
        except PromotionConflictError:  # retries exhausted under contention: reported, never torn
            outcomes.append("conflict")

    threads = [threading.Thread(target=promote, args=(v,)) for v in versions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 4 and "promoted" in outcomes
    champions = [c.version for c in reg.list_versions("churn") if c.status == "champion"]
    assert len(champions) == 1
    assert reg.get("churn").version == champions[0]


def test_concurrent_registers_get_distinct_versions(reg, logreg):
    cards = []
    lock = threading.Lock()

    def register() -> None:
        card = _register(reg, logreg)
        with lock:
            cards.append(card.version)

    threads = [threading.Thread(target=register) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(cards) == [f"{i:06d}" for i in range(1, 7)]
    assert [c.version for c in reg.list_versions("churn")] == sorted(cards)


def test_lock_is_exclusive_until_released_or_expired(reg):
    assert reg.acquire_lock("churn", "retraining", owner="run-1", now=NOW, ttl_seconds=600)
    assert not reg.acquire_lock("churn", "retraining", owner="run-2", now=NOW, ttl_seconds=600)
    # the holder may refresh it
    assert reg.acquire_lock("churn", "retraining", owner="run-1", now=NOW, ttl_seconds=600)
    assert not reg.release_lock("churn", "retraining", owner="run-2")
    assert reg.release_lock("churn", "retraining", owner="run-1")
    assert reg.acquire_lock("churn", "retraining", owner="run-2", now=NOW, ttl_seconds=600)
    # a crashed holder's lock expires
    later = NOW + timedelta(seconds=601)
    assert not reg.acquire_lock(
        "churn", "retraining", owner="run-3", now=NOW + timedelta(seconds=30), ttl_seconds=60
    )
    assert reg.acquire_lock("churn", "retraining", owner="run-3", now=later, ttl_seconds=60)


def test_concurrent_lock_acquires_have_one_winner(reg):
    results: list[bool] = []
    lock = threading.Lock()

    def take(i: int) -> None:
        ok = reg.acquire_lock("churn", "retraining", owner=f"run-{i}", now=NOW, ttl_seconds=600)
        with lock:
            results.append(ok)

    threads = [threading.Thread(target=take, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1


def test_cooldown_is_claimed_at_most_once_per_window(reg):
    assert reg.claim_cooldown("churn", "retrain", now=NOW, minutes=60)
    assert not reg.claim_cooldown("churn", "retrain", now=NOW + timedelta(minutes=59), minutes=60)
    assert reg.claim_cooldown("fraud", "retrain", now=NOW, minutes=60)  # per model
    assert reg.claim_cooldown("churn", "retrain", now=NOW + timedelta(minutes=60), minutes=60)


@pytest.mark.parametrize("name", ["../x", "a/b", "", "..", "x" * 64])
def test_unsafe_model_names_are_refused_before_any_io(reg, logreg, name, monkeypatch):
    def _no_io(*a, **k):
        raise AssertionError("I/O attempted for an invalid name")

    monkeypatch.setattr(reg._ddb, "update_item", _no_io)
    monkeypatch.setattr(reg._s3, "put_object", _no_io)
    with pytest.raises(InvalidModelNameError):
        _register(reg, logreg, name=name)
    with pytest.raises(InvalidModelNameError):
        reg.get(name)
    with pytest.raises(InvalidModelNameError):
        reg.acquire_lock(name, "retraining", owner="o", now=NOW, ttl_seconds=1)


def test_row_pointing_at_missing_artifact_is_model_not_found(reg, logreg, resources):
    card = _register(reg, logreg)
    assert card.artifact.version_id
    boto3.client("s3").delete_object(
        Bucket=resources.models_bucket, Key=card.artifact.key, VersionId=card.artifact.version_id
    )
    with pytest.raises(ModelNotFoundError, match="model.skops"):
        reg.load("churn", card.version)


def test_overwriting_the_key_does_not_change_the_pinned_version(reg, logreg, resources):
    card = _register(reg, logreg)
    s3 = boto3.client("s3")
    s3.put_object(Bucket=resources.models_bucket, Key=card.artifact.key, Body=b"evil bytes")
    loaded = reg.load("churn", card.version)
    assert loaded.estimator.predict(pd.DataFrame({"tenure": [1.0]})).shape == (1,)


def test_tampered_artifact_in_s3_is_integrity_error(resources, logreg):
    # an unversioned models bucket: the key is all there is, so the sha256 is the only guard
    s3 = boto3.client("s3")
    bucket = f"{resources.models_bucket}-plain"
    s3.create_bucket(Bucket=bucket)
    plain = Registry(table_name=resources.registry_table, models_bucket=bucket)
    card = _register(plain, logreg)
    assert card.artifact.version_id is None
    data = s3.get_object(Bucket=bucket, Key=card.artifact.key)["Body"].read()
    s3.put_object(Bucket=bucket, Key=card.artifact.key, Body=data + b"\0")
    registry_mod.clear_cache()
    with pytest.raises(ModelIntegrityError, match=f"churn@{card.version}.*expected {card.artifact.sha256}"):
        plain.load("churn", card.version)


def test_row_pointing_at_other_bytes_is_integrity_error(reg, logreg, resources):
    card = _register(reg, logreg)
    s3 = boto3.client("s3")
    data = s3.get_object(Bucket=resources.models_bucket, Key=card.artifact.key)["Body"].read()
    other = s3.put_object(Bucket=resources.models_bucket, Key=card.artifact.key, Body=data[:-1])["VersionId"]
    overwrite_card(
        resources.registry_table,
        card.model_copy(update={"artifact": card.artifact.model_copy(update={"version_id": other})}),
    )
    with pytest.raises(ModelIntegrityError, match="sha256 mismatch"):
        reg.load("churn", card.version)


def test_load_is_cached_per_name_version_sha(reg, logreg, monkeypatch):
    card = _register(reg, logreg)
    first = reg.load("churn", card.version)
    calls = []
    monkeypatch.setattr(reg._s3, "get_object", lambda **kw: calls.append(kw))
    second = reg.load("churn", card.version)
    assert second.estimator is first.estimator
    assert calls == []


def test_baseline_profile_and_sample_roundtrip(reg, logreg):
    sample = pa.table({"tenure": [0.1, 0.2, 0.3], "plan": ["basic", "pro", "max"]})
    card = _register(reg, logreg, baseline_profile={"rows": 3, "features": {}}, baseline_sample=sample)
    assert card.baseline.rows == 3
    assert reg.read_baseline_profile(card) == {"rows": 3, "features": {}}
    assert reg.read_baseline_sample(card).equals(sample)
    bare = _register(reg, logreg)
    assert reg.read_baseline_sample(bare) is None
    with pytest.raises(ModelNotFoundError, match="no baseline profile"):
        reg.read_baseline_profile(bare)


def overwrite_card(table: str, card) -> None:
    """Rewrite a version item directly, as a role that may write version items could."""
    from scorewatch.io.registry.marshalling import card_item, marshal

    boto3.client("dynamodb").put_item(TableName=table, Item=marshal(card_item(card)))


def test_update_card_refuses_write_once_content(reg, logreg):
    card = _register(reg, logreg)
    moved = card.artifact.model_copy(update={"key": "churn/000009/model.skops"})
    with pytest.raises(ModelIntegrityError, match="artifact are write-once"):
        reg.update_card(card.model_copy(update={"artifact": moved}))
    with pytest.raises(ModelIntegrityError, match="baseline are write-once"):
        reg.update_card(card.model_copy(update={"baseline": card.baseline.model_copy(update={"rows": 5})}))
    assert reg.get("churn", card.version) == card


def test_update_card_records_fields_but_not_status(reg, logreg):
    card = _register(reg, logreg)
    updated = reg.update_card(card.model_copy(update={"approvals": ("bob",), "metrics": {"f1": 0.5}}))
    assert reg.get("churn", card.version).approvals == ("bob",)
    reg.promote("churn", card.version, now=NOW, promoted_by="a")
    with pytest.raises(PromotionConflictError):
        reg.update_card(updated)  # stale status 'candidate'


def test_card_from_other_sklearn_minor_is_refused_unless_overridden(reg, logreg, resources):
    card = _register(reg, logreg)
    major, minor = card.library_versions["scikit-learn"].split(".")[:2]
    other = f"{major}.{int(minor) + 1}.0"
    overwrite_card(
        resources.registry_table,
        card.model_copy(update={"library_versions": {**card.library_versions, "scikit-learn": other}}),
    )
    lenient = Registry(
        table_name=resources.registry_table,
        models_bucket=resources.models_bucket,
        allow_version_mismatch=True,
    )
    assert hasattr(lenient.load("churn", card.version).estimator, "predict")
    # the lenient registry's cached estimator does not leak to a strict one
    with pytest.raises(IncompatibleModelError, match=other):
        reg.load("churn", card.version)


def test_joblib_registration_needs_opt_in_and_loads_hash_checked(reg, logreg, resources):
    with pytest.raises(UnsafeModelFormatError):
        _register(reg, logreg, fmt="joblib")
    unsafe = Registry(
        table_name=resources.registry_table, models_bucket=resources.models_bucket, allow_unsafe_pickle=True
    )
    card = _register(unsafe, logreg, fmt="joblib")
    assert card.artifact.key.endswith("/model.joblib")
    assert unsafe.load("churn", card.version).estimator.predict(pd.DataFrame({"tenure": [1.0]})).shape == (1,)
    with pytest.raises(UnsafeModelFormatError):
        reg.load("churn", card.version)  # a registry without the opt-in refuses it, cached or not


def test_throttling_becomes_transient_error(reg, monkeypatch):
    from botocore.exceptions import ClientError

    def throttled(**kwargs):
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}, "GetItem"
        )

    monkeypatch.setattr(reg._ddb, "get_item", throttled)
    with pytest.raises(TransientError, match="churn"):
        reg.get("churn", "1")


def test_missing_table_is_a_config_error(resources):
    missing = Registry(table_name="no-such-table", models_bucket=resources.models_bucket)
    with pytest.raises(ConfigError, match="no-such-table"):
        missing.get("churn", "1")


def test_failed_registration_leaves_no_row_and_next_version_is_fresh(reg, logreg, resources):
    with pytest.raises(ValueError):
        _register(reg, logreg, metrics={"roc_auc": "not a number"})
    items = boto3.client("dynamodb").scan(TableName=resources.registry_table)["Items"]
    assert not [i for i in items if not i["version"]["S"].startswith("#")]
    assert reg.list_versions("churn") == []
    card = _register(reg, logreg)
    assert card.version == "000002"
    assert [c.version for c in reg.list_versions("churn")] == ["000002"]

"""Training from a declarative spec: allowlist, preprocessing from the schema, seeding, entry points."""

from __future__ import annotations

import sys
import types

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from scorewatch.core.config import EstimatorSpec
from scorewatch.core.errors import TrainingError
from scorewatch.core.schema import FeatureSchema, FeatureSpec
from scorewatch.io import artifacts
from scorewatch.lifecycle.training import (
    ALLOWED_ESTIMATORS,
    build_estimator,
    resolve_estimator_name,
    train_model,
)

SCHEMA = FeatureSchema(
    features=(
        FeatureSpec(name="age", type="numeric"),
        FeatureSpec(name="plan", type="categorical"),
        FeatureSpec(name="active", type="boolean"),
        FeatureSpec(name="signup", type="datetime"),
    ),
    id_columns=("customer_id",),
)


def _frame(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 10, n)
    age[::17] = np.nan
    plan = pd.Series(rng.choice(["basic", "pro", "team"], n), dtype=object)
    plan[::23] = None
    active = rng.uniform(size=n) < 0.5
    df = pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "age": age,
            "plan": plan,
            "active": active,
            "signup": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 100, n), "D"),
        }
    )
    logit = 0.08 * (np.nan_to_num(age, nan=40) - 40) + (plan == "pro").to_numpy() * 1.5 - active * 1.0
    y = pd.Series((rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int))
    return df, y


@pytest.mark.parametrize(
    "name", ["HistGradientBoostingClassifier", "LogisticRegression", "RandomForestClassifier"]
)
def test_allowlisted_classifiers_train_on_mixed_types_and_serialize_as_trusted_skops(name: str) -> None:
    X, y = _frame()
    spec = EstimatorSpec(estimator=name, params={"max_iter": 50} if name != "RandomForestClassifier" else {})
    trained = train_model(spec, X, y, task="binary", schema=SCHEMA, random_state=0)
    proba = trained.estimator.predict_proba(X[SCHEMA.names])
    assert proba.shape == (len(X), 2) and np.isfinite(proba).all()
    assert trained.dropped_features == ("signup",)
    assert trained.params["estimator"] == name and trained.params["random_state"] == 0
    # unseen category and missing values at scoring time do not break prediction
    odd = X[SCHEMA.names].head(3).copy()
    odd["plan"] = ["enterprise", None, "basic"]
    odd["age"] = [np.nan, 1e6, 30]
    assert trained.estimator.predict(odd).shape == (3,)
    art = artifacts.dump_artifact(trained.estimator)
    assert len(art.sha256) == 64


def test_training_is_seeded() -> None:
    X, y = _frame(seed=2)
    spec = EstimatorSpec(estimator="RandomForestClassifier", params={"n_estimators": 20})
    a = train_model(spec, X, y, task="binary", schema=SCHEMA, random_state=7).estimator.predict_proba(
        X[SCHEMA.names]
    )
    b = train_model(spec, X, y, task="binary", schema=SCHEMA, random_state=7).estimator.predict_proba(
        X[SCHEMA.names]
    )
    c = train_model(spec, X, y, task="binary", schema=SCHEMA, random_state=8).estimator.predict_proba(
        X[SCHEMA.names]
    )
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_estimator_outside_the_allowlist_is_refused() -> None:
    with pytest.raises(TrainingError, match="not in the training allowlist"):
        resolve_estimator_name(EstimatorSpec(estimator="SVC"), "binary")
    with pytest.raises(TrainingError, match="not in the training allowlist"):
        resolve_estimator_name(EstimatorSpec(estimator="os.system"), "binary")
    assert "SVC" not in ALLOWED_ESTIMATORS


def test_wrong_kind_and_unknown_params_are_refused_with_names() -> None:
    with pytest.raises(TrainingError, match="is a classifier"):
        resolve_estimator_name(EstimatorSpec(estimator="LogisticRegression"), "regression")
    with pytest.raises(TrainingError, match=r"does not accept parameter\(s\) \['depth'\]"):
        build_estimator(
            EstimatorSpec(estimator="RandomForestClassifier", params={"depth": 3}),
            task="binary",
            schema=SCHEMA,
            random_state=0,
        )


def test_default_spec_follows_the_task() -> None:
    X, _ = _frame()
    y = pd.Series(np.nan_to_num(X["age"].to_numpy(), nan=40) * 2.0)
    trained = train_model(
        EstimatorSpec(), X, y, task="regression", schema=SCHEMA, random_state=0, spec_explicit=False
    )
    assert trained.params["estimator"] == "HistGradientBoostingRegressor"


def test_single_class_and_missing_columns_are_training_errors() -> None:
    X, y = _frame()
    with pytest.raises(TrainingError, match="single class"):
        train_model(
            EstimatorSpec(), X, pd.Series(np.zeros(len(X))), task="binary", schema=SCHEMA, random_state=0
        )
    with pytest.raises(TrainingError, match=r"lacks feature column\(s\) \['plan'\]"):
        train_model(EstimatorSpec(), X.drop(columns="plan"), y, task="binary", schema=SCHEMA, random_state=0)


def test_user_entry_point_is_called_with_features_and_seed() -> None:
    mod = types.ModuleType("sw_user_training")
    calls = {}

    def fit(X, y, *, task, feature_schema, params, random_state):
        calls.update(task=task, params=params, random_state=random_state, columns=list(X.columns))
        return LogisticRegression(C=params["C"]).fit(X[["age"]].fillna(0), y)

    def broken(X, y, **kwargs):
        return object()

    mod.fit, mod.broken = fit, broken
    sys.modules["sw_user_training"] = mod
    try:
        X, y = _frame()
        spec = EstimatorSpec(entry_point="sw_user_training:fit", params={"C": 2.0})
        trained = train_model(spec, X, y, task="binary", schema=SCHEMA, random_state=3)
        assert calls == {"task": "binary", "params": {"C": 2.0}, "random_state": 3, "columns": SCHEMA.names}
        assert trained.params["entry_point"] == "sw_user_training:fit"
        with pytest.raises(TrainingError, match="without"):
            train_model(
                EstimatorSpec(entry_point="sw_user_training:broken"),
                X,
                y,
                task="binary",
                schema=SCHEMA,
                random_state=0,
            )
        with pytest.raises(TrainingError, match="cannot import"):
            train_model(
                EstimatorSpec(entry_point="sw_user_training:nope"),
                X,
                y,
                task="binary",
                schema=SCHEMA,
                random_state=0,
            )
    finally:
        del sys.modules["sw_user_training"]

"""A LightGBM champion on the emulator: registered, scored (its own probabilities), drifted,
retrained with an XGBoost challenger, gated and promoted; then scored by the new champion."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from handler_kit import MODEL, SCHEMA, SCORE_COLUMNS, Ctx, encode, frame, make_stack

from scorewatch.core.config import EstimatorSpec
from scorewatch.handlers import monitor, retrain, score
from scorewatch.io import registry as registry_mod
from scorewatch.io.registry import Registry
from scorewatch.lifecycle.training import train_model
from scorewatch.monitoring.profiles import build_profile
from scorewatch.scoring.scorer import predict_frame

CONFIG = {
    "models": [
        {
            "name": MODEL,
            "target": "churn",
            "id_columns": ["customer_id"],
            "positive_class": 1,
            "chunk_rows": 200,
            "retraining": {
                "spec": {"estimator": "XGBClassifier", "params": {"n_estimators": 40, "max_depth": 3}},
                "holdout_fraction": 0.25,
                "metric": "roc_auc",
                "floor": 0.55,
            },
        }
    ]
}


def _old_concept(df: pd.DataFrame) -> pd.Series:
    return ((df["tenure"] < 20) | (df["plan"] == "basic")).astype(int)


def _new_concept(df: pd.DataFrame) -> pd.Series:
    rng = np.random.default_rng(7)
    logit = (df["charges"] - df["charges"].median()) / 10 - (df["plan"] == "max") * 1.5
    return pd.Series((rng.uniform(size=len(df)) < 1 / (1 + np.exp(-logit))).astype(int), index=df.index)


def _register_lightgbm_champion(resources, now: datetime):
    train = frame(800, seed=0)
    y = _old_concept(train)
    trained = train_model(
        EstimatorSpec(estimator="LGBMClassifier", params={"n_estimators": 30, "num_leaves": 7}),
        train,
        y,
        task="binary",
        schema=SCHEMA,
        random_state=0,
    )
    est = trained.estimator
    outputs = predict_frame(est, train[SCHEMA.names], task="binary", classes=(0, 1))
    both = pd.concat([train[SCHEMA.names], outputs], axis=1)
    reg = Registry(table_name=resources.registry_table, models_bucket=resources.models_bucket)
    card = reg.register(
        MODEL,
        est,
        task="binary",
        feature_schema=SCHEMA,
        now=now,
        classes=(0, 1),
        target="churn",
        params=trained.params,
        baseline_profile=build_profile(both, SCHEMA, score_columns=SCORE_COLUMNS).to_dict(),
        baseline_sample=pa.Table.from_pandas(both, preserve_index=False),
    )
    reg.promote(MODEL, card.version, now=now, promoted_by="test")
    return reg, card, est


def _score(stack, key: str, df: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    out = score.handler(stack.s3_event(key, stack.put(key, encode(df, "csv"))), Ctx())
    assert out["status"] == "scored", out
    (event,) = [e for e in stack.events(wait=0.3) if e["detail-type"] == "Batch Scored"]
    scored_key = event["detail"]["output_uri"].split("/", 3)[3]
    return event, stack.read_parquet(scored_key)


@pytest.mark.slow
def test_lightgbm_champion_drifts_and_an_xgboost_challenger_is_gated_and_promoted(resources, monkeypatch):
    registry_mod.clear_cache()
    now = datetime.now(UTC)  # the handlers read the wall clock
    stack = make_stack(resources, monkeypatch, config=CONFIG)
    reg, champion, lgbm = _register_lightgbm_champion(resources, now)
    assert champion.params["estimator"] == "LGBMClassifier"
    assert "lightgbm.basic.Booster" in champion.artifact.trusted_types

    # scored by the score function with the model's own probabilities
    drifted = frame(900, seed=5, shift=1.0)
    event, scored = _score(stack, f"incoming/{MODEL}/drifted.csv", drifted)
    own = lgbm.predict_proba(drifted[SCHEMA.names])
    scored = scored.set_index("customer_id").loc[drifted["customer_id"]]
    np.testing.assert_array_equal(scored[["score_0", "score_1"]].to_numpy(), own)

    # the monitor sees the drift
    out = monitor.handler(event, Ctx(function_name="monitor"))
    assert out["dataset_drift"] is True and out["drift_event"] is True

    # labels of the new concept arrive; retraining runs as Step Functions calls it
    labels = pd.DataFrame({"customer_id": drifted["customer_id"], "churn": _new_concept(drifted)})
    stack.put(f"labels/{MODEL}/all.csv", labels.to_csv(index=False).encode())
    execution = "arn:aws:states:us-east-1:123456789012:execution:sw-retraining:families-1"
    trigger = {"detail-type": "Drift Detected", "source": "scorewatch", "detail": {"model": MODEL}}
    state = retrain.assemble({"input": trigger, "execution_id": execution}, Ctx())
    state = retrain.train({"input": state, "execution_id": execution}, Ctx())
    state = retrain.evaluate({"input": state, "execution_id": execution}, Ctx())
    assert state["passed"] is True and state["metric"] == "roc_auc"
    result = retrain.promote({"input": state, "execution_id": execution}, Ctx())

    card = reg.get(MODEL, "champion")
    assert card.version == result["version"] and card.parent_version == champion.version
    assert card.params["estimator"] == "XGBClassifier" and card.params["n_estimators"] == 40
    assert "xgboost.core.Booster" in card.artifact.trusted_types
    assert card.comparison is not None and card.comparison.passed
    assert card.comparison.challenger > card.comparison.champion
    assert reg.get(MODEL, champion.version).status == "archived"

    # the next batch is scored by the XGBoost champion, with its own probabilities
    registry_mod.clear_cache()
    later = frame(300, seed=9, shift=1.0, start_id=50_000)
    _, scored = _score(stack, f"incoming/{MODEL}/later.csv", later)
    xgb = reg.load(MODEL).estimator
    scored = scored.set_index("customer_id").loc[later["customer_id"]]
    np.testing.assert_array_equal(
        scored[["score_0", "score_1"]].to_numpy(), xgb.predict_proba(later[SCHEMA.names])
    )

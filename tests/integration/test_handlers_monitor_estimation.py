"""The monitor estimates performance without labels for every task, on moto's server.

Three models share the churn-like features: a binary and a multiclass classifier and a
regressor, each registered with the estimators ``fit_reference`` fits on a labeled holdout (the
retraining train step's path). A scored batch without any label file yields EstimatedPerformance
for each; the estimate is compared with the performance the batch's (withheld) labels give.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from handler_kit import NOW, SCHEMA, Ctx, emf_blobs, encode, frame, make_stack
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from scorewatch.handlers import monitor, score
from scorewatch.io.registry import Registry
from scorewatch.monitoring import estimation, performance
from scorewatch.monitoring.profiles import build_profile
from scorewatch.scoring.scorer import predict_frame

TASKS = {"churn": "binary", "tier": "multiclass", "spend": "regression"}
# 400-row batches: the sampling sd of a realized accuracy is ~0.025 and of an RMSE ~5 %.
TOLERANCE = {"binary": 0.08, "multiclass": 0.08, "regression": 0.15}


def _target(task: str, df: pd.DataFrame, seed: int) -> pd.Series:
    # Not frame()'s seed: the label noise must be independent of the features.
    rng = np.random.default_rng([seed, 99])
    z = (df["tenure"] - 24) / 8 - (df["charges"] - 70) / 15 + (df["plan"] == "basic") * 1.0
    if task == "binary":
        return pd.Series((rng.uniform(size=len(df)) < 1 / (1 + np.exp(-2 * z))).astype(int))
    if task == "multiclass":
        noisy = z + rng.normal(scale=0.8, size=len(df))
        return pd.Series(np.select([noisy < -0.7, noisy < 0.7], ["low", "mid"], "high"))
    scale = np.where(df["plan"] == "max", 12.0, 3.0)
    return pd.Series(2 * df["charges"] + df["tenure"] + rng.normal(size=len(df)) * scale)


def _pipeline(task: str) -> Pipeline:
    ct = ColumnTransformer(
        [
            ("num", "passthrough", ["tenure", "charges"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
        ]
    )
    last = LinearRegression() if task == "regression" else LogisticRegression(max_iter=500)
    return Pipeline([("ct", ct), ("model", last)])


def _register(resources: Any, name: str, task: str) -> Any:
    train, holdout = frame(800, seed=1), frame(1500, seed=2)
    est = _pipeline(task).fit(train[SCHEMA.names], _target(task, train, 1))
    classes = tuple(est.classes_.tolist()) if task != "regression" else None
    out_train = predict_frame(est, train[SCHEMA.names], task=task, classes=classes)
    out_hold = predict_frame(est, holdout[SCHEMA.names], task=task, classes=classes)
    fit = estimation.fit_reference(
        task,
        _target(task, holdout, 2),
        out_hold,
        features=holdout[SCHEMA.names],
        classes=classes,
        categorical=["plan"],
    )
    assert fit is not None
    calibration, calibrator, estimated = fit.card_fields()
    both = pd.concat([train[SCHEMA.names], out_train], axis=1)
    reg = Registry(table_name=resources.registry_table, models_bucket=resources.models_bucket)
    card = reg.register(
        name,
        est,
        task=task,
        feature_schema=SCHEMA,
        now=NOW,
        classes=classes,
        baseline_profile=build_profile(both, SCHEMA, score_columns=tuple(out_train.columns)).to_dict(),
        baseline_sample=pa.Table.from_pandas(both, preserve_index=False),
        calibration=calibration,
        calibrator=calibrator,
        estimation=estimated,
        loss_models=fit.loss_models.to_state() if fit.loss_models else None,
    )
    reg.promote(name, card.version, now=NOW, promoted_by="test")
    return reg.get(name, "champion")


@pytest.fixture
def stack(resources, monkeypatch):
    models = [
        {"name": name, "chunk_rows": 200, "alarms": {"performance_floor": 0.99 if task == "binary" else None}}
        for name, task in TASKS.items()
    ]
    st = make_stack(resources, monkeypatch, config={"models": models})
    st.cards = {name: _register(resources, name, task) for name, task in TASKS.items()}
    return st


def _score(stack, name: str, df: pd.DataFrame, i: int = 0) -> dict:
    key = f"incoming/{name}/batch-{i}.csv"
    out = score.handler(stack.s3_event(key, stack.put(key, encode(df, "csv"))), Ctx())
    assert out["status"] == "scored"
    (event,) = [
        e
        for e in stack.events(wait=0.2)
        if e["detail-type"] == "Batch Scored" and e["detail"]["model"] == name
    ]
    return event


@pytest.mark.parametrize("name", list(TASKS))
def test_a_batch_without_labels_yields_estimated_performance(stack, name, capsys):
    task = TASKS[name]
    card = stack.cards[name]
    assert card.estimation["method"] == ("dle" if task == "regression" else "cbpe")
    assert (card.baseline.loss_model_key is not None) == (task == "regression")
    batch = frame(400, seed=9, shift=0.3, start_id=10_000)
    event = _score(stack, name, batch)
    capsys.readouterr()

    out = monitor.handler(event, Ctx(function_name="monitor"))

    assert out["status"] == "evaluated"
    metric = performance.default_metric(task)
    assert out["estimated_metric"] == metric and out["estimated_value"] is not None
    # The withheld labels: what the estimate should be close to.
    estimator = _pipeline(task).fit(frame(800, seed=1)[SCHEMA.names], _target(task, frame(800, seed=1), 1))
    outputs = predict_frame(estimator, batch[SCHEMA.names], task=task, classes=card.classes)
    realized = performance.realized_performance(
        task, _target(task, batch, 9), outputs, classes=card.classes
    ).metrics[metric]
    tol = TOLERANCE[task] * (realized if task == "regression" else 1.0)
    assert out["estimated_value"] == pytest.approx(realized, abs=tol)
    report = stack.read_json(out["report_uri"].split("/", 3)[3])
    assert report["estimated_performance"]["value"] == pytest.approx(out["estimated_value"])
    assert report["estimated_performance"]["rows"] == 400
    blobs = [b for b in emf_blobs(capsys.readouterr().out) if "EstimatedPerformance" in b]
    assert len(blobs) == 1 and blobs[0]["Model"] == name
    assert blobs[0]["EstimatedPerformance"] == [pytest.approx(out["estimated_value"])]


def test_estimate_below_the_floor_raises_one_performance_degraded_per_cooldown(stack, capsys):
    # churn's floor is 0.99 (roc_auc): every batch is below it; the cooldown lets one event out.
    events = [_score(stack, "churn", frame(300, seed=30 + i, start_id=i * 1000), i) for i in range(2)]
    capsys.readouterr()
    outs = [monitor.handler(e, Ctx(function_name="monitor")) for e in events]

    assert [o["performance_event"] for o in outs] == [True, False]
    degraded = [e for e in stack.events(wait=0.3) if e["detail-type"] == "Performance Degraded"]
    assert len(degraded) == 1
    detail = degraded[0]["detail"]
    assert detail["kind"] == "estimated" and detail["metric"] == "roc_auc" and detail["floor"] == 0.99
    assert detail["value"] == pytest.approx(outs[0]["estimated_value"]) and detail["value"] < 0.99
    assert detail["batch_id"] == events[0]["detail"]["batch_id"]
    blobs = [b for b in emf_blobs(capsys.readouterr().out) if "EstimatedPerformanceBreach" in b]
    assert len(blobs) == 2 and all(b["EstimatedPerformanceBreach"][0] > 1 for b in blobs)


def test_an_error_metric_is_degraded_above_its_floor_not_below(stack, monkeypatch):
    # Direction: rmse is an error, so a ceiling; a floor far above the estimate raises nothing.
    cfg = {"models": [{"name": "spend", "chunk_rows": 200, "alarms": {"performance_floor": 1000.0}}]}
    st = make_stack(stack.res, monkeypatch, config=cfg)
    event = _score(st, "spend", frame(300, seed=40))
    out = monitor.handler(event, Ctx(function_name="monitor"))
    assert out["estimated_metric"] == "rmse" and out["estimated_value"] < 1000.0
    assert out["performance_event"] is False
    cfg["models"][0]["alarms"]["performance_floor"] = 1.0
    st = make_stack(stack.res, monkeypatch, config=cfg)  # the capture rule now targets st's queue
    event = _score(st, "spend", frame(300, seed=41, start_id=5000), 1)
    assert monitor.handler(event, Ctx(function_name="monitor"))["performance_event"] is True


def test_the_window_is_estimated_too(stack):
    _score(stack, "tier", frame(200, seed=50))
    _score(stack, "tier", frame(200, seed=51, start_id=3000), 1)
    (out,) = monitor.handler({"model_name": "tier"}, Ctx(function_name="monitor"))["outcomes"]
    assert out["scope"] == "window" and out["batches"] == 2
    assert out["estimated_metric"] == "f1_macro" and 0 < out["estimated_value"] <= 1
    assert {"accuracy", "f1_weighted", "roc_auc"} <= set(out["estimated"])


def test_labels_show_the_monitors_dle_estimate_beside_realized(stack):
    from scorewatch.handlers import labels

    batch = frame(300, seed=60, start_id=20_000)
    out = monitor.handler(_score(stack, "spend", batch), Ctx(function_name="monitor"))
    truth = pd.DataFrame({"customer_id": batch["customer_id"], "label": _target("regression", batch, 60)})
    key = "labels/spend/drop-1.csv"
    result = labels.handler(stack.s3_event(key, stack.put(key, encode(truth, "csv"))), Ctx())

    assert result["labeled_rows"] == 300 and result["metric"] == "rmse"
    assert result["estimated_value"] == pytest.approx(out["estimated_value"])
    assert result["value"] == pytest.approx(out["estimated_value"], rel=TOLERANCE["regression"])
    history = stack.read_parquet(result["history_uri"].split("/", 3)[3])
    row = history[(history["scope"] == "batch") & (history["metric"] == "mae")].iloc[0]
    assert row["estimated"] == pytest.approx(out["estimated"]["mae"]) and row["realized"] > 0


def test_loss_models_are_read_only_against_their_pins(stack):
    from scorewatch.core.errors import BaselineIntegrityError, ModelIntegrityError

    reg = Registry(table_name=stack.res.registry_table, models_bucket=stack.res.models_bucket)
    card = stack.cards["spend"]
    assert list(estimation.LossModels.from_state(reg.read_loss_models(card)).features) == list(SCHEMA.names)
    # an overwrite of the key is a new S3 version: the pinned one is still what is read
    stack.s3.put_object(Bucket=stack.res.models_bucket, Key=card.baseline.loss_model_key, Body=b"x")
    assert reg.read_loss_models(card) is not None
    forged = card.model_copy(
        update={"baseline": card.baseline.model_copy(update={"loss_model_sha256": "0" * 64}), "version": "9"}
    )
    with pytest.raises(BaselineIntegrityError, match="sha256 mismatch"):
        reg.read_loss_models(forged)
    unpinned = forged.model_copy(
        update={"baseline": card.baseline.model_copy(update={"loss_model_sha256": None})}
    )
    with pytest.raises(BaselineIntegrityError, match="no sha256"):
        reg.read_loss_models(unpinned)
    # a state holding a type outside the allowlist is refused before anything is uploaded
    import functools

    with pytest.raises(ModelIntegrityError, match="outside the trusted allowlist.*builtins.print"):
        _ = reg.register(
            "spend", _pipeline("regression").fit(frame(50)[SCHEMA.names], frame(50)["charges"]),
            task="regression", feature_schema=SCHEMA, now=NOW, loss_models={"mae": functools.partial(print)},
        )  # fmt: skip

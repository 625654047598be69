"""Lifecycle on the emulator: delayed labels join, the retraining sequence (promote and reject paths),
one retraining at a time, rollback, and the labels/retrain handlers as Step Functions calls them."""

from __future__ import annotations

import io
import json
import threading
from datetime import UTC, datetime, timedelta

import boto3
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from sklearn import metrics as skm

from scorewatch.core.config import EstimatorSpec, parse_config
from scorewatch.core.errors import RetrainingInProgressError, TrainingError
from scorewatch.core.schema import FeatureSchema, FeatureSpec
from scorewatch.io import registry as registry_mod
from scorewatch.io.events import EventPublisher
from scorewatch.io.registry import Registry
from scorewatch.lifecycle.labels import LabelJoiner
from scorewatch.lifecycle.retraining import PromoteResult, RejectResult, RetrainingSteps, RetrainRequest
from scorewatch.lifecycle.training import train_model
from scorewatch.scoring.decisions import make_decider
from scorewatch.scoring.scorer import score_source
from tests.integration.handler_kit import Ctx, make_stack

MODEL = "churn"
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
SCHEMA = FeatureSchema(
    features=(
        FeatureSpec(name="x1", type="numeric"),
        FeatureSpec(name="x2", type="numeric"),
        FeatureSpec(name="plan", type="categorical"),
    ),
    id_columns=("customer_id",),
)


def _config(**retraining) -> dict:
    rt = {
        "spec": {"estimator": "LogisticRegression", "params": {"max_iter": 300}},
        "holdout_fraction": 0.25,
        "metric": "roc_auc",
        "floor": 0.55,
        "guards": {"brier": 0.05},
        **retraining,
    }
    return {
        "models": [
            {
                "name": MODEL,
                "target": "churn",
                "id_columns": ["customer_id"],
                "positive_class": 1,
                "retraining": rt,
                "decision": {"kind": "expected_value", "costs": {"tp": 60, "fp": -15, "fn": -80, "tn": 0}},
                "alarms": {"performance_floor": 0.7},
            }
        ]
    }


def generate(n: int, *, seed: int, concept: str, start_id: int) -> pd.DataFrame:
    """``old``: churn driven by x1; ``new`` (concept drift): driven by x2 and the basic plan."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(0, 1, n)
    x2 = rng.normal(0 if concept == "old" else 0.5, 1, n)
    plan = rng.choice(["basic", "pro", "max"], n)
    if concept == "old":
        logit = 2.5 * x1 - 0.5
    else:
        logit = -2.5 * x2 + 1.5 * (plan == "basic") - 0.5
    churn = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(
        {
            "customer_id": [f"c{start_id + i:06d}" for i in range(n)],
            "x1": x1.round(4),
            "x2": x2.round(4),
            "plan": plan,
            "churn": churn,
        }
    )


def _csv(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode()


class World:
    """A registered champion, scored batches with labels, the steps and a captured bus."""

    def __init__(self, resources, monkeypatch, *, config: dict, now: datetime = NOW):
        self.stack = make_stack(resources, monkeypatch, config=config)
        self.res = resources
        self.config = parse_config(config)
        self.registry = Registry(table_name=resources.registry_table, models_bucket=resources.models_bucket)
        self.s3 = boto3.client("s3")
        self.clock = now
        self.steps = RetrainingSteps(
            data_bucket=resources.data_bucket,
            registry=self.registry,
            config=self.config,
            publisher=EventPublisher(resources.event_bus),
            now=lambda: self.clock,
        )
        self.truth: dict[str, pd.DataFrame] = {}

    def champion(self) -> str:
        train = generate(1500, seed=1, concept="old", start_id=900_000)
        trained = train_model(
            EstimatorSpec(estimator="LogisticRegression", params={"max_iter": 300}),
            train,
            train["churn"],
            task="binary",
            schema=SCHEMA,
            random_state=0,
        )
        card = self.registry.register(
            MODEL,
            trained.estimator,
            task="binary",
            feature_schema=SCHEMA,
            now=NOW - timedelta(days=40),
            target="churn",
            classes=(0, 1),
        )
        self.registry.promote(MODEL, card.version, now=NOW - timedelta(days=40), promoted_by="test")
        return card.version

    def score_batches(self, *, concept: str, batches: int, rows: int) -> list[str]:
        model = self.registry.load(MODEL)
        ids = []
        for b in range(batches):
            df = generate(rows, seed=100 + b, concept=concept, start_id=b * rows)
            key = f"incoming/{MODEL}/batch-{b}.csv"
            self.s3.put_object(Bucket=self.res.data_bucket, Key=key, Body=_csv(df.drop(columns="churn")))
            scored_at = self.clock - timedelta(days=batches - b)
            batch_id = f"batch{b:02d}"
            out = f"s3://{self.res.data_bucket}/scored/model={MODEL}/date={scored_at:%Y-%m-%d}/{batch_id}.parquet"
            score_source(
                f"s3://{self.res.data_bucket}/{key}",
                model=model,
                output_uri=out,
                batch_id=batch_id,
                chunk_rows=1000,
                max_reject_fraction=0.1,
                scored_at=scored_at,
                decide=make_decider(self.config.model(MODEL).decision, positive_class=1)
                if self.config.model(MODEL).decision
                else None,
            )
            self.truth[batch_id] = df
            ids.append(batch_id)
        return ids

    def drop_labels(self, name: str, frame: pd.DataFrame) -> None:
        self.s3.put_object(Bucket=self.res.data_bucket, Key=f"labels/{MODEL}/{name}", Body=_csv(frame))

    def all_labels(self, *, unknown: int = 0) -> pd.DataFrame:
        lab = pd.concat([t[["customer_id", "churn"]] for t in self.truth.values()], ignore_index=True)
        extra = pd.DataFrame({"customer_id": [f"ghost{i}" for i in range(unknown)], "churn": 1})
        return pd.concat([lab, extra], ignore_index=True)


@pytest.fixture
def world(resources, monkeypatch):
    registry_mod.clear_cache()
    return World(resources, monkeypatch, config=_config())


def test_labels_join_counts_unknown_ids_and_matches_sklearn(world: World) -> None:
    world.champion()
    batches = world.score_batches(concept="new", batches=3, rows=200)
    labels = world.all_labels(unknown=3)
    # labels for two of the three batches, in two drops, one id labeled twice (the later drop wins)
    first = labels[labels["customer_id"].str[1:].str.isdigit() & (labels["customer_id"] < "c000200")]
    second = labels[(labels["customer_id"] >= "c000200") & (labels["customer_id"] < "c000400")]
    world.drop_labels("drop-1.csv", pd.concat([first, labels.tail(3)]))
    world.drop_labels("drop-2.csv", pd.concat([second, first.head(1)]))
    result = LabelJoiner(data_bucket=world.res.data_bucket, registry=world.registry, now=lambda: NOW).run(
        world.config.model(MODEL), trigger="t1"
    )
    assert result.unknown_ids == 3 and len(result.unknown_sample) == 3
    assert result.duplicate_labels == 1
    assert result.scored_rows == 600 and result.labeled_rows == 400
    assert result.coverage == pytest.approx(400 / 600)
    assert [b.batch_id for b in result.batches] == batches[:2]
    assert all(b.coverage == 1.0 for b in result.batches)
    # realized AUC equals scikit-learn's on the same joined rows
    scored = pd.concat(
        pq.read_table(
            io.BytesIO(world.s3.get_object(Bucket=world.res.data_bucket, Key=k)["Body"].read())
        ).to_pandas()
        for k in sorted(world.stack.keys(f"scored/model={MODEL}/"))
    )
    truth = pd.concat([world.truth[b] for b in batches[:2]])
    joined = scored.merge(truth[["customer_id", "churn"]], on="customer_id")
    assert result.window_metrics["roc_auc"] == pytest.approx(
        skm.roc_auc_score(joined["churn"], joined["score_1"])
    )
    # concept drift: the champion is below the 0.7 floor -> degraded; CBPE shown beside
    assert result.degraded and result.value < 0.7
    assert result.estimated_value is not None
    # the value of the decisions taken: realized (labels) beside expected (scores)
    assert result.window_metrics["decision_value_per_row"] is not None
    assert result.window_estimated["decision_value_per_row"] is not None
    history = world.stack.read_parquet(result.history_uri.split("/", 3)[3])
    assert set(history["scope"]) == {"window", "batch", "version"}
    assert {"realized", "estimated"} <= set(history.columns)
    summary = world.stack.read_json(result.summary_uri.split("/", 3)[3])
    assert summary["unknown_ids"] == 3
    # the label objects are untouched
    assert len(world.stack.keys(f"labels/{MODEL}/")) == 2


def test_retraining_after_concept_drift_promotes_the_challenger(world: World) -> None:
    v1 = world.champion()
    world.score_batches(concept="new", batches=4, rows=300)
    world.drop_labels("all.csv", world.all_labels(unknown=2))
    result = world.steps.run(RetrainRequest(model_name=MODEL, reason="drift"), execution_id="exec-promote")
    assert isinstance(result, PromoteResult)
    assert result.previous_champion == v1 and result.promoted_by == "exec-promote"
    card = world.registry.get(MODEL, "champion")
    assert card.version == result.version and card.parent_version == v1
    assert card.comparison is not None and card.comparison.passed
    assert card.comparison.challenger > card.comparison.champion
    assert card.training_data.rows + card.training_data.holdout_rows == 1200
    assert len(card.training_data.sha256) == 64
    assert card.decision_policy["kind"] == "expected_value" and 0 < card.decision_policy["threshold"] < 1
    assert "decision_value" in card.metrics and "roc_auc" in card.metrics
    assert card.calibration is not None and "ece" in card.calibration
    assert world.registry.get(MODEL, v1).status == "archived"
    profile = world.registry.read_baseline_profile(card)
    assert profile["rows"] == card.training_data.rows
    manifest = world.stack.read_json(f"training/model={MODEL}/run=exec-promote/manifest.json")
    assert manifest["train"]["rows"] == card.training_data.rows
    # the holdout is the latest data (time-based split)
    train = world.stack.read_parquet(f"training/model={MODEL}/run=exec-promote/train.parquet")
    hold = world.stack.read_parquet(f"training/model={MODEL}/run=exec-promote/holdout.parquet")
    assert train["_time"].max() <= hold["_time"].min()
    events = world.stack.events(wait=1.0)
    promoted = [e for e in events if e["detail-type"] == "Model Promoted"]
    assert len(promoted) == 1 and promoted[0]["detail"]["version"] == card.version
    # lock released: another run may start
    assert world.registry.acquire_lock(MODEL, "retraining", owner="next", now=NOW, ttl_seconds=60)
    # rollback restores the previous champion in one step
    world.registry.release_lock(MODEL, "retraining", owner="next")
    restored = world.registry.rollback(MODEL, now=NOW, promoted_by="oncall")
    assert restored.version == v1 and world.registry.get(MODEL, "champion").version == v1
    assert world.registry.get(MODEL, card.version).status == "archived"


def test_retraining_without_drift_is_rejected_with_the_numbers(resources, monkeypatch) -> None:
    registry_mod.clear_cache()
    world = World(resources, monkeypatch, config=_config(min_improvement=0.05))
    v1 = world.champion()
    world.score_batches(concept="old", batches=3, rows=300)
    world.drop_labels("all.csv", world.all_labels())
    result = world.steps.run(RetrainRequest(model_name=MODEL), execution_id="exec-reject")
    assert isinstance(result, RejectResult)
    assert world.registry.get(MODEL, "champion").version == v1
    rejected = world.registry.get(MODEL, result.version)
    assert rejected.status == "rejected"
    assert rejected.comparison is not None and not rejected.comparison.passed
    assert any("min_improvement 0.05" in r and r.endswith("fail") for r in rejected.comparison.reasons)
    events = world.stack.events(wait=1.0)
    assert [e["detail"]["version"] for e in events if e["detail-type"] == "Model Rejected"] == [
        result.version
    ]
    assert world.registry.acquire_lock(MODEL, "retraining", owner="next", now=NOW, ttl_seconds=60)


def test_concurrent_triggers_run_one_retraining(world: World) -> None:
    world.champion()
    world.score_batches(concept="new", batches=2, rows=200)
    world.drop_labels("all.csv", world.all_labels())
    outcomes: dict[str, object] = {}
    barrier = threading.Barrier(3)

    def trigger(i: int) -> None:
        barrier.wait()
        try:
            outcomes[f"e{i}"] = world.steps.assemble(RetrainRequest(model_name=MODEL), execution_id=f"e{i}")
        except RetrainingInProgressError as exc:
            outcomes[f"e{i}"] = exc

    threads = [threading.Thread(target=trigger, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [k for k, v in outcomes.items() if not isinstance(v, Exception)]
    assert len(winners) == 1
    assert sum(isinstance(v, RetrainingInProgressError) for v in outcomes.values()) == 2
    # the winner's failure path releases the lock; then a new trigger runs
    failure = world.steps.notify_failure(
        {
            "model_name": MODEL,
            "error": {"Error": "TrainingError", "Cause": json.dumps({"errorMessage": "boom"})},
        },
        execution_id=winners[0],
    )
    assert failure.lock_released and failure.cause == "boom"
    assert world.steps.assemble(RetrainRequest(model_name=MODEL), execution_id="later").rows > 0
    failed = [e for e in world.stack.events(wait=1.0) if e["detail-type"] == "Retraining Failed"]
    assert failed and failed[0]["detail"]["error"] == "TrainingError"


def test_assemble_without_labels_is_a_training_error_and_run_releases_the_lock(world: World) -> None:
    world.champion()
    world.score_batches(concept="new", batches=1, rows=50)
    with pytest.raises(TrainingError, match="no labeled rows"):
        world.steps.run(RetrainRequest(model_name=MODEL), execution_id="nolabels")
    assert world.registry.acquire_lock(MODEL, "retraining", owner="other", now=NOW, ttl_seconds=60)


def test_label_files_arriving_together_raise_one_performance_degraded(resources, monkeypatch, capsys) -> None:
    from handler_kit import emf_blobs

    from scorewatch.core.thresholds import breach
    from scorewatch.handlers import labels as labels_handler

    registry_mod.clear_cache()
    world = World(resources, monkeypatch, config=_config(), now=datetime.now(UTC))
    world.champion()
    world.score_batches(concept="new", batches=3, rows=300)
    for name in ("a.csv", "b.csv", "c.csv"):  # three label drops within the cooldown
        world.drop_labels(name, world.all_labels(unknown=0))
        put = world.s3.head_object(Bucket=world.res.data_bucket, Key=f"labels/{MODEL}/{name}")
        event = world.stack.s3_event(
            f"labels/{MODEL}/{name}", {"ETag": put["ETag"], "VersionId": put.get("VersionId")}
        )
        capsys.readouterr()
        out = labels_handler.handler(event, Ctx(function_name="labels"))
        assert out["degraded"] is True
        # Below the floor (a score metric): the breach metric the fleet alarm watches is over 1.
        (blob,) = [b for b in emf_blobs(capsys.readouterr().out) if "RealizedPerformance" in b]
        expected = breach(out["value"], out["floor"], higher_is_worse=False)
        assert blob["RealizedPerformanceBreach"] == [pytest.approx(expected)] and expected > 1
    kinds = [e["detail-type"] for e in world.stack.events(wait=1.0)]
    assert kinds == ["Performance Degraded"]


def test_handlers_run_the_workflow_as_step_functions_calls_them(resources, monkeypatch) -> None:
    from scorewatch.handlers import labels as labels_handler
    from scorewatch.handlers import retrain

    # handlers read the wall clock: the scored batches must fall inside the window before it
    registry_mod.clear_cache()
    world = World(resources, monkeypatch, config=_config(), now=datetime.now(UTC))
    world.champion()
    world.score_batches(concept="new", batches=3, rows=300)
    world.drop_labels("all.csv", world.all_labels(unknown=1))
    put = world.s3.head_object(Bucket=world.res.data_bucket, Key=f"labels/{MODEL}/all.csv")
    event = world.stack.s3_event(
        f"labels/{MODEL}/all.csv", {"ETag": put["ETag"], "VersionId": put.get("VersionId")}
    )
    out = labels_handler.handler(event, Ctx(function_name="labels"))
    assert out["unknown_ids"] == 1 and out["labeled_rows"] == 900
    assert [e["detail-type"] for e in world.stack.events(wait=1.0)] == ["Performance Degraded"]

    execution = "arn:aws:states:us-east-1:123456789012:execution:sw-retraining:run-1"
    trigger = {"detail-type": "Drift Detected", "source": "scorewatch", "detail": {"model": MODEL}}
    state = retrain.assemble({"input": trigger, "execution_id": execution}, Ctx())
    assert state["run_id"] == "run-1" and len(json.dumps(state)) < 4096
    with pytest.raises(RetrainingInProgressError):
        retrain.assemble({"input": trigger, "execution_id": "other-execution"}, Ctx())
    state = retrain.train({"input": state, "execution_id": execution}, Ctx())
    state = retrain.evaluate({"input": state, "execution_id": execution}, Ctx())
    assert state["passed"] is True and state["metric"] == "roc_auc"
    result = retrain.promote({"input": state, "execution_id": execution}, Ctx())
    assert result["version"] == state["candidate_version"]
    assert world.registry.get(MODEL, "champion").promoted_by == execution


def test_cli_joins_labels_retrains_and_renders_the_card(resources, monkeypatch, tmp_path, capsys) -> None:
    from scorewatch.cli import main

    registry_mod.clear_cache()
    world = World(resources, monkeypatch, config=_config(), now=datetime.now(UTC))
    world.champion()
    world.score_batches(concept="new", batches=3, rows=250)
    world.drop_labels("all.csv", world.all_labels(unknown=2))
    assert main(["labels", "join", "--model", MODEL]) == 0
    out = capsys.readouterr().out
    assert "unknown ids 2" in out and "BELOW FLOOR" in out
    assert main(["retrain", "--model", MODEL, "--execution-id", "cli-run", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["promoted_by"] == "cli-run"
    # a second trigger while a run holds the lock is refused with a clear message
    assert world.registry.acquire_lock(
        MODEL, "retraining", owner="someone", now=datetime.now(UTC), ttl_seconds=600
    )
    assert main(["retrain", "--model", MODEL]) == 10
    assert "RetrainingInProgressError" in capsys.readouterr().err
    page = tmp_path / "card.html"
    assert main(["card", "--model", MODEL, "--output", str(page)]) == 0
    html = page.read_text()
    assert "cli-run" in html and "Challenger vs champion" in html and "roc_auc" in html


def _churn_module():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "examples" / "churn.py"
    spec = importlib.util.spec_from_file_location("sw_example_churn", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_churn_config_retrains_on_the_drifted_scenario(resources, monkeypatch) -> None:
    """The shipped examples/models.json and churn generator: mixed types, missing values, a new category."""
    from threadpoolctl import threadpool_limits

    # gradient boosting's OpenMP threads thrash on a shared 2-core runner; one thread is faster
    with threadpool_limits(limits=1):
        _example_churn_flow(resources, monkeypatch)


def _example_churn_flow(resources, monkeypatch) -> None:
    churn = _churn_module()
    config = json.loads((churn.Path(churn.__file__).parent / "models.json").read_text())
    # the shipped config as is, with fewer boosting rounds so the test stays fast
    config["models"][0]["retraining"]["spec"]["params"]["max_iter"] = 40
    registry_mod.clear_cache()
    world = World(resources, monkeypatch, config=config)
    numeric = ("tenure_months", "monthly_charges", "total_charges")
    schema = FeatureSchema(
        features=tuple(
            FeatureSpec(
                name=f,
                type="numeric" if f in numeric else "boolean" if f == "senior_citizen" else "categorical",
            )
            for f in churn.FEATURES
        ),
        id_columns=(churn.ID_COLUMN,),
    )
    ref = churn.generate(2000, scenario="reference", seed=3)
    trained = train_model(
        EstimatorSpec(estimator="HistGradientBoostingClassifier", params={"max_iter": 40}),
        ref,
        ref["churn"],
        task="binary",
        schema=schema,
        random_state=0,
    )
    card = world.registry.register(
        "churn",
        trained.estimator,
        task="binary",
        feature_schema=schema,
        now=NOW - timedelta(days=20),
        target="churn",
    )
    world.registry.promote("churn", card.version, now=NOW - timedelta(days=20), promoted_by="test")
    model = world.registry.load("churn")
    for b in range(3):
        df = churn.generate(1000, scenario="drifted", seed=10 + b)
        key = f"incoming/churn/drifted-{b}.csv"
        world.s3.put_object(Bucket=world.res.data_bucket, Key=key, Body=_csv(df.drop(columns="churn")))
        when = NOW - timedelta(days=3 - b)
        score_source(
            f"s3://{world.res.data_bucket}/{key}",
            model=model,
            output_uri=f"s3://{world.res.data_bucket}/scored/model=churn/date={when:%Y-%m-%d}/d{b}.parquet",
            batch_id=f"d{b}",
            chunk_rows=1000,
            max_reject_fraction=0.2,
            scored_at=when,
        )
        world.drop_labels(f"drifted-{b}.csv", churn.labels_for(df))
    result = world.steps.run(RetrainRequest(model_name="churn", reason="drift"), execution_id="example")
    new = world.registry.get("churn", result.version)
    assert new.comparison is not None and new.training_data.rows + new.training_data.holdout_rows == 3000
    assert new.params["estimator"] == "HistGradientBoostingClassifier" and new.params["max_iter"] == 40
    # the challenger has seen the new "Flex monthly" contract; the champion has not
    assert new.comparison.challenger > new.comparison.champion
    assert isinstance(result, PromoteResult) == new.comparison.passed
    assert new.decision_policy["positive_action"] == "retention_offer"


def test_labeled_prefix_in_any_format_with_a_time_column(resources, monkeypatch) -> None:
    registry_mod.clear_cache()
    world = World(
        resources,
        monkeypatch,
        config=_config(
            labeled_prefix="labeled/churn/", use_scored_with_labels=False, time_column="event_time"
        ),
    )
    world.champion()
    data = generate(800, seed=5, concept="new", start_id=0)
    data["event_time"] = pd.date_range("2026-01-01", periods=800, freq="h", tz="UTC")
    shuffled = data.sample(frac=1.0, random_state=0)
    buf = io.BytesIO()
    shuffled.iloc[:400].to_parquet(buf, index=False)
    world.s3.put_object(Bucket=world.res.data_bucket, Key="labeled/churn/a.parquet", Body=buf.getvalue())
    lines = (
        shuffled.iloc[400:]
        .assign(event_time=lambda f: f["event_time"].astype(str))
        .to_json(orient="records", lines=True)
    )
    world.s3.put_object(Bucket=world.res.data_bucket, Key="labeled/churn/b.jsonl", Body=lines.encode())
    assembled = world.steps.assemble(RetrainRequest(model_name=MODEL), execution_id="prefix")
    assert (assembled.rows, assembled.holdout_rows) == (600, 200)
    hold = world.stack.read_parquet(f"training/model={MODEL}/run=prefix/holdout.parquet")
    # the holdout is the last 200 hours by event time, whatever the file order
    assert set(hold["customer_id"]) == set(data["customer_id"].iloc[600:])
    trained = world.steps.train(assembled)
    evaluated = world.steps.evaluate(trained)
    assert evaluated.passed and evaluated.challenger_score > 0.8


@pytest.mark.parametrize("task", ["regression", "multiclass"])
def test_retraining_other_tasks_uses_their_default_metric(resources, monkeypatch, task) -> None:
    registry_mod.clear_cache()
    spec = {"estimator": "Ridge" if task == "regression" else "LogisticRegression", "params": {}}
    world = World(
        resources,
        monkeypatch,
        config={
            "models": [
                {
                    "name": MODEL,
                    "task": task,
                    "target": "y",
                    "id_columns": ["customer_id"],
                    "retraining": {
                        "spec": spec,
                        "labeled_prefix": "labeled/",
                        "use_scored_with_labels": False,
                    },
                }
            ]
        },
    )
    rng = np.random.default_rng(0)
    data = generate(600, seed=9, concept="new", start_id=0).drop(columns="churn")
    signal = 3 * data["x2"] - 2 * data["x1"]
    if task == "regression":
        data["y"] = signal + rng.normal(0, 0.5, len(data))
    else:
        data["y"] = np.where(signal > 1, "high", np.where(signal < -1, "low", "mid"))
    old = data.assign(y=data["y"].sample(frac=1.0, random_state=1).to_numpy())  # champion learns noise
    trained = train_model(EstimatorSpec(**spec), old, old["y"], task=task, schema=SCHEMA, random_state=0)
    card = world.registry.register(
        MODEL, trained.estimator, task=task, feature_schema=SCHEMA, now=NOW, target="y"
    )
    world.registry.promote(MODEL, card.version, now=NOW, promoted_by="test")
    world.s3.put_object(Bucket=world.res.data_bucket, Key="labeled/set.csv", Body=_csv(data))
    result = world.steps.run(RetrainRequest(model_name=MODEL), execution_id=f"other-{task}")
    new = world.registry.get(MODEL, result.version)
    expected = "rmse" if task == "regression" else "f1_macro"
    assert new.comparison.metric == expected and isinstance(result, PromoteResult)
    if task == "regression":
        assert new.comparison.challenger < new.comparison.champion and new.classes is None
    else:
        assert new.comparison.challenger > new.comparison.champion and set(new.classes) == {
            "high",
            "low",
            "mid",
        }
    assert world.registry.read_baseline_profile(new)["rows"] == new.training_data.rows

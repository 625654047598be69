"""LightGBM, XGBoost and CatBoost pipelines saved with skops.io.dump score with their own
probabilities: `scorewatch score --model file.skops`, `scorewatch models register` + score, the
score function, and the large-file path (split -> parts -> finalize), on moto's server."""

from __future__ import annotations

import io
import json

import boto3
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import skops.io as sio
from handler_kit import MODEL, SCHEMA, SCORE_COLUMNS, Ctx, encode, frame, make_stack
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

from scorewatch.cli import EXIT_OK, main
from scorewatch.core.contract import Env
from scorewatch.handlers import finalize, score, split
from scorewatch.io import registry as registry_mod
from scorewatch.io.registry import Registry
from scorewatch.monitoring.profiles import build_profile
from scorewatch.scoring.scorer import predict_frame

FAMILIES = ("lightgbm", "xgboost", "catboost")


def _model(family: str, task: str):
    reg = task == "regression"
    if family == "lightgbm":
        from lightgbm import LGBMClassifier, LGBMRegressor

        return (LGBMRegressor if reg else LGBMClassifier)(n_estimators=20, num_leaves=7, verbose=-1)
    if family == "xgboost":
        from xgboost import XGBClassifier, XGBRegressor

        return (XGBRegressor if reg else XGBClassifier)(n_estimators=20, max_depth=3, n_jobs=1)
    from catboost import CatBoostClassifier, CatBoostRegressor

    cls = CatBoostRegressor if reg else CatBoostClassifier
    return cls(iterations=20, depth=3, verbose=0, allow_writing_files=False, thread_count=1)


def _target(df: pd.DataFrame, task: str) -> pd.Series:
    if task == "regression":
        return df["tenure"] * 2.0 - df["charges"] / 10 + (df["plan"] == "basic") * 5
    return ((df["tenure"] < 20) | (df["plan"] == "basic")).astype(int)


def _pipeline(family: str, task: str = "binary", *, one_hot: bool = True) -> Pipeline:
    train = frame(600, seed=0)
    enc = (
        OneHotEncoder(handle_unknown="ignore")
        if one_hot
        else OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
    )
    ct = ColumnTransformer([("num", "passthrough", ["tenure", "charges"]), ("cat", enc, ["plan"])])
    return Pipeline([("ct", ct), ("model", _model(family, task))]).fit(
        train[SCHEMA.names], _target(train, task)
    )


def _own(pipe, df: pd.DataFrame, task: str = "binary") -> np.ndarray:
    X = df[SCHEMA.names]
    return pipe.predict(X) if task == "regression" else pipe.predict_proba(X)


def _scores(scored: pd.DataFrame, df: pd.DataFrame, task: str = "binary") -> np.ndarray:
    scored = scored.set_index("customer_id").loc[df["customer_id"]]
    return (
        scored["prediction"].to_numpy() if task == "regression" else scored[["score_0", "score_1"]].to_numpy()
    )


@pytest.fixture(scope="module", params=FAMILIES)
def family(request):
    return request.param


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_cli_scores_a_local_skops_file_with_the_models_own_outputs(tmp_path, family, task):
    pipe = _pipeline(family, task)
    model_file = tmp_path / f"{family}.skops"
    sio.dump(pipe, model_file)  # saved the way a user saves it
    batch = frame(300, seed=3, shift=0.5)
    src = tmp_path / "in.csv"
    batch.to_csv(src, index=False)
    out = tmp_path / "out.parquet"
    code = main(
        [
            "score", "--model", str(model_file), "--input", str(src), "--output", str(out),
            "--id-columns", "customer_id", "--chunk-rows", "100",
        ]
    )  # fmt: skip
    assert code == EXIT_OK
    scored = pq.read_table(out).to_pandas()
    np.testing.assert_array_equal(_scores(scored, batch, task), _own(pipe, batch, task))


@pytest.fixture
def env(resources, monkeypatch):
    registry_mod.clear_cache()
    monkeypatch.setenv(Env.REGISTRY_TABLE, resources.registry_table)
    monkeypatch.setenv(Env.MODELS_BUCKET, resources.models_bucket)
    return resources


def test_registered_with_the_cli_and_scored_from_the_registry(env, tmp_path, capsys, family):
    pipe = _pipeline(family)
    model_file = tmp_path / "m.skops"
    sio.dump(pipe, model_file)
    s3 = boto3.client("s3")
    ref = frame(300, seed=1)
    ref["churn"] = _target(ref, "binary")
    s3.put_object(Bucket=env.data_bucket, Key="reference/ref.csv", Body=ref.to_csv(index=False).encode())
    code = main(
        [
            "models", "register", "--name", "fam", "--model-file", str(model_file), "--task", "binary",
            "--reference", f"s3://{env.data_bucket}/reference/ref.csv", "--target", "churn",
            "--id-columns", "customer_id", "--promote", "--json",
        ]
    )  # fmt: skip
    out = capsys.readouterr()
    assert code == EXIT_OK, out.err
    card = json.loads(out.out)
    assert card["status"] == "champion" and card["baseline"]["profile_key"]
    batch = frame(250, seed=2)
    s3.put_object(Bucket=env.data_bucket, Key="incoming/fam/b.csv", Body=batch.to_csv(index=False).encode())
    code = main(
        [
            "score", "--model", "fam@champion", "--input", f"s3://{env.data_bucket}/incoming/fam/b.csv",
            "--output", f"s3://{env.data_bucket}/scored/fam.parquet",
        ]
    )  # fmt: skip
    assert code == EXIT_OK, capsys.readouterr().err
    body = s3.get_object(Bucket=env.data_bucket, Key="scored/fam.parquet")["Body"].read()
    scored = pq.read_table(io.BytesIO(body)).to_pandas()
    np.testing.assert_array_equal(_scores(scored, batch), _own(pipe, batch))


def _register(resources, pipe) -> None:
    train = frame(600, seed=0)
    outputs = predict_frame(pipe, train[SCHEMA.names], task="binary", classes=(0, 1))
    both = pd.concat([train[SCHEMA.names], outputs], axis=1)
    reg = Registry(table_name=resources.registry_table, models_bucket=resources.models_bucket)
    card = reg.register(
        MODEL,
        pipe,
        task="binary",
        feature_schema=SCHEMA,
        now=pd.Timestamp("2026-01-01", tz="UTC").to_pydatetime(),
        classes=(0, 1),
        baseline_profile=build_profile(both, SCHEMA, score_columns=SCORE_COLUMNS).to_dict(),
        baseline_sample=pa.Table.from_pandas(both, preserve_index=False),
    )
    reg.promote(
        MODEL, card.version, now=pd.Timestamp("2026-01-01", tz="UTC").to_pydatetime(), promoted_by="t"
    )


def test_score_function_and_large_file_path_give_the_models_own_probabilities(resources, monkeypatch, family):
    registry_mod.clear_cache()
    arn = boto3.client("stepfunctions").create_state_machine(
        name=f"sw-large-file-{family}",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/sw-large-file",
    )["stateMachineArn"]
    cfg = {"models": [{"name": MODEL, "chunk_rows": 100, "max_input_bytes": 20_000}]}
    stack = make_stack(resources, monkeypatch, config=cfg, extra_env={Env.LARGE_FILE_STATE_MACHINE_ARN: arn})
    pipe = _pipeline(family, one_hot=family != "catboost")
    _register(resources, pipe)

    small = frame(150, seed=4, shift=0.3)
    key = f"incoming/{MODEL}/small.csv"
    assert (
        score.handler(stack.s3_event(key, stack.put(key, encode(small, "csv"))), Ctx())["status"] == "scored"
    )
    (scored_key,) = stack.keys("scored/")
    np.testing.assert_array_equal(_scores(stack.read_parquet(scored_key), small), _own(pipe, small))

    big = frame(900, seed=6, start_id=10_000)
    key = f"incoming/{MODEL}/big.csv"
    started = score.handler(stack.s3_event(key, stack.put(key, encode(big, "csv"))), Ctx())
    assert started["status"] == "split"
    execution = boto3.client("stepfunctions").describe_execution(executionArn=started["execution_arn"])
    planned = split.handler(json.loads(execution["input"]), Ctx(function_name="split"))
    assert planned["parts"] > 1
    manifest = json.loads(
        stack.s3.get_object(Bucket=stack.res.data_bucket, Key=planned["manifest_key"])["Body"].read()
    )
    for item in manifest:
        assert score.handler(item, Ctx())["status"] == "part_scored"
    assert finalize.handler(planned, Ctx(function_name="finalize"))["rows_scored"] == 900
    parts = pd.concat([stack.read_parquet(k) for k in stack.keys("scored/") if "-part-" in k])
    np.testing.assert_array_equal(_scores(parts, big), _own(pipe, big))

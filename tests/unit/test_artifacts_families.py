"""LightGBM, XGBoost and CatBoost artifacts: hash before parse, the distinct-value encoding
speed-up (or its clean fallback), retraining specs, and libraries imported only when needed."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

from scorewatch.core.config import EstimatorSpec
from scorewatch.core.errors import ModelIntegrityError, TrainingError
from scorewatch.core.schema import FeatureSchema, FeatureSpec
from scorewatch.io import artifacts
from scorewatch.lifecycle.training import train_model
from scorewatch.scoring.encoding import accelerate

SCHEMA = FeatureSchema(
    features=(
        FeatureSpec(name="tenure", type="numeric"),
        FeatureSpec(name="plan", type="categorical"),
    )
)


def _frame(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"tenure": rng.normal(size=n), "plan": rng.choice(["basic", "pro", "max"], n)})
    y = pd.Series(((X["tenure"] > 0) | (X["plan"] == "basic")).astype(int))
    return X, y


def _model(family: str):
    if family == "lightgbm":
        from lightgbm import LGBMClassifier

        return LGBMClassifier(n_estimators=15, num_leaves=7, verbose=-1)
    if family == "xgboost":
        from xgboost import XGBClassifier

        return XGBClassifier(n_estimators=15, max_depth=3, n_jobs=1)
    from catboost import CatBoostClassifier

    return CatBoostClassifier(iterations=15, depth=3, verbose=0, allow_writing_files=False, thread_count=1)


def _pipeline(family: str, encoder) -> Pipeline:
    X, y = _frame()
    ct = ColumnTransformer([("num", "passthrough", ["tenure"]), ("cat", encoder, ["plan"])])
    return Pipeline([("ct", ct), ("model", _model(family))]).fit(X, y)


@pytest.mark.parametrize("family", ["lightgbm", "xgboost"])
def test_tampered_booster_artifact_is_refused_by_hash_before_parsing(family, monkeypatch):
    import skops.io as sio

    art = artifacts.dump_artifact(_pipeline(family, OneHotEncoder(handle_unknown="ignore")))
    assert f"{family}.core.Booster" in art.trusted_types or f"{family}.basic.Booster" in art.trusted_types
    # flip one byte inside the booster's payload (the largest member of the zip)
    at = len(art.data) // 2
    tampered = art.data[:at] + bytes([art.data[at] ^ 0x01]) + art.data[at + 1 :]

    def _must_not_parse(*args, **kwargs):
        raise AssertionError("deserializer called before the hash check")

    monkeypatch.setattr(sio, "loads", _must_not_parse)
    monkeypatch.setattr(sio, "get_untrusted_types", _must_not_parse)
    with pytest.raises(ModelIntegrityError, match="sha256 mismatch") as info:
        artifacts.load_artifact(tampered, fmt="skops", expected_sha256=art.sha256, what=f"{family}@000002")
    assert art.sha256 in str(info.value) and artifacts.sha256_hex(tampered) in str(info.value)


@pytest.mark.parametrize("family", ["lightgbm", "xgboost", "catboost"])
@pytest.mark.parametrize("encoder", ["onehot", "ordinal"])
def test_distinct_value_encoding_gives_the_families_own_probabilities(family, encoder):
    enc = (
        OneHotEncoder(handle_unknown="ignore")
        if encoder == "onehot"
        else OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
    )
    pipe = _pipeline(family, enc)
    fast, names = accelerate(pipe)
    assert names == ("ct.cat",)
    X, _ = _frame(3000, seed=4)
    np.testing.assert_array_equal(fast.predict_proba(X), pipe.predict_proba(X))


@pytest.mark.parametrize("family", ["lightgbm", "catboost"])
def test_native_categorical_models_fall_back_to_the_model_itself(family):
    X, y = _frame()
    if family == "catboost":
        from catboost import CatBoostClassifier

        model = CatBoostClassifier(iterations=10, verbose=0, allow_writing_files=False, cat_features=["plan"])
        pipe = Pipeline([("model", model)]).fit(X, y)
    else:
        from lightgbm import LGBMClassifier

        Xc = X.assign(plan=X["plan"].astype("category"))
        pipe = Pipeline([("model", LGBMClassifier(n_estimators=10, verbose=-1))]).fit(Xc, y)
        X = Xc
    fast, names = accelerate(pipe)
    assert fast is pipe and names == ()
    art = artifacts.dump_artifact(pipe)
    loaded = artifacts.load_artifact(art.data, fmt="skops", expected_sha256=art.sha256, what="m@1")
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))


@pytest.mark.parametrize(
    ("estimator", "task", "params"),
    [
        ("LGBMClassifier", "binary", {"n_estimators": 10, "num_leaves": 5, "min_data_in_leaf": 5}),
        ("LGBMRegressor", "regression", {"n_estimators": 10}),
        ("XGBClassifier", "multiclass", {"n_estimators": 10, "max_depth": 2}),
        ("XGBRegressor", "regression", {"n_estimators": 10, "learning_rate": 0.3}),
        ("CatBoostClassifier", "binary", {"iterations": 10, "depth": 3}),
        ("CatBoostRegressor", "regression", {"iterations": 10}),
    ],
)
def test_retraining_spec_builds_each_family_seeded_and_loadable(
    estimator, task, params, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # CatBoost would write catboost_info/ here unless told not to
    X, y = _frame()
    if task == "regression":
        y = X["tenure"] * 3 + (X["plan"] == "pro")
    elif task == "multiclass":
        y = pd.Series(np.digitize(X["tenure"], [-0.5, 0.5]))
    trained = train_model(
        EstimatorSpec(estimator=estimator, params=params), X, y, task=task, schema=SCHEMA, random_state=3
    )
    assert trained.params["estimator"] == estimator and trained.params["random_state"] == 3
    assert {k: trained.params[k] for k in params} == params
    assert list(tmp_path.iterdir()) == []
    art = artifacts.dump_artifact(trained.estimator)
    loaded = artifacts.load_artifact(art.data, fmt="skops", expected_sha256=art.sha256, what="m@1")
    method = "predict" if task == "regression" else "predict_proba"
    np.testing.assert_array_equal(getattr(loaded, method)(X), getattr(trained.estimator, method)(X))


def test_retraining_spec_refuses_an_unknown_family_parameter_by_name():
    X, y = _frame()
    with pytest.raises(TrainingError, match="n_estimatorz"):
        train_model(
            EstimatorSpec(estimator="XGBClassifier", params={"n_estimatorz": 3}),
            X,
            y,
            task="binary",
            schema=SCHEMA,
            random_state=0,
        )
    with pytest.raises(TrainingError, match="is a regressor"):
        train_model(
            EstimatorSpec(estimator="LGBMRegressor"), X, y, task="binary", schema=SCHEMA, random_state=0
        )


LOADED = """
import json, sys
{code}
print(json.dumps([m for m in ("lightgbm", "xgboost", "catboost") if m in sys.modules]))
"""


def _loaded_after(code: str) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", LOADED.format(code=textwrap.dedent(code))],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_boosting_libraries_are_imported_only_by_an_artifact_that_holds_them(tmp_path):
    lgbm = tmp_path / "lgbm.skops"
    lgbm.write_bytes(artifacts.dump_artifact(_pipeline("lightgbm", OneHotEncoder())).data)
    sk = tmp_path / "sk.skops"
    from sklearn.linear_model import LogisticRegression

    sk.write_bytes(artifacts.dump_artifact(LogisticRegression().fit([[0.0], [1.0]], [0, 1])).data)
    load = "from scorewatch.io import artifacts\nartifacts.load_artifact(open({p!r}, 'rb').read(), "
    load += "fmt='skops', expected_sha256=None, what='m')"
    assert _loaded_after("import scorewatch.handlers.score\nimport scorewatch.lifecycle.training") == []
    assert _loaded_after(load.format(p=str(sk))) == []
    assert _loaded_after(load.format(p=str(lgbm))) == ["lightgbm"]

"""Schema inference for local model files without a card."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from scorewatch.core.errors import ModelError
from scorewatch.scoring.schema_inference import NOTICE, infer_schema, infer_task


def _frame(n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "tenure": rng.normal(size=n),
            "plan": rng.choice(["basic", "pro", "max"], n),
            "region": rng.choice(["eu", "us"], n),
            "seats": rng.integers(1, 5, n),
        }
    )


def test_column_transformer_encoders_give_categorical_features_with_categories():
    X = _frame()
    ct = ColumnTransformer(
        [
            ("num", Pipeline([("imp", SimpleImputer()), ("sc", StandardScaler())]), ["tenure", "seats"]),
            (
                "cat",
                Pipeline([("imp", SimpleImputer(strategy="most_frequent")), ("oh", OneHotEncoder())]),
                ["plan"],
            ),
            ("ord", OrdinalEncoder(), ["region"]),
        ]
    )
    pipe = Pipeline([("ct", ct), ("m", HistGradientBoostingClassifier(max_iter=3))]).fit(X, X["tenure"] > 0)
    inferred = infer_schema(pipe)
    schema = inferred.schema
    assert schema.names == ["tenure", "plan", "region", "seats"]
    assert schema.feature("plan").type == "categorical"
    assert schema.feature("plan").categories == ("basic", "max", "pro")
    assert schema.feature("region").categories == ("eu", "us")
    assert schema.feature("tenure").type == "numeric"
    assert schema.feature("seats").type == "numeric"
    assert inferred.task == "binary"
    assert inferred.classes == (False, True)
    assert inferred.notice == NOTICE == "schema inferred from the estimator; no card"


def test_positional_columns_resolve_to_names():
    X = _frame()
    ct = ColumnTransformer([("cat", OneHotEncoder(), [1]), ("num", "passthrough", [0])])
    pipe = Pipeline([("ct", ct), ("m", LogisticRegression())]).fit(X[["tenure", "plan"]], X["region"])
    schema = infer_schema(pipe).schema
    assert schema.feature("plan").categories == ("basic", "max", "pro")
    assert schema.feature("tenure").type == "numeric"


def test_encoder_fitted_on_numbers_keeps_feature_numeric():
    X = _frame()
    ct = ColumnTransformer([("cat", OneHotEncoder(), ["seats"])], remainder="passthrough")
    pipe = Pipeline([("ct", ct), ("m", LogisticRegression())]).fit(X[["seats", "tenure"]], X["region"])
    assert infer_schema(pipe).schema.feature("seats").type == "numeric"


def test_estimator_without_names_takes_columns_and_types_from_sample():
    X = _frame()
    model = RandomForestRegressor(n_estimators=2, random_state=0).fit(
        X[["tenure", "seats"]].to_numpy(), X["tenure"]
    )
    sample = pd.DataFrame(
        {"customer_id": ["a", "b"], "tenure": [" 1.5", "2"], "flag": [True, False], "plan": ["x", "y"]}
    )
    inferred = infer_schema(model, sample, id_columns=["customer_id"])
    assert inferred.task == "regression" and inferred.classes is None
    schema = inferred.schema
    assert schema.names == ["tenure", "flag", "plan"]
    assert [f.type for f in schema.features] == ["numeric", "boolean", "categorical"]
    assert schema.id_columns == ("customer_id",)


def test_estimator_without_names_or_sample_is_a_clear_error():
    model = LogisticRegression().fit(np.array([[0.0], [1.0]]), [0, 1])
    with pytest.raises(ModelError, match="no feature_names_in_"):
        infer_schema(model)


def test_multiclass_task_and_classes():
    X = _frame()
    model = LogisticRegression().fit(X[["tenure"]], X["plan"])
    assert infer_task(model) == ("multiclass", ("basic", "max", "pro"))

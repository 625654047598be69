"""ONNX twins on real data (palmerpenguins): conversion, agreement with the native pipeline for
each task and family, the graph's own feature schema, refusals, and `scorewatch score --model
file.onnx`."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from palmerpenguins import load_penguins

from scorewatch.cli import EXIT_MODEL_ERROR, EXIT_OK, main
from scorewatch.cli.onnx_export import agreement, convert
from scorewatch.core.config import EstimatorSpec
from scorewatch.core.errors import IncompatibleModelError, ModelIntegrityError
from scorewatch.core.schema import FeatureSchema, FeatureSpec
from scorewatch.io import artifacts, onnx_model
from scorewatch.lifecycle.training import build_estimator, build_preprocessor
from scorewatch.scoring.scorer import predict_frame
from scorewatch.scoring.validation import validate_batch

NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
CATEGORICAL = ["island", "sex"]
SCHEMA = FeatureSchema(
    features=tuple(
        FeatureSpec(name=c, type="categorical" if c in CATEGORICAL else "numeric")
        for c in NUMERIC + CATEGORICAL
    )
)


@pytest.fixture(scope="module")
def penguins() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(raw frame, features as the scorer gets them: validated, NaN kept — sex has missing values)."""
    df = load_penguins()
    table = pa.Table.from_pandas(df[SCHEMA.names], preserve_index=False)
    features = validate_batch(table, SCHEMA, row_offset=0, source_uri="penguins").features
    assert features.isna().any().any()  # the missing values go through both paths
    return df, features


def _target(df: pd.DataFrame, task: str) -> pd.Series:
    if task == "binary":
        return (df["species"] == "Adelie").astype(int)
    if task == "multiclass":
        return df["species"]
    return df["body_mass_g"].fillna(df["body_mass_g"].median()) / 1000.0


def _fit(name: str, task: str, penguins, schema: FeatureSchema = SCHEMA):
    df, features = penguins
    y = _target(df, task)
    if task == "regression":  # body mass is the target here, not a feature
        schema = FeatureSchema(features=tuple(f for f in schema.features if f.name != "body_mass_g"))
        features = features[schema.names]
    pipe, _, _ = build_estimator(EstimatorSpec(estimator=name), task=task, schema=schema, random_state=0)
    pipe.fit(features, y)
    classes = (
        tuple(c.item() if hasattr(c, "item") else c for c in pipe.classes_) if task != "regression" else None
    )
    return pipe, schema, features, classes


@pytest.mark.parametrize(
    ("name", "task"),
    [
        ("LogisticRegression", "binary"),
        ("HistGradientBoostingClassifier", "binary"),
        ("LogisticRegression", "multiclass"),
        ("HistGradientBoostingClassifier", "multiclass"),
        ("RandomForestClassifier", "multiclass"),
        ("Ridge", "regression"),
        ("HistGradientBoostingRegressor", "regression"),
    ],
)
def test_twin_scores_like_the_native_pipeline(name, task, penguins):
    pipe, schema, features, classes = _fit(name, task, penguins)
    data = convert(pipe, schema, task=task, classes=classes, name="penguins@1")
    twin = onnx_model.load(data, what="twin")
    assert twin.task == task
    assert list(twin.inputs) == schema.names  # one input per column, named after it
    assert {twin.inputs[c] for c in CATEGORICAL if c in schema.names} == {"tensor(string)"}
    agreed = agreement(pipe, twin, features, task=task, classes=classes)
    assert agreed.passed, agreed
    assert agreed.rows == len(features) == 344
    native = predict_frame(pipe, features, task=task, classes=classes)
    ours = predict_frame(twin, features, task=task, classes=classes)
    assert list(ours.columns) == list(native.columns)  # the same score column names
    if task == "regression":
        assert agreed.max_abs_diff <= 1e-4 * max(1.0, float(native["prediction"].abs().max()))
    else:
        assert agreed.max_abs_diff <= 1e-4
        assert tuple(twin.classes_) == classes
        # labels agree except where two classes tie within float32 precision
        assert (ours["prediction"] == native["prediction"]).mean() > 0.99


def _boosting_pipeline(kind: str, task: str, penguins):
    df, features = penguins
    if kind == "lightgbm":
        lgb = pytest.importorskip("lightgbm")
        est = (lgb.LGBMRegressor if task == "regression" else lgb.LGBMClassifier)(
            n_estimators=40, verbose=-1, random_state=0
        )
    else:
        xgb = pytest.importorskip("xgboost")
        est = (xgb.XGBRegressor if task == "regression" else xgb.XGBClassifier)(
            n_estimators=40, random_state=0
        )
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder

    schema = SCHEMA
    if task == "regression":
        schema = FeatureSchema(features=tuple(f for f in SCHEMA.features if f.name != "body_mass_g"))
    numeric = schema.of_type("numeric")
    pre = ColumnTransformer(
        [
            ("numeric", SimpleImputer(strategy="median"), numeric),
            (
                "categorical",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1
                ),
                CATEGORICAL,
            ),
        ],
        sparse_threshold=0.0,
    )
    y = _target(df, task)
    if kind == "xgboost" and task == "multiclass":
        y = y.map({"Adelie": 0, "Chinstrap": 1, "Gentoo": 2})
    pipe = Pipeline([("preprocess", pre), ("model", est)]).fit(features[schema.names], y)
    classes = (
        tuple(int(c) if not isinstance(c, str) else c for c in pipe.classes_)
        if task != "regression"
        else None
    )
    return pipe, schema, features[schema.names], classes


@pytest.mark.parametrize("kind", ["lightgbm", "xgboost"])
@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_boosting_pipelines_convert_through_onnxmltools(kind, task, penguins):
    pipe, schema, features, classes = _boosting_pipeline(kind, task, penguins)
    data = convert(pipe, schema, task=task, classes=classes, name=f"{kind}@1")
    twin = onnx_model.load(data, what=kind)
    agreed = agreement(pipe, twin, features, task=task, classes=classes)
    assert agreed.passed, agreed


@pytest.mark.parametrize("kind", ["RandomForestClassifier", "XGBRegressor"])
def test_trees_behind_a_scaler_need_the_float64_preprocessing(kind, penguins, monkeypatch):
    """Forests and XGBoost split exactly at training values: scaled in float32 (not float64, as
    scikit-learn does), rows on a threshold fall the other way. The float64 preprocessing agrees;
    the all-float32 conversion is refused by the verification."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline

    from scorewatch.cli import onnx_export

    df, features = penguins
    task = "multiclass" if kind == "RandomForestClassifier" else "regression"
    schema = SCHEMA
    if task == "regression":
        xgb = pytest.importorskip("xgboost")
        schema = FeatureSchema(features=tuple(f for f in SCHEMA.features if f.name != "body_mass_g"))
        est = xgb.XGBRegressor(n_estimators=40, random_state=0)
    else:
        est = RandomForestClassifier(n_estimators=50, random_state=0)
    pre, _ = build_preprocessor(schema, tree_based=True)  # median imputer + StandardScaler
    pipe = Pipeline([("preprocess", pre), ("model", est)]).fit(features[schema.names], _target(df, task))
    classes = tuple(pipe.classes_) if task != "regression" else None
    X = features[schema.names]
    twin = onnx_model.load(convert(pipe, schema, task=task, classes=classes, name="x@1"), what="x")
    assert twin.metadata[onnx_model.META_PRECISION] == "float64"
    assert set(twin.inputs.values()) >= {"tensor(double)", "tensor(string)"}
    exact = agreement(pipe, twin, X, task=task, classes=classes)
    assert exact.passed, exact

    def unavailable(*args, **kwargs):
        raise ValueError("no float64 preprocessing")

    monkeypatch.setattr(onnx_export, "_convert_split", unavailable)
    twin32 = onnx_model.load(convert(pipe, schema, task=task, classes=classes, name="x@1"), what="x")
    assert twin32.metadata[onnx_model.META_PRECISION] == "float32"
    rounded = agreement(pipe, twin32, X, task=task, classes=classes)
    assert not rounded.passed
    assert rounded.max_abs_diff > 100 * rounded.allowed


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_catboost_final_step_goes_through_its_own_onnx_export(task, penguins):
    """CatBoost writes its own graph (numeric inputs, ZipMap probabilities keyed by class index);
    it is appended to the float64 preprocessing like any final step."""
    catboost = pytest.importorskip("catboost")
    from sklearn.pipeline import Pipeline

    df, features = penguins
    schema = SCHEMA
    if task == "regression":
        schema = FeatureSchema(features=tuple(f for f in SCHEMA.features if f.name != "body_mass_g"))
        est = catboost.CatBoostRegressor(
            iterations=50, verbose=0, random_seed=0, thread_count=1, allow_writing_files=False
        )
    else:
        est = catboost.CatBoostClassifier(
            iterations=50, verbose=0, random_seed=0, thread_count=1, allow_writing_files=False
        )
    pre, _ = build_preprocessor(schema, tree_based=True)
    X = features[schema.names]
    pipe = Pipeline([("preprocess", pre), ("model", est)]).fit(X, _target(df, task))
    classes = (
        tuple(c.item() if hasattr(c, "item") else c for c in pipe.classes_) if task != "regression" else None
    )
    twin = onnx_model.load(convert(pipe, schema, task=task, classes=classes, name="cb@1"), what="cb")
    assert twin.metadata[onnx_model.META_PRECISION] == "float64"
    agreed = agreement(pipe, twin, X, task=task, classes=classes)
    assert agreed.passed, agreed


def test_feeding_refuses_a_missing_input_and_text_in_a_numeric_input(penguins):
    pipe, schema, features, classes = _fit("LogisticRegression", "binary", penguins)
    twin = onnx_model.load(convert(pipe, schema, task="binary", classes=classes, name="p@1"), what="p@1")
    with pytest.raises(IncompatibleModelError, match=r"p@1: the ONNX graph needs input\(s\) \['island'\]"):
        twin.predict_proba(features.drop(columns=["island"]))
    bad = features.astype({"bill_depth_mm": object})
    bad.loc[3, "bill_depth_mm"] = "deep"
    with pytest.raises(ValueError, match=r"\['bill_depth_mm'\] cannot feed the numeric ONNX input"):
        twin.predict_proba(bad)


def test_a_foreign_graph_with_zipmap_gives_its_task_classes_and_schema(penguins):
    """A graph another team wrote with skl2onnx's defaults: no scorewatch metadata, ZipMap on."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    pipe, schema, features, classes = _fit("LogisticRegression", "multiclass", penguins)
    types = [(c, FloatTensorType([None, 1])) for c in NUMERIC] + [
        (c, StringTensorType([None, 1])) for c in CATEGORICAL
    ]
    graph = convert_sklearn(pipe, initial_types=types, target_opset={"": 17, "ai.onnx.ml": 3})
    twin = onnx_model.load(graph.SerializeToString(), what="foreign")
    assert twin.metadata == {}
    assert twin.task == "multiclass"
    assert tuple(twin.classes_) == classes
    assert list(twin.feature_names_in_) == schema.names
    assert twin.feature_types() == {
        **dict.fromkeys(NUMERIC, "numeric"),
        **dict.fromkeys(CATEGORICAL, "categorical"),
    }
    agreed = agreement(pipe, twin, features, task="multiclass", classes=classes)
    assert agreed.passed, agreed


def test_onnx_file_format_and_hash_check():
    assert artifacts.format_for_path("s3://b/m/model.ONNX") == "onnx"
    with pytest.raises(ModelIntegrityError, match="not a loadable ONNX model"):
        artifacts.load_artifact(b"not a graph", fmt="onnx", expected_sha256=None, what="x.onnx")
    with pytest.raises(ModelIntegrityError, match="sha256 mismatch"):
        artifacts.load_artifact(b"not a graph", fmt="onnx", expected_sha256="0" * 64, what="x.onnx")


def test_cli_scores_an_onnx_file_like_the_native_model(tmp_path, penguins, capsys):
    df, _ = penguins
    pipe, schema, features, classes = _fit("HistGradientBoostingClassifier", "multiclass", penguins)
    path = tmp_path / "penguins.onnx"
    data = convert(pipe, schema, task="multiclass", classes=classes, name="penguins")
    path.write_bytes(data)
    src = tmp_path / "in.csv"
    raw = df[schema.names].assign(penguin_id=[f"p{i}" for i in range(len(df))])
    raw.to_csv(src, index=False)
    out = tmp_path / "out.parquet"
    args = [
        "score",
        "--model",
        str(path),
        "--input",
        str(src),
        "--output",
        str(out),
        "--id-columns",
        "penguin_id",
    ]
    code = main(args)
    captured = capsys.readouterr()
    assert code == EXIT_OK, captured.err
    assert "feature schema embedded in the ONNX graph" in captured.err
    scored = pq.read_table(out).to_pandas()
    assert (
        len(scored) == 344
        and scored["model_version"].iloc[0] == f"local-{hashlib.sha256(data).hexdigest()[:12]}"
    )
    native = predict_frame(pipe, features, task="multiclass", classes=classes)
    columns = [f"score_{c}" for c in classes]
    assert list(scored.columns[: 1 + len(columns) + 1]) == ["penguin_id", "prediction", *columns]
    diff = np.abs(scored[columns].to_numpy() - native[columns].to_numpy()).max()
    assert diff < 1e-4
    # a wrong --model-sha256 is refused before onnxruntime sees the bytes
    code = main([*args, "--model-sha256", "0" * 64])
    assert code == EXIT_MODEL_ERROR
    assert "sha256 mismatch" in capsys.readouterr().err


def test_registry_takes_only_an_onnx_artifact_already_serialized():
    """A pre-serialized skops or pickle artifact would skip dump_artifact's allowlist: refused
    before any AWS call (the registry is never reached)."""
    from scorewatch.core.errors import UnsafeModelFormatError
    from scorewatch.io.registry import Registry

    reg = Registry(table_name="unused", models_bucket="unused")
    pickled = artifacts.DumpedArtifact(b"\x80\x04.", artifacts.sha256_hex(b"\x80\x04."), "joblib")
    with pytest.raises(
        UnsafeModelFormatError, match="only an ONNX artifact is registered already serialized"
    ):
        reg.register("m", pickled, task="binary", feature_schema=SCHEMA, now=pd.Timestamp("2026-01-01"))
    wrong = artifacts.DumpedArtifact(b"graph", "0" * 64, "onnx")
    with pytest.raises(ModelIntegrityError, match="sha256 mismatch"):
        reg.register("m", wrong, task="binary", feature_schema=SCHEMA, now=pd.Timestamp("2026-01-01"))


def test_a_pipeline_on_a_numeric_matrix_is_fed_one_stacked_tensor(penguins):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    df, features = penguins
    schema = FeatureSchema(features=tuple(f for f in SCHEMA.features if f.type == "numeric"))
    complete = features[schema.names].notna().all(axis=1)
    X, y = features.loc[complete, schema.names], _target(df, "binary")[complete]
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    twin = onnx_model.load(convert(pipe, schema, task="binary", classes=(0, 1), name="m"), what="m")
    assert list(twin.inputs) == ["X"] and not twin.per_column
    assert list(twin.feature_names_in_) == schema.names  # the order the tensor's columns take
    agreed = agreement(pipe, twin, X, task="binary", classes=(0, 1))
    assert agreed.passed, agreed
    # columns are picked by name into the tensor, whatever the frame's order
    assert (twin.predict_proba(X.iloc[:, ::-1]) == twin.predict_proba(X)).all()

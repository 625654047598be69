"""ONNX twins in the registry on moto's server: `scorewatch models export`, the card's agreement
record, hash-pinned loads, refusal above the tolerance, and the score function running the twin."""

from __future__ import annotations

import hashlib
import json

import boto3
import numpy as np
import pandas as pd
import pytest
from handler_kit import MODEL, NOW, SCHEMA, Ctx, encode, frame, make_stack, register_champion

from scorewatch.cli import EXIT_MODEL_ERROR, EXIT_OK, main
from scorewatch.core.contract import Env
from scorewatch.core.errors import ModelIntegrityError
from scorewatch.handlers import score
from scorewatch.io.onnx_model import OnnxModel
from scorewatch.io.registry import Registry, clear_cache
from scorewatch.io.registry.marshalling import card_item, marshal
from scorewatch.scoring.scorer import predict_frame


@pytest.fixture
def stack(resources, monkeypatch):
    st = make_stack(resources, monkeypatch)
    st.card = register_champion(resources)
    monkeypatch.setenv(Env.REGISTRY_TABLE, resources.registry_table)
    monkeypatch.setenv(Env.MODELS_BUCKET, resources.models_bucket)
    clear_cache()
    return st


@pytest.fixture
def reg(stack) -> Registry:
    return Registry(table_name=stack.res.registry_table, models_bucket=stack.res.models_bucket)


def _export(capsys, *extra: str) -> tuple[int, str, str]:
    code = main(["models", "export", f"{MODEL}@champion", "--format", "onnx", *extra])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_export_registers_a_verified_hash_pinned_twin(stack, reg, capsys):
    code, out, err = _export(capsys, "--json")
    assert code == EXIT_OK, err
    card = json.loads(out)
    source = stack.card
    assert card["version"] == "000002" and card["status"] == "candidate"
    assert card["parent_version"] == source.version
    assert card["artifact"]["format"] == "onnx"
    assert card["artifact"]["key"] == f"{MODEL}/000002/model.onnx"
    conv = card["conversion"]
    assert conv["source_version"] == source.version and conv["source_sha256"] == source.artifact.sha256
    assert conv["sample"] == "baseline" and conv["sample_rows"] == 600
    assert 0 <= conv["max_abs_diff"] <= conv["tolerance"] == 1e-4
    assert {"skl2onnx", "onnx", "onnxruntime"} <= set(conv["converter_versions"])
    assert "scikit-learn" not in card["library_versions"]  # no scikit-learn needed to score it
    # same schema and classes; its own pinned copy of the baseline
    assert card["feature_schema"] == json.loads(source.feature_schema.model_dump_json())
    assert card["classes"] == [0, 1]
    assert card["baseline"]["sample_key"] == f"{MODEL}/000002/baseline/sample.parquet"
    # the stored bytes are what the version item's sha256 says
    s3 = boto3.client("s3")
    obj = s3.get_object(Bucket=stack.res.models_bucket, Key=card["artifact"]["key"])["Body"].read()
    item = boto3.client("dynamodb").get_item(
        TableName=stack.res.registry_table, Key={"model_name": {"S": MODEL}, "version": {"S": "000002"}}
    )["Item"]
    assert item["sha256"]["S"] == hashlib.sha256(obj).hexdigest() == card["artifact"]["sha256"]
    loaded = reg.load(MODEL, "2")
    assert isinstance(loaded.estimator, OnnxModel)
    X = frame(200, seed=5)[SCHEMA.names]
    native = predict_frame(reg.load(MODEL, "1").estimator, X, task="binary", classes=(0, 1))
    twin = predict_frame(loaded.estimator, X, task="binary", classes=(0, 1))
    assert list(twin.columns) == list(native.columns) == ["prediction", "score_0", "score_1"]
    assert (
        np.abs(twin[["score_0", "score_1"]].to_numpy() - native[["score_0", "score_1"]].to_numpy()).max()
        < 1e-4
    )
    # the card shows the agreement
    assert main(["models", "show", f"{MODEL}@2"]) == EXIT_OK
    assert "conversion" in capsys.readouterr().out


def test_tampered_onnx_twin_is_refused_by_hash(stack, reg, capsys):
    code, _, err = _export(capsys, "--json")
    assert code == EXIT_OK, err
    card = reg.get(MODEL, "2")
    s3 = boto3.client("s3")
    data = s3.get_object(Bucket=stack.res.models_bucket, Key=card.artifact.key)["Body"].read()
    # a valid graph with one metadata byte changed, at a new S3 version the row is repointed to
    tampered = data.replace(b"scorewatch.task", b"scorewatch.tasK", 1)
    assert tampered != data
    other = s3.put_object(Bucket=stack.res.models_bucket, Key=card.artifact.key, Body=tampered)["VersionId"]
    repointed = card.model_copy(update={"artifact": card.artifact.model_copy(update={"version_id": other})})
    boto3.client("dynamodb").put_item(TableName=stack.res.registry_table, Item=marshal(card_item(repointed)))
    clear_cache()
    with pytest.raises(
        ModelIntegrityError, match=f"{MODEL}@000002.*sha256 mismatch.*expected {card.artifact.sha256}"
    ):
        reg.load(MODEL, "2")


def test_export_above_the_tolerance_is_refused_and_registers_nothing(stack, reg, capsys):
    code, _, err = _export(capsys, "--tolerance", "1e-12")
    assert code == EXIT_MODEL_ERROR
    assert "the ONNX twin disagrees with the native model: max abs difference" in err
    assert "over 600 rows of the baseline sample (tolerance 1e-12" in err
    assert [c.version for c in reg.list_versions(MODEL)] == [stack.card.version]
    keys = boto3.client("s3").list_objects_v2(Bucket=stack.res.models_bucket, Prefix=f"{MODEL}/000002/")
    assert keys.get("KeyCount", 0) == 0


def test_promoted_twin_is_scored_by_the_score_function(stack, reg, capsys):
    code, _, err = _export(capsys, "--json")
    assert code == EXIT_OK, err
    reg.promote(MODEL, "2", now=NOW, promoted_by="test")
    rows = frame(150, seed=9)
    key = f"incoming/{MODEL}/day1.csv"
    put = stack.put(key, encode(rows, "csv"))
    result = score.handler(stack.s3_event(key, put), Ctx())
    assert result["status"] == "scored", result
    assert (result["rows_in"], result["rows_scored"], result["rows_rejected"]) == (150, 150, 0)
    (scored_key,) = stack.keys("scored/")
    scored = stack.read_parquet(scored_key).sort_values("customer_id").reset_index(drop=True)
    assert set(scored["model_version"]) == {"000002"}
    native = predict_frame(reg.load(MODEL, "1").estimator, rows[SCHEMA.names], task="binary", classes=(0, 1))
    assert np.abs(scored["score_1"].to_numpy() - native["score_1"].to_numpy()).max() < 1e-4
    assert (scored["prediction"].to_numpy() == native["prediction"].to_numpy()).all()


def test_an_onnx_file_from_another_team_registers_with_a_baseline_and_scores(stack, reg, tmp_path, capsys):
    """A graph written with skl2onnx's defaults (ZipMap on, no scorewatch metadata), registered
    byte for byte from the CLI with a reference for its baseline."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    native = reg.load(MODEL, "1").estimator
    types = [("tenure", FloatTensorType([None, 1])), ("charges", FloatTensorType([None, 1]))]
    graph = convert_sklearn(native, initial_types=[*types, ("plan", StringTensorType([None, 1]))])
    path = tmp_path / "churn-other-team.onnx"
    path.write_bytes(graph.SerializeToString())
    reference = tmp_path / "reference.csv"
    frame(300, seed=3).to_csv(reference, index=False)
    code = main(
        [
            "models", "register", "--name", "other", "--model-file", str(path), "--task", "binary",
            "--reference", str(reference), "--id-columns", "customer_id", "--json",
        ]
    )  # fmt: skip
    out = capsys.readouterr()
    assert code == EXIT_OK, out.err
    card = json.loads(out.out)
    assert card["artifact"]["format"] == "onnx" and card["artifact"]["key"] == "other/000001/model.onnx"
    assert card["artifact"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()  # as it is
    assert card["classes"] == [0, 1]
    assert [(f["name"], f["type"]) for f in card["feature_schema"]["features"]] == [
        ("tenure", "numeric"),
        ("charges", "numeric"),
        ("plan", "categorical"),
    ]
    assert card["baseline"]["profile_key"] == "other/000001/baseline/profile.json"
    X = frame(50, seed=4)[SCHEMA.names]
    ours = predict_frame(reg.load("other", "1").estimator, X, task="binary", classes=(0, 1))
    theirs = predict_frame(native, X, task="binary", classes=(0, 1))
    assert np.abs(ours["score_1"].to_numpy() - theirs["score_1"].to_numpy()).max() < 1e-4


def _penguins_version(reg: Registry, name: str, estimator: str, task: str, *, with_baseline: bool):
    """A palmerpenguins pipeline (4 numeric features with missing values, island and sex with
    missing values) built by the retraining code, registered with or without a baseline."""
    import pyarrow as pa
    from palmerpenguins import load_penguins

    from scorewatch.core.config import EstimatorSpec
    from scorewatch.core.schema import FeatureSchema, FeatureSpec
    from scorewatch.lifecycle.training import build_estimator
    from scorewatch.monitoring.profiles import build_profile
    from scorewatch.scoring.validation import validate_batch

    df = load_penguins()
    numeric = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm"]
    if task != "regression":
        numeric.append("body_mass_g")
    schema = FeatureSchema(
        features=(
            *(FeatureSpec(name=c, type="numeric") for c in numeric),
            FeatureSpec(name="island", type="categorical"),
            FeatureSpec(name="sex", type="categorical"),
        )
    )
    X = validate_batch(pa.Table.from_pandas(df[schema.names]), schema, row_offset=0, source_uri="p").features
    y = df["species"] if task == "multiclass" else df["body_mass_g"].fillna(4200.0)
    pipe, params, _ = build_estimator(
        EstimatorSpec(estimator=estimator), task=task, schema=schema, random_state=0
    )
    pipe.fit(X, y)
    classes = tuple(str(c) for c in pipe.classes_) if task == "multiclass" else None
    kw = {}
    if with_baseline:
        outputs = predict_frame(pipe, X, task=task, classes=classes)
        both = pd.concat([X, outputs], axis=1)
        kw["baseline_profile"] = build_profile(both, schema, score_columns=tuple(outputs.columns)).to_dict()
        kw["baseline_sample"] = pa.Table.from_pandas(both, preserve_index=False)
    card = reg.register(
        name, pipe, task=task, feature_schema=schema, now=NOW, classes=classes, params=params, **kw
    )
    return card, pipe, X, df


def test_penguins_forest_round_trip_through_the_registry(stack, reg):
    """Scaler + random forest (splits at training values): the float64 preprocessing keeps it
    within the tolerance on the baseline sample, missing values included."""
    from scorewatch.cli.onnx_export import export_onnx

    card, pipe, X, _ = _penguins_version(
        reg, "penguins", "RandomForestClassifier", "multiclass", with_baseline=True
    )
    twin = export_onnx(reg, "penguins", card.version, now=NOW)
    assert twin.conversion is not None
    assert twin.conversion.sample == "baseline" and twin.conversion.sample_rows == 344
    assert twin.conversion.max_abs_diff <= 1e-4
    assert twin.classes == ("Adelie", "Chinstrap", "Gentoo")
    loaded = reg.load("penguins", twin.version)
    assert loaded.card.artifact.format == "onnx"
    ours = predict_frame(loaded.estimator, X, task="multiclass", classes=twin.classes)
    native = predict_frame(pipe, X, task="multiclass", classes=twin.classes)
    scores = [f"score_{c}" for c in twin.classes]
    assert np.abs(ours[scores].to_numpy() - native[scores].to_numpy()).max() == pytest.approx(
        twin.conversion.max_abs_diff
    )


def test_regression_without_a_baseline_is_verified_on_a_stated_sample(stack, reg):
    from scorewatch.cli.onnx_export import export_onnx
    from scorewatch.core.errors import ConfigError

    card, pipe, X, df = _penguins_version(
        reg, "mass", "HistGradientBoostingRegressor", "regression", with_baseline=False
    )
    with pytest.raises(ConfigError, match="has no baseline sample: give --sample URI"):
        export_onnx(reg, "mass", card.version, now=NOW)
    stack.put("verify/penguins.csv", df.to_csv(index=False).encode())
    sample = f"s3://{stack.res.data_bucket}/verify/penguins.csv"
    twin = export_onnx(reg, "mass", card.version, now=NOW, sample_uri=sample)
    assert twin.conversion is not None
    assert twin.conversion.sample == sample and twin.conversion.sample_rows == 344
    ceiling = float(np.abs(pipe.predict(X)).max())
    assert twin.conversion.max_abs_diff <= 1e-4 * ceiling  # relative to the predictions' scale
    assert twin.baseline.sample_key is None

"""Streaming scoring of local files: outputs, lineage, rejected rows, atomicity."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from scorewatch.core.cards import ArtifactRef, ModelCard
from scorewatch.core.errors import (
    InputRejectedError,
    MissingColumnsError,
    TooManyRejectedRowsError,
    UnsupportedFormatError,
)
from scorewatch.core.schema import FeatureSchema, FeatureSpec
from scorewatch.io import storage
from scorewatch.scoring.scorer import batch_id_for, predict_frame, score_source, write_rejections
from scorewatch.scoring.validation import RejectedRow

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
SCHEMA = FeatureSchema(
    features=(
        FeatureSpec(name="tenure", type="numeric"),
        FeatureSpec(name="spend", type="numeric"),
        FeatureSpec(name="plan", type="categorical", categories=("basic", "pro")),
    ),
    id_columns=("customer_id",),
)


@dataclass(frozen=True)
class Loaded:
    card: ModelCard
    estimator: Any


def _card(task: str = "binary", classes=(0, 1), schema: FeatureSchema = SCHEMA) -> ModelCard:
    return ModelCard(
        model_name="churn",
        version="000003",
        task=task,
        feature_schema=schema,
        classes=classes,
        artifact=ArtifactRef(key="churn/000003/model.skops", sha256="0" * 64, size_bytes=1),
        created_at=NOW,
    )


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": [f"c{i:05d}" for i in range(n)],
            "tenure": rng.integers(0, 60, n).astype(float),
            "spend": rng.normal(50, 10, n).round(2),
            "plan": rng.choice(["basic", "pro"], n),
        }
    )


def _pipeline(kind: str = "logreg") -> Pipeline:
    train = _frame(400, seed=1)
    y = ((train["tenure"] < 20) ^ (train["plan"] == "pro")).astype(int)
    pre = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["tenure", "spend"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
        ]
    )
    est = LogisticRegression() if kind == "logreg" else HistGradientBoostingClassifier(max_iter=20)
    return Pipeline([("pre", pre), ("model", est)]).fit(train[["tenure", "spend", "plan"]], y)


@pytest.fixture(scope="module")
def model() -> Loaded:
    return Loaded(card=_card(), estimator=_pipeline())


def _write_csv(path: Path, df: pd.DataFrame) -> str:
    df.to_csv(path, index=False)
    return str(path)


def _digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _score(src: str, model: Loaded, out: str, **kw):
    args = {"batch_id": "b1", "chunk_rows": 64, "max_reject_fraction": 0.05, "scored_at": NOW, **kw}
    return score_source(src, model=model, output_uri=out, **args)


def test_batch_id_is_deterministic_and_depends_on_source_and_version() -> None:
    a = batch_id_for("s3://b/k.csv#version=1", "000001")
    assert a == batch_id_for("s3://b/k.csv#version=1", "000001")
    assert a != batch_id_for("s3://b/k.csv#version=2", "000001")
    assert a != batch_id_for("s3://b/k.csv#version=1", "000002")
    assert len(a) == 24 and int(a, 16) >= 0


def test_predict_frame_gives_prediction_and_one_score_per_class(model: Loaded) -> None:
    x = _frame(10)[["tenure", "spend", "plan"]]
    out = predict_frame(model.estimator, x, task="binary", classes=[0, 1])
    assert list(out.columns) == ["prediction", "score_0", "score_1"]
    np.testing.assert_allclose(out[["score_0", "score_1"]].to_numpy(), model.estimator.predict_proba(x))
    assert out["prediction"].tolist() == model.estimator.predict(x).tolist()


def test_predict_frame_for_regressor_gives_prediction_only() -> None:
    x = pd.DataFrame({"a": [0.0, 1.0, 2.0]})
    out = predict_frame(LinearRegression().fit(x, [1.0, 3.0, 5.0]), x, task="regression", classes=None)
    assert list(out.columns) == ["prediction"]
    np.testing.assert_allclose(out["prediction"], [1.0, 3.0, 5.0])


def test_predict_frame_uses_string_class_labels_in_column_names() -> None:
    x = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    est = LogisticRegression().fit(x, ["no", "no", "yes", "yes"])
    out = predict_frame(est, x, task="binary", classes=None)
    assert list(out.columns) == ["prediction", "score_no", "score_yes"]
    assert out["prediction"].tolist() == ["no", "no", "yes", "yes"]


def test_scores_csv_in_chunks_with_lineage_and_ids(tmp_path: Path, model: Loaded) -> None:
    df = _frame(300)
    src = _write_csv(tmp_path / "in.csv", df)
    out = str(tmp_path / "out" / "scored.parquet")
    seen: list[int] = []
    result = _score(src, model, out, observers=(lambda f, o: seen.append(len(f)),))
    table = pq.read_table(out)
    assert result.rows_in == result.rows_scored == table.num_rows == 300 and result.rows_rejected == 0
    assert seen == [64, 64, 64, 64, 44]
    assert table.column_names == [
        "customer_id",
        "prediction",
        "score_0",
        "score_1",
        "model_name",
        "model_version",
        "batch_id",
        "source_uri",
        "scored_at",
    ]
    assert table.schema.field("model_name").type == pa.string()
    assert table.schema.field("scored_at").type == pa.timestamp("us", tz="UTC")
    got = table.to_pandas()
    assert got["customer_id"].tolist() == df["customer_id"].tolist()
    assert set(got["model_name"]) == {"churn"} and set(got["model_version"]) == {"000003"}
    assert set(got["batch_id"]) == {"b1"} and set(got["source_uri"]) == {src}
    assert set(got["scored_at"]) == {pd.Timestamp(NOW)}
    expected = model.estimator.predict_proba(df[["tenure", "spend", "plan"]])[:, 1]
    np.testing.assert_allclose(got["score_1"], expected)


def test_output_dictionary_encodes_repeating_columns_only(tmp_path: Path, model: Loaded) -> None:
    """Ids and scores are written plain: a dictionary for unique values is built and abandoned
    in every row group (0.33 s of CPU per million rows); lineage and predictions repeat."""
    src = _write_csv(tmp_path / "in.csv", _frame(300))
    out = str(tmp_path / "scored.parquet")
    _score(src, model, out)
    meta = pq.ParquetFile(out).metadata.row_group(0)
    encodings = {meta.column(i).path_in_schema: meta.column(i).encodings for i in range(meta.num_columns)}
    plain = {name for name, enc in encodings.items() if not any("DICTIONARY" in e for e in enc)}
    assert plain == {"customer_id", "score_0", "score_1"}
    assert pq.read_table(out).column("customer_id").to_pylist() == _frame(300)["customer_id"].tolist()


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl", ".csv.gz"])
def test_every_format_scores_to_the_same_predictions(tmp_path: Path, model: Loaded, suffix: str) -> None:
    df = _frame(150)
    src = str(tmp_path / f"in{suffix}")
    if suffix == ".parquet":
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), src, row_group_size=40)
    elif suffix == ".jsonl":
        df.to_json(src, orient="records", lines=True)
    else:
        df.to_csv(src, index=False, compression="gzip")
    out = str(tmp_path / "o.parquet")
    assert _score(src, model, out).rows_scored == 150
    expected = model.estimator.predict_proba(df[["tenure", "spend", "plan"]])[:, 1]
    np.testing.assert_allclose(pq.read_table(out).column("score_1").to_numpy(), expected)


def test_hist_gradient_boosting_pipeline_with_categorical_features_scores(tmp_path: Path) -> None:
    loaded = Loaded(card=_card(), estimator=_pipeline("hgb"))
    src = _write_csv(tmp_path / "in.csv", _frame(100))
    result = _score(src, loaded, str(tmp_path / "o.parquet"))
    assert result.rows_scored == 100


def test_unseen_category_is_scored_by_an_encoder_that_ignores_unknowns(tmp_path: Path, model: Loaded) -> None:
    df = _frame(50)
    df.loc[:9, "plan"] = "enterprise"
    src = _write_csv(tmp_path / "in.csv", df)
    result = _score(src, model, str(tmp_path / "o.parquet"))
    assert result.rows_scored == 50 and result.rows_rejected == 0


def test_unseen_category_with_strict_spec_is_rejected_by_row(tmp_path: Path) -> None:
    strict = FeatureSchema(
        features=(
            SCHEMA.features[0],
            SCHEMA.features[1],
            FeatureSpec(name="plan", type="categorical", categories=("basic", "pro"), strict=True),
        ),
        id_columns=("customer_id",),
    )
    loaded = Loaded(card=_card(schema=strict), estimator=_pipeline())
    df = _frame(100)
    df.loc[4, "plan"] = "enterprise"
    src = _write_csv(tmp_path / "in.csv", df)
    result = _score(src, loaded, str(tmp_path / "o.parquet"))
    assert result.rows_rejected == 1
    assert result.rejected == [
        RejectedRow(
            5,
            "plan",
            "enterprise",
            "category not in the allowed categories",
            ids=(("customer_id", "c00004"),),
        )
    ]


def test_rejected_rows_under_the_limit_are_reported_and_the_rest_scored(
    tmp_path: Path, model: Loaded
) -> None:
    df = _frame(100).astype({"spend": object})
    df.loc[69, "spend"] = "n/a?"
    src = _write_csv(tmp_path / "in.csv", df)
    out = str(tmp_path / "o.parquet")
    result = _score(src, model, out)
    assert (result.rows_in, result.rows_scored, result.rows_rejected) == (100, 99, 1)
    assert result.rejected == [
        RejectedRow(70, "spend", "n/a?", "not a number", ids=(("customer_id", "c00069"),))
    ]
    assert "c00069" not in pq.read_table(out).column("customer_id").to_pylist()


def test_too_many_rejected_rows_rejects_the_batch_and_writes_nothing(tmp_path: Path, model: Loaded) -> None:
    df = _frame(200).astype({"tenure": object})
    df.loc[150:170, "tenure"] = "abc"  # 21 of 200 rows (10.5%), all after several chunks were written
    src = _write_csv(tmp_path / "in.csv", df)
    before = _digest(src)
    out = tmp_path / "out" / "scored.parquet"
    with pytest.raises(TooManyRejectedRowsError) as err:
        _score(src, model, str(out))
    msg = str(err.value)
    assert src in msg and "21 of 200" in msg and "row 151" in msg and "'tenure'" in msg and "'abc'" in msg
    assert not out.exists() and not any(p.name.endswith(".parquet") for p in out.parent.iterdir())
    assert _digest(src) == before


def test_too_many_rejected_rows_in_parquet_stops_before_reading_everything(
    tmp_path: Path, model: Loaded
) -> None:
    df = _frame(1000)
    df["tenure"] = df["tenure"].astype(str)
    df.loc[:99, "tenure"] = "x"
    src = str(tmp_path / "in.parquet")
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), src, row_group_size=100)
    with pytest.raises(TooManyRejectedRowsError, match="at least"):
        _score(src, model, str(tmp_path / "o.parquet"), chunk_rows=100)
    assert not (tmp_path / "o.parquet").exists()


def test_all_null_nullable_column_is_scored_with_missing_values(tmp_path: Path, model: Loaded) -> None:
    df = _frame(50)
    df["spend"] = ""
    src = _write_csv(tmp_path / "in.csv", df)
    assert _score(src, model, str(tmp_path / "o.parquet")).rows_scored == 50


def test_all_null_non_nullable_column_rejects_the_batch_naming_the_column(tmp_path: Path) -> None:
    schema = FeatureSchema(
        features=(FeatureSpec(name="tenure", type="numeric", nullable=False), *SCHEMA.features[1:]),
        id_columns=("customer_id",),
    )
    loaded = Loaded(card=_card(schema=schema), estimator=_pipeline())
    df = _frame(50)
    df["tenure"] = ""
    src = _write_csv(tmp_path / "in.csv", df)
    with pytest.raises(TooManyRejectedRowsError, match="'tenure'.*null in non-nullable column"):
        _score(src, loaded, str(tmp_path / "o.parquet"))


def test_missing_required_column_is_named(tmp_path: Path, model: Loaded) -> None:
    src = _write_csv(tmp_path / "in.csv", _frame(10).drop(columns=["spend"]))
    with pytest.raises(MissingColumnsError, match=r"in\.csv: missing required feature column\(s\) spend"):
        _score(src, model, str(tmp_path / "o.parquet"))
    assert not (tmp_path / "o.parquet").exists()


def test_unsupported_format_is_rejected_before_scoring(tmp_path: Path, model: Loaded) -> None:
    src = tmp_path / "in.xlsx"
    src.write_bytes(b"PK\x03\x04")
    with pytest.raises(UnsupportedFormatError, match="in.xlsx"):
        _score(str(src), model, str(tmp_path / "o.parquet"))


def test_decision_column_added_when_a_policy_is_given(tmp_path: Path, model: Loaded) -> None:
    src = _write_csv(tmp_path / "in.csv", _frame(30))
    out = str(tmp_path / "o.parquet")
    _score(src, model, out, decide=lambda o: np.where(o["score_1"] >= 0.5, "contact", "skip"))
    t = pq.read_table(out).to_pandas()
    assert "decision" in t.columns
    assert (t["decision"] == np.where(t["score_1"] >= 0.5, "contact", "skip")).all()


def test_regression_model_scores_prediction_only(tmp_path: Path) -> None:
    train = _frame(100)
    pre = ColumnTransformer(
        [("n", "passthrough", ["tenure", "spend"]), ("c", OneHotEncoder(handle_unknown="ignore"), ["plan"])]
    )
    est = Pipeline([("pre", pre), ("m", LinearRegression())]).fit(
        train[["tenure", "spend", "plan"]], train["spend"] * 2
    )
    loaded = Loaded(card=_card(task="regression", classes=None), estimator=est)
    src = _write_csv(tmp_path / "in.csv", _frame(40))
    out = str(tmp_path / "o.parquet")
    _score(src, loaded, out)
    t = pq.read_table(out)
    assert "prediction" in t.column_names and not any(c.startswith("score_") for c in t.column_names)


def test_byte_range_parts_add_up_to_the_whole_file(tmp_path: Path, model: Loaded) -> None:
    df = _frame(500)
    src = _write_csv(tmp_path / "in.csv", df)
    parts = storage.plan_parts(src, target_bytes=2000)
    assert len(parts) >= 5
    ids: list[str] = []
    for part in parts:
        out = str(tmp_path / f"part-{part.index}.parquet")
        _score(src, model, out, byte_range=part.byte_range)
        ids += pq.read_table(out).column("customer_id").to_pylist()
    assert ids == df["customer_id"].tolist()


def test_write_rejections_writes_rows_as_parquet_and_whole_file_report_as_json(tmp_path: Path) -> None:
    rows = [
        RejectedRow(3, "x", "abc", "not a number"),
        RejectedRow(9, "x", None, "null in non-nullable column"),
    ]
    pq_uri = write_rejections(str(tmp_path / "r.parquet"), "s3://b/in.csv", rows, reason="invalid_rows")
    t = pq.read_table(pq_uri).to_pylist()
    assert t[0] == {
        "row": 3,
        "column": "x",
        "value": "abc",
        "reason": "not a number",
        "source_uri": "s3://b/in.csv",
        "batch_reason": "invalid_rows",
    }
    js = write_rejections(
        str(tmp_path / "r.json"), "s3://b/in.csv", [], reason="missing_columns", message="no x"
    )
    report = storage.read_json(js)
    assert (
        report["reason"] == "missing_columns" and report["message"] == "no x" and report["rows_rejected"] == 0
    )


def test_write_rejections_leaves_no_temp_files(tmp_path: Path) -> None:
    write_rejections(str(tmp_path / "r.parquet"), "in.csv", [RejectedRow(1, "x", "a", "r")], reason="r")
    assert sorted(os.listdir(tmp_path)) == ["r.parquet"]


def _no_imputer_model(handle_unknown: str = "ignore") -> Loaded:
    train = _frame(400, seed=1)
    y = ((train["tenure"] < 20) ^ (train["plan"] == "pro")).astype(int)
    pre = ColumnTransformer(
        [
            ("num", StandardScaler(), ["tenure", "spend"]),
            ("cat", OneHotEncoder(handle_unknown=handle_unknown), ["plan"]),
        ]
    )
    est = Pipeline([("pre", pre), ("model", LogisticRegression())]).fit(train[["tenure", "spend", "plan"]], y)
    return Loaded(card=_card(), estimator=est)


def test_missing_value_a_model_without_imputer_cannot_take_rejects_only_that_row(tmp_path: Path) -> None:
    df = _frame(200)
    df["spend"] = df["spend"].astype(object)
    df.loc[[3, 150], "spend"] = ""
    src = _write_csv(tmp_path / "in.csv", df)
    before = _digest(src)
    result = _score(src, _no_imputer_model(), str(tmp_path / "out.parquet"))
    assert (result.rows_in, result.rows_scored, result.rows_rejected) == (200, 198, 2)
    assert [(r.row, r.column) for r in result.rejected] == [(4, "spend"), (151, "spend")]
    assert "no imputer" in result.rejected[0].reason
    out = pq.read_table(tmp_path / "out.parquet").to_pandas()
    assert len(out) == 198
    assert "c00003" not in set(out["customer_id"]) and "c00150" not in set(out["customer_id"])
    assert _digest(src) == before


def test_model_refusing_valid_rows_rejects_the_file_instead_of_crashing(tmp_path: Path) -> None:
    df = _frame(50)
    df.loc[7, "plan"] = "enterprise"  # unseen, and the encoder was fitted with handle_unknown="error"
    src = _write_csv(tmp_path / "in.csv", df)
    with pytest.raises(InputRejectedError, match=r"in\.csv: the model refused rows 1-50") as info:
        _score(src, _no_imputer_model(handle_unknown="error"), str(tmp_path / "out.parquet"))
    assert info.value.reason == "model_rejected_input"
    assert not (tmp_path / "out.parquet").exists()


class _SlowFinal(BaseEstimator, ClassifierMixin):
    """A final step slow enough that the reader thread always has a chunk queued ahead of it
    (so it runs the pipeline's transformers there); records which thread transformed."""

    def __init__(self, inner: Any = None, delay: float = 0.02):
        self.inner = inner
        self.delay = delay

    def fit(self, X: Any, y: Any) -> _SlowFinal:
        self.inner_ = clone(self.inner).fit(X, y)
        self.classes_ = self.inner_.classes_
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        time.sleep(self.delay)
        return self.inner_.predict_proba(X)


class _ThreadRecorder(BaseEstimator, TransformerMixin):
    threads: ClassVar[list[str]] = []

    def fit(self, X: Any, y: Any = None) -> _ThreadRecorder:
        return self

    def transform(self, X: Any) -> Any:
        _ThreadRecorder.threads.append(threading.current_thread().name)
        return X


def _slow_pipeline(imputer: bool = True) -> Pipeline:
    train = _frame(400, seed=1)
    y = ((train["tenure"] < 20) ^ (train["plan"] == "pro")).astype(int)
    num = make_pipeline(SimpleImputer(), StandardScaler()) if imputer else StandardScaler()
    pre = ColumnTransformer(
        [("num", num, ["tenure", "spend"]), ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"])]
    )
    steps = [("record", _ThreadRecorder()), ("pre", pre), ("model", _SlowFinal(LogisticRegression()))]
    return Pipeline(steps).fit(train[["tenure", "spend", "plan"]], y)


def test_pipeline_transformers_run_ahead_in_the_reader_thread_with_identical_scores(tmp_path: Path) -> None:
    df = _frame(2000, seed=5)
    src = _write_csv(tmp_path / "in.csv", df)
    est = _slow_pipeline()
    _ThreadRecorder.threads.clear()
    result = _score(src, Loaded(card=_card(), estimator=est), str(tmp_path / "out.parquet"))
    assert result.rows_scored == 2000
    # most chunks were transformed ahead, in the reader thread (the first ones reach the main
    # thread before anything is queued behind them)
    assert _ThreadRecorder.threads.count("scorewatch-prefetch") >= 20
    out = pq.read_table(tmp_path / "out.parquet").to_pandas()
    expected = est.predict_proba(df[["tenure", "spend", "plan"]])
    np.testing.assert_array_equal(out["score_1"].to_numpy(), expected[:, 1])
    assert out["customer_id"].tolist() == df["customer_id"].tolist()


def test_a_chunk_the_final_step_refuses_after_the_reader_thread_transformed_it_is_handled_as_usual(
    tmp_path: Path,
) -> None:
    df = _frame(2000, seed=6)
    df["spend"] = df["spend"].astype(object)
    df.loc[[1500, 1800], "spend"] = ""
    src = _write_csv(tmp_path / "in.csv", df)
    _ThreadRecorder.threads.clear()
    result = _score(
        src, Loaded(card=_card(), estimator=_slow_pipeline(imputer=False)), str(tmp_path / "out.parquet")
    )
    assert "scorewatch-prefetch" in _ThreadRecorder.threads
    assert (result.rows_scored, result.rows_rejected) == (1998, 2)
    assert [(r.row, r.column) for r in result.rejected] == [(1501, "spend"), (1801, "spend")]
    assert "no imputer" in result.rejected[0].reason

"""The stable Python API: ``from scorewatch import compare, profile, score_file, ...``."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import scorewatch
from scorewatch import DriftSettings, FeatureSchema, compare, profile, score_file


def _wine() -> pd.DataFrame:
    frame = load_wine(as_frame=True).frame
    frame["cultivar"] = frame.pop("target").map({0: "a", 1: "b", 2: "c"})
    return frame


def test_every_public_name_resolves_and_is_listed() -> None:
    assert set(scorewatch.__all__) == set(scorewatch._EXPORTS)
    for name in scorewatch.__all__:
        assert getattr(scorewatch, name) is not None, name
    assert {"compare", "profile", "score_file", "DriftSettings", "FeatureSchema"} <= set(dir(scorewatch))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = scorewatch.nope


def test_importing_the_package_imports_no_data_library() -> None:
    code = (
        "import sys, scorewatch; "
        "print(sorted(m for m in ('pandas', 'sklearn', 'pyarrow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_compare_on_a_random_split_of_a_real_table_flags_nothing_and_a_shift_only_its_column() -> None:
    frame = _wine().sample(frac=1.0, random_state=3).reset_index(drop=True)
    ref, cur = frame.iloc[:89], frame.iloc[89:].copy()
    same = compare(ref, cur, settings=DriftSettings(multivariate=False))
    assert same.drifted_features == ()
    cur["alcohol"] = cur["alcohol"] + 2 * frame["alcohol"].std()
    shifted = compare(ref, cur, settings=DriftSettings(multivariate=False))
    assert shifted.drifted_features == ("alcohol",)


def test_profile_takes_an_explicit_schema() -> None:
    frame = _wine()
    schema = FeatureSchema.model_validate({"features": [{"name": "alcohol", "type": "numeric"}]})
    prof = profile(frame, schema=schema)
    assert [c.name for c in prof.columns] == ["alcohol"]


def test_score_file_gives_the_models_own_probabilities(tmp_path) -> None:
    skops_io = pytest.importorskip("skops.io")
    frame = _wine()
    frame["id"] = np.arange(len(frame))
    features = [c for c in frame.columns if c not in {"id", "cultivar", "ash"}]
    frame["ash_band"] = pd.cut(frame["ash"], 3, labels=["low", "mid", "high"]).astype(str)
    numeric = list(features)
    pipe = make_pipeline(
        ColumnTransformer(
            [
                ("num", StandardScaler(), numeric),
                ("cat", OneHotEncoder(handle_unknown="ignore"), ["ash_band"]),
            ]
        ),
        LogisticRegression(max_iter=2000),
    )
    X = frame[[*numeric, "ash_band"]]
    pipe.fit(X, frame["cultivar"])
    model = tmp_path / "wine.skops"
    skops_io.dump(pipe, model)
    source = tmp_path / "wine.csv"
    frame.drop(columns=["cultivar"]).to_csv(source, index=False)

    result = score_file(str(model), str(source), str(tmp_path / "out") + "/", id_columns=["id"])

    assert result.rows_in == result.rows_scored == len(frame) and result.rows_rejected == 0
    out = pd.read_parquet(result.output_uri)
    out = out.assign(id=out["id"].astype(int)).sort_values("id")
    expected = pipe.predict_proba(X)
    for i, cls in enumerate(pipe.classes_):
        np.testing.assert_allclose(out[f"score_{cls}"].to_numpy(), expected[:, i], rtol=0, atol=1e-12)
    assert list(out["id"]) == list(frame["id"])

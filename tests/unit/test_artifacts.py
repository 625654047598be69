"""Artifact serialization: hash before parse, trusted types only, pickle opt-in, version guard."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from scorewatch.core.errors import IncompatibleModelError, ModelIntegrityError, UnsafeModelFormatError
from scorewatch.io import artifacts


class _Shady(BaseEstimator, TransformerMixin):
    """A transformer type nobody put on the allowlist."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X


def _frame(n: int = 200) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"tenure": rng.normal(size=n), "plan": rng.choice(["basic", "pro", "max"], n)})
    y = pd.Series((X["tenure"] > 0).astype(int))
    return X, y


def _pipeline(model) -> Pipeline:
    X, y = _frame()
    ct = ColumnTransformer(
        [
            ("num", Pipeline([("imp", SimpleImputer()), ("sc", StandardScaler())]), ["tenure"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
        ]
    )
    return Pipeline([("ct", ct), ("model", model)]).fit(X, y)


@pytest.mark.parametrize(
    "model",
    [
        HistGradientBoostingClassifier(max_iter=5, random_state=0),
        LogisticRegression(),
        RandomForestClassifier(n_estimators=3, random_state=0),
    ],
)
def test_skops_roundtrip_predicts_identically(model):
    pipe = _pipeline(model)
    art = artifacts.dump_artifact(pipe)
    loaded = artifacts.load_artifact(art.data, fmt="skops", expected_sha256=art.sha256, what="m@000001")
    X, _ = _frame()
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    assert art.sha256 == artifacts.sha256_hex(art.data)
    assert {"scikit-learn", "numpy", "scipy", "pandas", "skops", "python"} <= set(art.library_versions)


def test_tree_predictor_is_named_in_allowlist_and_needed_by_hgb():
    name = "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"
    assert name in artifacts.TRUSTED_TYPES
    art = artifacts.dump_artifact(_pipeline(HistGradientBoostingClassifier(max_iter=3)))
    assert name in art.trusted_types


def test_tree_predictor_removed_from_allowlist_refuses_hgb(monkeypatch):
    art = artifacts.dump_artifact(_pipeline(HistGradientBoostingClassifier(max_iter=3)))
    name = "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"
    monkeypatch.setattr(artifacts, "TRUSTED_TYPES", artifacts.TRUSTED_TYPES - {name})
    with pytest.raises(ModelIntegrityError, match="TreePredictor"):
        artifacts.load_artifact(art.data, fmt="skops", expected_sha256=art.sha256, what="m@1")


def test_tampered_bytes_raise_integrity_error_before_deserializing(monkeypatch):
    art = artifacts.dump_artifact(_pipeline(LogisticRegression()))
    tampered = art.data[:-1] + bytes([art.data[-1] ^ 0xFF])

    import skops.io as sio

    def _must_not_parse(*args, **kwargs):
        raise AssertionError("deserializer called before the hash check")

    monkeypatch.setattr(sio, "loads", _must_not_parse)
    monkeypatch.setattr(sio, "get_untrusted_types", _must_not_parse)
    with pytest.raises(ModelIntegrityError) as info:
        artifacts.load_artifact(tampered, fmt="skops", expected_sha256=art.sha256, what="churn@000003")
    msg = str(info.value)
    assert "churn@000003" in msg
    assert art.sha256 in msg
    assert artifacts.sha256_hex(tampered) in msg


def test_untrusted_type_is_refused_at_dump_naming_it():
    X, y = _frame()
    pipe = Pipeline([("shady", _Shady()), ("model", LogisticRegression())]).fit(X[["tenure"]], y)
    with pytest.raises(ModelIntegrityError, match="_Shady"):
        artifacts.dump_artifact(pipe)


def test_untrusted_type_is_refused_at_load_without_instantiating(monkeypatch):
    import skops.io as sio

    X, y = _frame()
    pipe = Pipeline([("shady", _Shady()), ("model", LogisticRegression())]).fit(X[["tenure"]], y)
    data = sio.dumps(pipe)  # written by someone bypassing scorewatch

    def _must_not_parse(*args, **kwargs):
        raise AssertionError("untrusted artifact deserialized")

    monkeypatch.setattr(sio, "loads", _must_not_parse)
    with pytest.raises(ModelIntegrityError, match="test_artifacts._Shady"):
        artifacts.load_artifact(
            data, fmt="skops", expected_sha256=artifacts.sha256_hex(data), what="m@000001"
        )


def test_non_skops_bytes_are_an_integrity_error():
    data = b"definitely not a zip"
    with pytest.raises(ModelIntegrityError, match="not a skops file"):
        artifacts.load_artifact(data, fmt="skops", expected_sha256=artifacts.sha256_hex(data), what="m@1")


def test_joblib_is_refused_unless_enabled():
    art = artifacts.dump_artifact(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), fmt="joblib")
    with pytest.raises(UnsafeModelFormatError, match="m@000002"):
        artifacts.load_artifact(art.data, fmt="joblib", expected_sha256=art.sha256, what="m@000002")
    est = artifacts.load_artifact(
        art.data, fmt="joblib", expected_sha256=art.sha256, what="m@000002", allow_unsafe_pickle=True
    )
    assert est.predict([[1.0]]).tolist() == [1]


def test_joblib_enabled_is_still_hash_checked(monkeypatch):
    art = artifacts.dump_artifact(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), fmt="joblib")
    import joblib

    def _must_not_unpickle(*args, **kwargs):
        raise AssertionError("unpickled before the hash check")

    monkeypatch.setattr(joblib, "load", _must_not_unpickle)
    with pytest.raises(ModelIntegrityError, match="sha256 mismatch"):
        artifacts.load_artifact(
            art.data + b"x", fmt="joblib", expected_sha256=art.sha256, what="m@1", allow_unsafe_pickle=True
        )


def _other_minor() -> str:
    major, minor = artifacts.library_versions()["scikit-learn"].split(".")[:2]
    return f"{major}.{int(minor) + 1}.0"


def test_other_sklearn_minor_version_is_refused_naming_both():
    art = artifacts.dump_artifact(_pipeline(LogisticRegression()))
    recorded = {**art.library_versions, "scikit-learn": _other_minor()}
    running = artifacts.library_versions()["scikit-learn"]
    with pytest.raises(IncompatibleModelError) as info:
        artifacts.load_artifact(
            art.data, fmt="skops", expected_sha256=art.sha256, what="m@1", library_versions_recorded=recorded
        )
    assert _other_minor() in str(info.value)
    assert running in str(info.value)


def test_version_mismatch_override_loads_and_warns_loudly(caplog):
    art = artifacts.dump_artifact(_pipeline(LogisticRegression()))
    recorded = {**art.library_versions, "scikit-learn": _other_minor()}
    with caplog.at_level(logging.WARNING, logger="scorewatch.io.artifacts"):
        est = artifacts.load_artifact(
            art.data,
            fmt="skops",
            expected_sha256=art.sha256,
            what="m@1",
            library_versions_recorded=recorded,
            allow_version_mismatch=True,
        )
    assert hasattr(est, "predict_proba")
    assert any("DIFFERENT SCIKIT-LEARN MINOR VERSION" in r.getMessage() for r in caplog.records)


def test_patch_version_difference_is_accepted():
    art = artifacts.dump_artifact(_pipeline(LogisticRegression()))
    major, minor = artifacts.library_versions()["scikit-learn"].split(".")[:2]
    recorded = {**art.library_versions, "scikit-learn": f"{major}.{minor}.99"}
    est = artifacts.load_artifact(
        art.data, fmt="skops", expected_sha256=art.sha256, what="m@1", library_versions_recorded=recorded
    )
    assert hasattr(est, "predict")


@pytest.mark.parametrize(("path", "fmt"), [("m.skops", "skops"), ("m.joblib", "joblib"), ("M.PKL", "joblib")])
def test_format_for_path_maps_extensions(path, fmt):
    assert artifacts.format_for_path(path) == fmt


def test_format_for_path_refuses_unknown_extension():
    with pytest.raises(UnsafeModelFormatError, match="model.bin"):
        artifacts.format_for_path("model.bin")


def test_joblib_without_a_known_hash_is_refused_even_when_enabled(monkeypatch):
    art = artifacts.dump_artifact(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), fmt="joblib")
    import joblib

    def _must_not_unpickle(*a, **k):
        raise AssertionError("unpickled without a hash to check")

    monkeypatch.setattr(joblib, "load", _must_not_unpickle)
    with pytest.raises(UnsafeModelFormatError, match="only loaded against a known sha256"):
        artifacts.load_artifact(
            art.data, fmt="joblib", expected_sha256=None, what="m.pkl", allow_unsafe_pickle=True
        )

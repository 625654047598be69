"""Derive the skops type allowlist (``functions/scorewatch/io/trusted_types.py``) and check it.

The allowlist is generated, then reviewed: this script fits every probe below on tiny data,
writes it with ``skops.io.dumps``, collects every type the file names (its schema plus what
``skops.io.get_untrusted_types`` reports: functions and methods included), loads it back with
exactly those types trusted and compares the loaded model's outputs with the original's. A probe
whose file holds a type outside the review policy (:func:`review`) is refused, and so is one that
skops cannot write or that does not predict identically after loading. The union of the types
of the accepted probes is the allowlist; the module it writes lists the probes covered and the
ones refused, with the reason.

Probes: every classifier, regressor and transformer ``sklearn.utils.all_estimators()`` returns
(meta-estimators get a small inner estimator), the variants the defaults do not reach
(``SVC(probability=True)``, ``HistGradientBoostingClassifier(categorical_features="from_dtype")``,
calibrated models, numpy functions in ``FunctionTransformer``/``TransformedTargetRegressor``) and
scikit-learn Pipelines ending in LightGBM, XGBoost and CatBoost models.

Usage::

    python tools/derive_trusted_types.py            # derive, print the difference, exit 1 if any
    python tools/derive_trusted_types.py --write    # derive and rewrite the checked-in module

tests/unit/test_trusted_types.py runs the derivation and requires the checked-in module to equal
it, so a library upgrade that changes what an estimator's file holds shows up as a failing test
and a diff to review (``--write``), never as a silently wider list.

To allow a type deliberately: read what loading it constructs (skops builds it with ``__new__``
and ``__setstate__``; a function is looked up by name, and called when the estimator calls it),
add a probe that needs it to :data:`EXTRA_PROBES` and, if the policy does not accept it, its name
and the reason to :data:`REVIEWED`, then run ``--write`` and commit both files.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import inspect
import json
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "functions" / "scorewatch" / "io" / "trusted_types.py"
sys.path.insert(0, str(ROOT / "functions"))

from scorewatch.io.artifacts import skops_types  # noqa: E402

# Types outside the policy below that were read and accepted, with why.
REVIEWED: dict[str, str] = {
    "numpy.log1p": "numpy ufunc (FunctionTransformer/TransformedTargetRegressor); no state",
    "numpy.expm1": "numpy ufunc, inverse of log1p; no state",
    "numpy.log": "numpy ufunc; no state",
    "numpy.exp": "numpy ufunc, inverse of log; no state",
    "numpy.sqrt": "numpy ufunc; no state",
    "numpy.square": "numpy ufunc, inverse of sqrt; no state",
    # The boosting libraries' sklearn wrappers persist through their own __getstate__/__setstate__:
    # the model travels as the library's model format (text, UBJSON, CatBoost binary), parsed by
    # the library's C++ code. No reducer, no code object.
    "lightgbm.basic.Booster": "LightGBM model; state is the model text (Booster.model_to_string)",
    "xgboost.core.Booster": "XGBoost model; state is the raw UBJSON model (Booster.save_raw)",
    # Functions some scikit-learn estimators keep as parameters or fitted state. skops looks a
    # function up by module and name (never a code object); it runs only when the estimator's own
    # code calls it, as it did before saving.
    "functools.partial": "partial of an allowlisted function (its func is a separate node)",
    "sklearn.utils.validation.check_array": "HistGradientBoosting's from_dtype preprocessing",
    "sklearn.feature_selection._univariate_selection.f_classif": "Select*'s default score_func",
    "sklearn.cluster._kmeans._kmeans_single_lloyd": "BisectingKMeans's default algorithm",
    "sklearn.metrics._classification.balanced_accuracy_score": "TunedThresholdClassifierCV's scoring",
    "numpy.mean": "FeatureAgglomeration's default pooling_func",
    "scipy.interpolate._bsplines.BSpline": "SplineTransformer's fitted splines (arrays)",
    "scipy._lib.array_api_compat.numpy._aliases.asarray": "BSpline's array namespace function",
}

# On the list whatever the probes hold: which of them a file names depends on the training data
# (its dtypes, its random_state), not on the estimator, and the probes' data cannot show them all.
DATA_TYPES: dict[str, str] = {
    **{f"builtins.{t}": "JSON-like scalar or container" for t in ("int", "float", "bool", "NoneType")},
    **{f"builtins.{t}": "set of labels or columns" for t in ("set", "frozenset")},
    **{
        f"numpy.{t}": "numpy scalar or dtype of the training data"
        for t in (
            "bool",
            "bool_",
            "str_",
            "bytes_",
            "int8",
            "int16",
            "int32",
            "int64",
            "uint8",
            "uint16",
            "uint32",
            "uint64",
            "float16",
            "float32",
            "float64",
            "datetime64",
            "timedelta64",
        )
    },
    "numpy.random._mt19937.MT19937": "bit generator of a random_state Generator",
    "numpy.random._pcg64.PCG64": "bit generator of a random_state Generator",
    "numpy.random._generator.Generator": "random_state given as a Generator",
    "numpy.random.mtrand.RandomState": "random_state given as a RandomState",
}

# Modules whose classes are accepted when an estimator's file holds them (skops rebuilds them
# with __new__ + __setstate__/__dict__; no code runs beyond the class's own __setstate__).
_CLASS_MODULES = ("sklearn.", "lightgbm.sklearn", "xgboost.sklearn", "catboost.core")
_DATA_TYPES = {
    "builtins.dict",
    "builtins.list",
    "builtins.tuple",
    "builtins.set",
    "builtins.frozenset",
    "builtins.str",
    "builtins.int",
    "builtins.float",
    "builtins.complex",
    "builtins.bool",
    "builtins.bytes",
    "builtins.bytearray",
    "builtins.slice",
    "builtins.NoneType",
    "collections.OrderedDict",
    "collections.defaultdict",
}


def review(name: str) -> str | None:
    """Why ``name`` is acceptable in an artifact, or None when it needs a human review."""
    if name in REVIEWED:
        return REVIEWED[name]
    if name in _DATA_TYPES:
        return "container or scalar"
    head = name.split(".", maxsplit=1)[0]
    if head == "numpy" and name.count(".") <= 3:
        leaf = name.rsplit(".", 1)[1]
        if leaf in {"ndarray", "dtype", "bool", "bool_", "str_", "bytes_"}:
            return "numpy array, dtype or scalar"
        if name.startswith("numpy.random.") and leaf[:1].isupper():
            return "numpy random state or bit generator"
        if any(leaf.startswith(p) for p in ("int", "uint", "float", "complex", "datetime", "timedelta")):
            return "numpy scalar type"
        return None
    if name.startswith("scipy.sparse.") and name.rsplit(".", 1)[1].endswith(("_matrix", "_array")):
        return "scipy sparse matrix"
    parts = [p.lstrip("_") for p in name.split(".")]
    if name.startswith(_CLASS_MODULES) and parts[-1][:1].isupper():
        # A class, not a function or a method: "module.Class.method" has an upper-case middle.
        if not any(p[:1].isupper() for p in parts[:-1]):
            return "estimator or estimator-internal class"
    return None


# ---------------------------------------------------------------------------- data


def _data(kind: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = np.abs(rng.normal(size=(60, 4))) + 0.1
    if kind == "regressor":
        return X, X[:, 0] * 2.0 + X[:, 1] + rng.normal(scale=0.1, size=60)
    y = (X[:, 0] > np.median(X[:, 0])).astype(int) + (X[:, 1] > np.median(X[:, 1])).astype(int)
    return X, y


def _frame() -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    rng = np.random.default_rng(1)
    n = 200
    X = pd.DataFrame(
        {
            "tenure": rng.normal(size=n),
            "spend": rng.gamma(2.0, size=n),
            "plan": pd.Categorical(rng.choice(["basic", "pro", "max"], n)),
        }
    )
    logit = X["tenure"] + (X["plan"] == "pro") - 0.3 * X["spend"]
    y = pd.Series((logit + rng.normal(scale=0.5, size=n) > 0).astype(int), name="y")
    return X, y, pd.Series(logit * 3.0 + rng.normal(size=n), name="target")


# ---------------------------------------------------------------------------- probes


@dataclass(frozen=True)
class Probe:
    """One fitted estimator the allowlist must load: how to build it and what to fit it on."""

    name: str
    build: Callable[[], Any]
    data: str = "auto"  # "auto" (by estimator kind), "frame", "frame-regression", ...


def _lr() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression()


def _tree_reg() -> Any:
    from sklearn.tree import DecisionTreeRegressor

    return DecisionTreeRegressor(max_depth=2, random_state=0)


def _tree_clf() -> Any:
    from sklearn.tree import DecisionTreeClassifier

    return DecisionTreeClassifier(max_depth=2, random_state=0)


# Arguments for estimators that cannot be built with defaults, or are slow with them.
def _init_args(name: str, cls: type, kind: str) -> dict[str, Any] | None:
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    inner = _lr() if kind == "classifier" else _tree_reg()
    table: dict[str, dict[str, Any]] = {
        "ColumnTransformer": {"transformers": [("sc", StandardScaler(), [0, 1]), ("pca", PCA(1), [2, 3])]},
        "FeatureUnion": {"transformer_list": [("sc", StandardScaler()), ("pca", PCA(1))]},
        "StackingClassifier": {"estimators": [("lr", _lr()), ("t", _tree_clf())]},
        "StackingRegressor": {"estimators": [("t", _tree_reg()), ("t2", _tree_reg())]},
        "VotingClassifier": {"estimators": [("lr", _lr()), ("t", _tree_clf())], "voting": "soft"},
        "VotingRegressor": {"estimators": [("t", _tree_reg()), ("t2", _tree_reg())]},
        "SparseCoder": {"dictionary": np.eye(4)[:2]},
        "RFE": {"estimator": _lr(), "n_features_to_select": 2},
        "RFECV": {"estimator": _lr(), "cv": 2},
        "SelectFromModel": {"estimator": _lr()},
        "SequentialFeatureSelector": {"estimator": _lr(), "n_features_to_select": 2, "cv": 2},
        "GaussianRandomProjection": {"n_components": 2, "random_state": 0},
        "SparseRandomProjection": {"n_components": 2, "random_state": 0},
        "MLPClassifier": {"max_iter": 50, "random_state": 0},
        "MLPRegressor": {"max_iter": 50, "random_state": 0},
        "GaussianProcessClassifier": {"random_state": 0},
        "TunedThresholdClassifierCV": {"estimator": _lr(), "cv": 2},
        "SelfTrainingClassifier": {"estimator": _lr()},
        "HistGradientBoostingClassifier": {"max_iter": 10, "random_state": 0},
        "HistGradientBoostingRegressor": {"max_iter": 10, "random_state": 0},
        "GradientBoostingClassifier": {"n_estimators": 10, "random_state": 0},
        "GradientBoostingRegressor": {"n_estimators": 10, "random_state": 0},
        "LogisticRegressionCV": {"cv": 2},
    }
    if name in table:
        return table[name]
    params = inspect.signature(cls.__init__).parameters
    if "estimator" in params and params["estimator"].default is inspect.Parameter.empty:
        out: dict[str, Any] = {"estimator": inner}
    else:
        out = {}
    if "random_state" in params:
        out["random_state"] = 0
    return out


# Estimators whose fit needs inputs of another shape than a numeric matrix: (data kind, reason).
_DATA_KIND = {
    "CategoricalNB": "ints",
    "IsotonicRegression": "one-feature",
    "MultiOutputClassifier": "multilabel",
    "ClassifierChain": "multilabel",
    "MultiOutputRegressor": "multitarget",
    "RegressorChain": "multitarget",
    "MultiTaskElasticNet": "multitarget",
    "MultiTaskElasticNetCV": "multitarget",
    "MultiTaskLasso": "multitarget",
    "MultiTaskLassoCV": "multitarget",
    "CCA": "multitarget",
    "PLSCanonical": "multitarget",
    "PLSRegression": "multitarget",
    "PLSSVD": "multitarget",
    "LabelBinarizer": "labels",
    "LabelEncoder": "labels",
    "MultiLabelBinarizer": "label-sets",
    "KernelCenterer": "kernel",
    "FixedThresholdClassifier": "binary",
    "TunedThresholdClassifierCV": "binary",
}
# Not probed: their input is not a table of features (text, dicts, images), or they only
# fit_transform (nothing to score with). The reason is recorded in the generated module.
NOT_PROBED = {
    "DictVectorizer": "input is a list of dicts, not a table of features",
    "FeatureHasher": "input is a list of dicts or strings, not a table of features",
    "HashingVectorizer": "input is text, not a table of features",
    "TfidfTransformer": "input is a term-count matrix of text",
    "PatchExtractor": "input is images",
    "TSNE": "fit_transform only: nothing to score with",
}


def _fit_data(kind: str, name: str) -> tuple[Any, Any]:
    special = _DATA_KIND.get(name)
    X, y = _data(kind)
    if special == "binary":
        return X, (y > 0).astype(int)
    if special == "ints":
        return np.floor(X * 2).astype(int), y
    if special == "one-feature":
        return X[:, :1], y
    if special == "multilabel":
        return X, np.column_stack([y > 0, y > 1]).astype(int)
    if special == "multitarget":
        return X, np.column_stack([X[:, 0] * 2.0, X[:, 1] - X[:, 2]])
    if special == "labels":
        return np.array(["a", "b", "c", "a", "b", "b"]), None
    if special == "label-sets":
        return [("a", "b"), ("c",), ("a",), ("b", "c")], None
    if special == "kernel":
        return X @ X.T, None
    return X, y


def _outputs(est: Any, X: Any) -> list[np.ndarray]:
    out = []
    for method in ("predict_proba", "decision_function", "predict", "transform"):
        fn = getattr(est, method, None)
        if fn is None:
            continue
        try:
            value = fn(X)
        except (AttributeError, NotImplementedError, TypeError, ValueError):
            continue
        value = value.toarray() if hasattr(value, "toarray") else value
        out.append(np.asarray(value, dtype=object if isinstance(value, list) else None))
    return out


def _same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x.dtype.kind in "fc":
            # Not bit-exact: some predictions (BLAS sums over threads) vary in the last ulp even
            # between two calls of the same object.
            if x.shape != y.shape or not np.allclose(x, y, rtol=1e-9, atol=1e-12, equal_nan=True):
                return False
        elif x.shape != y.shape or not (x == y).all():
            return False
    return True


@dataclass(frozen=True)
class Outcome:
    """What a probe's skops file holds and whether it loaded back identically."""

    name: str
    types: frozenset[str]
    refused: str | None  # None when accepted


def _fit(est: Any, X: Any, y: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X) if y is None else est.fit(X, y)


def evaluate(name: str, build: Callable[[], Any], X: Any, y: Any) -> Outcome:
    """Fit, dump, audit, load and compare one probe."""
    import skops.io as sio

    try:
        est = _fit(build(), X, y)
    except Exception as exc:  # noqa: BLE001 - a probe that cannot be fitted is reported, not fatal
        return Outcome(name, frozenset(), f"does not fit on the probe data: {type(exc).__name__}")
    try:
        data = sio.dumps(est)
    except Exception as exc:  # noqa: BLE001 - skops has no writer for some type inside
        return Outcome(name, frozenset(), f"skops cannot write it: {exc}")
    types = frozenset(skops_types(data) | set(sio.get_untrusted_types(data=data)))
    unreviewed = sorted(t for t in types if review(t) is None)
    if unreviewed:
        return Outcome(name, types, f"holds types outside the review policy: {', '.join(unreviewed)}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded = sio.loads(data, trusted=sorted(types))
            same = _same(_outputs(est, X), _outputs(loaded, X))
    except Exception as exc:  # noqa: BLE001 - a file skops writes but cannot read back
        return Outcome(name, types, f"does not load back: {type(exc).__name__}: {exc}")
    if not same:
        return Outcome(name, types, "loaded model's outputs differ from the original's")
    return Outcome(name, types, None)


def sklearn_probes() -> Iterator[tuple[str, str]]:
    """(estimator name, kind) for every classifier, regressor and transformer scikit-learn ships."""
    from sklearn.utils import all_estimators

    seen = set()
    for kind in ("classifier", "regressor", "transformer"):
        for name, _cls in all_estimators(type_filter=kind):
            if name not in seen:
                seen.add(name)
                yield name, kind


def _sklearn_class(name: str) -> type:
    from sklearn.utils import all_estimators

    return dict(all_estimators())[name]


@functools.cache
def run_sklearn(name: str) -> Outcome:
    """The outcome of one scikit-learn estimator probe (cached: tests and the tool share it)."""
    if name in NOT_PROBED:
        return Outcome(name, frozenset(), f"not probed: {NOT_PROBED[name]}")
    cls = _sklearn_class(name)
    kind = dict(sklearn_probes())[name]
    args = _init_args(name, cls, kind)
    X, y = _fit_data("regressor" if kind == "regressor" else "classifier", name)
    return evaluate(name, lambda: cls(**(args or {})), X, y)


# Variants the defaults do not reach, and the boosting families in scikit-learn Pipelines.
def _extra_builders() -> dict[str, tuple[Callable[[], Any], str]]:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler
    from sklearn.svm import SVC

    def pre() -> ColumnTransformer:
        return ColumnTransformer(
            [
                ("num", Pipeline([("imp", SimpleImputer()), ("sc", StandardScaler())]), ["tenure", "spend"]),
                ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
            ]
        )

    def ordinal() -> ColumnTransformer:
        enc = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
        return ColumnTransformer([("cat", enc, ["plan"])], remainder="passthrough")

    def lgbm(reg: bool = False, native: bool = False) -> Any:
        from lightgbm import LGBMClassifier, LGBMRegressor

        cls = LGBMRegressor if reg else LGBMClassifier
        model = cls(n_estimators=10, num_leaves=7, min_child_samples=5, verbose=-1, random_state=0)
        return model if native else Pipeline([("pre", pre()), ("model", model)])

    def xgb(reg: bool = False, native: bool = False) -> Any:
        from xgboost import XGBClassifier, XGBRegressor

        cls = XGBRegressor if reg else XGBClassifier
        model = cls(n_estimators=10, max_depth=3, enable_categorical=native, n_jobs=1, random_state=0)
        return model if native else Pipeline([("pre", pre()), ("model", model)])

    def cat(reg: bool = False, native: bool = False) -> Any:
        from catboost import CatBoostClassifier, CatBoostRegressor

        cls = CatBoostRegressor if reg else CatBoostClassifier
        kwargs: dict[str, Any] = {"iterations": 10, "depth": 3, "verbose": 0, "random_seed": 0}
        kwargs |= {"thread_count": 1, "allow_writing_files": False}
        if native:
            return Pipeline([("model", cls(cat_features=["plan"], **kwargs))])
        return Pipeline([("pre", pre()), ("model", cls(**kwargs))])

    return {
        "SVC(probability=True)": (lambda: SVC(probability=True, random_state=0), "classifier"),
        "CalibratedClassifierCV(SVC, isotonic)": (
            lambda: CalibratedClassifierCV(SVC(), method="isotonic", cv=2),
            "classifier",
        ),
        "HistGradientBoostingClassifier(categorical_features='from_dtype')": (
            lambda: HistGradientBoostingClassifier(categorical_features="from_dtype", max_iter=10),
            "frame",
        ),
        "HistGradientBoostingRegressor(categorical_features='from_dtype')": (
            lambda: HistGradientBoostingRegressor(categorical_features="from_dtype", max_iter=10),
            "frame-regression",
        ),
        "Pipeline(ColumnTransformer(OrdinalEncoder), HistGradientBoostingClassifier)": (
            lambda: make_pipeline(ordinal(), HistGradientBoostingClassifier(max_iter=10)),
            "frame",
        ),
        "FunctionTransformer(log1p, expm1)": (
            lambda: FunctionTransformer(np.log1p, inverse_func=np.expm1),
            "transformer",
        ),
        "FunctionTransformer(sqrt, square)": (
            lambda: FunctionTransformer(np.sqrt, inverse_func=np.square),
            "transformer",
        ),
        "TransformedTargetRegressor(Ridge, log, exp)": (
            lambda: TransformedTargetRegressor(Ridge(), func=np.log, inverse_func=np.exp),
            "regressor",
        ),
        "Pipeline(ColumnTransformer, LGBMClassifier)": (lgbm, "frame"),
        "Pipeline(ColumnTransformer, LGBMClassifier) multiclass": (lgbm, "frame-multiclass"),
        "Pipeline(ColumnTransformer, LGBMRegressor)": (lambda: lgbm(reg=True), "frame-regression"),
        "LGBMClassifier(pandas categorical)": (lambda: lgbm(native=True), "frame"),
        "Pipeline(ColumnTransformer, XGBClassifier)": (xgb, "frame"),
        "Pipeline(ColumnTransformer, XGBClassifier) multiclass": (xgb, "frame-multiclass"),
        "Pipeline(ColumnTransformer, XGBRegressor)": (lambda: xgb(reg=True), "frame-regression"),
        "XGBClassifier(enable_categorical)": (lambda: xgb(native=True), "frame"),
        "Pipeline(ColumnTransformer, CatBoostClassifier)": (cat, "frame"),
        "Pipeline(ColumnTransformer, CatBoostClassifier) multiclass": (cat, "frame-multiclass"),
        "Pipeline(ColumnTransformer, CatBoostRegressor)": (lambda: cat(reg=True), "frame-regression"),
        "Pipeline(CatBoostClassifier(cat_features))": (lambda: cat(native=True), "frame"),
    }


def extra_probes() -> list[str]:
    """Names of the variant and family probes."""
    return list(_extra_builders())


@functools.cache
def run_extra(name: str) -> Outcome:
    """The outcome of one variant or family probe."""
    build, data = _extra_builders()[name]
    if data.startswith("frame"):
        X, y, target = _frame()
        if data == "frame-regression":
            y = target
        elif data == "frame-multiclass":
            y = pd.Series(np.digitize(target, np.quantile(target, [1 / 3, 2 / 3])), name="y")
        return evaluate(name, build, X, y)
    X, y = _data("regressor" if data == "regressor" else "classifier")
    return evaluate(name, build, X, None if data == "transformer" else y)


def derive() -> tuple[frozenset[str], dict[str, str], list[str]]:
    """(allowlist, refused probe -> reason, accepted probe names)."""
    outcomes = [run_sklearn(n) for n, _ in sklearn_probes()] + [run_extra(n) for n in extra_probes()]
    accepted = [o for o in outcomes if o.refused is None]
    refused = {o.name: o.refused for o in outcomes if o.refused is not None}
    types = frozenset().union(*(o.types for o in accepted), DATA_TYPES)
    return types, refused, [o.name for o in accepted]


_GROUPS = (
    ("LIGHTGBM", lambda t: t.startswith("lightgbm.")),
    ("XGBOOST", lambda t: t.startswith("xgboost.")),
    ("CATBOOST", lambda t: t.startswith("catboost.")),
    ("SKLEARN", lambda t: t.startswith("sklearn.")),
    ("BASE", lambda t: True),
)


def render(types: frozenset[str], refused: dict[str, str], accepted: list[str]) -> str:
    """The text of the generated module."""
    groups: dict[str, list[str]] = {g: [] for g, _ in _GROUPS}
    for t in sorted(types):
        groups[next(g for g, match in _GROUPS if match(t))].append(t)
    lines = [
        '"""The skops type allowlist, generated by tools/derive_trusted_types.py: do not edit by hand.',
        "",
        "Every name is a type (or a function) some probe's skops file holds, accepted by the review",
        "policy in the tool. Regenerate with ``python tools/derive_trusted_types.py --write`` and",
        "review the diff; tests/unit/test_trusted_types.py checks this file equals the derivation.",
        '"""',
        "",
    ]
    for group, _ in reversed(_GROUPS):
        lines.append(f"{group}: frozenset[str] = frozenset(")
        lines.append("    {")
        lines += [f'        "{t}",' for t in groups[group]]
        lines += ["    }", ")", ""]
    lines.append("# Probes whose files hold only the types above and load back predicting identically.")
    lines.append("COVERED: tuple[str, ...] = (")
    lines += [f"    {json.dumps(name)}," for name in sorted(accepted)]
    lines += [
        ")",
        "",
        "# Probes refused, and why: their types are not on the list unless another probe needs them.",
    ]
    lines.append("REFUSED: dict[str, str] = {")
    lines += [f"    {json.dumps(name)}: {json.dumps(reason)}," for name, reason in sorted(refused.items())]
    lines += ["}", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite {OUTPUT.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    types, refused, accepted = derive()
    text = render(types, refused, accepted)
    print(f"{len(types)} types; {len(accepted)} probes covered, {len(refused)} refused")
    for name, reason in sorted(refused.items()):
        print(f"  refused {name}: {reason}")
    if args.write:
        OUTPUT.write_text(text)
        print(f"wrote {OUTPUT.relative_to(ROOT)}")
        return 0
    current = OUTPUT.read_text() if OUTPUT.exists() else ""
    diff = list(
        difflib.unified_diff(current.splitlines(), text.splitlines(), "checked-in", "derived", lineterm="")
    )
    print("\n".join(diff) if diff else "checked-in allowlist equals the derivation")
    return 1 if diff else 0


if __name__ == "__main__":
    raise SystemExit(main())

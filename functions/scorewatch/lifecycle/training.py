"""Build and fit a challenger from the model config's declarative ``EstimatorSpec``.

Two ways to get an estimator:

- **Allowlist**: ``spec.estimator`` names an estimator from ``ALLOWED_ESTIMATORS`` (scikit-learn,
  LightGBM, XGBoost and CatBoost models ``artifacts.TRUSTED_TYPES`` can load) with ``spec.params``;
  the boosting libraries are imported only when the spec names one of their models. Preprocessing is
  built from the feature schema: numeric -> median imputation + standard scaling; categorical and
  boolean -> one-hot encoding (linear models) or ordinal encoding (tree models), both tolerating
  missing and unseen values; datetime features are left out (recorded in the result). The result
  is one ``Pipeline`` so scoring needs nothing but the artifact.
- **Entry point**: ``spec.entry_point = "package.module:function"`` is imported and called as
  ``function(features, target, *, task, feature_schema, params, random_state)``; it must return
  a fitted estimator with ``predict`` (and ``predict_proba`` for classifiers).

Everything is seeded with ``random_state``.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from scorewatch.core.config import EstimatorSpec
from scorewatch.core.errors import TrainingError
from scorewatch.core.schema import FeatureSchema

# name -> (module, kind, tree-based). Tree models get ordinal encoding (compact, order-free splits).
ALLOWED_ESTIMATORS: dict[str, tuple[str, str, bool]] = {
    "HistGradientBoostingClassifier": ("sklearn.ensemble", "classifier", True),
    "HistGradientBoostingRegressor": ("sklearn.ensemble", "regressor", True),
    "RandomForestClassifier": ("sklearn.ensemble", "classifier", True),
    "RandomForestRegressor": ("sklearn.ensemble", "regressor", True),
    "ExtraTreesClassifier": ("sklearn.ensemble", "classifier", True),
    "ExtraTreesRegressor": ("sklearn.ensemble", "regressor", True),
    "GradientBoostingClassifier": ("sklearn.ensemble", "classifier", True),
    "GradientBoostingRegressor": ("sklearn.ensemble", "regressor", True),
    "DecisionTreeClassifier": ("sklearn.tree", "classifier", True),
    "DecisionTreeRegressor": ("sklearn.tree", "regressor", True),
    "LogisticRegression": ("sklearn.linear_model", "classifier", False),
    "LinearRegression": ("sklearn.linear_model", "regressor", False),
    "Ridge": ("sklearn.linear_model", "regressor", False),
    "LGBMClassifier": ("lightgbm", "classifier", True),
    "LGBMRegressor": ("lightgbm", "regressor", True),
    "XGBClassifier": ("xgboost", "classifier", True),
    "XGBRegressor": ("xgboost", "regressor", True),
    "CatBoostClassifier": ("catboost", "classifier", True),
    "CatBoostRegressor": ("catboost", "regressor", True),
}
# Defaults the boosting families get unless the spec sets them: no console output (it would flood
# the function's log) and, for CatBoost, no training files (a function's file system is read-only).
_FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    "LGBMClassifier": {"verbose": -1},
    "LGBMRegressor": {"verbose": -1},
    "CatBoostClassifier": {"verbose": 0, "allow_writing_files": False},
    "CatBoostRegressor": {"verbose": 0, "allow_writing_files": False},
}
# LightGBM takes its core parameters (and their aliases) as keyword arguments beyond the named
# ones; these are the ones a spec may set (a typo is still refused by name).
_LIGHTGBM_KWARGS = frozenset(
    {
        "verbose", "verbosity", "max_bin", "min_data_in_leaf", "min_sum_hessian_in_leaf",
        "feature_fraction", "bagging_fraction", "bagging_freq", "lambda_l1", "lambda_l2",
        "min_gain_to_split", "extra_trees", "linear_tree", "path_smooth", "cat_smooth",
        "cat_l2", "max_cat_to_onehot", "is_unbalance", "scale_pos_weight", "deterministic",
        "force_col_wise", "force_row_wise", "num_threads", "seed", "early_stopping_round",
    }
)  # fmt: skip
_DEFAULT_FOR_TASK = {
    "binary": "HistGradientBoostingClassifier",
    "multiclass": "HistGradientBoostingClassifier",
    "regression": "HistGradientBoostingRegressor",
}


@dataclass(frozen=True)
class TrainedModel:
    """A fitted estimator and what the card should record about how it was built."""

    estimator: Any
    params: dict[str, Any]
    dropped_features: tuple[str, ...] = field(default=())


def resolve_estimator_name(spec: EstimatorSpec, task: str, *, spec_explicit: bool = True) -> str:
    """The allowlisted estimator to use for ``task``.

    When the spec was not set explicitly (config defaults) the task's default is used, so a
    regression model is not handed the default classifier.

    Raises
    ------
    TrainingError
        Unknown estimator, or a classifier for a regression task (or the reverse).

    Examples
    --------
    >>> resolve_estimator_name(EstimatorSpec(), "regression", spec_explicit=False)
    'HistGradientBoostingRegressor'
    """
    name = spec.estimator if spec_explicit else _DEFAULT_FOR_TASK[task]
    if name is None:
        raise TrainingError("retraining.spec needs 'estimator' or 'entry_point'")
    if name not in ALLOWED_ESTIMATORS:
        raise TrainingError(
            f"estimator {name!r} is not in the training allowlist: {', '.join(sorted(ALLOWED_ESTIMATORS))}"
        )
    kind = ALLOWED_ESTIMATORS[name][1]
    wanted = "regressor" if task == "regression" else "classifier"
    if kind != wanted:
        raise TrainingError(f"estimator {name!r} is a {kind}, but the model's task {task!r} needs a {wanted}")
    return name


def build_preprocessor(
    schema: FeatureSchema, *, tree_based: bool
) -> tuple[ColumnTransformer, tuple[str, ...]]:
    """Column preprocessing from the schema; returns it and the features it leaves out (datetimes).

    Raises
    ------
    TrainingError
        When no feature is usable.
    """
    numeric = schema.of_type("numeric")
    categorical = schema.of_type("categorical", "boolean")
    dropped = tuple(schema.of_type("datetime"))
    if not numeric and not categorical:
        raise TrainingError(
            f"no trainable features in the schema (datetime features are not used: {list(dropped)})"
        )
    transformers: list[tuple[str, Any, list[str]]] = []
    if numeric:
        transformers.append(
            (
                "numeric",
                Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]),
                numeric,
            )
        )
    if categorical:
        if tree_based:
            encoder: Any = OrdinalEncoder(
                handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1
            )
        else:
            encoder = OneHotEncoder(handle_unknown="ignore")
        transformers.append(("categorical", encoder, categorical))
    return ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0), dropped


def build_estimator(
    spec: EstimatorSpec, *, task: str, schema: FeatureSchema, random_state: int, spec_explicit: bool = True
) -> tuple[Pipeline, dict[str, Any], tuple[str, ...]]:
    """An unfitted preprocessing + estimator pipeline for an allowlisted spec.

    Returns
    -------
    (pipeline, params, dropped_features)
        ``params`` are the estimator parameters as set (including the seed).

    Raises
    ------
    TrainingError
        Estimator not allowed / wrong kind for the task, or a parameter it does not accept.

    Examples
    --------
    >>> from scorewatch.core.schema import FeatureSpec
    >>> schema = FeatureSchema(features=(FeatureSpec(name="x", type="numeric"),))
    >>> pipe, params, _ = build_estimator(EstimatorSpec(estimator="LogisticRegression", params={"C": 0.5}),
    ...                                   task="binary", schema=schema, random_state=0)
    >>> params["C"], params["random_state"]
    (0.5, 0)
    """
    name = resolve_estimator_name(spec, task, spec_explicit=spec_explicit)
    module, _, tree_based = ALLOWED_ESTIMATORS[name]
    cls = getattr(importlib.import_module(module), name)
    params = {**_FAMILY_DEFAULTS.get(name, {}), **(dict(spec.params) if spec_explicit else {})}
    accepted = _accepted_params(cls, name)
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise TrainingError(f"estimator {name!r} does not accept parameter(s) {unknown}")
    if "random_state" in accepted and "random_state" not in params:
        params["random_state"] = random_state
    try:
        estimator = cls(**params)
    except (TypeError, ValueError) as exc:
        raise TrainingError(f"estimator {name!r} rejected params {params}: {exc}") from exc
    pre, dropped = build_preprocessor(schema, tree_based=tree_based)
    return Pipeline([("preprocess", pre), ("model", estimator)]), {"estimator": name, **params}, dropped


def _accepted_params(cls: type, name: str) -> set[str]:
    """Parameter names ``cls`` takes: its signature, plus what get_params lists (XGBoost names its
    parameters on a base class), plus LightGBM's keyword parameters."""
    accepted = set(inspect.signature(cls).parameters) - {"kwargs"}
    accepted |= set(cls().get_params())
    if name.startswith("LGBM"):
        accepted |= _LIGHTGBM_KWARGS
    return accepted


def load_entry_point(entry_point: str) -> Any:
    """Import ``package.module:function``.

    Raises
    ------
    TrainingError
        When the module or attribute cannot be imported or is not callable.
    """
    module_name, _, attr = entry_point.partition(":")
    try:
        func = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise TrainingError(f"cannot import training entry point {entry_point!r}: {exc}") from exc
    if not callable(func):
        raise TrainingError(f"training entry point {entry_point!r} is not callable")
    return func


def train_model(
    spec: EstimatorSpec,
    features: pd.DataFrame,
    target: pd.Series,
    *,
    task: str,
    schema: FeatureSchema,
    random_state: int,
    spec_explicit: bool = True,
) -> TrainedModel:
    """Fit a challenger on the assembled training set.

    Parameters
    ----------
    spec
        ``retraining.spec`` from the model config.
    features
        Training features (at least the schema's columns; extra columns are ignored).
    target
        Labels aligned with ``features``.
    task, schema, random_state
        The model's task, the feature schema the challenger must accept, the seed.
    spec_explicit
        False when the config left ``retraining.spec`` at its default (the task's default
        estimator is used then).

    Returns
    -------
    TrainedModel

    Raises
    ------
    TrainingError
        Empty data, a single class for a classifier, a bad spec, or the estimator failing to fit
        (message names the estimator; the original error is chained).
    """
    missing = [c for c in schema.names if c not in features.columns]
    if missing:
        raise TrainingError(f"training data lacks feature column(s) {missing}")
    if len(features) == 0 or len(features) != len(target):
        raise TrainingError(
            "need a non-empty training set with one label per row "
            f"({len(features)} rows, {len(target)} labels)"
        )
    if task != "regression" and pd.Series(target).nunique(dropna=True) < 2:
        raise TrainingError("training labels hold a single class; a classifier needs at least two")
    X = features[schema.names]
    if task != "regression":
        # labels aligned to the model's classes arrive as object dtype; sklearn needs a concrete
        # dtype to see discrete classes (object ints -> int64, strings stay strings)
        target = pd.Series(target).infer_objects()
    if spec.entry_point:
        func = load_entry_point(spec.entry_point)
        try:
            estimator = func(
                X,
                target,
                task=task,
                feature_schema=schema,
                params=dict(spec.params),
                random_state=random_state,
            )
        except Exception as exc:
            raise TrainingError(f"training entry point {spec.entry_point!r} failed: {exc}") from exc
        needed = ["predict"] + (["predict_proba"] if task != "regression" else [])
        lacking = [m for m in needed if not callable(getattr(estimator, m, None))]
        if lacking:
            raise TrainingError(
                f"training entry point {spec.entry_point!r} returned {type(estimator).__name__} "
                f"without {lacking}"
            )
        return TrainedModel(
            estimator, {"entry_point": spec.entry_point, **spec.params, "random_state": random_state}
        )
    pipeline, params, dropped = build_estimator(
        spec, task=task, schema=schema, random_state=random_state, spec_explicit=spec_explicit
    )
    try:
        pipeline.fit(X, target)
    except Exception as exc:
        raise TrainingError(f"fitting {params['estimator']} failed: {exc}") from exc
    return TrainedModel(pipeline, params, dropped)

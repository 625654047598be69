"""Direct loss estimation (DLE) for regressors: expected MAE and RMSE without labels.

Following NannyML's DLE: on a labeled reference, a second model (the *loss model*) learns the
regressor's error from the features and the prediction, one for the absolute error and one for
the squared error. On unlabeled rows the loss models predict each row's expected loss; their mean
is the expected MAE, and the square root of the mean expected squared error the expected RMSE.
It works as long as the relation between features and error holds; the data may shift.

The loss models are scikit-learn ``HistGradientBoostingRegressor`` pipelines (NannyML uses
LightGBM; on the benchmark in docs/benchmarks.md the two agree within the stated tolerance and
scikit-learn is already in the runtime image). Categorical features are ordinal-encoded inside the
pipeline (unknown categories become missing, which the trees route on their own), so a fitted
loss model takes the batch's feature frame as is. The reference must be rows the regressor was
not trained on: in-sample errors are smaller than the errors it makes on new data.

Pure: numpy/pandas/sklearn only, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scorewatch.monitoring.estimation.cbpe import EstimatedPerformance

#: Column holding the regressor's prediction in the loss models' input.
PREDICTION = "__prediction__"
LOSSES = ("mae", "rmse")


@dataclass(frozen=True)
class LossModels:
    """Fitted loss models: ``models["mae"]`` predicts |error|, ``models["rmse"]`` error²."""

    features: tuple[str, ...]
    categorical: tuple[str, ...]
    models: Mapping[str, Any]

    def frame(self, features: pd.DataFrame, prediction: Sequence[float] | np.ndarray) -> pd.DataFrame:
        """The loss models' input: the features (numeric as float, categorical as text) + prediction."""
        missing = [c for c in self.features if c not in features.columns]
        if missing:
            raise ValueError(f"loss models need feature column(s) {missing}")
        out = pd.DataFrame(index=range(len(features)))
        for name in self.features:
            col = features[name].reset_index(drop=True)
            if name in self.categorical:
                out[name] = (
                    col.astype(object)
                    .where(col.notna(), np.nan)
                    .map(lambda v: v if isinstance(v, float) else str(v))
                )
            else:
                out[name] = pd.to_numeric(col, errors="coerce").astype(float)
        out[PREDICTION] = np.asarray(prediction, dtype=float)
        return out

    def to_state(self) -> dict[str, Any]:
        """Plain containers and the two fitted pipelines, for a skops artifact."""
        return {
            "features": list(self.features),
            "categorical": list(self.categorical),
            **{k: self.models[k] for k in LOSSES},
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> LossModels:
        """The inverse of :meth:`to_state` (ValueError when a part is missing)."""
        missing = [k for k in ("features", "categorical", *LOSSES) if k not in state]
        if missing:
            raise ValueError(f"loss-model state lacks {missing}")
        return cls(
            features=tuple(str(c) for c in state["features"]),
            categorical=tuple(str(c) for c in state["categorical"]),
            models={k: state[k] for k in LOSSES},
        )


def _pipeline(features: Sequence[str], categorical: Sequence[str], random_state: int) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder

    cats = [c for c in features if c in categorical]
    nums = [c for c in features if c not in categorical] + [PREDICTION]
    encode = ColumnTransformer(
        [
            (
                "categorical",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value",
                    unknown_value=np.nan,
                    encoded_missing_value=np.nan,
                ),
                cats,
            ),
            ("numeric", "passthrough", nums),
        ],
        verbose_feature_names_out=False,
    )
    trees = HistGradientBoostingRegressor(
        categorical_features=list(range(len(cats))) or None, random_state=random_state
    )
    return Pipeline([("encode", encode), ("trees", trees)])


def fit_loss_models(
    features: pd.DataFrame,
    prediction: Sequence[float] | np.ndarray,
    y_true: Sequence[float] | np.ndarray,
    *,
    categorical: Sequence[str] = (),
    random_state: int = 0,
) -> LossModels:
    """Fit the absolute- and squared-error models on a labeled reference.

    Parameters
    ----------
    features
        The reference's feature columns (every column is used).
    prediction, y_true
        The regressor's predictions on those rows and the true values.
    categorical
        Which feature columns are categorical.
    random_state
        Seed of the gradient-boosting fits.

    Returns
    -------
    LossModels

    Raises
    ------
    ValueError
        Mismatched lengths, fewer than 20 rows, or non-finite labels or predictions.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"x": rng.normal(size=500)})
    >>> y = X["x"] + rng.normal(scale=0.1 + np.abs(X["x"]))
    >>> lm = fit_loss_models(X, X["x"], y)
    >>> sorted(lm.models)
    ['mae', 'rmse']
    """
    pred = np.asarray(prediction, dtype=float)
    y = np.asarray(y_true, dtype=float)
    if not (len(features) == pred.size == y.size) or y.size < 20:
        raise ValueError(
            f"need at least 20 rows of equal length (got {len(features)}, {pred.size}, {y.size})"
        )
    if not (np.all(np.isfinite(pred)) and np.all(np.isfinite(y))):
        raise ValueError("labels and predictions must be finite")
    names = tuple(str(c) for c in features.columns)
    cats = tuple(c for c in names if c in set(categorical))
    shell = LossModels(features=names, categorical=cats, models={})
    X = shell.frame(features, pred)
    err = y - pred
    models = {
        "mae": _pipeline(names, cats, random_state).fit(X, np.abs(err)),
        "rmse": _pipeline(names, cats, random_state).fit(X, err**2),
    }
    return LossModels(features=names, categorical=cats, models=models)


def estimate_regression(
    loss_models: LossModels, features: pd.DataFrame, prediction: Sequence[float] | np.ndarray
) -> EstimatedPerformance:
    """DLE: expected MAE and RMSE of unlabeled rows.

    Each row's predicted loss is clipped at 0 (a loss cannot be negative; a tree ensemble fitted
    with squared error can extrapolate below it).

    Raises
    ------
    ValueError
        A feature column the loss models need is missing.
    """
    pred = np.asarray(prediction, dtype=float)
    keep = np.isfinite(pred)
    if not keep.any():
        return EstimatedPerformance(0, dict.fromkeys(LOSSES), {}, False)
    X = loss_models.frame(features.reset_index(drop=True)[keep], pred[keep])
    abs_err = np.clip(loss_models.models["mae"].predict(X), 0.0, None)
    sq_err = np.clip(loss_models.models["rmse"].predict(X), 0.0, None)
    metrics: dict[str, float | None] = {
        "mae": float(abs_err.mean()),
        "rmse": float(np.sqrt(sq_err.mean())),
    }
    return EstimatedPerformance(int(keep.sum()), metrics, {}, False)

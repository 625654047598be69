"""Direct loss estimation (DLE) for regressors: expected MAE and RMSE without labels.

Following NannyML's DLE: on a labeled reference, a second model (the *loss model*) learns the
regressor's error from the features and the prediction, one for the absolute error and one for
the squared error. On unlabeled rows the loss models predict each row's expected loss; their mean
is the expected MAE, and the square root of the mean expected squared error the expected RMSE.
It works as long as the relation between features and error holds; the data may shift.

The loss models are scikit-learn ``HistGradientBoostingRegressor`` ensembles (NannyML uses
LightGBM; on the benchmark in docs/benchmarks.md the two agree within the stated tolerance and
scikit-learn is already in the runtime image). Categorical features are coded by the reference's
categories ordered by their mean absolute error, kept as plain text lists beside the trees (an
unseen or missing category is coded missing, which the trees route on their own). The trees'
native categorical splits are not used: a model fitted with them holds a ``functools.partial``,
which the artifact allowlist refuses. The reference must be rows the regressor was
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


#: Categories a categorical feature keeps (the most frequent in the reference; the histogram
#: trees take at most 255 bins, one of them for missing values). Others are treated as missing.
MAX_CATEGORIES = 254


@dataclass(frozen=True)
class LossModels:
    """Fitted loss models: ``models["mae"]`` predicts |error|, ``models["rmse"]`` error².

    ``categories`` maps each categorical feature to the reference's categories (as text), whose
    position is the code the trees see; an unseen or missing category is coded missing.
    """

    features: tuple[str, ...]
    categories: Mapping[str, tuple[str, ...]]
    models: Mapping[str, Any]

    def frame(self, features: pd.DataFrame, prediction: Sequence[float] | np.ndarray) -> np.ndarray:
        """The loss models' input matrix: features (categories as codes) and the prediction last."""
        missing = [c for c in self.features if c not in features.columns]
        if missing:
            raise ValueError(f"loss models need feature column(s) {missing}")
        cols = []
        for name in self.features:
            col = features[name].reset_index(drop=True)
            if name in self.categories:
                codes = pd.Series(
                    np.arange(len(self.categories[name]), dtype=float), index=list(self.categories[name])
                )
                text = col.astype(object).map(lambda v: None if _missing(v) else str(v))
                cols.append(text.map(codes).to_numpy(dtype=float))
            elif pd.api.types.is_datetime64_any_dtype(col):
                # seconds since the epoch; NaT stays missing (to_numeric would give int64's minimum)
                cols.append(
                    (col.astype("datetime64[ns]").astype("int64") / 1e9).where(col.notna()).to_numpy(float)
                )
            else:
                cols.append(pd.to_numeric(col, errors="coerce").to_numpy(dtype=float))
        cols.append(np.asarray(prediction, dtype=float))
        return np.column_stack(cols)

    def to_state(self) -> dict[str, Any]:
        """Plain containers and the two fitted tree ensembles, for a skops artifact."""
        return {
            "features": list(self.features),
            "categories": {k: list(v) for k, v in self.categories.items()},
            **{k: self.models[k] for k in LOSSES},
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> LossModels:
        """The inverse of :meth:`to_state` (ValueError when a part is missing)."""
        missing = [k for k in ("features", "categories", *LOSSES) if k not in state]
        if missing:
            raise ValueError(f"loss-model state lacks {missing}")
        return cls(
            features=tuple(str(c) for c in state["features"]),
            categories={str(k): tuple(str(c) for c in v) for k, v in state["categories"].items()},
            models={k: state[k] for k in LOSSES},
        )


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))


def _categories(col: pd.Series, loss: np.ndarray) -> tuple[str, ...]:
    # The most frequent categories, ordered by their mean loss: the codes are then an ordinal
    # feature whose splits separate low-loss from high-loss categories.
    known = ~col.isna().to_numpy()
    text = pd.Series(col.astype(object).to_numpy()[known]).map(str)
    frequent = text.value_counts(sort=True).index[:MAX_CATEGORIES]
    means = pd.Series(loss[known]).groupby(text.to_numpy()).mean()
    return tuple(sorted((str(c) for c in frequent), key=lambda c: (float(means[c]), c)))


def _trees(random_state: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(random_state=random_state)


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
    wanted = set(categorical)
    err = y - pred
    cats = {c: _categories(features[c], np.abs(err)) for c in names if c in wanted}
    X = LossModels(features=names, categories=cats, models={}).frame(features, pred)
    models = {
        "mae": _trees(random_state).fit(X, np.abs(err)),
        "rmse": _trees(random_state).fit(X, err**2),
    }
    return LossModels(features=names, categories=cats, models=models)


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

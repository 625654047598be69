"""Infer a feature schema for a model that comes without a card (offline CLI use of a local file).

The estimator says which columns it consumes (``feature_names_in_``) and which of them are
categorical (columns routed through an encoder in a ColumnTransformer, with the encoder's
``categories_``); a sample of the input fills in types for the rest. The result is a best guess
and the CLI tells the user so (:data:`NOTICE`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scorewatch.core.cards import Task
from scorewatch.core.errors import ModelError
from scorewatch.core.schema import FeatureSchema, FeatureSpec, FeatureType

NOTICE = "schema inferred from the estimator; no card"


@dataclass(frozen=True)
class InferredSchema:
    """A schema guessed from an estimator (and input sample), with what the user must be told."""

    schema: FeatureSchema
    task: Task
    classes: tuple[Any, ...] | None
    notice: str = NOTICE


def infer_task(estimator: Any) -> tuple[Task, tuple[Any, ...] | None]:
    """``("binary"|"multiclass", classes)`` for classifiers, ``("regression", None)`` otherwise.

    >>> from sklearn.linear_model import LogisticRegression
    >>> infer_task(LogisticRegression().fit([[0.0], [1.0]], ["a", "b"]))
    ('binary', ('a', 'b'))
    """
    from sklearn.base import is_classifier

    classes = getattr(estimator, "classes_", None)
    if is_classifier(estimator) or (classes is not None and hasattr(estimator, "predict_proba")):
        if classes is None:
            raise ModelError(f"{type(estimator).__name__} is a classifier without classes_: is it fitted?")
        labels = tuple(c.item() if hasattr(c, "item") else c for c in classes)
        return ("binary" if len(labels) == 2 else "multiclass"), labels
    return "regression", None


def _walk(estimator: Any) -> Iterator[Any]:
    """The estimator and every estimator nested in Pipelines / ColumnTransformers (fitted parts)."""
    yield estimator
    steps = getattr(estimator, "steps", None)
    if isinstance(steps, list):
        for _, step in steps:
            yield from _walk(step)
    for entry in getattr(estimator, "transformers_", None) or ():
        yield from _walk(entry[1])


def _column_names(columns: Any, all_names: Sequence[str]) -> list[str]:
    if isinstance(columns, str):
        return [columns]
    if isinstance(columns, slice):
        return list(all_names[columns])
    if callable(columns):
        return []
    cols = list(np.atleast_1d(np.asarray(columns, dtype=object)))
    if cols and all(isinstance(c, bool | np.bool_) for c in cols):
        return [n for n, keep in zip(all_names, cols, strict=False) if keep]
    return [all_names[int(c)] if isinstance(c, int | np.integer) else str(c) for c in cols]


def _encoder_in(transformer: Any) -> Any | None:
    for part in _walk(transformer):
        if hasattr(part, "categories_"):
            return part
    return None


def _clean_categories(values: Any) -> tuple[list[str], bool]:
    """Encoder categories as text, dropping the missing-value marker; also whether all are numbers."""
    out: list[str] = []
    numeric = True
    for v in np.asarray(values, dtype=object).tolist():
        if v is None or (isinstance(v, float) and np.isnan(v)):
            continue
        numeric = (
            numeric and isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
        )
        out.append(str(v))
    return out, numeric


def _encoded_columns(estimator: Any, names: Sequence[str]) -> dict[str, FeatureSpec]:
    """Features that reach an encoder with ``categories_``, typed from what it was fitted on."""
    specs: dict[str, FeatureSpec] = {}
    for part in _walk(estimator):
        for _, transformer, columns in getattr(part, "transformers_", None) or ():
            encoder = _encoder_in(transformer) if not isinstance(transformer, str) else None
            if encoder is None:
                continue
            cols = _column_names(columns, list(getattr(part, "feature_names_in_", names)))
            for col, cats in zip(cols, encoder.categories_, strict=False):
                texts, numeric = _clean_categories(cats)
                if numeric:
                    # fitted on numbers: validation must hand it numbers, not text
                    specs[col] = FeatureSpec(name=col, type="numeric")
                else:
                    specs[col] = FeatureSpec(name=col, type="categorical", categories=tuple(texts))
    return specs


def _type_from_sample(series: pd.Series) -> FeatureType:
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    non_null = series.dropna()
    if len(non_null) and pd.to_numeric(non_null.astype(str).str.strip(), errors="coerce").notna().all():
        return "numeric"  # numbers read as text (a CSV column with stray spaces)
    return "categorical"


def infer_schema(
    estimator: Any, sample: pd.DataFrame | None = None, *, id_columns: Sequence[str] = ()
) -> InferredSchema:
    """Guess a FeatureSchema for a fitted estimator.

    Parameters
    ----------
    estimator : scikit-learn estimator or Pipeline
        Fitted. ``feature_names_in_`` gives the columns; encoders inside a ColumnTransformer give
        the categorical columns and their categories.
    sample : pandas.DataFrame, optional
        Some input rows: types for columns the estimator does not describe, and the column list
        when the estimator was fitted without names.
    id_columns : sequence of str
        Columns passed through to the output (never features).

    Returns
    -------
    InferredSchema
        ``.schema``, ``.task``, ``.classes`` and ``.notice`` (print it: this is a guess).

    Raises
    ------
    ModelError
        Neither the estimator nor a sample names the features.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = pd.DataFrame({"age": [20.0, 60.0], "income": [1.0, 2.0]})
    >>> inferred = infer_schema(LogisticRegression().fit(X, [0, 1]))
    >>> inferred.schema.names, inferred.task
    (['age', 'income'], 'binary')
    """
    task, classes = infer_task(estimator)
    ids = [str(c) for c in id_columns]
    names_in = getattr(estimator, "feature_names_in_", None)
    if names_in is not None:
        names = [str(n) for n in names_in]
    elif sample is not None:
        names = [str(c) for c in sample.columns if str(c) not in ids]
    else:
        raise ModelError(
            f"cannot infer the features of {type(estimator).__name__}: it was fitted without column "
            "names (no feature_names_in_) and no input sample was given"
        )
    if not names:
        raise ModelError(f"cannot infer the features of {type(estimator).__name__}: no columns")
    encoded = _encoded_columns(estimator, names)
    features = []
    for name in names:
        if name in encoded:
            features.append(encoded[name])
        elif sample is not None and name in sample.columns:
            features.append(FeatureSpec(name=name, type=_type_from_sample(sample[name])))
        else:
            # scikit-learn estimators consume numbers unless an encoder says otherwise
            features.append(FeatureSpec(name=name, type="numeric"))
    schema = FeatureSchema(features=tuple(features), id_columns=tuple(i for i in ids if i not in names))
    return InferredSchema(schema=schema, task=task, classes=classes)

"""The one schema inference: column types and roles of a frame, and a schema for a model without a card.

:func:`infer_frame` types every column of a frame and gives it a role, saying why
(``"numeric: 7032 of 7043 parse, 11 blank"``); ``models register --reference``, ``scorewatch
drift``/``profile``, :func:`scorewatch.api.infer_schema` and a local model file all use it.

* numeric: a numeric dtype, or text whose non-blank values parse as numbers (blank, ``NA``,
  ``null``, ``NaN`` are missing, as the coercion rules say); a few values that do not parse (at
  most :data:`UNPARSED_SHARE`) keep the column numeric, and those rows are invalid;
* boolean and datetime from their dtypes; datetime also from timestamp text (ISO 8601 or slashed
  dates); a datetime column gets role ``excluded``: a timestamp is not compared across batches,
  since every new batch covers a new period; everything else categorical;
* role ``id`` (excluded from drift, quality and the domain classifier): named like an identifier
  (``id``, ``*_id``, ``*Id``, ``uuid``, ``key`` ...) and mostly distinct, text distinct on
  (nearly) every row, or strictly monotone integers;
* role ``text`` (excluded, with the reason): long strings with a high distinct share.

For a model, the estimator says which columns it consumes (``feature_names_in_``) and which of them are
categorical (columns routed through an encoder in a ColumnTransformer, with the encoder's
``categories_``); a sample of the input fills in types for the rest. The result is a best guess
and the CLI tells the user so (:data:`NOTICE`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from scorewatch.core.cards import Task
from scorewatch.core.errors import ModelError, MonitoringInputError
from scorewatch.core.schema import FeatureSchema, FeatureSpec, FeatureType
from scorewatch.monitoring.profiles import MISSING_TOKENS

NOTICE = "schema inferred from the estimator; no card"


@dataclass(frozen=True)
class InferredSchema:
    """A schema guessed from an estimator (and input sample), with what the user must be told."""

    schema: FeatureSchema
    task: Task
    classes: tuple[Any, ...] | None
    notice: str = NOTICE
    #: Features typed from the input sample (not described by the estimator): the ones to confirm
    #: on the full input (``scoring.type_confirm.confirm_features``).
    sampled: tuple[str, ...] = ()


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
    return infer_column(series).type


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
    sampled = []
    for name in names:
        if name in encoded:
            features.append(encoded[name])
        elif sample is not None and name in sample.columns:
            features.append(FeatureSpec(name=name, type=_type_from_sample(sample[name])))
            sampled.append(name)
        else:
            # scikit-learn estimators consume numbers unless an encoder says otherwise
            features.append(FeatureSpec(name=name, type="numeric"))
    schema = FeatureSchema(features=tuple(features), id_columns=tuple(i for i in ids if i not in names))
    return InferredSchema(schema=schema, task=task, classes=classes, sampled=tuple(sampled))


# --- frame inference -------------------------------------------------------------------------

#: Largest share of non-blank values that may fail to parse in a column still typed numeric.
UNPARSED_SHARE = 0.05
#: A text column distinct on at least this share of its non-missing rows is an identifier.
UNIQUE_SHARE = 0.99
#: A column named like an identifier is one when at least this share of its values is distinct.
NAMED_ID_SHARE = 0.5
#: Text with a mean length of at least this many characters and a high distinct share is free text.
TEXT_MIN_LENGTH = 30
#: Fewer non-missing values than this: too few to call a column an identifier or text.
MIN_ROWS_FOR_ROLE = 20

Role = Literal["feature", "id", "text", "target", "excluded"]
#: Timestamp text: ISO 8601 dates and date-times (``2013-01-01``, ``2013-01-01 05:00``,
#: ``2013-01-01T05:00:00Z``, with an offset or fraction) and slashed dates (``1/31/2013``).
_TIMESTAMP = re.compile(
    r"^(\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?"
    r"|\d{1,2}/\d{1,2}/\d{2,4}([ T]\d{1,2}:\d{2}(:\d{2})?)?)$"
)
#: Values checked against the timestamp pattern (the first ones present).
TIMESTAMP_SAMPLE = 1000
_ID_NAME = re.compile(
    r"(^|[_\-. ])(id|uuid|guid|key|rownames?)$|^(id|uuid|guid|key|rownames?)$|[a-z0-9](Id|ID|Key)$"
)


@dataclass(frozen=True)
class ColumnInference:
    """The inferred type and role of one column, and why."""

    name: str
    type: FeatureType
    role: Role
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "type": self.type, "role": self.role, "reason": self.reason}


@dataclass(frozen=True)
class FrameInference:
    """A schema inferred from a frame plus every column's type, role and reason."""

    schema: FeatureSchema
    columns: tuple[ColumnInference, ...]

    @property
    def excluded(self) -> tuple[ColumnInference, ...]:
        """Columns that are not features (ids, text, target, excluded by the user)."""
        return tuple(c for c in self.columns if c.role != "feature")

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature_schema": self.schema.model_dump(mode="json"),
            "columns": [c.to_dict() for c in self.columns],
        }


def looks_like_id_name(name: str) -> bool:
    """``id``, ``customer_id``, ``customerID``, ``uuid``, ``order-key``, ``rownames`` ...

    >>> [looks_like_id_name(n) for n in ("id", "customerID", "user_id", "paid", "idle", "Key")]
    [True, True, True, False, False, True]
    """
    return bool(_ID_NAME.search(name) or _ID_NAME.search(name.lower()))


def _text_values(series: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's code into the distinct values, their stripped text, and which of them are missing.

    Works on the distinct values (``pd.factorize``, one hash per row in C) rather than on every
    row: a 1M-row column of a dozen categories costs one factorize, not two Python calls per row.
    Code -1 is a null; a distinct value is missing when null after stripping or a missing token.
    Values equal in Python (``1``, ``1.0`` and ``True`` in one object column) are one distinct
    value, as ``nunique`` has always counted them.
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    values = np.asarray(uniques, dtype=object)
    stripped = np.array([v.strip() if isinstance(v, str) else v for v in values.tolist()], dtype=object)
    blank = np.array([_is_blank(v) for v in stripped.tolist()], dtype=bool).reshape(-1)
    return np.asarray(codes, dtype=np.int64), stripped, blank


def _distinct_text(series: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct non-null values stripped, which are missing tokens, and their row counts.

    One ``value_counts`` (a hash per row in C); what follows runs on the distinct values.
    """
    counts = series.value_counts(dropna=True, sort=False)
    values = np.asarray(counts.index, dtype=object)
    stripped = np.array([v.strip() if isinstance(v, str) else v for v in values.tolist()], dtype=object)
    blank = np.array([_is_blank(v) for v in stripped.tolist()], dtype=bool).reshape(-1)
    return stripped, blank, counts.to_numpy(dtype=np.int64)


def _present_rows(series: pd.Series) -> tuple[np.ndarray, np.ndarray, Any]:
    """Per present row (in order) its code into the stripped distinct values, those values, and
    the numbers they parse to."""
    codes, stripped, blank = _text_values(series)
    present = codes[(codes >= 0) & ~blank[np.maximum(codes, 0)]]
    return present, stripped, pd.to_numeric(pd.Series(stripped, dtype=object).astype(str), errors="coerce")


def _first_present(series: pd.Series, k: int) -> np.ndarray:
    """The first ``k`` present values (stripped), reading only as many rows as that takes."""
    rows = 4 * k
    while True:
        present, stripped, _ = _present_rows(series.iloc[:rows])
        if present.size >= k or rows >= len(series):
            return stripped[present[:k]]
        rows *= 8


def _numeric_text(series: pd.Series, name: str, ok: int, n_present: int, n_blank: int) -> ColumnInference:
    """A text column whose values (all but at most UNPARSED_SHARE) parse as numbers."""
    present, stripped, parsed = _present_rows(series)
    reason = f"numeric: {ok} of {n_present} non-blank values parse, {n_blank} blank"
    if ok < n_present:
        fails = parsed.isna().to_numpy()[present]
        bad = stripped[present[np.argmax(fails)]]  # the first row that does not parse
        reason += f", {n_present - ok} do not parse (e.g. {str(bad)[:20]!r})"
    role, why = _numeric_role(name, parsed.take(present).reset_index(drop=True))
    return ColumnInference(name, "numeric", role, f"{reason}; {why}" if why else reason)


def _is_blank(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in MISSING_TOKENS
    missing = pd.isna(value)  # an array for a list-like value: not missing
    return value is None or (isinstance(missing, (bool, np.bool_)) and bool(missing))


def infer_column(series: pd.Series, name: str | None = None) -> ColumnInference:
    """Type and role of one column (see the module docstring), with the reason.

    >>> print(infer_column(pd.Series(["1.5", " ", "2", "NA", "abc"] + ["3"] * 20), "x").reason)
    numeric: 22 of 23 non-blank values parse, 2 blank, 1 do not parse (e.g. 'abc')
    """
    name = str(series.name if name is None else name)
    n = len(series)
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return ColumnInference(name, "boolean", "feature", "boolean: bool dtype")
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return ColumnInference(
            name,
            "datetime",
            "excluded",
            "datetime: datetime dtype; a timestamp is not compared across batches"
            " (each batch covers a new period)",
        )
    if pd.api.types.is_numeric_dtype(dtype):
        missing = int(series.isna().sum())
        role, why = _numeric_role(name, series)
        reason = f"numeric: {dtype} dtype, {n - missing} of {n} values present"
        return ColumnInference(name, "numeric", role, f"{reason}; {why}" if why else reason)
    stripped, blank_u, per_value = _distinct_text(series)
    keep = ~blank_u & (per_value > 0)
    n_present = int(per_value[keep].sum())
    n_blank = n - n_present
    if n_present == 0:
        return ColumnInference(name, "categorical", "feature", f"categorical: all {n} values are missing")
    parsed_u = pd.to_numeric(pd.Series(stripped, dtype=object).astype(str), errors="coerce")
    parses = parsed_u.notna().to_numpy() & keep
    ok = int(per_value[parses].sum())
    if ok and (n_present - ok) <= UNPARSED_SHARE * n_present:
        return _numeric_text(series, name, ok, n_present, n_blank)
    sample = pd.Series(_first_present(series, TIMESTAMP_SAMPLE), dtype=object).astype(str)
    stamps = int(sample.str.match(_TIMESTAMP).sum())
    if stamps and (len(sample) - stamps) <= UNPARSED_SHARE * len(sample):
        return ColumnInference(
            name,
            "datetime",
            "excluded",
            f"datetime: {stamps} of the first {len(sample)} non-blank values are timestamps; "
            "a timestamp is not compared across batches (each batch covers a new period)",
        )
    distinct = int(pd.Series(stripped[keep], dtype=object).nunique())  # stripping can merge values
    share = distinct / n_present
    reason = f"categorical: {distinct} distinct of {n_present} non-blank values"
    if n_present >= MIN_ROWS_FOR_ROLE:
        lengths = np.array([len(str(v)) for v in stripped.tolist()], dtype=np.int64)
        mean_len = float((lengths[keep] * per_value[keep]).sum()) / n_present
        if mean_len >= TEXT_MIN_LENGTH and share >= NAMED_ID_SHARE:
            return ColumnInference(
                name,
                "categorical",
                "text",
                f"{reason}; free text (mean length {mean_len:.0f}, {share:.0%} distinct): not profiled",
            )
        if share >= UNIQUE_SHARE:
            return ColumnInference(name, "categorical", "id", f"{reason}; identifier ({share:.1%} distinct)")
        if looks_like_id_name(name) and share >= NAMED_ID_SHARE:
            return ColumnInference(
                name, "categorical", "id", f"{reason}; identifier (named like one, {share:.0%} distinct)"
            )
    return ColumnInference(name, "categorical", "feature", reason)


def _numeric_role(name: str, series: pd.Series) -> tuple[Role, str | None]:
    if isinstance(series.dtype, np.dtype) and series.dtype.kind == "f":
        values = series.to_numpy()  # no copy: NaN is already the missing value
    else:
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    head = values[:4096]
    head = head[~np.isnan(head)]
    if not np.all(head == np.round(head)):  # a fraction among the first values: not integral,
        return "feature", None  # which every branch below answers with "feature"
    values = values[~np.isnan(values)]
    if values.size < MIN_ROWS_FOR_ROLE or not np.all(np.isfinite(values)):
        return "feature", None
    integral = bool(np.all(values == np.round(values)))
    if not integral:
        return "feature", None
    share = np.unique(values).size / values.size
    if looks_like_id_name(name) and share >= NAMED_ID_SHARE:
        return "id", f"identifier (named like one, {share:.0%} distinct)"
    diffs = np.diff(values)
    if np.all(diffs > 0) or np.all(diffs < 0):
        return "id", "identifier (strictly monotone integers)"
    return "feature", None


def infer_frame(
    df: pd.DataFrame,
    *,
    id_columns: Sequence[str] = (),
    exclude: Sequence[str] = (),
    target: str | None = None,
    detect_ids: bool = True,
) -> FrameInference:
    """Types and roles of every column of ``df`` and the resulting FeatureSchema.

    Parameters
    ----------
    df : DataFrame
        A sample of the input (all of it, or its first rows).
    id_columns : sequence of str
        Identifier columns named by the user (kept as ``schema.id_columns``).
    exclude : sequence of str
        Columns to leave out (score columns, anything the user names).
    target : str, optional
        The label column: never a feature.
    detect_ids : bool
        Also give the ``id``/``text`` roles from names and values (see the module docstring).

    Raises
    ------
    MonitoringInputError
        A column name is not a non-empty string, or no feature column is left.

    Examples
    --------
    >>> df = pd.DataFrame({"customerID": [f"c{i}" for i in range(30)], "tenure": ["1"] * 29 + [" "]})
    >>> inf = infer_frame(df)
    >>> inf.schema.names, inf.schema.id_columns
    (['tenure'], ('customerID',))
    """
    ids, skip = {str(c) for c in id_columns}, {str(c) for c in exclude}
    columns: list[ColumnInference] = []
    for name in df.columns:
        if not isinstance(name, str) or not name:
            raise MonitoringInputError(f"column names must be non-empty strings, got {name!r}")
        if name in skip:
            columns.append(ColumnInference(name, "categorical", "excluded", "excluded: named by the caller"))
            continue
        col = infer_column(df[name], name)
        if name in ids:
            col = ColumnInference(name, col.type, "id", "identifier: named by the caller")
        elif name == target:
            col = ColumnInference(name, col.type, "target", "target: the label, not a feature")
        elif not detect_ids and col.role in ("id", "text"):
            col = ColumnInference(name, col.type, "feature", col.reason.split(";")[0])
        columns.append(col)
    features = tuple(FeatureSpec(name=c.name, type=c.type) for c in columns if c.role == "feature")
    if not features:
        raise MonitoringInputError(
            f"no feature columns to profile among {list(df.columns)}: "
            + "; ".join(f"{c.name}: {c.reason}" for c in columns)
        )
    schema = FeatureSchema(features=features, id_columns=tuple(c.name for c in columns if c.role == "id"))
    return FrameInference(schema=schema, columns=tuple(columns))

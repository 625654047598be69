"""Categorical encoders run once per distinct value, then gathered to the rows.

scikit-learn's ``OrdinalEncoder`` and ``OneHotEncoder`` map an object column value by value in
Python (``_check_unknown``, ``_map_to_integer``): about 0.3 s per million values per column,
which made the encoding step of a pipeline cost more than a 100-tree gradient-boosting model's
prediction (measured: docs/scoring.md, "How a file streams through the scorer"). A chunk of a categorical
column holds a handful of distinct values. :func:`accelerate` returns an estimator that gives
the same outputs as the one it is given, whose eligible encoders transform only a small frame of
each column's distinct values (the real encoder, with its own checks, warnings and errors) and
then copy the encoded rows into place.

It is exact because these encoders are value-wise per column: output block ``j`` of a row is a
function of that row's value in input column ``j`` alone. Eligible, by exact type (a subclass
may change that): ``OrdinalEncoder``, ``OneHotEncoder``, and a ``Pipeline`` of ``SimpleImputer``
steps (no indicator, no dropped column) ending in one of them, each as a step of a top-level
``Pipeline`` or inside a ``ColumnTransformer``. Anything else is left as it is. The model object
given is never modified: the result shares the fitted steps and replaces only containers.

Per chunk, a column falls back to the real encoder's full transform when it has nearly as many
distinct values as rows (nothing to gain), or when its missing values mix ``None`` and ``NaN``
(which ``pandas.factorize`` merges and scikit-learn does not).

This module does no I/O.
"""

from __future__ import annotations

import copy
import ctypes
import functools
from typing import Any, cast

import numpy as np
import pandas as pd

#: Below this many rows a chunk goes straight to the encoder (the bookkeeping is not worth it).
MIN_ROWS = 64
#: A chunk is encoded by distinct values only when rows >= this many times the largest count.
MIN_REPEAT = 4


def accelerate(estimator: Any) -> tuple[Any, tuple[str, ...]]:
    """An equivalent estimator whose categorical encoders work on distinct values.

    Parameters
    ----------
    estimator : fitted scikit-learn estimator, Pipeline or ColumnTransformer

    Returns
    -------
    (estimator, names)
        ``estimator`` itself when nothing is eligible (``names`` empty); otherwise a shallow copy
        with the eligible encoders wrapped, and the dotted names of those encoders.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import OneHotEncoder
    >>> X = pd.DataFrame({"c": ["a", "b", "a", "c"] * 50})
    >>> model = make_pipeline(OneHotEncoder(), LogisticRegression()).fit(X, [0, 1, 0, 1] * 50)
    >>> fast, names = accelerate(model)
    >>> names
    ('onehotencoder',)
    >>> bool((fast.predict_proba(X) == model.predict_proba(X)).all())
    True
    """
    return _accelerate(estimator, prefix="")


def _accelerate(estimator: Any, prefix: str) -> tuple[Any, tuple[str, ...]]:
    kind = _sklearn_type(estimator)
    if kind == "Pipeline":
        steps, names = [], []
        for name, step in estimator.steps:
            new, found = _step(step, f"{prefix}{name}")
            steps.append((name, new))
            names.extend(found)
        if not names:
            return estimator, ()
        fast = copy.copy(estimator)
        fast.steps = steps
        return fast, tuple(names)
    if kind == "ColumnTransformer" and hasattr(estimator, "transformers_"):
        fitted, names = [], []
        for name, trans, columns in estimator.transformers_:
            new, found = _step(trans, f"{prefix}{name}")
            fitted.append((name, new, columns))
            names.extend(found)
        sparse_out = bool(getattr(estimator, "sparse_output_", False))
        if sparse_out:
            names.append(f"{prefix.rstrip('.')}[sparse stack]" if prefix else "[sparse stack]")
        if not names:
            return estimator, ()
        fast = copy.copy(estimator)
        fast.transformers_ = fitted
        if sparse_out:
            fast.__class__ = _sparse_stacking_class()
        return fast, tuple(names)
    return estimator, ()


def _step(step: Any, name: str) -> tuple[Any, list[str]]:
    if isinstance(step, str) or step is None:
        return step, []
    widths = _block_widths(step)
    if widths is not None:
        return DistinctValueEncoder(step, widths), [name]
    new, found = _accelerate(step, prefix=f"{name}.")
    return new, list(found)


def _sklearn_type(obj: Any) -> str | None:
    kind = type(obj)
    return kind.__name__ if kind.__module__.startswith("sklearn.") else None


def _block_widths(transformer: Any) -> tuple[int, ...] | None:
    """Output columns per input column of a value-wise encoder, or None if it is not one."""
    kind = _sklearn_type(transformer)
    n_in = getattr(transformer, "n_features_in_", None)
    if not isinstance(n_in, int) or n_in < 1:
        return None
    if kind == "OrdinalEncoder":
        return (1,) * n_in
    if kind == "OneHotEncoder":
        outs = getattr(transformer, "_n_features_outs", None)  # per input feature, after drop/infrequent
        try:
            widths = tuple(int(w) for w in outs)  # type: ignore[union-attr]
            total = len(transformer.get_feature_names_out())
        except (TypeError, ValueError, AttributeError):
            return None
        return widths if len(widths) == n_in and sum(widths) == total else None
    if kind == "Pipeline" and len(transformer.steps) >= 2:
        *imputers, (_, last) = transformer.steps
        if not all(_keeps_columns(step) for _, step in imputers):
            return None
        last_widths = _block_widths(last)
        return last_widths if last_widths is not None and len(last_widths) == n_in else None
    return None


def _keeps_columns(step: Any) -> bool:
    """A SimpleImputer that maps each column to one column (no indicator, none dropped)."""
    if _sklearn_type(step) != "SimpleImputer" or getattr(step, "add_indicator", True):
        return False
    try:
        return len(step.get_feature_names_out()) == step.n_features_in_
    except (AttributeError, ValueError):
        return False


class DistinctValueEncoder:
    """Wraps a fitted value-wise encoder; ``transform`` encodes each distinct value once.

    Every other attribute is the wrapped encoder's, so a container (ColumnTransformer, Pipeline)
    sees the same fitted object.
    """

    def __init__(self, encoder: Any, widths: tuple[int, ...]) -> None:
        self.encoder = encoder
        self.widths = widths

    def __getattr__(self, name: str) -> Any:
        if name in ("encoder", "widths"):  # not yet set (e.g. during unpickling)
            raise AttributeError(name)
        return getattr(self.encoder, name)

    def __repr__(self) -> str:
        return f"DistinctValueEncoder({self.encoder!r})"

    def fit(self, *args: Any, **kwargs: Any) -> DistinctValueEncoder:
        raise TypeError("DistinctValueEncoder wraps a fitted encoder for prediction; fit the original")

    def transform(self, X: Any, **params: Any) -> Any:
        plan = None if params else _plan(X, len(self.widths))
        if plan is None:
            return self.encoder.transform(X, **params)
        sample, rows = plan
        encoded = self.encoder.transform(sample)  # the encoder's own checks, on every value present
        if isinstance(encoded, pd.DataFrame):  # set_output(transform="pandas")
            values = _gather(encoded.to_numpy(), rows, self.widths)
            return pd.DataFrame(values, columns=encoded.columns, index=getattr(X, "index", None))
        if not (isinstance(encoded, np.ndarray) or hasattr(encoded, "tocsr")):
            return self.encoder.transform(X)  # another container (polars output, say): as it is
        return _gather(encoded, rows, self.widths)

    def __sklearn_is_fitted__(self) -> bool:
        return True


def _columns(X: Any) -> list[Any] | None:
    if isinstance(X, pd.DataFrame):
        return [X.iloc[:, j] for j in range(X.shape[1])]
    if isinstance(X, np.ndarray) and X.ndim == 2:
        return [X[:, j] for j in range(X.shape[1])]
    return None


def _plan(X: Any, n_columns: int) -> tuple[Any, list[np.ndarray]] | None:
    """(frame of each column's distinct values, per column the sample row of each input row)."""
    columns = _columns(X)
    if columns is None or len(columns) != n_columns:
        return None
    n = len(columns[0]) if columns else 0
    if n < MIN_ROWS:
        return None
    picks: list[np.ndarray] = []
    rows: list[np.ndarray] = []
    for col in columns:
        values = col.to_numpy() if isinstance(col, pd.Series) else col
        shared = _shared_objects(values, n)
        if shared is not None:  # the reader's dictionary codes, recovered without hashing text
            first, codes = shared
            picks.append(first)
            rows.append(codes)
            continue
        codes, uniques = pd.factorize(values)
        k = len(uniques)
        if (k + 1) * MIN_REPEAT > n:
            return None
        # factorize numbers values in order of first appearance, so the running maximum of the
        # codes steps up by one exactly at each value's first row
        first = np.flatnonzero(np.diff(np.maximum.accumulate(codes), prepend=-1) > 0)
        missing = codes < 0
        if missing.any():
            if values.dtype == object and _mixed_missing(values[missing]):
                return None
            first = np.append(first, np.argmax(missing))
            codes = np.where(missing, k, codes)
        picks.append(first)
        rows.append(codes.astype(np.intp, copy=False))
    size = max(len(p) for p in picks)
    padded = [np.resize(p, size) if len(p) else np.zeros(size, dtype=np.intp) for p in picks]
    if isinstance(X, pd.DataFrame):
        sample = pd.DataFrame({j: X.iloc[:, j].take(p).reset_index(drop=True) for j, p in enumerate(padded)})
        sample.columns = X.columns
    else:
        sample = np.empty((size, n_columns), dtype=X.dtype)
        for j, p in enumerate(padded):
            sample[:, j] = X[p, j]
    return sample, rows


def _shared_objects(values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(first row of each distinct object, each row's code) when few distinct *objects* fill the column.

    The validated chunk's categorical columns hold one ``str`` object per distinct value of the
    Arrow dictionary the reader decoded (``validation._object_values``): every row of a value
    points at the same object, so the object pointers are the dictionary codes. Factorizing the
    pointers (integers) finds them without hashing or comparing any text. It is exact for any
    object column: the same object is the same value, so the encoder sees each one once in the
    sample; equal values held by different objects only cost extra sample rows (and a column of
    mostly distinct objects returns None: factorize the values instead). ``None`` and ``NaN`` are
    different objects, so they stay apart, as scikit-learn keeps them.
    """
    if values.dtype != object or values.ndim != 1 or values.size != n or not n:
        return None
    contiguous = np.ascontiguousarray(values)  # alive (and so every object) while it is read
    buffer = (ctypes.c_size_t * n).from_address(contiguous.ctypes.data)
    pointers = np.ctypeslib.as_array(buffer).copy()  # integers: no reference to the objects kept
    del buffer, contiguous
    codes, uniques = pd.factorize(pointers)
    if (len(uniques) + 1) * MIN_REPEAT > n:
        return None
    first = np.flatnonzero(np.diff(np.maximum.accumulate(codes), prepend=-1) > 0)
    return first, codes.astype(np.intp, copy=False)


def _mixed_missing(missing: np.ndarray) -> bool:
    nones = sum(v is None for v in missing)
    return 0 < nones < len(missing)


def _gather(encoded: Any, rows: list[np.ndarray], widths: tuple[int, ...]) -> Any:
    """Each input column's block of the encoded sample, taken at that column's sample rows."""
    starts = np.cumsum((0, *widths))
    if hasattr(encoded, "tocsr"):  # scipy sparse
        from scipy import sparse

        encoded = encoded.tocsr()
        if encoded.has_canonical_format and np.diff(encoded.indptr).max(initial=0) <= len(widths):
            fast = _gather_one_hot(encoded, rows, starts)
            if fast is not None:
                return fast
        blocks = [encoded[:, starts[j] : starts[j + 1]][r] for j, r in enumerate(rows) if widths[j]]
        if not blocks:
            return sparse.csr_matrix((len(rows[0]), 0), dtype=encoded.dtype)
        return sparse.hstack(blocks, format="csr", dtype=encoded.dtype)
    encoded = np.asarray(encoded)
    out = np.empty((len(rows[0]), encoded.shape[1]), dtype=encoded.dtype)
    for j, r in enumerate(rows):
        if widths[j]:
            out[:, starts[j] : starts[j + 1]] = encoded[r, starts[j] : starts[j + 1]]
    return out


def _gather_one_hot(encoded: Any, rows: list[np.ndarray], starts: np.ndarray) -> Any | None:
    """CSR output when every block row of the sample holds at most one entry (a one-hot block:
    an unknown, dropped or ignored value holds none); anything else returns None."""
    n_blocks = len(rows)
    cols = np.full((encoded.shape[0], n_blocks), -1, dtype=np.int64)
    vals = np.zeros((encoded.shape[0], n_blocks), dtype=encoded.dtype)
    row_of = np.repeat(np.arange(encoded.shape[0]), np.diff(encoded.indptr))
    block_of = np.searchsorted(starts, encoded.indices, side="right") - 1
    if len(row_of):
        seen = np.zeros((encoded.shape[0], n_blocks), dtype=np.int64)
        np.add.at(seen, (row_of, block_of), 1)
        if seen.max() > 1:
            return None
        cols[row_of, block_of] = encoded.indices
        vals[row_of, block_of] = encoded.data
    blocks = []
    for j, r in enumerate(rows):
        block_cols = cols[r, j]
        present = block_cols >= 0
        if present.all():
            blocks.append((np.ones(len(r), dtype=np.int64), block_cols, vals[r, j]))
        else:
            blocks.append((present.astype(np.int64), block_cols[present], vals[r, j][present]))
    return _csr_from_blocks(blocks, n_samples=len(rows[0]), width=encoded.shape[1])


@functools.cache
def _sparse_stacking_class() -> type:
    from sklearn.compose import ColumnTransformer

    class SparseStackingColumnTransformer(ColumnTransformer):
        """A fitted ColumnTransformer whose sparse output is stacked by :func:`_stack_sparse`
        (``_hstack`` is scikit-learn's hook for subclasses to control the stacking)."""

        def _hstack(self, Xs: list[Any], *, n_samples: int) -> Any:
            stacked = _stack_sparse(Xs, n_samples=n_samples) if self.sparse_output_ else None
            return stacked if stacked is not None else super()._hstack(Xs, n_samples=n_samples)

    SparseStackingColumnTransformer.__module__ = __name__
    SparseStackingColumnTransformer.__qualname__ = "_SparseStackingColumnTransformer"
    return SparseStackingColumnTransformer


def __getattr__(name: str) -> Any:
    # The subclass is made on first use (importing this module does not import scikit-learn);
    # pickle finds it here by the module-level name it carries.
    if name == "_SparseStackingColumnTransformer":
        return _sparse_stacking_class()
    raise AttributeError(name)


def _stack_sparse(Xs: list[Any], *, n_samples: int) -> Any | None:
    """A ColumnTransformer's sparse output (dense blocks and CSR blocks side by side), built as
    one CSR directly: entry for entry what ``scipy.sparse.hstack(Xs).tocsr()`` gives (entries of
    a row in block order; a dense block's zeros left out, its NaNs kept), without the COO round
    trip. Anything but dense float/int/bool arrays and canonical CSR matrices returns None."""
    from scipy import sparse

    blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # per-row counts, columns, values
    offset = 0
    for X in Xs:
        if X.shape[0] != n_samples:
            return None
        if isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype.kind in "biuf":
            if np.count_nonzero(X) == X.size:  # regular: every column of every row
                counts = np.full(n_samples, X.shape[1], dtype=np.int64)
                cols = np.broadcast_to(np.arange(offset, offset + X.shape[1]), X.shape)
                blocks.append((counts, cols, X))
            else:
                rows, cols = np.nonzero(X)  # NaN counts as an entry, as in scipy's COO from dense
                blocks.append((np.bincount(rows, minlength=n_samples), cols + offset, X[rows, cols]))
        elif type(X) is sparse.csr_matrix and X.has_canonical_format:
            blocks.append((np.diff(X.indptr), X.indices.astype(np.int64) + offset, X.data))
        else:
            return None
        offset += X.shape[1]
    return _csr_from_blocks(blocks, n_samples=n_samples, width=offset)


def _csr_from_blocks(
    blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]], *, n_samples: int, width: int
) -> Any | None:
    """One CSR from column blocks given as (entries per row, column of each entry, value of each
    entry), entries in row order; a row's entries are laid out block after block. When every
    block has the same number of entries in every row the arrays are filled as (rows x entries)
    tables. None unless the values are float32/float64."""
    from scipy import sparse

    if not blocks:
        return None
    dtype = np.result_type(*(values.dtype for _, _, values in blocks))
    if dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
        return None
    counts = cast("np.ndarray", sum(c for c, _, _ in blocks))
    nnz = int(counts.sum())
    index_dtype = np.int32 if max(nnz, width) < np.iinfo(np.int32).max else np.int64
    per_row = [int(c[0]) if len(c) and (c == c[0]).all() else -1 for c, _, _ in blocks]
    if n_samples and min(per_row) >= 0:
        entries = sum(per_row)
        data2d = np.empty((n_samples, entries), dtype=dtype)
        indices2d = np.empty((n_samples, entries), dtype=index_dtype)
        at = 0
        for (_, cols, values), k in zip(blocks, per_row, strict=True):
            data2d[:, at : at + k] = values.reshape(n_samples, k)
            indices2d[:, at : at + k] = cols.reshape(n_samples, k)
            at += k
        # entries * n_samples == nnz, which fits index_dtype (checked above)
        row_starts = np.arange(n_samples + 1, dtype=index_dtype) * entries
        return sparse.csr_matrix((data2d.ravel(), indices2d.ravel(), row_starts), shape=(n_samples, width))
    indptr = np.zeros(n_samples + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    indices = np.empty(nnz, dtype=index_dtype)
    data = np.empty(nnz, dtype=dtype)
    free = indptr[:-1].copy()  # next free slot of each row: blocks fill rows left to right
    for block_counts, cols, values in blocks:
        starts = np.zeros(n_samples + 1, dtype=np.int64)
        np.cumsum(block_counts, out=starts[1:])
        rows = np.repeat(np.arange(n_samples), block_counts)
        dest = free[rows] + (np.arange(len(rows)) - starts[rows])
        indices[dest] = cols.ravel()
        data[dest] = values.ravel()
        free += block_counts
    return sparse.csr_matrix((data, indices, indptr.astype(index_dtype)), shape=(n_samples, width))


__all__ = ["MIN_REPEAT", "MIN_ROWS", "DistinctValueEncoder", "accelerate"]

"""Value extraction from pandas columns: finite numbers, category counts, bin counts, quantile edges."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from scorewatch.core.categories import canonical_category

#: Text (after strip, any case) that means "missing": the coercion rules of ``scoring.validation``.
MISSING_TOKENS = ("", "na", "n/a", "nan", "null", "none")


def numeric_values(series: pd.Series) -> tuple[np.ndarray, int, int, int]:
    """Finite float values of ``series`` and its (missing, invalid, infinite) counts.

    Booleans become 0/1, datetimes seconds since the epoch; strings are parsed (surrounding
    whitespace stripped), blank and ``NA``-like text (:data:`MISSING_TOKENS`) is ``missing``, and
    the rest that are not numbers are counted as ``invalid`` (a type violation), never silently
    dropped.
    """
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "f":  # plain float: NaN is the only missing value
        raw = series.to_numpy()
        finite_mask = np.isfinite(raw)
        n_finite = int(np.count_nonzero(finite_mask))
        finite = raw.copy() if n_finite == raw.size else raw[finite_mask]  # always a fresh array
        nan = int(np.count_nonzero(np.isnan(raw))) if n_finite != raw.size else 0
        return finite, nan, 0, raw.size - n_finite - nan
    missing_mask = series.isna().to_numpy()
    missing = int(missing_mask.sum())
    invalid = 0
    if pd.api.types.is_bool_dtype(dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
    elif pd.api.types.is_datetime64_any_dtype(dtype):
        values = (series.astype("datetime64[ns]").astype("int64").to_numpy() / 1e9).astype(float)
        values[missing_mask] = np.nan
    elif pd.api.types.is_numeric_dtype(dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
    else:
        coerced = pd.to_numeric(series, errors="coerce")
        values = coerced.to_numpy(dtype=float, na_value=np.nan).copy()
        bad = np.isnan(values) & ~missing_mask
        if bad.any():
            text = pd.Series(series.to_numpy(dtype=object)[bad]).astype(str).str.strip()
            blank = text.str.lower().isin(MISSING_TOKENS).to_numpy()
            reparsed = np.array(pd.to_numeric(text, errors="coerce"), dtype=float, copy=True)
            reparsed[blank] = np.nan
            values[bad] = reparsed
            missing += int(blank.sum())
            invalid = int((np.isnan(reparsed) & ~blank).sum())
    with np.errstate(invalid="ignore"):
        inf_mask = np.isinf(values)
    infinite = int(inf_mask.sum())
    finite = values[np.isfinite(values)]
    return finite, missing, invalid, infinite


def category_counts(series: pd.Series) -> tuple[dict[str, int], int]:
    """Counts of the non-missing values of ``series`` as canonical category text, and the missing count.

    Keys are ``core.categories.canonical_category`` of each value (what scoring feeds the model), so
    ``3.0`` from Parquet and ``"3.0"`` from CSV count as one category.
    """
    missing = int(series.isna().sum())
    vc = series.value_counts(dropna=True, sort=False)
    out: dict[str, int] = {}
    for key, n in zip(vc.index.tolist(), vc.to_numpy().tolist(), strict=True):
        k = canonical_category(key)
        if k is None:  # NaN among object values
            missing += int(n)
            continue
        out[k] = out.get(k, 0) + int(n)
    return out, missing


#: Bits of the value-membership sketch a high-cardinality reference column keeps (8 KiB).
SKETCH_BITS = 1 << 16


def sketch_slots(keys: Sequence[str]) -> np.ndarray:
    """The sketch bit of each value (a stable 64-bit hash of the text, modulo :data:`SKETCH_BITS`)."""
    if not len(keys):
        return np.zeros(0, dtype=np.int64)
    hashes = np.asarray(pd.util.hash_array(np.asarray(list(keys), dtype=object)), dtype=np.uint64)
    slots: np.ndarray = (hashes % np.uint64(SKETCH_BITS)).astype(np.int64)
    return slots


def encode_sketch(bits: np.ndarray) -> str:
    """A boolean sketch as hex text (for the profile JSON)."""
    return np.packbits(bits.astype(bool)).tobytes().hex()


def decode_sketch(text: str) -> np.ndarray:
    """The boolean sketch of :func:`encode_sketch`."""
    raw = np.frombuffer(bytes.fromhex(text), dtype=np.uint8)
    return np.unpackbits(raw)[:SKETCH_BITS].astype(bool)


def bin_counts(values: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """Counts of ``values`` in [underflow, bins..., overflow] for ``edges`` (see NumericProfile)."""
    e = np.asarray(edges, dtype=float)
    idx = np.searchsorted(e, values, side="right")
    idx[values == e[-1]] = len(e) - 1  # the last bin is closed on the right
    return np.bincount(idx, minlength=len(e) + 1).astype(np.int64)


def sorted_bin_counts(sorted_values: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """:func:`bin_counts` for already sorted values: 2 searches per edge instead of one per value."""
    e = np.asarray(edges, dtype=float)
    n = sorted_values.size
    bounds = np.empty(len(e) + 2, dtype=np.int64)
    bounds[0] = 0
    bounds[1:-2] = np.searchsorted(sorted_values, e[:-1], side="left")
    bounds[-2] = np.searchsorted(sorted_values, e[-1], side="right")  # last bin closed on the right
    bounds[-1] = n
    return np.diff(bounds)


def sorted_quantiles(sorted_values: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """``np.quantile(values, levels)`` (method ``linear``) of an already sorted, non-empty sample.

    The same steps as numpy's (virtual index ``(n - 1) * q``, its floor and the next index clipped
    to the last, numpy's two-sided lerp), so the value is numpy's bit for bit, read off the sorted
    array instead of partitioning a copy of it.
    """
    q = np.asarray(levels, dtype=float)
    last = sorted_values.size - 1
    virtual = last * q
    below = np.floor(virtual)
    gamma = virtual - below
    prev = below.astype(np.intp)
    nxt = prev + 1
    prev[virtual >= last] = last
    nxt[virtual >= last] = last
    a, b = sorted_values[prev], sorted_values[nxt]
    diff = b - a
    out: np.ndarray = a + diff * gamma
    np.subtract(b, diff * (1 - gamma), out=out, where=gamma >= 0.5)
    return out


def quantile_edges(values: np.ndarray, n_bins: int) -> tuple[float, ...]:
    """Distinct quantiles at 0, 1/n, ..., 1 of sorted ``values`` (a constant column gets ``(c, c)``)."""
    if values.size == 0:
        return ()
    q = np.unique(sorted_quantiles(values, np.linspace(0.0, 1.0, n_bins + 1)))
    if q.size == 1:
        return (float(q[0]), float(q[0]))
    return tuple(float(x) for x in q)


def quantiles_from_bins(
    edges: Sequence[float], counts: Sequence[int], lo: float | None, hi: float | None, levels: Iterable[float]
) -> tuple[tuple[float, float], ...]:
    """Quantiles interpolated linearly inside bins (under/overflow bins span to min/max)."""
    total = int(np.sum(counts)) if len(counts) else 0
    if total == 0 or not edges or lo is None or hi is None:
        return ()
    bounds = np.array([min(lo, edges[0]), *edges, max(hi, edges[-1])], dtype=float)
    cum = np.concatenate([[0.0], np.cumsum(np.asarray(counts, dtype=float))]) / total
    out = []
    for lv in levels:
        out.append((float(lv), float(np.interp(lv, cum, bounds))))
    return tuple(out)

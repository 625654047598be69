"""Column profiles: the compact, mergeable summary a drift test compares against.

A :class:`Profile` holds, per column, counts (rows, missing, invalid, infinite), moments (min, max,
mean and the sum of squared deviations, merged with Chan's parallel formulas), quantiles, bin
counts on edges taken from the *reference* quantiles (plus an underflow and an overflow bin so
out-of-range values are counted), and for categorical columns the top-N category frequencies plus
an ``other`` bucket. Score/prediction columns are profiled the same way with ``role="prediction"``.

Profiles binned on the same edges are mergeable: ``merge_profiles(a, b)`` equals the profile of
``a + b`` exactly for every count and for min/max; mean and std are exact up to floating point
(Chan et al.); quantiles of a merged profile are interpolated from the bin counts and flagged
``quantiles_exact=False``.

Pure: numpy/pandas only, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from scorewatch.core.errors import ProfileError
from scorewatch.core.schema import FeatureSchema

PROFILE_FORMAT = "scorewatch.profile"
PROFILE_SCHEMA_VERSION = 1
DEFAULT_BINS = 10  # deciles: the conventional PSI binning
DEFAULT_TOP_N = 50
DEFAULT_SAMPLE_ROWS = 50_000
# Numeric columns keep exact value counts while they have at most this many distinct values, so a
# discrete column (0/1 flags, small integer codes) can be tested like a categorical one.
DISCRETE_CAP = 20
QUANTILE_LEVELS = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
# Bound on distinct categories tracked while streaming (an id-like column must not exhaust memory);
# beyond it the rarest are folded into ``other``.
MAX_TRACKED_CATEGORIES = 100_000

Role = Literal["feature", "prediction"]


@dataclass(frozen=True)
class NumericProfile:
    """Profile of one numeric column.

    ``count`` is the number of finite values; ``missing`` (null/NaN), ``invalid`` (values that are
    not numbers, e.g. ``"abc"`` in a numeric column) and ``infinite`` are counted separately and
    excluded from moments and bins. ``counts`` has ``len(edges) + 1`` entries: underflow
    (``< edges[0]``), one per bin (``[e_i, e_i+1)``, last bin closed) and overflow (``> edges[-1]``).
    ``std`` is the population standard deviation (ddof=0).
    """

    name: str
    role: Role
    count: int
    missing: int
    invalid: int
    infinite: int
    min: float | None
    max: float | None
    mean: float | None
    m2: float
    quantiles: tuple[tuple[float, float], ...]
    quantiles_exact: bool
    edges: tuple[float, ...]
    counts: tuple[int, ...]
    values: tuple[tuple[float, int], ...] | None
    kind: Literal["numeric"] = field(default="numeric", init=False)

    @property
    def rows(self) -> int:
        return self.count + self.missing + self.invalid + self.infinite

    @property
    def std(self) -> float | None:
        return math.sqrt(self.m2 / self.count) if self.count else None

    @property
    def missing_rate(self) -> float:
        return self.missing / self.rows if self.rows else 0.0

    @property
    def distinct(self) -> int | None:
        """Exact number of distinct finite values, or None when above DISCRETE_CAP."""
        return None if self.values is None else len(self.values)

    def quantile(self, level: float) -> float | None:
        for lv, val in self.quantiles:
            if lv == level:
                return val
        return None


@dataclass(frozen=True)
class CategoricalProfile:
    """Profile of one categorical (or boolean) column.

    ``categories`` are (value, count) pairs: when ``binned_on`` is set (a batch profiled against a
    reference) every reference category is listed, in reference order, followed by the most frequent
    unseen ones; ``other`` counts values not listed and ``unseen`` counts values absent from
    ``binned_on`` (None for a reference profile). Values are compared as strings.
    """

    name: str
    role: Role
    count: int
    missing: int
    categories: tuple[tuple[str, int], ...]
    other: int
    unseen: int | None
    binned_on: tuple[str, ...] | None
    kind: Literal["categorical"] = field(default="categorical", init=False)

    @property
    def rows(self) -> int:
        return self.count + self.missing

    @property
    def invalid(self) -> int:
        return 0

    @property
    def missing_rate(self) -> float:
        return self.missing / self.rows if self.rows else 0.0

    @property
    def distinct(self) -> int | None:
        """Exact number of distinct values, or None when some were folded into ``other``."""
        listed = sum(1 for _, c in self.categories if c > 0)
        return None if self.other else listed


ColumnProfile = NumericProfile | CategoricalProfile


@dataclass(frozen=True)
class Profile:
    """A versioned set of column profiles (see the module docstring).

    >>> import pandas as pd
    >>> from scorewatch.core.schema import FeatureSchema, FeatureSpec
    >>> schema = FeatureSchema(features=(FeatureSpec(name="x", type="numeric"),))
    >>> p = build_profile(pd.DataFrame({"x": [1.0, 2.0, None]}), schema)
    >>> p.column("x").count, p.column("x").missing
    (2, 1)
    """

    rows: int
    columns: tuple[ColumnProfile, ...]
    absent: tuple[str, ...] = ()
    n_bins: int = DEFAULT_BINS
    top_n: int = DEFAULT_TOP_N
    version: int = PROFILE_SCHEMA_VERSION

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def features(self) -> list[ColumnProfile]:
        return [c for c in self.columns if c.role == "feature"]

    @property
    def predictions(self) -> list[ColumnProfile]:
        return [c for c in self.columns if c.role == "prediction"]

    def column(self, name: str) -> ColumnProfile:
        for c in self.columns:
            if c.name == name:
                return c
        raise ProfileError(f"profile has no column {name!r} (columns: {self.names})")

    def has(self, name: str) -> bool:
        return any(c.name == name for c in self.columns)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (format ``scorewatch.profile``, ``version`` 1)."""
        return {
            "format": PROFILE_FORMAT,
            "version": self.version,
            "rows": self.rows,
            "n_bins": self.n_bins,
            "top_n": self.top_n,
            "absent": list(self.absent),
            "columns": [_column_to_dict(c) for c in self.columns],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        """Rebuild a profile written by :meth:`to_dict`.

        Raises
        ------
        ProfileError
            Unknown format/version or a missing/ill-typed key (the message names it).
        """
        if not isinstance(data, Mapping):
            raise ProfileError(f"a profile must be a JSON object, got {type(data).__name__}")
        if data.get("format") != PROFILE_FORMAT:
            raise ProfileError(f"not a scorewatch profile: format is {data.get('format')!r}")
        if data.get("version") != PROFILE_SCHEMA_VERSION:
            raise ProfileError(
                f"unsupported profile version {data.get('version')!r} "
                f"(this code reads {PROFILE_SCHEMA_VERSION})"
            )
        try:
            return cls(
                rows=int(data["rows"]),
                columns=tuple(_column_from_dict(c) for c in data["columns"]),
                absent=tuple(data.get("absent", ())),
                n_bins=int(data["n_bins"]),
                top_n=int(data["top_n"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ProfileError(f"malformed profile: {type(exc).__name__}: {exc}") from exc


def _f(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _column_to_dict(c: ColumnProfile) -> dict[str, Any]:
    if isinstance(c, NumericProfile):
        return {
            "name": c.name,
            "kind": "numeric",
            "role": c.role,
            "count": c.count,
            "missing": c.missing,
            "invalid": c.invalid,
            "infinite": c.infinite,
            "min": _f(c.min),
            "max": _f(c.max),
            "mean": _f(c.mean),
            "std": _f(c.std),
            "m2": float(c.m2),
            "quantiles": [[lv, v] for lv, v in c.quantiles],
            "quantiles_exact": c.quantiles_exact,
            "edges": list(c.edges),
            "counts": list(c.counts),
            "values": None if c.values is None else [[v, n] for v, n in c.values],
        }
    return {
        "name": c.name,
        "kind": "categorical",
        "role": c.role,
        "count": c.count,
        "missing": c.missing,
        "categories": [[k, n] for k, n in c.categories],
        "other": c.other,
        "unseen": c.unseen,
        "binned_on": None if c.binned_on is None else list(c.binned_on),
    }


def _column_from_dict(d: Mapping[str, Any]) -> ColumnProfile:
    kind = d["kind"]
    if kind == "numeric":
        return NumericProfile(
            name=str(d["name"]),
            role=d["role"],
            count=int(d["count"]),
            missing=int(d["missing"]),
            invalid=int(d["invalid"]),
            infinite=int(d["infinite"]),
            min=d["min"],
            max=d["max"],
            mean=d["mean"],
            m2=float(d["m2"]),
            quantiles=tuple((float(lv), float(v)) for lv, v in d["quantiles"]),
            quantiles_exact=bool(d["quantiles_exact"]),
            edges=tuple(float(e) for e in d["edges"]),
            counts=tuple(int(n) for n in d["counts"]),
            values=None if d["values"] is None else tuple((float(v), int(n)) for v, n in d["values"]),
        )
    if kind == "categorical":
        return CategoricalProfile(
            name=str(d["name"]),
            role=d["role"],
            count=int(d["count"]),
            missing=int(d["missing"]),
            categories=tuple((str(k), int(n)) for k, n in d["categories"]),
            other=int(d["other"]),
            unseen=None if d["unseen"] is None else int(d["unseen"]),
            binned_on=None if d["binned_on"] is None else tuple(str(k) for k in d["binned_on"]),
        )
    raise ProfileError(f"column {d.get('name')!r}: unknown kind {kind!r}")


# ----------------------------------------------------------------------------------------------
# value extraction


def numeric_values(series: pd.Series) -> tuple[np.ndarray, int, int, int]:
    """Finite float values of ``series`` and its (missing, invalid, infinite) counts.

    Booleans become 0/1, datetimes seconds since the epoch; strings are parsed, and those that are
    not numbers are counted as ``invalid`` (a type violation), never silently dropped.
    """
    missing_mask = series.isna().to_numpy()
    missing = int(missing_mask.sum())
    invalid = 0
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
    elif pd.api.types.is_datetime64_any_dtype(dtype):
        values = (series.astype("datetime64[ns]").astype("int64").to_numpy() / 1e9).astype(float)
        values[missing_mask] = np.nan
    elif pd.api.types.is_numeric_dtype(dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
    else:
        coerced = pd.to_numeric(series, errors="coerce")
        values = coerced.to_numpy(dtype=float, na_value=np.nan)
        invalid = int((np.isnan(values) & ~missing_mask).sum())
    with np.errstate(invalid="ignore"):
        inf_mask = np.isinf(values)
    infinite = int(inf_mask.sum())
    finite = values[np.isfinite(values)]
    return finite, missing, invalid, infinite


def category_counts(series: pd.Series) -> tuple[dict[str, int], int]:
    """Counts of the non-missing values of ``series`` as strings, and the missing count."""
    missing = int(series.isna().sum())
    vc = series.value_counts(dropna=True, sort=False)
    out: dict[str, int] = {}
    for key, n in zip(vc.index.tolist(), vc.to_numpy().tolist(), strict=True):
        k = str(key)
        out[k] = out.get(k, 0) + int(n)
    return out, missing


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


def quantile_edges(values: np.ndarray, n_bins: int) -> tuple[float, ...]:
    """Distinct reference quantiles at 0, 1/n, ..., 1 (a constant column gets ``(c, c)``)."""
    if values.size == 0:
        return ()
    q = np.unique(np.quantile(values, np.linspace(0.0, 1.0, n_bins + 1)))
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


# ----------------------------------------------------------------------------------------------
# streaming accumulators


class _NumericAcc:
    def __init__(self, name: str, role: Role, edges: tuple[float, ...] | None, n_bins: int):
        self.name, self.role, self.n_bins = name, role, n_bins
        self.edges = edges if edges else None
        self.fixed_edges = bool(edges)
        self.count = self.missing = self.invalid = self.infinite = 0
        self.min = math.inf
        self.max = -math.inf
        self.mean = 0.0
        self.m2 = 0.0
        self.counts: np.ndarray | None = None
        if self.edges is not None:
            self.counts = np.zeros(len(self.edges) + 1, np.int64)
        self.values: dict[float, int] | None = {}
        self.first_quantiles: tuple[tuple[float, float], ...] | None = None
        self.chunks_with_data = 0

    def update(self, series: pd.Series) -> None:
        x, missing, invalid, infinite = numeric_values(series)
        self.missing += missing
        self.invalid += invalid
        self.infinite += infinite
        if x.size == 0:
            return
        # One sort serves the quantiles, the bin counts (searching the edges in the sorted chunk)
        # and min/max.
        x = np.sort(x)
        if self.edges is None:  # edges from the first chunk holding data (exact when it is the only one)
            self.edges = quantile_edges(x, self.n_bins)
            self.counts = np.zeros(len(self.edges) + 1, np.int64)
        if self.chunks_with_data == 0:
            self.first_quantiles = _exact_quantiles(x)
        self.chunks_with_data += 1
        n_b = x.size
        mean_b = float(x.mean())
        m2_b = float(np.square(x - mean_b).sum())
        n = self.count + n_b
        delta = mean_b - self.mean
        self.mean += delta * n_b / n
        self.m2 += m2_b + delta * delta * self.count * n_b / n
        self.count = n
        self.min = min(self.min, float(x[0]))
        self.max = max(self.max, float(x[-1]))
        assert self.counts is not None
        self.counts += sorted_bin_counts(x, self.edges)
        if self.values is not None and np.unique(x[:4096]).size > DISCRETE_CAP:
            self.values = None  # cheap early exit: a continuous column needs no full sort here
        if self.values is not None:
            u, c = np.unique(x, return_counts=True)
            if u.size + len(self.values) > 4 * DISCRETE_CAP and u.size > DISCRETE_CAP:
                self.values = None
            else:
                for v, k in zip(u.tolist(), c.tolist(), strict=True):
                    self.values[v] = self.values.get(v, 0) + k
                if len(self.values) > DISCRETE_CAP:
                    self.values = None

    def add_missing(self, n: int) -> None:
        self.missing += n

    def finish(self, sample: pd.Series | None, sample_is_complete: bool) -> NumericProfile:
        edges = self.edges or ()
        counts = tuple(int(c) for c in self.counts) if self.counts is not None else ()
        lo = self.min if self.count else None
        hi = self.max if self.count else None
        if self.chunks_with_data <= 1:
            quantiles, exact = self.first_quantiles or (), True
        elif sample is not None and sample_is_complete:
            xs, *_ = numeric_values(sample)
            quantiles = _exact_quantiles(xs)
            exact = True
        else:
            quantiles, exact = quantiles_from_bins(edges, counts, lo, hi, QUANTILE_LEVELS), False
        return NumericProfile(
            name=self.name,
            role=self.role,
            count=self.count,
            missing=self.missing,
            invalid=self.invalid,
            infinite=self.infinite,
            min=lo,
            max=hi,
            mean=self.mean if self.count else None,
            m2=self.m2,
            quantiles=quantiles,
            quantiles_exact=exact,
            edges=edges,
            counts=counts,
            values=None if self.values is None else tuple(sorted(self.values.items())),
        )


class _CategoricalAcc:
    def __init__(self, name: str, role: Role, binned_on: tuple[str, ...] | None, top_n: int):
        self.name, self.role, self.binned_on, self.top_n = name, role, binned_on, top_n
        self.counter: dict[str, int] = {}
        self.folded = 0  # rare values folded away to bound memory
        self.count = self.missing = 0

    def update(self, series: pd.Series) -> None:
        counts, missing = category_counts(series)
        self.missing += missing
        self.count += sum(counts.values())
        for k, n in counts.items():
            self.counter[k] = self.counter.get(k, 0) + n
        if len(self.counter) > MAX_TRACKED_CATEGORIES:
            keep = set(self.binned_on or ())
            ranked = sorted(self.counter.items(), key=lambda kv: -kv[1])
            kept = dict(ranked[: MAX_TRACKED_CATEGORIES // 2])
            for k in keep:
                if k in self.counter:
                    kept[k] = self.counter[k]
            self.folded += sum(self.counter.values()) - sum(kept.values())
            self.counter = kept

    def add_missing(self, n: int) -> None:
        self.missing += n

    def finish(self) -> CategoricalProfile:
        return _categorical_from_counter(
            self.name,
            self.role,
            self.counter,
            count=self.count,
            missing=self.missing,
            binned_on=self.binned_on,
            top_n=self.top_n,
            folded=self.folded,
        )


def _categorical_from_counter(
    name: str,
    role: Role,
    counter: Mapping[str, int],
    *,
    count: int,
    missing: int,
    binned_on: tuple[str, ...] | None,
    top_n: int,
    folded: int = 0,
) -> CategoricalProfile:
    # Most frequent first, ties by value so the result does not depend on arrival order.
    if binned_on is None:
        ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
        listed = ranked[:top_n]
        other = sum(n for _, n in ranked[top_n:]) + folded
        return CategoricalProfile(name, role, count, missing, tuple(listed), other, None, None)
    known = set(binned_on)
    rest = sorted(((k, n) for k, n in counter.items() if k not in known), key=lambda kv: (-kv[1], kv[0]))
    listed = [(k, int(counter.get(k, 0))) for k in binned_on] + rest[:top_n]
    other = sum(n for _, n in rest[top_n:]) + folded
    unseen = sum(n for _, n in rest) + folded
    return CategoricalProfile(name, role, count, missing, tuple(listed), other, unseen, binned_on)


def _exact_quantiles(x: np.ndarray) -> tuple[tuple[float, float], ...]:
    qs = np.quantile(x, QUANTILE_LEVELS)
    return tuple((lv, float(v)) for lv, v in zip(QUANTILE_LEVELS, qs, strict=True))


def _kind_of(series: pd.Series) -> Literal["numeric", "categorical"]:
    """Kind of an output column: text whose values all parse as numbers (CSV input) is numeric."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        return "numeric"
    values = series.dropna()
    if len(values) and pd.to_numeric(values.astype("object"), errors="coerce").notna().all():
        return "numeric"
    return "categorical"


class ProfileBuilder:
    """Build a profile chunk by chunk, keeping a seeded uniform sample of rows.

    Parameters
    ----------
    schema : FeatureSchema
        Features to profile (numeric/datetime -> numeric, categorical/boolean -> categorical).
    edges_from : Profile, optional
        Reference profile whose bin edges and categories are reused, so this profile can be
        compared with and merged into others binned the same way. Without it, edges come from the
        quantiles of the first chunk holding data (exact when the data is one chunk).
    score_columns : sequence of str
        Output columns (``prediction``, ``score_<class>``) profiled with ``role="prediction"``.
    sample_rows : int
        Size of the reservoir sample (bottom-k of seeded uniform keys: the same rows whatever the
        chunking). 0 disables it.
    random_state : int
        Seed of the sample.

    Examples
    --------
    >>> import pandas as pd
    >>> from scorewatch.core.schema import FeatureSchema, FeatureSpec
    >>> b = ProfileBuilder(FeatureSchema(features=(FeatureSpec(name="x", type="numeric"),)), sample_rows=2)
    >>> b.update(pd.DataFrame({"x": [1.0, 2.0]}), None); b.update(pd.DataFrame({"x": [3.0]}), None)
    >>> profile, sample = b.finish(); profile.rows, len(sample)
    (3, 2)
    """

    def __init__(
        self,
        schema: FeatureSchema,
        *,
        edges_from: Profile | None = None,
        score_columns: Sequence[str] = (),
        sample_rows: int = DEFAULT_SAMPLE_ROWS,
        random_state: int = 0,
        top_n: int = DEFAULT_TOP_N,
        n_bins: int = DEFAULT_BINS,
    ):
        if sample_rows < 0:
            raise ProfileError(f"sample_rows must be >= 0, got {sample_rows}")
        if edges_from is not None:
            top_n, n_bins = edges_from.top_n, edges_from.n_bins
        self.schema = schema
        self.edges_from = edges_from
        self.score_columns = tuple(score_columns)
        self.sample_rows = sample_rows
        self.top_n, self.n_bins = top_n, n_bins
        self._rng = np.random.default_rng(random_state)
        self._accs: dict[str, _NumericAcc | _CategoricalAcc] = {}
        self._order: list[str] = []
        self._absent: set[str] = set()
        self._rows = 0
        self._sample: pd.DataFrame | None = None
        self._keys: np.ndarray | None = None
        for spec in schema.features:
            kind = "numeric" if spec.type in ("numeric", "datetime") else "categorical"
            self._add(spec.name, "feature", kind)

    def _add(self, name: str, role: Role, kind: str) -> None:
        ref = None
        if self.edges_from is not None and self.edges_from.has(name):
            ref = self.edges_from.column(name)
        if ref is not None and ref.kind != kind:
            raise ProfileError(f"column {name!r} is {kind} here but {ref.kind} in the reference profile")
        if kind == "numeric":
            edges = ref.edges if isinstance(ref, NumericProfile) else None
            self._accs[name] = _NumericAcc(name, role, edges, self.n_bins)
        else:
            binned_on = None
            if isinstance(ref, CategoricalProfile):
                binned_on = ref.binned_on or tuple(k for k, _ in ref.categories)
            self._accs[name] = _CategoricalAcc(name, role, binned_on, self.top_n)
        self._order.append(name)

    def update(self, features: pd.DataFrame, outputs: pd.DataFrame | None = None) -> None:
        """Add one chunk: ``features`` (schema columns) and ``outputs`` (score columns), row-aligned."""
        n = len(features)
        if outputs is not None and len(outputs) != n:
            raise ProfileError(f"features has {n} rows but outputs has {len(outputs)}")
        for name in self.score_columns:
            if name not in self._accs:
                if outputs is None or name not in outputs.columns:
                    raise ProfileError(f"score column {name!r} is not in the outputs")
                ref_has = self.edges_from is not None and self.edges_from.has(name)
                kind = self.edges_from.column(name).kind if ref_has else _kind_of(outputs[name])
                self._add(name, "prediction", kind)
        for name in self._order:
            acc = self._accs[name]
            frame = outputs if acc.role == "prediction" else features
            if frame is None or name not in frame.columns:
                if acc.role == "prediction":
                    raise ProfileError(f"score column {name!r} is not in the outputs")
                self._absent.add(name)
                acc.add_missing(n)
                continue
            acc.update(frame[name])
        self._rows += n
        if self.sample_rows and n:
            self._update_sample(features, outputs)

    def _update_sample(self, features: pd.DataFrame, outputs: pd.DataFrame | None) -> None:
        keys = self._rng.random(len(features))
        feat_cols = [c for c in self.schema.names if c in features.columns]
        parts = [features[feat_cols].reset_index(drop=True)]
        if outputs is not None and self.score_columns:
            out_cols = [c for c in self.score_columns if c in outputs.columns]
            parts.append(outputs[out_cols].reset_index(drop=True))
        k = self.sample_rows
        if self._keys is not None and len(self._keys) >= k:
            cutoff = np.partition(self._keys, k - 1)[k - 1]
            take = np.flatnonzero(keys < cutoff)  # only rows that can enter the reservoir
        else:
            take = np.arange(len(keys))
        if take.size == 0:
            return
        whole = pd.concat(parts, axis=1) if len(parts) > 1 else parts[0]
        chunk = whole.iloc[take].reset_index(drop=True)
        keys = keys[take]
        if self._sample is None:
            sample, all_keys = chunk, keys
        else:
            sample = pd.concat([self._sample, chunk], ignore_index=True)
            all_keys = np.concatenate([self._keys, keys])
        if len(all_keys) > k:
            keep = np.sort(np.argpartition(all_keys, k - 1)[:k])
            sample = sample.iloc[keep].reset_index(drop=True)
            all_keys = all_keys[keep]
        self._sample, self._keys = sample, all_keys

    def finish(self) -> tuple[Profile, pd.DataFrame]:
        """Return the profile and the sample (at most ``sample_rows`` rows, stream order)."""
        sample = self._sample if self._sample is not None else pd.DataFrame()
        complete = self.sample_rows > 0 and self._rows <= self.sample_rows
        cols: list[ColumnProfile] = []
        for name in self._order:
            acc = self._accs[name]
            if isinstance(acc, _NumericAcc):
                col = sample[name] if name in sample.columns else None
                cols.append(acc.finish(col, complete))
            else:
                cols.append(acc.finish())
        profile = Profile(
            rows=self._rows,
            columns=tuple(cols),
            absent=tuple(n for n in self._order if n in self._absent),
            n_bins=self.n_bins,
            top_n=self.top_n,
        )
        return profile, sample


def build_profile(
    df: pd.DataFrame,
    schema: FeatureSchema,
    *,
    score_columns: Sequence[str] = (),
    edges_from: Profile | None = None,
    top_n: int = DEFAULT_TOP_N,
    n_bins: int = DEFAULT_BINS,
) -> Profile:
    """Profile an in-memory frame (exact quantiles; edges from its own quantiles unless ``edges_from``).

    Parameters
    ----------
    df : DataFrame
        Feature columns of ``schema`` and, optionally, the ``score_columns``. Not modified.
    schema : FeatureSchema
    score_columns : sequence of str
        Prediction/score columns of ``df`` to profile with ``role="prediction"``.
    edges_from : Profile, optional
        Reference whose edges/categories to bin on (to compare or merge with it).
    top_n, n_bins : int
        Categories listed per categorical column; quantile bins per numeric column.

    Returns
    -------
    Profile

    Raises
    ------
    ProfileError
        A score column is missing, or a column's kind differs from ``edges_from``.
    """
    builder = ProfileBuilder(
        schema, edges_from=edges_from, score_columns=score_columns, sample_rows=0, top_n=top_n, n_bins=n_bins
    )
    outputs = df[[c for c in score_columns if c in df.columns]] if score_columns else None
    builder.update(df, outputs)
    return builder.finish()[0]


def merge_profiles(a: Profile, b: Profile) -> Profile:
    """Merge two profiles of the same columns binned on the same edges.

    Counts (rows, missing, invalid, infinite, bin counts, category counts), min and max are exact;
    mean and std use Chan's parallel formulas (exact up to rounding); quantiles are interpolated from
    the merged bins (``quantiles_exact=False``).

    Raises
    ------
    ProfileError
        Different versions, columns, kinds, bin edges or reference categories (naming the column).

    Examples
    --------
    >>> import pandas as pd
    >>> from scorewatch.core.schema import FeatureSchema, FeatureSpec
    >>> s = FeatureSchema(features=(FeatureSpec(name="x", type="numeric"),))
    >>> ref = build_profile(pd.DataFrame({"x": [0.0, 1.0, 2.0]}), s)
    >>> a = build_profile(pd.DataFrame({"x": [0.5]}), s, edges_from=ref)
    >>> b = build_profile(pd.DataFrame({"x": [5.0]}), s, edges_from=ref)
    >>> merge_profiles(a, b).column("x").counts[-1]  # 5.0 is above the reference max: overflow
    1
    """
    if a.version != b.version:
        raise ProfileError(f"cannot merge profile versions {a.version} and {b.version}")
    if a.names != b.names:
        raise ProfileError(f"cannot merge profiles of different columns: {a.names} vs {b.names}")
    if (a.n_bins, a.top_n) != (b.n_bins, b.top_n):
        raise ProfileError(
            f"cannot merge profiles with n_bins/top_n {a.n_bins}/{a.top_n} vs {b.n_bins}/{b.top_n}"
        )
    cols = [_merge_column(x, y, a.top_n) for x, y in zip(a.columns, b.columns, strict=True)]
    absent = tuple(n for n in a.names if n in set(a.absent) | set(b.absent))
    return Profile(rows=a.rows + b.rows, columns=tuple(cols), absent=absent, n_bins=a.n_bins, top_n=a.top_n)


def _merge_column(x: ColumnProfile, y: ColumnProfile, top_n: int) -> ColumnProfile:
    if x.kind != y.kind or x.role != y.role:
        raise ProfileError(f"column {x.name!r}: cannot merge {x.kind}/{x.role} with {y.kind}/{y.role}")
    if isinstance(x, NumericProfile) and isinstance(y, NumericProfile):
        return _merge_numeric(x, y)
    assert isinstance(x, CategoricalProfile) and isinstance(y, CategoricalProfile)
    if x.binned_on != y.binned_on:
        raise ProfileError(f"column {x.name!r}: profiles were binned on different reference categories")
    counter: dict[str, int] = {}
    for k, n in (*x.categories, *y.categories):
        counter[k] = counter.get(k, 0) + n
    known = set(x.binned_on or ())
    rest = sorted(((k, n) for k, n in counter.items() if k not in known), key=lambda kv: (-kv[1], kv[0]))
    listed = [(k, counter.get(k, 0)) for k in (x.binned_on or ())] + rest[:top_n]
    # The parts' ``other`` values are outside their listings: they stay folded in ``other``.
    other = sum(n for _, n in rest[top_n:]) + x.other + y.other
    unseen = None if x.binned_on is None else (x.unseen or 0) + (y.unseen or 0)
    return CategoricalProfile(
        x.name, x.role, x.count + y.count, x.missing + y.missing, tuple(listed), other, unseen, x.binned_on
    )


def _merge_numeric(x: NumericProfile, y: NumericProfile) -> NumericProfile:
    if x.count == 0 and not x.edges:
        edges = y.edges
    elif y.count == 0 and not y.edges:
        edges = x.edges
    elif x.edges != y.edges:
        raise ProfileError(
            f"column {x.name!r}: cannot merge profiles binned on different edges {list(x.edges)} and "
            f"{list(y.edges)}; profile batches with edges_from=<the same reference profile>"
        )
    else:
        edges = x.edges
    if x.counts and y.counts:
        counts = tuple(int(p + q) for p, q in zip(x.counts, y.counts, strict=True))
    else:
        counts = x.counts or y.counts
    n = x.count + y.count
    if x.count and y.count:
        assert x.mean is not None and y.mean is not None
        delta = y.mean - x.mean
        mean: float | None = x.mean + delta * y.count / n
        m2 = x.m2 + y.m2 + delta * delta * x.count * y.count / n
    else:
        mean = x.mean if x.count else y.mean
        m2 = x.m2 + y.m2
    lo = min(v for v in (x.min, y.min) if v is not None) if n else None
    hi = max(v for v in (x.max, y.max) if v is not None) if n else None
    values: tuple[tuple[float, int], ...] | None = None
    if x.values is not None and y.values is not None:
        merged: dict[float, int] = dict(x.values)
        for v, k in y.values:
            merged[v] = merged.get(v, 0) + k
        values = tuple(sorted(merged.items())) if len(merged) <= DISCRETE_CAP else None
    return NumericProfile(
        name=x.name,
        role=x.role,
        count=n,
        missing=x.missing + y.missing,
        invalid=x.invalid + y.invalid,
        infinite=x.infinite + y.infinite,
        min=lo,
        max=hi,
        mean=mean,
        m2=m2,
        quantiles=quantiles_from_bins(edges, counts, lo, hi, QUANTILE_LEVELS),
        quantiles_exact=False,
        edges=edges,
        counts=counts,
        values=values,
    )

"""The profile data model: per-column numeric and categorical summaries, and their JSON form."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from scorewatch.core.errors import ProfileError

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

    A reference with values folded into ``other`` also keeps a membership ``sketch`` of all its
    values (hex bits, see ``values.sketch_slots``) and its ``singletons`` (values seen once: the
    Good-Turing estimate of how much of a fresh draw is new); a batch binned on such a reference
    counts ``novel``, its values absent from the whole reference (by the sketch), apart from values
    that are only outside the listed top categories.
    """

    name: str
    role: Role
    count: int
    missing: int
    categories: tuple[tuple[str, int], ...]
    other: int
    unseen: int | None
    binned_on: tuple[str, ...] | None
    sketch: str | None = None
    singletons: int | None = None
    novel: int | None = None
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

    def sketch_bits(self) -> Any:
        """The membership sketch as a boolean array (None without one)."""
        from scorewatch.monitoring.profiles.values import decode_sketch

        return None if self.sketch is None else decode_sketch(self.sketch)

    @property
    def expected_novel(self) -> float:
        """Expected count of a same-size fresh draw's values that the sketch does not know.

        The Good-Turing unseen mass (``singletons / count``) times the share of sketch bits still
        clear (a new value may land on a set bit); 0 without a sketch.
        """
        bits = self.sketch_bits()
        if bits is None or not self.count or not self.singletons:
            return 0.0
        clear = 1.0 - float(bits.mean())
        return min(float(self.other), float(self.singletons) * clear)


ColumnProfile = NumericProfile | CategoricalProfile


@dataclass(frozen=True)
class Profile:
    """A versioned set of column profiles (see the module docstring).

    >>> import pandas as pd
    >>> from scorewatch.core.schema import FeatureSchema, FeatureSpec
    >>> schema = FeatureSchema(features=(FeatureSpec(name="x", type="numeric"),))
    >>> from scorewatch.monitoring.profiles import build_profile
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
        **({"sketch": c.sketch, "singletons": c.singletons} if c.sketch is not None else {}),
        **({"novel": c.novel} if c.novel is not None else {}),
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
            sketch=None if d.get("sketch") is None else str(d["sketch"]),
            singletons=None if d.get("singletons") is None else int(d["singletons"]),
            novel=None if d.get("novel") is None else int(d["novel"]),
        )
    raise ProfileError(f"column {d.get('name')!r}: unknown kind {kind!r}")

"""merge_profiles: combine two profiles binned on the same edges (exact counts, Chan moments)."""

from __future__ import annotations

import numpy as np

from scorewatch.core.errors import ProfileError
from scorewatch.monitoring.profiles.model import (
    DISCRETE_CAP,
    QUANTILE_LEVELS,
    CategoricalProfile,
    ColumnProfile,
    NumericProfile,
    Profile,
)
from scorewatch.monitoring.profiles.values import (
    SKETCH_BITS,
    encode_sketch,
    quantiles_from_bins,
    sketch_slots,
)


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
    >>> from scorewatch.monitoring.profiles import build_profile
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
    novel = None if x.novel is None and y.novel is None else (x.novel or 0) + (y.novel or 0)
    sketch, singletons = None, None
    if x.binned_on is None and other and (x.sketch is not None or y.sketch is not None):
        bits = np.zeros(SKETCH_BITS, dtype=bool)
        for part in (x, y):
            part_bits = part.sketch_bits()
            if part_bits is not None:
                bits |= part_bits
            else:  # no sketch: every value of that side is listed
                bits[sketch_slots([k for k, _ in part.categories])] = True
        # values seen once on one side may be seen on the other: an upper bound
        sketch, singletons = encode_sketch(bits), (x.singletons or 0) + (y.singletons or 0)
    return CategoricalProfile(
        x.name,
        x.role,
        x.count + y.count,
        x.missing + y.missing,
        tuple(listed),
        other,
        unseen,
        x.binned_on,
        sketch=sketch,
        singletons=singletons,
        novel=novel,
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

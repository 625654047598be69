"""Streaming per-column accumulators that a ProfileBuilder feeds chunk by chunk."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import pandas as pd

from scorewatch.monitoring.profiles.model import (
    DISCRETE_CAP,
    MAX_TRACKED_CATEGORIES,
    QUANTILE_LEVELS,
    CategoricalProfile,
    NumericProfile,
    Role,
)
from scorewatch.monitoring.profiles.values import (
    SKETCH_BITS,
    category_counts,
    encode_sketch,
    numeric_values,
    quantile_edges,
    quantiles_from_bins,
    sketch_slots,
    sorted_bin_counts,
    sorted_quantiles,
)


class _NumericAcc:
    def __init__(
        self, name: str, role: Role, edges: tuple[float, ...] | None, n_bins: int, keep_sorted: bool = False
    ):
        self.name, self.role, self.n_bins = name, role, n_bins
        self.keep_sorted = keep_sorted
        #: the sorted finite values when they came in one chunk and ``keep_sorted`` (for the sample tests)
        self.sorted: np.ndarray | None = None
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
        # One sort serves the quantiles, the bin counts (searching the edges in the sorted chunk),
        # min/max and, kept, the drift tests on raw values. ``x`` is a fresh array: sort in place.
        x.sort()
        if self.keep_sorted:
            self.sorted = x if self.chunks_with_data == 0 else None
            self.keep_sorted = self.chunks_with_data == 0
        if self.edges is None:  # edges from the first chunk holding data (exact when it is the only one)
            self.edges = quantile_edges(x, self.n_bins)
            self.counts = np.zeros(len(self.edges) + 1, np.int64)
        if self.chunks_with_data == 0:
            self.first_quantiles = _exact_quantiles(x)
        self.chunks_with_data += 1
        n_b = x.size
        mean_b = float(x.mean())
        dev = x - mean_b
        np.multiply(dev, dev, out=dev)  # np.square(x - mean_b).sum() with one temporary, not two
        m2_b = float(dev.sum())
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
            xs.sort()  # a fresh array (the finite mask copied it)
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
    def __init__(
        self,
        name: str,
        role: Role,
        binned_on: tuple[str, ...] | None,
        top_n: int,
        reference_sketch: np.ndarray | None = None,
    ):
        self.name, self.role, self.binned_on, self.top_n = name, role, binned_on, top_n
        self.counter: dict[str, int] = {}
        self.folded = 0  # rare values folded away to bound memory
        self.count = self.missing = 0
        # a reference keeps a membership sketch of every value; a batch checks its values in the
        # reference's sketch (values outside the reference's listing but in its tail are not new)
        self.sketch = np.zeros(SKETCH_BITS, dtype=bool) if binned_on is None else None
        self.reference_sketch = reference_sketch
        self.known = frozenset(binned_on or ())
        self.novel = 0

    def update(self, series: pd.Series) -> None:
        counts, missing = category_counts(series)
        self.missing += missing
        self.count += sum(counts.values())
        if self.sketch is not None and counts:
            self.sketch[sketch_slots(list(counts))] = True
        if self.reference_sketch is not None:
            outside = [k for k in counts if k not in self.known]
            if outside:
                hit = self.reference_sketch[sketch_slots(outside)]
                self.novel += sum(counts[k] for k, h in zip(outside, hit.tolist(), strict=True) if not h)
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
        profile = _categorical_from_counter(
            self.name,
            self.role,
            self.counter,
            count=self.count,
            missing=self.missing,
            binned_on=self.binned_on,
            top_n=self.top_n,
            folded=self.folded,
        )
        if self.sketch is not None and profile.other:
            singletons = sum(1 for n in self.counter.values() if n == 1) + self.folded
            return replace(profile, sketch=encode_sketch(self.sketch), singletons=singletons)
        if self.reference_sketch is not None:
            return replace(profile, novel=self.novel)
        return profile


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
    """``np.quantile(x, QUANTILE_LEVELS)`` of sorted ``x``, as (level, value) pairs."""
    qs = sorted_quantiles(x, np.asarray(QUANTILE_LEVELS, dtype=float))
    return tuple((lv, float(v)) for lv, v in zip(QUANTILE_LEVELS, qs, strict=True))

"""ProfileBuilder (chunked, with a seeded row sample) and build_profile (one in-memory frame)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from scorewatch.core.errors import ProfileError
from scorewatch.core.schema import FeatureSchema
from scorewatch.monitoring.profiles.accumulators import _CategoricalAcc, _NumericAcc
from scorewatch.monitoring.profiles.model import (
    DEFAULT_BINS,
    DEFAULT_SAMPLE_ROWS,
    DEFAULT_TOP_N,
    CategoricalProfile,
    ColumnProfile,
    NumericProfile,
    Profile,
    Role,
)


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
    keep_sorted : bool
        Keep each numeric column's sorted finite values when they come in one chunk
        (:meth:`sorted_values`); memory: one float array per numeric column.

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
        keep_sorted: bool = False,
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
        self.keep_sorted = keep_sorted
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
            self._accs[name] = _NumericAcc(name, role, edges, self.n_bins, self.keep_sorted)
        else:
            binned_on = None
            sketch = None
            if isinstance(ref, CategoricalProfile):
                binned_on = ref.binned_on or tuple(k for k, _ in ref.categories)
                sketch = ref.sketch_bits()
            self._accs[name] = _CategoricalAcc(name, role, binned_on, self.top_n, sketch)
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
                ref = self.edges_from
                kind = ref.column(name).kind if ref is not None and ref.has(name) else _kind_of(outputs[name])
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

    def sorted_values(self) -> dict[str, np.ndarray]:
        """Sorted finite values of each numeric column fed in one chunk (``keep_sorted=True``).

        The arrays the profile's quantiles and bins were read from, for the drift tests on raw
        values (KS, Wasserstein) to use instead of extracting and sorting the column again.
        """
        return {
            name: acc.sorted
            for name, acc in self._accs.items()
            if isinstance(acc, _NumericAcc) and acc.sorted is not None
        }

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
    return _one_chunk(
        df,
        schema,
        score_columns=score_columns,
        edges_from=edges_from,
        top_n=top_n,
        n_bins=n_bins,
        keep_sorted=False,
    ).finish()[0]


def build_profile_sorted(
    df: pd.DataFrame,
    schema: FeatureSchema,
    *,
    score_columns: Sequence[str] = (),
    edges_from: Profile | None = None,
) -> tuple[Profile, dict[str, np.ndarray]]:
    """:func:`build_profile` and the sorted finite values of each numeric column it sorted.

    One sort per numeric column serves the profile (quantiles, edges, bins) and the drift tests on
    raw values (pass the arrays as ``reference_sorted`` / ``current_sorted`` to ``evaluate``).
    """
    builder = _one_chunk(
        df,
        schema,
        score_columns=score_columns,
        edges_from=edges_from,
        top_n=DEFAULT_TOP_N,
        n_bins=DEFAULT_BINS,
        keep_sorted=True,
    )
    return builder.finish()[0], builder.sorted_values()


def _one_chunk(
    df: pd.DataFrame,
    schema: FeatureSchema,
    *,
    score_columns: Sequence[str],
    edges_from: Profile | None,
    top_n: int,
    n_bins: int,
    keep_sorted: bool,
) -> ProfileBuilder:
    builder = ProfileBuilder(
        schema,
        edges_from=edges_from,
        score_columns=score_columns,
        sample_rows=0,
        top_n=top_n,
        n_bins=n_bins,
        keep_sorted=keep_sorted,
    )
    outputs = df[[c for c in score_columns if c in df.columns]] if score_columns else None
    builder.update(df, outputs)
    return builder

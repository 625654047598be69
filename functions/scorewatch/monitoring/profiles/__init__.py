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


Modules: ``model`` (the dataclasses and their JSON form), ``values`` (value extraction and
binning), ``accumulators`` (streaming per-column state), ``builder`` (ProfileBuilder,
build_profile), ``merge`` (merge_profiles). Pure: numpy/pandas only, no I/O; imports only
``scorewatch.core``.
"""

from __future__ import annotations

from scorewatch.monitoring.profiles.builder import ProfileBuilder, build_profile, build_profile_sorted
from scorewatch.monitoring.profiles.merge import merge_profiles
from scorewatch.monitoring.profiles.model import (
    DEFAULT_BINS,
    DEFAULT_SAMPLE_ROWS,
    DEFAULT_TOP_N,
    DISCRETE_CAP,
    MAX_TRACKED_CATEGORIES,
    PROFILE_FORMAT,
    PROFILE_SCHEMA_VERSION,
    QUANTILE_LEVELS,
    CategoricalProfile,
    ColumnProfile,
    NumericProfile,
    Profile,
    Role,
)
from scorewatch.monitoring.profiles.values import (
    MISSING_TOKENS,
    bin_counts,
    category_counts,
    numeric_values,
    quantile_edges,
    quantiles_from_bins,
    sorted_bin_counts,
)

__all__ = [
    "DEFAULT_BINS",
    "DEFAULT_SAMPLE_ROWS",
    "DEFAULT_TOP_N",
    "DISCRETE_CAP",
    "MAX_TRACKED_CATEGORIES",
    "MISSING_TOKENS",
    "PROFILE_FORMAT",
    "PROFILE_SCHEMA_VERSION",
    "QUANTILE_LEVELS",
    "CategoricalProfile",
    "ColumnProfile",
    "NumericProfile",
    "Profile",
    "ProfileBuilder",
    "Role",
    "bin_counts",
    "build_profile",
    "build_profile_sorted",
    "category_counts",
    "merge_profiles",
    "numeric_values",
    "quantile_edges",
    "quantiles_from_bins",
    "sorted_bin_counts",
]

"""Per-column, dataset and prediction drift of a current profile against a reference profile.

The test for each column is chosen like Evidently's ``DataDriftPreset`` defaults (so numbers can be
compared with it), unless ``DriftSettings.columns[<name>]`` overrides test and/or threshold:

============================  ==========================================  =====================
reference values (non-null)   numeric                                     categorical
============================  ==========================================  =====================
<= 1000                       ``ks`` if > 5 distinct values, else          ``chisquare``, or
                              ``chisquare`` (3-5) / ``z`` (<= 2)           ``z`` for <= 2 values
> 1000                        ``wasserstein`` (normalised) if > 5          ``jensenshannon``
                              distinct values, else ``jensenshannon``
============================  ==========================================  =====================

Distinct values are counted over reference and current together. Thresholds default to 0.05 for
p-values and 0.1 for distances. ``ks``/``wasserstein`` need raw values (the stored reference
sample and the current sample); without them the column falls back to ``jensenshannon`` on the
profile bins and says so in ``note``. Count tests run on profile counts: exact value counts for
numeric columns with at most 20 distinct values on both sides (as Evidently does), reference
quantile bins otherwise. PSI and Jensen-Shannon on the same counts are always computed too (the
``MaxPSI`` metric and the prediction drift score).

A column tested with a distance drifts when the distance is at or above its threshold. The
p-value tests of one comparison are corrected for multiple testing
(``DriftSettings.multiple_testing``, default ``holm``; :mod:`~scorewatch.monitoring.multiple_testing`):
the feature columns whose p-value test runs at its default threshold form one family, the
prediction columns another, and a column drifts when its adjusted p-value passes the threshold,
so a same-distribution batch flags any column of a family with probability at most the threshold.
A column with an explicit threshold (``columns[<name>].threshold``, ``prediction_threshold``) is
outside the family: its raw p-value is compared with the threshold as given. The raw statistic and
p-value are kept; ``adjusted_pvalue`` and ``effective_threshold`` (the level the raw p-value was
compared with) are added. The dataset drifts when the share of drifted features is
``>= DriftSettings.dataset_drift_share``. Prediction drift applies the same logic to the
prediction/score columns (``prediction_test`` / ``prediction_threshold`` override);
``prediction_drift_score`` is the largest Jensen-Shannon distance among them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from scorewatch.core.config import DriftSettings
from scorewatch.core.errors import ConfigError, MonitoringInputError
from scorewatch.monitoring.multiple_testing import Correction, adjust_pvalues
from scorewatch.monitoring.profiles import (
    CategoricalProfile,
    ColumnProfile,
    NumericProfile,
    Profile,
    numeric_values,
)
from scorewatch.monitoring.stattests import (
    SORTED_SAMPLE_TESTS,
    TestResult,
    align_counts,
    get_test,
    jensenshannon_test,
    psi_test,
    pvalue_drifted,
    pvalue_severity,
    wasserstein_sorted,
)

SMALL_REFERENCE_ROWS = 1000
FEW_VALUES = 5
_OTHER = "\x00other"  # key of the folded "other" bucket when aligning category counts
_NOVEL = "\x00novel"  # values absent from the whole reference (a high-cardinality column's sketch)


@dataclass(frozen=True)
class ColumnDrift:
    """Drift verdict of one column: the deciding test plus PSI and Jensen-Shannon on its counts.

    ``result`` is the test's raw outcome (statistic, p-value, its verdict at the threshold alone).
    For a p-value test that ran, :func:`detect_drift` sets ``correction`` (what was applied:
    ``holm``/``bonferroni`` in a family of ``family_size`` columns, ``none`` when the column was
    tested alone), ``adjusted_pvalue`` (compared with ``result.threshold`` for the verdict) and
    ``effective_threshold`` (the level the raw p-value was compared with); all are None for
    distance tests, skipped tests and a lone :func:`column_drift`.
    """

    column: str
    role: Literal["feature", "prediction"]
    kind: Literal["numeric", "categorical"]
    result: TestResult
    psi: float | None
    jensenshannon: float | None
    chosen_by: Literal["auto", "override", "fallback"]
    note: str | None = None
    correction: Correction | None = None
    adjusted_pvalue: float | None = None
    effective_threshold: float | None = None
    family_size: int | None = None

    @property
    def drifted(self) -> bool:
        if self.adjusted_pvalue is None:
            return self.result.drifted
        return pvalue_drifted(self.result.test, self.adjusted_pvalue, self.result.threshold)

    @property
    def severity(self) -> float:
        """As :attr:`TestResult.severity`, on the adjusted p-value when there is one (>= 1: drifted)."""
        if self.adjusted_pvalue is None:
            return self.result.severity
        return pvalue_severity(self.adjusted_pvalue, self.result.threshold)

    def to_dict(self) -> dict[str, Any]:
        # A flat view (the test's fields beside the verdict), not a field dump: hand-written.
        return {
            "column": self.column,
            "role": self.role,
            "kind": self.kind,
            "drifted": self.drifted,
            "severity": round(self.severity, 6),
            **{k: v for k, v in self.result.to_dict().items() if k != "drifted"},
            "psi": self.psi,
            "jensenshannon": self.jensenshannon,
            "chosen_by": self.chosen_by,
            "note": self.note,
            "correction": self.correction,
            "adjusted_pvalue": self.adjusted_pvalue,
            "effective_threshold": self.effective_threshold,
            "family_size": self.family_size,
        }


@dataclass(frozen=True)
class DriftResult:
    """Drift of every evaluated feature and prediction column, with the dataset-level verdicts."""

    features: tuple[ColumnDrift, ...]
    predictions: tuple[ColumnDrift, ...]
    drift_share: float
    dataset_drift: bool
    dataset_drift_share: float
    max_psi: float | None
    prediction_drift: bool
    prediction_drift_score: float | None

    @property
    def drifted_features(self) -> tuple[str, ...]:
        return tuple(c.column for c in self.features if c.drifted)


def _discrete(col: NumericProfile) -> dict[float, int] | None:
    return None if col.values is None else dict(col.values)


def _category_map(col: CategoricalProfile) -> dict[str, int]:
    counts = {k: n for k, n in col.categories}
    if col.other:
        counts[_OTHER] = counts.get(_OTHER, 0) + col.other
    return counts


def _folded_counts(
    ref: CategoricalProfile, cur: CategoricalProfile
) -> tuple[list[Any], np.ndarray, np.ndarray]:
    """Like with like for a reference with more values than it lists.

    Both sides are folded on the reference's listed categories; the rest is split into ``other``
    (values the reference has in its tail) and ``novel`` (values the reference never had). The
    reference's own ``novel`` mass is what a fresh draw of its distribution would bring: its
    Good-Turing estimate (:attr:`CategoricalProfile.expected_novel`).
    """
    listed = [k for k, _ in ref.categories]
    cur_counts = dict(cur.categories)
    cur_listed = [float(cur_counts.get(k, 0)) for k in listed]
    cur_rest = float(cur.count) - sum(cur_listed)
    novel = float(cur.novel or 0)
    ref_novel = ref.expected_novel
    keys: list[Any] = [*listed, _OTHER, _NOVEL]
    rc = np.array([*(float(n) for _, n in ref.categories), ref.other - ref_novel, ref_novel])
    cc = np.array([*cur_listed, max(cur_rest - novel, 0.0), novel])
    return keys, rc, cc


def _present(keys: list[Any], rc: np.ndarray, cc: np.ndarray) -> tuple[list[Any], np.ndarray, np.ndarray]:
    """Drop values seen on neither side (a reference category absent from both), as Evidently's keys do."""
    keep = (rc + cc) > 0
    return [k for k, m in zip(keys, keep, strict=True) if m], rc[keep], cc[keep]


def column_counts(ref: ColumnProfile, cur: ColumnProfile) -> tuple[list[Any], np.ndarray, np.ndarray]:
    """Aligned (keys, reference counts, current counts) used by the count tests for one column.

    Raises
    ------
    MonitoringInputError
        Numeric profiles binned on different edges (profile the batch with ``edges_from``).
    """
    if isinstance(ref, NumericProfile) and isinstance(cur, NumericProfile):
        rv, cv = _discrete(ref), _discrete(cur)
        if rv is not None and cv is not None:
            return _present(*align_counts(rv, cv))
        if not ref.edges or not cur.counts:
            return [], np.zeros(0), np.zeros(0)
        if ref.edges != cur.edges:
            raise MonitoringInputError(
                f"column {ref.name!r}: current profile is binned on different edges than the reference; "
                "build it with edges_from=<reference profile>"
            )
        keys = ["underflow", *[f"bin{i}" for i in range(len(ref.edges) - 1)], "overflow"]
        return keys, np.asarray(ref.counts, float), np.asarray(cur.counts, float)
    if isinstance(ref, CategoricalProfile) and isinstance(cur, CategoricalProfile):
        if ref.other and ref.sketch is not None and cur.novel is not None:
            return _present(*_folded_counts(ref, cur))
        return _present(*align_counts(_category_map(ref), _category_map(cur)))
    raise MonitoringInputError(f"column {ref.name!r} is {ref.kind} in the reference but {cur.kind} now")


def _n_values(
    ref: ColumnProfile,
    cur: ColumnProfile,
    keys: list[Any],
    rc: np.ndarray,
    cc: np.ndarray,
) -> float:
    if isinstance(ref, NumericProfile) and (ref.values is None or not isinstance(cur, NumericProfile)):
        return float("inf")
    if isinstance(cur, NumericProfile) and cur.values is None:
        return float("inf")
    if _OTHER in keys:
        return float("inf")
    return float(np.count_nonzero((rc + cc) > 0))


def auto_test(kind: str, reference_rows: int, n_values: float) -> str:
    """Evidently's default test for a column (see the module docstring)."""
    if reference_rows <= SMALL_REFERENCE_ROWS:
        if kind == "numeric" and n_values > FEW_VALUES:
            return "ks"
        return "chisquare" if n_values > 2 else "z"
    if kind == "numeric" and n_values > FEW_VALUES:
        return "wasserstein"
    return "jensenshannon"


def _sorted_sample(
    sorted_values: Mapping[str, np.ndarray] | None, sample: pd.DataFrame | None, name: str
) -> np.ndarray | None:
    """Sorted finite values of ``name``: the caller's (already sorted) or extracted and sorted once."""
    if sorted_values is not None and name in sorted_values:
        return sorted_values[name]
    if sample is None or name not in sample.columns:
        return None
    values = numeric_values(sample[name])[0]  # a fresh array (the finite mask copied it)
    values.sort()
    return values


def _profile_std(
    ref: ColumnProfile, values: np.ndarray, reference_sorted: Mapping[str, np.ndarray] | None
) -> float | None:
    """The reference profile's population std when ``values`` are the values it was built from
    (the arrays of :func:`~scorewatch.monitoring.profiles.build_profile_sorted`)."""
    if reference_sorted is None or reference_sorted.get(ref.name) is not values:
        return None
    if not isinstance(ref, NumericProfile) or ref.count != values.size or not ref.count:
        return None
    return math.sqrt(ref.m2 / ref.count)


def column_drift(
    ref: ColumnProfile,
    cur: ColumnProfile,
    *,
    test: str | None = None,
    threshold: float | None = None,
    reference_sample: pd.DataFrame | None = None,
    current_sample: pd.DataFrame | None = None,
    reference_sorted: Mapping[str, np.ndarray] | None = None,
    current_sorted: Mapping[str, np.ndarray] | None = None,
) -> ColumnDrift:
    """Drift of one column (auto-chosen test unless ``test``; default threshold unless ``threshold``).

    ``reference_sorted`` / ``current_sorted``: see :func:`detect_drift`; a column not there is
    extracted from the sample frame and sorted once.

    Raises
    ------
    ConfigError
        ``test`` is unknown or does not apply to the column's kind.
    MonitoringInputError
        The profiles cannot be compared (different kinds or edges).
    """
    keys, rc, cc = column_counts(ref, cur)
    chosen_by: Literal["auto", "override", "fallback"] = "override" if test else "auto"
    note = None
    if test is None:
        test = auto_test(ref.kind, ref.count, _n_values(ref, cur, keys, rc, cc))
    try:
        spec = get_test(test)
    except MonitoringInputError as exc:
        raise ConfigError(f"drift test for column {ref.name!r}: {exc}") from exc
    if ref.kind not in spec.applies_to:
        raise ConfigError(f"drift test {test!r} does not apply to {ref.kind} column {ref.name!r}")
    if spec.name == "z" and len(keys) > 2:
        raise ConfigError(
            f"drift test 'z' needs a column with at most 2 values; {ref.name!r} has {len(keys)}"
        )
    thr = threshold if threshold is not None else spec.default_threshold
    psi = psi_test(rc, cc) if rc.size else None
    js = jensenshannon_test(rc, cc) if rc.size else None
    if spec.input == "sample":
        rs = _sorted_sample(reference_sorted, reference_sample, ref.name)
        cs = _sorted_sample(current_sorted, current_sample, cur.name)
        if rs is None or cs is None:
            note = f"{spec.name} needs raw samples of both sides; used jensenshannon on profile counts"
            spec, chosen_by = get_test("jensenshannon"), "fallback"
            thr = threshold if threshold is not None else spec.default_threshold
            result = spec.func(rc, cc, threshold=thr)
        elif spec.name == "wasserstein":
            result = wasserstein_sorted(
                rs, cs, threshold=thr, reference_std=_profile_std(ref, rs, reference_sorted)
            )
        else:
            result = SORTED_SAMPLE_TESTS[spec.name](rs, cs, threshold=thr)
    else:
        try:
            result = spec.func(rc, cc, threshold=thr)
        except MonitoringInputError as exc:
            raise MonitoringInputError(f"column {ref.name!r}: {exc}") from exc
    return ColumnDrift(
        column=ref.name,
        role=ref.role,
        kind=ref.kind,
        result=result,
        psi=psi.distance if psi is not None else None,
        jensenshannon=js.distance if js is not None else None,
        chosen_by=chosen_by,
        note=note,
    )


def correct_family(
    columns: Sequence[ColumnDrift], method: Correction, *, alone: frozenset[str] = frozenset()
) -> tuple[ColumnDrift, ...]:
    """``columns`` with the p-value tests corrected as one family (see the module docstring).

    Columns named in ``alone`` (an explicit threshold) keep their raw p-value as the adjusted one
    (``correction="none"``) and do not count in the family; distance and skipped tests are
    returned unchanged.
    """
    family = [
        i
        for i, c in enumerate(columns)
        if c.result.pvalue is not None and c.result.reason is None and c.column not in alone
    ]
    adjusted = adjust_pvalues([columns[i].result.pvalue or 0.0 for i in family], method)
    out = list(columns)
    for i, a in zip(family, adjusted, strict=True):
        c = columns[i]
        out[i] = replace(
            c,
            correction=method,
            adjusted_pvalue=a.pvalue,
            effective_threshold=c.result.threshold / a.divisor,
            family_size=len(family),
        )
    for i, c in enumerate(columns):
        if c.column in alone and c.result.pvalue is not None and c.result.reason is None:
            out[i] = replace(
                c,
                correction="none",
                adjusted_pvalue=c.result.pvalue,
                effective_threshold=c.result.threshold,
                family_size=1,
            )
    return tuple(out)


def detect_drift(
    reference: Profile,
    current: Profile,
    *,
    settings: DriftSettings | None = None,
    reference_sample: pd.DataFrame | None = None,
    current_sample: pd.DataFrame | None = None,
    columns: Sequence[str] | None = None,
    reference_sorted: Mapping[str, np.ndarray] | None = None,
    current_sorted: Mapping[str, np.ndarray] | None = None,
) -> DriftResult:
    """Compare every feature and prediction column of ``current`` with ``reference``.

    Parameters
    ----------
    reference, current : Profile
        ``current`` binned on the reference (``edges_from=reference``).
    settings : DriftSettings, optional
        Per-column overrides, dataset drift share, prediction test/threshold.
    reference_sample, current_sample : DataFrame, optional
        Raw rows for the sample tests (KS, Wasserstein).
    columns : sequence of str, optional
        Restrict the feature columns evaluated (default: all reference features present now).
    reference_sorted, current_sorted : mapping of str to ndarray, optional
        What :func:`~scorewatch.monitoring.profiles.build_profile_sorted` returned with
        ``reference`` / ``current``: the sorted finite values each numeric column's profile was
        built from, which must also be the samples' values (the in-memory path, where the
        sample is the whole frame). The sample tests use them (and the reference profile's
        std) instead of extracting and sorting the columns again.

    Returns
    -------
    DriftResult

    Raises
    ------
    ConfigError
        An override names an unknown test or one that does not fit the column.
    MonitoringInputError
        Profiles binned differently, or an override names a column absent from the reference.

    Examples
    --------
    >>> import pandas as pd
    >>> from scorewatch.monitoring.profiles import build_profile
    >>> from scorewatch.core.schema import FeatureSchema, FeatureSpec
    >>> s = FeatureSchema(features=(FeatureSpec(name="c", type="categorical"),))
    >>> ref = build_profile(pd.DataFrame({"c": ["a"] * 50 + ["b"] * 50}), s)
    >>> cur = build_profile(pd.DataFrame({"c": ["a"] * 90 + ["b"] * 10}), s, edges_from=ref)
    >>> r = detect_drift(ref, cur)
    >>> r.features[0].result.test, r.dataset_drift
    ('z', True)
    """
    settings = settings or DriftSettings()
    unknown = sorted(set(settings.columns) - set(reference.names))
    if unknown:
        raise MonitoringInputError(f"drift settings name columns not in the reference profile: {unknown}")
    wanted = set(columns) if columns is not None else None
    absent = set(current.absent)
    features: list[ColumnDrift] = []
    predictions: list[ColumnDrift] = []
    alone: set[str] = set()  # explicit thresholds: honoured as given, outside the family
    for ref in reference.columns:
        if ref.name in absent or not current.has(ref.name):
            continue
        if ref.role == "feature" and wanted is not None and ref.name not in wanted:
            continue
        override = settings.columns.get(ref.name)
        test = override.test if override else None
        threshold = override.threshold if override else None
        if ref.role == "prediction":
            test = test or settings.prediction_test
            threshold = threshold if threshold is not None else settings.prediction_threshold
        if threshold is not None:
            alone.add(ref.name)
        cd = column_drift(
            ref,
            current.column(ref.name),
            test=test,
            threshold=threshold,
            reference_sample=reference_sample,
            current_sample=current_sample,
            reference_sorted=reference_sorted,
            current_sorted=current_sorted,
        )
        (predictions if ref.role == "prediction" else features).append(cd)
    features = list(correct_family(features, settings.multiple_testing, alone=frozenset(alone)))
    predictions = list(correct_family(predictions, settings.multiple_testing, alone=frozenset(alone)))
    evaluated = [c for c in features if c.result.reason is None]
    drifted = sum(c.drifted for c in evaluated)
    share = drifted / len(evaluated) if evaluated else 0.0
    psis = [c.psi for c in features if c.psi is not None]
    pred_js = [c.jensenshannon for c in predictions if c.jensenshannon is not None]
    return DriftResult(
        features=tuple(features),
        predictions=tuple(predictions),
        drift_share=share,
        dataset_drift=bool(evaluated) and share >= settings.dataset_drift_share,
        dataset_drift_share=settings.dataset_drift_share,
        max_psi=max(psis) if psis else None,
        prediction_drift=any(c.drifted for c in predictions),
        prediction_drift_score=max(pred_js) if pred_js else None,
    )

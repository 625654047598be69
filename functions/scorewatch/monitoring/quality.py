"""Data-quality checks of a batch profile against the reference profile.

Violations use SageMaker Model Monitor's constraint-violation kinds so people who know it read
them at once:

- ``missing_column_check``   a reference feature absent from the batch (error)
- ``extra_column_check``     a batch column the model does not know (warning)
- ``data_type_check``        values of the wrong type in a numeric column (error), infinities (warning)
- ``completeness_check``     missing rate up by more than ``missing_rate_tolerance`` (error)
- ``baseline_drift_check``   values outside the reference range, a column that became constant,
                             an empty batch or a row count far from recent batches
- ``categorical_values_check`` categories the reference never had

Pure: profiles in, violations out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from scorewatch.monitoring.profiles import CategoricalProfile, NumericProfile, Profile
from scorewatch.monitoring.profiles.values import sketch_slots

ViolationKind = Literal[
    "data_type_check",
    "completeness_check",
    "baseline_drift_check",
    "missing_column_check",
    "extra_column_check",
    "categorical_values_check",
]
Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Violation:
    """One data-quality finding; ``column`` is None for dataset-level findings (row count)."""

    kind: ViolationKind
    column: str | None
    description: str
    severity: Severity
    observed: float | None = None
    expected: float | None = None

    def to_dict(self) -> dict[str, Any]:
        # Hand-written: reports put severity before description, and pydantic's TypeAdapter takes
        # 0.8 µs against 0.2 µs (benchmarks/bench_serialization.py).
        return {
            "kind": self.kind,
            "column": self.column,
            "severity": self.severity,
            "description": self.description,
            "observed": self.observed,
            "expected": self.expected,
        }


@dataclass(frozen=True)
class QualitySettings:
    """Tolerances of the checks (shares are fractions of the column's rows or values)."""

    missing_rate_tolerance: float = 0.05
    out_of_range_tolerance: float = 0.01
    unseen_tolerance: float = 0.0
    unseen_error_share: float = 0.05
    row_count_mad_factor: float = 5.0
    min_history: int = 3


def _row_count_violation(rows: int, history: Sequence[int], settings: QualitySettings) -> Violation | None:
    if rows == 0:
        return Violation("baseline_drift_check", None, "the batch has no rows", "error", 0.0, None)
    if len(history) < settings.min_history:
        return None
    h = np.asarray(history, dtype=float)
    median = float(np.median(h))
    # Scaled MAD estimates the std robustly; a floor of 10% of the median keeps perfectly regular
    # histories (MAD 0) from flagging every small change.
    spread = max(1.4826 * float(np.median(np.abs(h - median))), 0.1 * median, 1.0)
    if abs(rows - median) > settings.row_count_mad_factor * spread:
        return Violation(
            "baseline_drift_check",
            None,
            f"row count {rows} is far from the recent median {median:g} "
            f"(more than {settings.row_count_mad_factor:g} robust standard deviations)",
            "warning",
            float(rows),
            median,
        )
    return None


def check_quality(
    reference: Profile,
    current: Profile,
    *,
    input_columns: Sequence[str] | None = None,
    id_columns: Sequence[str] = (),
    row_count_history: Sequence[int] = (),
    settings: QualitySettings | None = None,
) -> tuple[Violation, ...]:
    """Compare ``current`` with ``reference`` and list data-quality violations.

    Parameters
    ----------
    reference, current : Profile
        ``current`` profiled with ``edges_from=reference`` (for unseen categories/out-of-range).
    input_columns : sequence of str, optional
        Columns present in the input file (enables missing/extra column checks beyond ``absent``).
    id_columns : sequence of str
        Pass-through columns that are expected in the input and are not extra.
    row_count_history : sequence of int
        Row counts of recent batches (row-count anomaly needs at least 3).
    settings : QualitySettings, optional

    Returns
    -------
    tuple of Violation
        Errors first, then warnings; stable order by column.

    Examples
    --------
    >>> import pandas as pd
    >>> from scorewatch.monitoring.profiles import build_profile
    >>> from scorewatch.core.schema import FeatureSchema, FeatureSpec
    >>> s = FeatureSchema(features=(FeatureSpec(name="c", type="categorical"),))
    >>> ref = build_profile(pd.DataFrame({"c": ["a", "b"]}), s)
    >>> cur = build_profile(pd.DataFrame({"c": ["a", "z"]}), s, edges_from=ref)
    >>> [v.kind for v in check_quality(ref, cur)]
    ['categorical_values_check']
    """
    settings = settings or QualitySettings()
    out: list[Violation] = []
    known = set(reference.names)
    if input_columns is not None:
        present = set(input_columns)
        for name in input_columns:
            if name not in known and name not in set(id_columns):
                out.append(
                    Violation(
                        "extra_column_check", name, f"column {name!r} is not a model feature", "warning"
                    )
                )
    else:
        present = None
    absent = set(current.absent)
    for ref in reference.features:
        name = ref.name
        if name in absent or (present is not None and name not in present) or not current.has(name):
            out.append(
                Violation(
                    "missing_column_check", name, f"feature {name!r} is missing from the batch", "error"
                )
            )
            continue
        cur = current.column(name)
        out.extend(_column_checks(ref, cur, settings))
    v = _row_count_violation(current.rows, row_count_history, settings)
    if v is not None:
        out.append(v)
    order = {"error": 0, "warning": 1}
    return tuple(sorted(out, key=lambda x: (order[x.severity], x.kind, x.column or "")))


def _column_checks(ref: Any, cur: Any, settings: QualitySettings) -> list[Violation]:
    out: list[Violation] = []
    name = ref.name
    rows = cur.rows
    if rows == 0:
        return out
    if isinstance(cur, NumericProfile) and cur.invalid:
        share = cur.invalid / rows
        out.append(
            Violation(
                "data_type_check",
                name,
                f"{cur.invalid} value(s) in numeric column {name!r} are not numbers",
                "error",
                share,
                0.0,
            )
        )
    if isinstance(cur, NumericProfile) and cur.infinite:
        out.append(
            Violation(
                "data_type_check",
                name,
                f"{cur.infinite} infinite value(s) in numeric column {name!r}",
                "warning",
                cur.infinite / rows,
                0.0,
            )
        )
    increase = cur.missing_rate - ref.missing_rate
    if increase > settings.missing_rate_tolerance:
        out.append(
            Violation(
                "completeness_check",
                name,
                f"missing rate of {name!r} is {cur.missing_rate:.1%} (reference {ref.missing_rate:.1%})",
                "error",
                cur.missing_rate,
                ref.missing_rate,
            )
        )
    if isinstance(ref, NumericProfile) and isinstance(cur, NumericProfile):
        out.extend(_numeric_checks(ref, cur, settings))
    elif isinstance(ref, CategoricalProfile) and isinstance(cur, CategoricalProfile):
        out.extend(_categorical_checks(ref, cur, settings))
    return out


def _numeric_checks(ref: NumericProfile, cur: NumericProfile, settings: QualitySettings) -> list[Violation]:
    out: list[Violation] = []
    name = ref.name
    if cur.count and ref.count and ref.min is not None and ref.max is not None:
        if cur.counts and cur.edges == ref.edges:
            outside = cur.counts[0] + cur.counts[-1]
        else:  # not binned on the reference: only the extremes are known
            outside = int((cur.min or 0) < ref.min) + int((cur.max or 0) > ref.max)
        share = outside / cur.count
        if outside and share > settings.out_of_range_tolerance:
            out.append(
                Violation(
                    "baseline_drift_check",
                    name,
                    f"{share:.1%} of {name!r} is outside the reference range [{ref.min:g}, {ref.max:g}]",
                    "warning",
                    share,
                    settings.out_of_range_tolerance,
                )
            )
        if cur.count > 1 and cur.min == cur.max and ref.min != ref.max:
            out.append(
                Violation(
                    "baseline_drift_check",
                    name,
                    f"{name!r} is constant ({cur.min:g}) in the batch",
                    "warning",
                )
            )
    return out


def _categorical_checks(
    ref: CategoricalProfile, cur: CategoricalProfile, settings: QualitySettings
) -> list[Violation]:
    out: list[Violation] = []
    name = ref.name
    if cur.count == 0:
        return out
    known = {k for k, _ in ref.categories}
    unseen = cur.unseen
    examples = [k for k, n in cur.categories if n and k not in known]
    expected = 0.0  # share of new values a fresh draw of the reference would bring
    margin = 0.0
    bits = ref.sketch_bits()
    if bits is not None and cur.novel is not None:
        # a high-cardinality reference: only values absent from its sketch are new, and some are
        # expected (its own tail: the Good-Turing estimate); flag only what exceeds that
        unseen = cur.novel
        examples = [k for k, h in zip(examples, bits[sketch_slots(examples)].tolist(), strict=True) if not h]
        expected = ref.expected_novel / ref.count if ref.count else 0.0
        margin = 3.0 * math.sqrt(max(expected * (1.0 - expected), 1.0 / cur.count) / cur.count)
    examples = examples[:5]
    if unseen is None:
        unseen = sum(n for k, n in cur.categories if k not in known) + (cur.other if not ref.other else 0)
    share = unseen / cur.count
    excess = share - expected - margin
    if unseen and excess > settings.unseen_tolerance:
        sev: Severity = "error" if excess > settings.unseen_error_share else "warning"
        shown = ", ".join(repr(e) for e in examples)
        tail = f"; about {expected:.1%} expected from the reference's tail" if expected else ""
        out.append(
            Violation(
                "categorical_values_check",
                name,
                f"{share:.1%} of {name!r} are categories unseen in the reference (e.g. {shown}){tail}",
                sev,
                share,
                settings.unseen_tolerance + expected,
            )
        )
    seen_now = [k for k, n in cur.categories if n]
    if cur.count > 1 and len(seen_now) == 1 and not cur.other and len(known) > 1:
        out.append(
            Violation(
                "baseline_drift_check",
                name,
                f"{name!r} is constant ({seen_now[0]!r}) in the batch",
                "warning",
            )
        )
    return out

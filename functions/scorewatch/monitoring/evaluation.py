"""One monitoring evaluation: drift, prediction drift, multivariate drift and data quality together.

:func:`evaluate` returns a frozen :class:`MonitoringReport`; ``to_dict()`` is its stable JSON form
(format ``scorewatch.monitoring-report``, version 1, documented in docs/monitoring.md (JSON
report)) and ``history_rows()`` its one-row-per-column table for Athena/DuckDB.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from scorewatch.core.config import DriftSettings
from scorewatch.core.errors import MonitoringInputError
from scorewatch.monitoring.drift import ColumnDrift, DriftResult, column_counts, detect_drift
from scorewatch.monitoring.multivariate import MultivariateResult, domain_classifier_drift
from scorewatch.monitoring.profiles import CategoricalProfile, ColumnProfile, NumericProfile, Profile
from scorewatch.monitoring.quality import QualitySettings, Violation, check_quality

REPORT_FORMAT = "scorewatch.monitoring-report"
REPORT_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class MonitoringReport:
    """Everything one evaluation found; the profiles are kept for charts and history rows."""

    reference: Profile
    current: Profile
    drift: DriftResult
    multivariate: MultivariateResult | None
    quality_violations: tuple[Violation, ...]
    settings: DriftSettings

    @property
    def dataset_drift(self) -> bool:
        return self.drift.dataset_drift

    @property
    def drift_share(self) -> float:
        return self.drift.drift_share

    @property
    def drifted_features(self) -> tuple[str, ...]:
        return self.drift.drifted_features

    @property
    def max_psi(self) -> float | None:
        return self.drift.max_psi

    @property
    def prediction_drift(self) -> bool:
        return self.drift.prediction_drift

    @property
    def prediction_drift_score(self) -> float | None:
        return self.drift.prediction_drift_score

    @property
    def features(self) -> tuple[ColumnDrift, ...]:
        return self.drift.features

    @property
    def predictions(self) -> tuple[ColumnDrift, ...]:
        return self.drift.predictions

    @property
    def drifted(self) -> bool:
        """Dataset drift, prediction drift or multivariate drift."""
        mv = self.multivariate is not None and self.multivariate.drifted
        return self.dataset_drift or self.prediction_drift or mv

    def to_dict(self) -> dict[str, Any]:
        """The JSON report (see docs/monitoring.md, JSON report, for every field)."""
        mv = self.multivariate
        return {
            "format": REPORT_FORMAT,
            "version": REPORT_SCHEMA_VERSION,
            "summary": {
                "drifted": self.drifted,
                "dataset_drift": self.dataset_drift,
                "drift_share": self.drift_share,
                "dataset_drift_share": self.drift.dataset_drift_share,
                "features_evaluated": len(self.features),
                "drifted_features": list(self.drifted_features),
                "max_psi": self.max_psi,
                "prediction_drift": self.prediction_drift,
                "prediction_drift_score": self.prediction_drift_score,
                "multivariate_auc": mv.auc if mv else None,
                "multivariate_drift": mv.drifted if mv else False,
                "quality_violations": len(self.quality_violations),
                "quality_errors": sum(v.severity == "error" for v in self.quality_violations),
                "reference_rows": self.reference.rows,
                "current_rows": self.current.rows,
            },
            "features": [self._column_dict(c) for c in self.features],
            "predictions": [self._column_dict(c) for c in self.predictions],
            "multivariate": mv.to_dict() if mv else None,
            "quality": [v.to_dict() for v in self.quality_violations],
            "settings": self.settings.model_dump(mode="json"),
        }

    def _column_dict(self, c: ColumnDrift) -> dict[str, Any]:
        ref, cur = self.reference.column(c.column), self.current.column(c.column)
        return {
            **c.to_dict(),
            "reference": column_summary(ref),
            "current": column_summary(cur),
            "distribution": distribution(ref, cur),
        }

    def history_rows(self, batch_id: str, model: str, version: str, now: datetime) -> pd.DataFrame:
        """One row per evaluated column (features and predictions), typed for Parquet.

        Columns: batch_id, model_name, model_version, evaluated_at (UTC timestamp), column, role,
        kind, test, statistic, pvalue, distance, threshold, drifted, severity, psi, jensenshannon,
        reference_count, current_count, reference_missing_rate, current_missing_rate,
        reference_mean, current_mean, current_std, current_min, current_max, quality_violations,
        dataset_drift, drift_share.
        """
        per_col: dict[str, int] = {}
        for v in self.quality_violations:
            if v.column is not None:
                per_col[v.column] = per_col.get(v.column, 0) + 1
        rows = []
        for c in (*self.features, *self.predictions):
            ref, cur = self.reference.column(c.column), self.current.column(c.column)
            r = c.result
            rows.append(
                {
                    "batch_id": batch_id,
                    "model_name": model,
                    "model_version": version,
                    "evaluated_at": now,
                    "column": c.column,
                    "role": c.role,
                    "kind": c.kind,
                    "test": r.test,
                    "statistic": r.to_dict()["statistic"],
                    "pvalue": r.pvalue,
                    "distance": r.distance,
                    "threshold": r.threshold,
                    "drifted": c.drifted,
                    "severity": c.severity,
                    "psi": c.psi,
                    "jensenshannon": c.jensenshannon,
                    "reference_count": ref.count,
                    "current_count": cur.count,
                    "reference_missing_rate": ref.missing_rate,
                    "current_missing_rate": cur.missing_rate,
                    "reference_mean": ref.mean if isinstance(ref, NumericProfile) else None,
                    "current_mean": cur.mean if isinstance(cur, NumericProfile) else None,
                    "current_std": cur.std if isinstance(cur, NumericProfile) else None,
                    "current_min": cur.min if isinstance(cur, NumericProfile) else None,
                    "current_max": cur.max if isinstance(cur, NumericProfile) else None,
                    "quality_violations": per_col.get(c.column, 0),
                    "dataset_drift": self.dataset_drift,
                    "drift_share": self.drift_share,
                }
            )
        return _typed_history(rows)

    def to_view(self) -> dict[str, Any]:
        """Everything the HTML report shows, as plain JSON-able data.

        The input of :func:`scorewatch.reports.render_html`, which imports nothing from
        ``scorewatch.monitoring``. An internal rendering contract, not the stable JSON report
        (that is :meth:`to_dict`)::

            {"summary": {...}, "multivariate": MultivariateResult.to_dict() | None,
             "quality": [{"severity", "kind", "column", "description"}, ...],
             "features": [column, ...], "predictions": [column, ...]}

            column = {"column", "kind", "drifted", "severity", "test", "score", "threshold",
                      "is_pvalue", "correction", "adjusted_pvalue", "effective_threshold",
                      "family_size", "reason", "psi", "jensenshannon", "note",
                      "reference": column_summary(...), "current": column_summary(...),
                      "distribution": distribution(...)}
        """
        mv = self.multivariate
        errors = sum(v.severity == "error" for v in self.quality_violations)
        return {
            "summary": {
                "dataset_drift": self.dataset_drift,
                "drift_share": self.drift_share,
                "dataset_drift_share": self.drift.dataset_drift_share,
                "features_evaluated": len(self.features),
                "features_drifted": len(self.drifted_features),
                "prediction_drift": self.prediction_drift,
                "prediction_drift_score": self.prediction_drift_score,
                "max_psi": self.max_psi,
                "quality_errors": errors,
                "quality_warnings": len(self.quality_violations) - errors,
                "reference_rows": self.reference.rows,
                "current_rows": self.current.rows,
            },
            "multivariate": mv.to_dict() if mv is not None else None,
            "quality": [
                {"severity": v.severity, "kind": v.kind, "column": v.column, "description": v.description}
                for v in self.quality_violations
            ],
            "features": [self._column_view(c) for c in self.features],
            "predictions": [self._column_view(c) for c in self.predictions],
        }

    def _column_view(self, c: ColumnDrift) -> dict[str, Any]:
        ref, cur = self.reference.column(c.column), self.current.column(c.column)
        r = c.result
        return {
            "column": c.column,
            "kind": c.kind,
            "drifted": c.drifted,
            "severity": c.severity,
            "test": r.test,
            "score": r.score,
            "threshold": r.threshold,
            "is_pvalue": r.pvalue is not None,
            "correction": c.correction,
            "adjusted_pvalue": c.adjusted_pvalue,
            "effective_threshold": c.effective_threshold,
            "family_size": c.family_size,
            "reason": r.reason,
            "psi": c.psi,
            "jensenshannon": c.jensenshannon,
            "note": c.note,
            "reference": column_summary(ref),
            "current": column_summary(cur),
            "distribution": distribution(ref, cur),
        }

    def to_html(self, *, title: str = "scorewatch drift report") -> str:
        """The self-contained HTML report: :func:`scorewatch.reports.render_html` of :meth:`to_view`."""
        from scorewatch.reports import render_html

        return render_html(self.to_view(), title=title)


_HISTORY_TYPES = {
    "batch_id": "string",
    "model_name": "string",
    "model_version": "string",
    "column": "string",
    "role": "string",
    "kind": "string",
    "test": "string",
    "statistic": "Float64",
    "pvalue": "Float64",
    "distance": "Float64",
    "threshold": "Float64",
    "drifted": "boolean",
    "severity": "Float64",
    "psi": "Float64",
    "jensenshannon": "Float64",
    "reference_count": "Int64",
    "current_count": "Int64",
    "reference_missing_rate": "Float64",
    "current_missing_rate": "Float64",
    "reference_mean": "Float64",
    "current_mean": "Float64",
    "current_std": "Float64",
    "current_min": "Float64",
    "current_max": "Float64",
    "quality_violations": "Int64",
    "dataset_drift": "boolean",
    "drift_share": "Float64",
}


def _typed_history(rows: list[dict[str, Any]]) -> pd.DataFrame:
    cols = ["batch_id", "model_name", "model_version", "evaluated_at", *list(_HISTORY_TYPES)[3:]]
    df = pd.DataFrame(rows, columns=cols)
    for name, dtype in _HISTORY_TYPES.items():
        df[name] = df[name].astype(dtype)
    ts = pd.to_datetime(df["evaluated_at"], utc=True)
    df["evaluated_at"] = ts.astype("datetime64[ms, UTC]")
    return df


def column_summary(col: ColumnProfile) -> dict[str, Any]:
    """Headline statistics of one column profile (for the JSON and HTML reports)."""
    base = {"count": col.count, "missing": col.missing, "missing_rate": col.missing_rate}
    if isinstance(col, NumericProfile):
        return {
            **base,
            "invalid": col.invalid,
            "infinite": col.infinite,
            "min": col.min,
            "max": col.max,
            "mean": col.mean,
            "std": col.std,
            "quantiles": {str(lv): v for lv, v in col.quantiles},
        }
    top = sorted(col.categories, key=lambda kv: -kv[1])[:5]
    return {**base, "top": [[k, n] for k, n in top if n], "other": col.other, "unseen": col.unseen}


def distribution(ref: ColumnProfile, cur: ColumnProfile, max_bars: int = 20) -> dict[str, Any]:
    """Reference and current shares per bin/category (at most ``max_bars`` bars, rest folded)."""
    try:
        keys, rc, cc = column_counts(ref, cur)
    except MonitoringInputError:  # profiles that cannot be aligned have no chart
        return {"labels": [], "reference": [], "current": []}
    discrete = (
        isinstance(ref, NumericProfile)
        and isinstance(cur, NumericProfile)
        and ref.values is not None
        and cur.values is not None
    )
    labels = [f"{k:g}" for k in keys] if discrete else _labels(ref, keys)
    rs = rc / rc.sum() if rc.sum() else rc
    cs = cc / cc.sum() if cc.sum() else cc
    if len(labels) > max_bars:
        order = sorted(range(len(labels)), key=lambda i: -(rs[i] + cs[i]))
        keep = sorted(order[: max_bars - 1])
        rest = [i for i in range(len(labels)) if i not in set(keep)]
        labels = [labels[i] for i in keep] + [f"{len(rest)} more"]
        rs = [*[rs[i] for i in keep], float(sum(rs[i] for i in rest))]
        cs = [*[cs[i] for i in keep], float(sum(cs[i] for i in rest))]
    return {
        "labels": [str(x) for x in labels],
        "reference": [round(float(x), 6) for x in rs],
        "current": [round(float(x), 6) for x in cs],
    }


def _labels(ref: ColumnProfile, keys: list[Any]) -> list[str]:
    if isinstance(ref, CategoricalProfile):
        return ["(other)" if k == "\x00other" else str(k) for k in keys]
    assert isinstance(ref, NumericProfile)
    e = ref.edges
    labels = [f"< {e[0]:.4g}"]
    labels += [f"{e[i]:.4g} – {e[i + 1]:.4g}" for i in range(len(e) - 1)]
    labels.append(f"> {e[-1]:.4g}")
    return labels


def evaluate(
    reference: Profile,
    current: Profile,
    *,
    settings: DriftSettings,
    reference_sample: pd.DataFrame | None = None,
    current_sample: pd.DataFrame | None = None,
    input_columns: Sequence[str] | None = None,
    random_state: int = 0,
    id_columns: Sequence[str] = (),
    row_count_history: Sequence[int] = (),
    quality_settings: QualitySettings | None = None,
    reference_sorted: Mapping[str, np.ndarray] | None = None,
    current_sorted: Mapping[str, np.ndarray] | None = None,
) -> MonitoringReport:
    """Evaluate drift and data quality of ``current`` against ``reference``.

    Parameters
    ----------
    reference : Profile
        The model version's baseline profile.
    current : Profile
        The batch (or merged window) profile, binned with ``edges_from=reference``.
    settings : DriftSettings
        Tests/thresholds per column, dataset drift share, multivariate on/off and its AUC threshold.
    reference_sample, current_sample : DataFrame, optional
        Raw rows for KS/Wasserstein and the domain classifier (skipped without them).
    input_columns : sequence of str, optional
        Columns present in the input (missing/extra column checks).
    random_state : int
        Seeds the domain classifier.
    id_columns, row_count_history, quality_settings
        Passed to :func:`scorewatch.monitoring.quality.check_quality`.
    reference_sorted, current_sorted : mapping of str to ndarray, optional
        What :func:`~scorewatch.monitoring.profiles.build_profile_sorted` returned with
        ``reference`` / ``current``: the sorted finite values each numeric column's profile was
        built from, which must also be the samples' values (the in-memory path, where the
        sample is the whole frame). The sample tests use them (and the reference profile's
        std) instead of extracting and sorting the columns again.

    Returns
    -------
    MonitoringReport

    Raises
    ------
    ConfigError, MonitoringInputError
        See :func:`scorewatch.monitoring.drift.detect_drift`.
    """
    drift = detect_drift(
        reference,
        current,
        settings=settings,
        reference_sample=reference_sample,
        current_sample=current_sample,
        reference_sorted=reference_sorted,
        current_sorted=current_sorted,
    )
    mv = None
    if settings.multivariate and reference_sample is not None and current_sample is not None:
        absent = set(current.absent)
        cols = [
            c.name
            for c in reference.features
            if c.name not in absent
            and c.name in reference_sample.columns
            and c.name in current_sample.columns
        ]
        cats = [c.name for c in reference.features if isinstance(c, CategoricalProfile)]
        mv = domain_classifier_drift(
            reference_sample,
            current_sample,
            columns=cols,
            categorical=cats,
            threshold=settings.multivariate_auc_threshold,
            random_state=random_state,
        )
    quality = check_quality(
        reference,
        current,
        input_columns=input_columns,
        id_columns=id_columns,
        row_count_history=row_count_history,
        settings=quality_settings,
    )
    return MonitoringReport(
        reference=reference,
        current=current,
        drift=drift,
        multivariate=mv,
        quality_violations=quality,
        settings=settings,
    )

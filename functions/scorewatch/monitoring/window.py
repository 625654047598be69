"""Monitor orchestration: drift and data quality of scored batches against the champion's baseline.

Two entry points, both called by the monitor handler:

* :meth:`Watcher.on_batch_scored` — one ``Batch Scored`` event: the batch's profile (written by
  the score path) against the baseline of the model version that scored it.
* :meth:`Watcher.on_schedule` — the window: the per-batch profiles of the last
  ``drift.window_hours`` hours (listed under ``monitoring/model=<m>/profiles/``) merged and
  compared with the current champion's baseline.

Both write the JSON report, the HTML report and the history rows (DESIGN data layout), emit the
drift metrics, and publish ``Drift Detected`` when dataset or prediction drift holds — at most once
per model per ``drift.cooldown_minutes`` (a conditional write in the registry), so a storm of
drifted batches starts one retraining.

Out-of-order and replaced batches: a ``Batch Scored`` event records the ETag of the profile
object its run wrote. If the profile object now has another ETag, the batch was re-scored after
the event was sent (a new upload to the same key maps to another batch_id, so this means a
replayed or repeated run of the same upload); the newer run has published its own event, so the
stale one is skipped (status ``superseded``). A profile that no longer exists is skipped
(``missing``). Evaluations are keyed by batch_id, so evaluating the same batch twice rewrites the
same report instead of adding one.

Every evaluation also estimates performance without labels (``monitoring.estimation``): CBPE for
classifiers (the card's calibrator applied), DLE for regressors (the version's pinned loss
models), on the batch's sample or the window's merged samples. The value of the model's
``retraining.metric`` is published as ``EstimatedPerformance`` (with its breach of
``alarms.performance_floor``), written in the report, and a ``Performance Degraded`` event with
``kind="estimated"`` is published when it is worse than the floor in the metric's direction — at
most once per ``alarms.performance_cooldown_minutes``, the cooldown realized degradation (the
labels function) claims too, so one retraining starts whichever is seen first.

A baseline that fails its pinned S3 version / sha256 check (BaselineIntegrityError) is never
compared with: the outcome is ``baseline_integrity``, the ``BaselineIntegrityFailures`` metric is
emitted (alarmed) and the error logged, so a poisoned baseline cannot report "no drift".
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Literal

import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ConfigDict

from scorewatch.core import layout
from scorewatch.core.config import ConfigSource
from scorewatch.core.contract import Metric
from scorewatch.core.errors import BaselineIntegrityError, ModelIntegrityError
from scorewatch.core.thresholds import breach
from scorewatch.io import storage
from scorewatch.io.events import BatchScored, DriftDetected, EventPublisher, PerformanceDegraded
from scorewatch.io.metrics import record
from scorewatch.io.transient import transient_errors
from scorewatch.monitoring import estimation, performance
from scorewatch.monitoring.roles import excluded_by_schema, frame_without, without

COOLDOWN_NAME = "drift"
#: Shared with the labels function (handlers.labels.PERFORMANCE_COOLDOWN): one Performance
#: Degraded event per cooldown, estimated or realized.
PERFORMANCE_COOLDOWN = "performance"
logger = logging.getLogger(__name__)
_DATE = re.compile(r"/date=(\d{4}-\d{2}-\d{2})/")


class WatchOutcome(BaseModel):
    """The result of one evaluation (JSON-able, returned by the handler)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: Literal["evaluated", "superseded", "missing", "no_data", "no_baseline", "baseline_integrity"]
    model: str
    version: str | None = None
    scope: Literal["batch", "window"]
    batch_id: str | None = None
    batches: int = 0
    dataset_drift: bool | None = None
    prediction_drift: bool | None = None
    drift_share: float | None = None
    drifted_features: list[str] = []
    report_uri: str | None = None
    html_uri: str | None = None
    history_uri: str | None = None
    drift_event: bool = False
    estimated_metric: str | None = None
    estimated_value: float | None = None
    estimated: dict[str, float | None] = {}
    performance_event: bool = False
    message: str | None = None


@dataclass
class Watcher:
    """Everything one container needs to evaluate drift; build once per cold start and reuse."""

    data_bucket: str
    config: ConfigSource
    registry: Any  # scorewatch.io.registry.Registry
    publisher: EventPublisher
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    random_state: int = 0

    def on_batch_scored(self, detail: BatchScored) -> WatchOutcome:
        """Evaluate one scored batch (see the module docstring for stale events).

        Raises
        ------
        TransientError
            Throttling / 5xx / timeouts while reading or writing; nothing was published.
        """
        return self._guard(lambda: self._on_batch(detail), what=f"monitoring batch {detail.batch_id}")

    def on_schedule(
        self, models: list[str] | None = None, *, at: datetime | None = None
    ) -> list[WatchOutcome]:
        """Evaluate the window ending ``at`` (default now) of every configured model (or of ``models``).

        Passing the schedule event's time makes a redelivered event rewrite the same report.
        """
        names = models if models is not None else [m.name for m in self.config.models]
        return [self._guard(partial(self._on_window, n, at), what=f"monitoring window of {n}") for n in names]

    # ------------------------------------------------------------------------------------------
    def _guard(self, fn: Callable[[], WatchOutcome], *, what: str) -> WatchOutcome:
        with transient_errors(what=what):
            return fn()

    def _on_batch(self, detail: BatchScored) -> WatchOutcome:
        from scorewatch.monitoring.profiles import Profile

        base: dict[str, Any] = {
            "model": detail.model,
            "version": detail.version,
            "scope": "batch",
            "batch_id": detail.batch_id,
        }
        try:
            info = storage.stat(detail.profile_uri)
        except FileNotFoundError:
            return WatchOutcome(status="missing", message=f"{detail.profile_uri} no longer exists", **base)
        if detail.profile_etag and info.etag and detail.profile_etag.strip('"') != info.etag.strip('"'):
            return WatchOutcome(
                status="superseded",
                message=f"{detail.profile_uri} was rewritten after this event (etag {detail.profile_etag} -> "
                f"{info.etag}); the newer run's event is evaluated instead",
                **base,
            )
        card = self.registry.get(detail.model, detail.version)
        current = Profile.from_dict(storage.read_json(detail.profile_uri))
        sample = _read_sample(detail.sample_uri)
        m = _DATE.search(detail.profile_uri)
        d = m.group(1) if m else layout.day(detail.scored_at)
        return self._evaluate(
            card,
            current,
            sample,
            scope="batch",
            report_id=detail.batch_id,
            d=d,
            batches=1,
            config_version=detail.config_version,
        )

    def _on_window(self, model: str, at: datetime | None) -> WatchOutcome:
        from scorewatch.core.errors import ProfileError
        from scorewatch.monitoring.profiles import Profile, merge_profiles

        mc = self.config.model(model)
        now = at or self.now()
        start = now - timedelta(hours=mc.drift.window_hours)
        card = self.registry.get(model, "champion")
        if not card.baseline.profile_key:
            return self._no_baseline(card, "window", None)
        try:
            reference = Profile.from_dict(self.registry.read_baseline_profile(card))
        except BaselineIntegrityError as exc:
            return self._baseline_integrity(card, "window", None, exc)
        merged, samples, used, skipped = None, [], 0, 0
        for info in self._window_profiles(model, start, now):
            profile = Profile.from_dict(storage.read_json(info.uri))
            if not _binned_like(profile, reference):
                skipped += 1  # scored by another version, binned on that version's baseline
                continue
            try:
                merged = profile if merged is None else merge_profiles(merged, profile)
            except ProfileError:
                skipped += 1
                continue
            used += 1
            sample = _read_sample(info.uri[: -len(".json")] + ".parquet")
            if sample is not None:
                samples.append(sample)
        if merged is None:
            return WatchOutcome(
                status="no_data",
                model=model,
                version=card.version,
                scope="window",
                message=f"no batches scored by {model} {card.version} since {start.isoformat()} "
                f"({skipped} of other versions skipped)",
            )
        sample = pd.concat(samples, ignore_index=True) if samples else None
        if sample is not None and len(sample) > 50_000:
            sample = sample.sample(n=50_000, random_state=self.random_state).reset_index(drop=True)
        report_id = f"window-{now.strftime('%Y%m%dT%H%M%SZ')}"
        return self._evaluate(
            card,
            merged,
            sample,
            scope="window",
            report_id=report_id,
            d=layout.day(now),
            batches=used,
            window=(start, now),
            config_version=self.config.version(model),
        )

    def _no_baseline(self, card, scope, batch_id) -> WatchOutcome:
        return WatchOutcome(
            status="no_baseline",
            model=card.model_name,
            version=card.version,
            scope=scope,
            batch_id=batch_id,
            message=f"{card.model_name} {card.version} has no baseline profile: nothing to compare with",
        )

    def _baseline_integrity(self, card, scope, batch_id, exc: BaselineIntegrityError) -> WatchOutcome:
        """A baseline that fails its pins is reported (metric, error log, outcome), never compared with."""
        logger.error(
            "baseline failed its integrity check; drift not evaluated",
            extra={"model": card.model_name, "version": card.version, "scope": scope, "error": str(exc)},
        )
        record(card.model_name, {Metric.BASELINE_INTEGRITY_FAILURES: 1})
        return WatchOutcome(
            status="baseline_integrity",
            model=card.model_name,
            version=card.version,
            scope=scope,
            batch_id=batch_id,
            message=str(exc),
        )

    def _window_profiles(self, model: str, start: datetime, end: datetime) -> list[storage.ObjectInfo]:
        out = []
        day = start.date()
        while day <= end.date():
            prefix = layout.s3_uri(
                self.data_bucket, f"{layout.profiles_prefix(model)}date={layout.day(day)}/"
            )
            for info in storage.list_uris(prefix):
                if info.uri.endswith(".json") and (info.last_modified is None or info.last_modified >= start):
                    out.append(info)
            day += timedelta(days=1)
        return out

    def _evaluate(
        self,
        card,
        current,
        sample,
        *,
        scope,
        report_id: str,
        d: str,
        batches: int,
        window=None,
        config_version=None,
    ):
        """Compare ``current`` with the baseline; ``config_version`` is the stored config the batch
        ran under (a window: the one current now), recorded in the report and the history rows."""
        from scorewatch.monitoring.evaluation import evaluate
        from scorewatch.monitoring.profiles import Profile
        from scorewatch.reports import render_html

        model, version = card.model_name, card.version
        if not card.baseline.profile_key:
            return self._no_baseline(card, scope, report_id if scope == "batch" else None)
        try:
            baseline = self.registry.read_baseline_profile(card)
            ref_sample = self.registry.read_baseline_sample(card)
        except BaselineIntegrityError as exc:
            return self._baseline_integrity(card, scope, report_id if scope == "batch" else None, exc)
        settings = self.config.model(model).drift
        reference = Profile.from_dict(baseline)
        # The configuration's schema takes columns out of monitoring (monitoring.roles); the
        # profiles keep them, so removing it monitors them again.
        configured = self.config.model(model).feature_schema
        excluded = excluded_by_schema(reference, configured)
        skip = [c["name"] for c in excluded]
        report = evaluate(
            without(reference, skip),
            without(current, skip),
            settings=settings,
            reference_sample=frame_without(ref_sample.to_pandas() if ref_sample is not None else None, skip),
            current_sample=frame_without(sample, skip),
            input_columns=[c for c in card.feature_schema.names if c not in set(skip)],
            id_columns=configured.id_columns if configured is not None else (),
            random_state=self.random_state,
        )
        now = self.now()
        bucket = self.data_bucket
        json_uri = layout.s3_uri(bucket, layout.drift_key(model, d, report_id))
        html_uri = layout.s3_uri(bucket, layout.drift_key(model, d, report_id, ext="html"))
        history_uri = layout.s3_uri(bucket, layout.history_key(model, d, report_id))
        doc = {
            "model": model,
            "version": version,
            "scope": scope,
            "report_id": report_id,
            "batches": batches,
            "config_version": config_version,
            "evaluated_at": now.isoformat(),
            "window_start": window[0].isoformat() if window else None,
            "window_end": window[1].isoformat() if window else None,
            "report": report.to_dict(),
            "excluded_columns": excluded,
        }
        mc = self.config.model(model)
        estimate = self._estimate(card, mc, sample)
        metric = mc.retraining.metric or performance.default_metric(card.task)
        est_value = performance.metric_value(estimate.metrics, metric) if estimate else None
        doc["estimated_performance"] = (
            {
                "method": "dle" if card.task == "regression" else "cbpe",
                "metric": metric,
                "value": est_value,
                "rows": estimate.rows,
                "calibrated": estimate.calibrated,
                "metrics": estimate.metrics,
            }
            if estimate
            else None
        )
        storage.write_json(json_uri, doc)
        title = f"{model} {version} — {'batch ' + report_id if scope == 'batch' else report_id}"
        storage.write_bytes(
            html_uri, render_html(report.to_view(), title=title).encode(), content_type="text/html"
        )
        rows = report.history_rows(report_id, model, version, now)
        rows["config_version"] = pd.array([config_version] * len(rows), dtype="Int64")
        storage.write_table(history_uri, pa.Table.from_pandas(rows, preserve_index=False))
        mv = getattr(report, "multivariate", None)
        limits = self.config.model(model).alarms
        prediction = report.prediction_drift_score
        record(
            model,
            {
                Metric.DRIFT_SHARE: report.drift_share,
                Metric.DRIFT_SHARE_BREACH: breach(
                    report.drift_share, limits.drift_share, higher_is_worse=True
                ),
                Metric.PREDICTION_DRIFT_BREACH: (
                    None
                    if prediction is None
                    else breach(prediction, limits.prediction_drift, higher_is_worse=True)
                ),
                Metric.DRIFTED_FEATURES: len(report.drifted_features),
                Metric.MAX_PSI: report.max_psi,
                Metric.PREDICTION_DRIFT: report.prediction_drift_score,
                Metric.MULTIVARIATE_AUC: getattr(mv, "auc", None) if mv is not None else None,
                Metric.QUALITY_VIOLATIONS: len(report.quality_violations),
            },
        )
        performance_event = self._estimated_performance(
            card,
            mc,
            metric,
            est_value,
            rows=estimate.rows if estimate else 0,
            scope=scope,
            report_id=report_id,
            report_uri=json_uri,
            now=now,
        )
        drifted = bool(report.dataset_drift or report.prediction_drift)
        published = False
        if drifted and self.registry.claim_cooldown(
            model, COOLDOWN_NAME, now=now, minutes=settings.cooldown_minutes
        ):
            with self.registry.giving_back_cooldown(model, COOLDOWN_NAME, now=now):
                self.publisher.publish(
                    DriftDetected(
                        model=model,
                        version=version,
                        scope=scope,
                        batch_id=report_id if scope == "batch" else None,
                        window_start=window[0] if window else None,
                        window_end=window[1] if window else None,
                        batches=batches,
                        rows=current.rows,
                        dataset_drift=bool(report.dataset_drift),
                        drift_share=float(report.drift_share),
                        drifted_features=tuple(report.drifted_features),
                        max_psi=_num(report.max_psi),
                        prediction_drift=bool(report.prediction_drift),
                        prediction_drift_score=_num(report.prediction_drift_score),
                        multivariate_drift=getattr(mv, "drifted", None) if mv is not None else None,
                        report_uri=json_uri,
                        html_uri=html_uri,
                        detected_at=now,
                    )
                )
            published = True
        return WatchOutcome(
            status="evaluated",
            model=model,
            version=version,
            scope=scope,
            batch_id=report_id if scope == "batch" else None,
            batches=batches,
            dataset_drift=bool(report.dataset_drift),
            prediction_drift=bool(report.prediction_drift),
            drift_share=float(report.drift_share),
            drifted_features=list(report.drifted_features),
            report_uri=json_uri,
            html_uri=html_uri,
            history_uri=history_uri,
            drift_event=published,
            estimated_metric=metric if estimate else None,
            estimated_value=est_value,
            estimated=dict(estimate.metrics) if estimate else {},
            performance_event=performance_event,
        )

    def _estimate(self, card: Any, mc: Any, sample: pd.DataFrame | None) -> Any:
        """CBPE / DLE on the scored rows' sample (None when there is nothing to estimate from)."""
        if sample is None or not len(sample):
            return None
        loss_models = None
        if card.task == "regression":
            try:
                state = self.registry.read_loss_models(card)
            except (BaselineIntegrityError, ModelIntegrityError) as exc:
                logger.error(
                    "loss models failed their integrity check; performance not estimated",
                    extra={"model": card.model_name, "version": card.version, "error": str(exc)},
                )
                record(card.model_name, {Metric.BASELINE_INTEGRITY_FAILURES: 1})
                return None
            if state is None:
                return None
            loss_models = estimation.LossModels.from_state(state)
        return estimation.estimate_outputs(
            sample,
            task=card.task,
            classes=card.classes,
            positive_class=mc.positive_class,
            calibrator=card.calibrator,
            loss_models=loss_models,
        )

    def _estimated_performance(
        self,
        card: Any,
        mc: Any,
        metric: str,
        value: float | None,
        *,
        rows: int,
        scope: str,
        report_id: str,
        report_uri: str,
        now: datetime,
    ) -> bool:
        """Publish EstimatedPerformance (+ breach); Performance Degraded when below the floor."""
        if value is None:
            return False
        floor = mc.alarms.performance_floor
        worse = not performance.higher_is_better(metric)
        record(
            card.model_name,
            {
                Metric.ESTIMATED_PERFORMANCE: value,
                Metric.ESTIMATED_PERFORMANCE_BREACH: (
                    breach(value, floor, higher_is_worse=worse) if floor is not None else None
                ),
            },
        )
        if floor is None or performance.is_better(metric, value, floor):
            return False
        if not self.registry.claim_cooldown(
            card.model_name, PERFORMANCE_COOLDOWN, now=now, minutes=mc.alarms.performance_cooldown_minutes
        ):
            return False
        with self.registry.giving_back_cooldown(card.model_name, PERFORMANCE_COOLDOWN, now=now):
            self.publisher.publish(
                PerformanceDegraded(
                    model=card.model_name,
                    version=card.version,
                    kind="estimated",
                    metric=metric,
                    value=value,
                    floor=floor,
                    rows=rows,
                    batch_id=report_id if scope == "batch" else None,
                    report_uri=report_uri,
                    detected_at=now,
                )
            )
        return True


def _num(v: Any) -> float | None:
    return None if v is None else float(v)


def _read_sample(uri: str | None) -> pd.DataFrame | None:
    if not uri:
        return None
    try:
        return storage.read_table(uri).to_pandas()
    except FileNotFoundError:
        return None


def _binned_like(profile: Any, reference: Any) -> bool:
    """Whether a batch profile was binned on ``reference``'s numeric edges (same scoring version)."""
    for col in profile.columns:
        if col.kind != "numeric" or not reference.has(col.name):
            continue
        ref = reference.column(col.name)
        if ref.kind == "numeric" and tuple(ref.edges) != tuple(col.edges):
            return False
    return True

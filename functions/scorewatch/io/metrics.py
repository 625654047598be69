"""CloudWatch metrics as EMF through Powertools Metrics: namespace and dimension from contract.

Every scorewatch metric has exactly one dimension, ``Model`` (no ``service`` dimension), so the
alarms and dashboard in infra address a metric by model name alone. Handlers decorate with
``METRICS.log_metrics`` and call :func:`record`; a handler that touches several models (the
monitor schedule) gets one EMF blob per model because :func:`record` flushes when the model
changes.

>>> record("churn", {Metric.ROWS_SCORED: 10})  # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from scorewatch.core.contract import DIMENSION_MODEL, METRIC_NAMESPACE, Metric

# service="" keeps Powertools from adding a ``service`` dimension taken from
# POWERTOOLS_SERVICE_NAME, which would stop alarms on {Model} from matching.
METRICS = Metrics(namespace=METRIC_NAMESPACE, service="")

# An invocation with nothing to measure (a replay answered by the idempotency store, a site or
# labels run with no new object) is normal here: Powertools' warning for it is noise in every
# function log and in `scorewatch demo`'s output.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

UNITS: dict[str, MetricUnit] = {
    Metric.ROWS_SCORED: MetricUnit.Count,
    Metric.ROWS_REJECTED: MetricUnit.Count,
    Metric.REJECTED_ROW_RATE: MetricUnit.NoUnit,
    Metric.BATCHES_REJECTED: MetricUnit.Count,
    Metric.BATCH_LATENCY: MetricUnit.Seconds,
    Metric.DRIFT_SHARE: MetricUnit.NoUnit,
    Metric.DRIFTED_FEATURES: MetricUnit.Count,
    Metric.MAX_PSI: MetricUnit.NoUnit,
    Metric.PREDICTION_DRIFT: MetricUnit.NoUnit,
    Metric.MULTIVARIATE_AUC: MetricUnit.NoUnit,
    Metric.QUALITY_VIOLATIONS: MetricUnit.Count,
    Metric.REALIZED_PERFORMANCE: MetricUnit.NoUnit,
    Metric.ESTIMATED_PERFORMANCE: MetricUnit.NoUnit,
    Metric.LABEL_COVERAGE: MetricUnit.NoUnit,
    Metric.BASELINE_INTEGRITY_FAILURES: MetricUnit.Count,
    Metric.DRIFT_SHARE_BREACH: MetricUnit.NoUnit,
    Metric.PREDICTION_DRIFT_BREACH: MetricUnit.NoUnit,
    Metric.REJECTED_ROW_RATE_BREACH: MetricUnit.NoUnit,
    Metric.REALIZED_PERFORMANCE_BREACH: MetricUnit.NoUnit,
    Metric.ESTIMATED_PERFORMANCE_BREACH: MetricUnit.NoUnit,
}


def record(
    model: str, values: Mapping[str, float | int | bool | None], *, metrics: Metrics = METRICS
) -> None:
    """Add ``values`` (metric name -> value; ``None`` skipped) under dimension Model=``model``.

    Parameters
    ----------
    model : str
        Model name, the only dimension.
    values : mapping
        Keys from ``contract.Metric``; units come from :data:`UNITS`.
    metrics : Metrics
        The Powertools instance whose ``log_metrics`` decorator flushes at the end of the
        invocation.

    Raises
    ------
    KeyError
        A metric name that is not in ``contract.Metric``.
    """
    current = metrics.dimension_set.get(DIMENSION_MODEL)
    if current is not None and current != model:
        metrics.flush_metrics()
    metrics.add_dimension(name=DIMENSION_MODEL, value=model)
    for name, value in values.items():
        if value is None:
            continue
        metrics.add_metric(name=name, unit=UNITS[name], value=float(value))

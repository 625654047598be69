"""Metrics the local functions emitted, and the template's alarms evaluated against them.

Functions emit CloudWatch Embedded Metric Format lines on stdout (Powertools Metrics); the local
runtime hands each invocation's output here. The runtime also records the AWS/Lambda metrics
(Invocations, Errors, Duration) that Lambda itself would publish, so function-error alarms work.
Alarms are evaluated the way CloudWatch does for a plain metric alarm: the statistic over each of
the last ``EvaluationPeriods`` periods, ``DatapointsToAlarm`` breaching periods -> ALARM, missing
data per ``TreatMissingData``.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass, field
from typing import Any

_OPERATORS = {
    "GreaterThanThreshold": lambda v, t: v > t,
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}


@dataclass(frozen=True)
class Datapoint:
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    value: float
    timestamp: float
    unit: str = "None"


@dataclass
class MetricStore:
    """Every datapoint emitted locally, in arrival order."""

    points: list[Datapoint] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def add(self, point: Datapoint) -> None:
        with self._lock:
            self.points.append(point)

    def add_emf_output(self, output: str, *, default_time: float) -> list[Datapoint]:
        """Parse EMF documents from a function's stdout; return the datapoints added."""
        added = []
        for raw in output.splitlines():
            line = raw.strip()
            if not line.startswith("{") or '"_aws"' not in line:
                continue
            try:
                doc = json.loads(line)
            except json.JSONDecodeError:
                continue
            added.extend(_emf_points(doc, default_time))
        for p in added:
            self.add(p)
        return added

    def query(self, namespace: str, name: str, dimensions: dict[str, str]) -> list[Datapoint]:
        dims = tuple(sorted(dimensions.items()))
        with self._lock:
            return [
                p for p in self.points if p.namespace == namespace and p.name == name and p.dimensions == dims
            ]


def _emf_points(doc: dict[str, Any], default_time: float) -> list[Datapoint]:
    meta = doc.get("_aws", {})
    ts = meta.get("Timestamp")
    ts = ts / 1000.0 if isinstance(ts, (int, float)) else default_time
    points = []
    for directive in meta.get("CloudWatchMetrics", []):
        ns = directive.get("Namespace", "")
        for dim_set in directive.get("Dimensions", [[]]):
            dims = tuple(sorted((d, str(doc.get(d, ""))) for d in dim_set))
            for metric in directive.get("Metrics", []):
                raw = doc.get(metric["Name"])
                values = raw if isinstance(raw, list) else [raw]
                for v in values:
                    if isinstance(v, (int, float)) and not isinstance(v, bool):
                        points.append(
                            Datapoint(ns, metric["Name"], dims, float(v), ts, metric.get("Unit", "None"))
                        )
    return points


def _statistic(values: list[float], stat: str) -> float:
    if stat == "Sum":
        return math.fsum(values)
    if stat == "Average":
        return math.fsum(values) / len(values)
    if stat == "Maximum":
        return max(values)
    if stat == "Minimum":
        return min(values)
    if stat == "SampleCount":
        return float(len(values))
    if stat.startswith("p"):
        q = float(stat[1:]) / 100
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]
    raise ValueError(f"statistic {stat!r} is not evaluated locally")


@dataclass(frozen=True)
class AlarmState:
    name: str
    state: str  # OK | ALARM | INSUFFICIENT_DATA
    reason: str
    metric: str


def evaluate_alarm(name: str, props: dict[str, Any], store: MetricStore, *, now: float) -> AlarmState:
    """Evaluate one AWS::CloudWatch::Alarm (resolved properties) against the emitted metrics."""
    if "Metrics" in props:
        return AlarmState(name, "INSUFFICIENT_DATA", "metric-math alarms are not evaluated locally", "(math)")
    metric = f"{props.get('Namespace')}/{props.get('MetricName')}"
    stat = props.get("ExtendedStatistic") or props.get("Statistic", "Average")
    period = int(props.get("Period", 300))
    periods = int(props.get("EvaluationPeriods", 1))
    needed = int(props.get("DatapointsToAlarm", periods))
    threshold = float(props.get("Threshold", 0))
    op = _OPERATORS.get(props.get("ComparisonOperator", ""))
    if op is None:
        return AlarmState(
            name, "INSUFFICIENT_DATA", f"operator {props.get('ComparisonOperator')} not evaluated", metric
        )
    dims = {d["Name"]: str(d["Value"]) for d in props.get("Dimensions", [])}
    points = store.query(props.get("Namespace", ""), props.get("MetricName", ""), dims)
    breaching = evaluated = 0
    latest = None
    for i in range(periods):
        end = now - i * period
        values = [p.value for p in points if end - period < p.timestamp <= end]
        if not values:
            continue
        evaluated += 1
        v = _statistic(values, stat)
        latest = v if latest is None else latest
        if op(v, threshold):
            breaching += 1
    missing = periods - evaluated
    treat = props.get("TreatMissingData", "missing")
    if treat == "breaching":
        breaching += missing
    if breaching >= needed:
        return AlarmState(
            name, "ALARM", f"{breaching}/{periods} periods breach {stat} {op_text(props)} {threshold}", metric
        )
    if evaluated == 0 and treat in ("missing", "ignore"):
        return AlarmState(name, "INSUFFICIENT_DATA", "no datapoints in the evaluation window", metric)
    if evaluated == 0:
        return AlarmState(name, "OK", f"no datapoints (missing data treated as {treat})", metric)
    return AlarmState(name, "OK", f"{breaching}/{periods} periods breach (latest {stat} {latest:g})", metric)


def op_text(props: dict[str, Any]) -> str:
    return {
        "GreaterThanThreshold": ">",
        "GreaterThanOrEqualToThreshold": ">=",
        "LessThanThreshold": "<",
        "LessThanOrEqualToThreshold": "<=",
    }.get(props.get("ComparisonOperator", ""), "?")

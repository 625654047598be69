"""Metrics the local functions emitted, and the template's alarms evaluated against them.

Functions emit CloudWatch Embedded Metric Format lines on stdout (Powertools Metrics); the local
runtime hands each invocation's output here. The runtime also records the AWS/Lambda metrics
(Invocations, Errors, Duration) that Lambda itself would publish, so function-error alarms work.
Alarms are evaluated the way CloudWatch does for a plain metric alarm: the statistic over each of
the last ``EvaluationPeriods`` periods, ``DatapointsToAlarm`` breaching periods -> ALARM, missing
data per ``TreatMissingData``.

A Metrics Insights alarm (one ``Metrics`` entry whose expression is a query) is evaluated per
contributor, as CloudWatch does for a multi-time-series alarm: each value of the GROUP BY
dimension is one time series, evaluated like a metric alarm; the alarm is in ALARM while any
contributor is, and says which. The local parser accepts the shape the stack generates,
``SELECT MAX|MIN|AVG|SUM|COUNT(<metric>) FROM SCHEMA("<namespace>", <dim>)
[WHERE <dim> = '<v>' | <dim> != '<v>' [AND ...]] GROUP BY <dim> [ORDER BY <FN>() ASC|DESC]
[LIMIT n]``, and refuses any other expression (:class:`UnsupportedQueryError`, naming it).
"""

from __future__ import annotations

import json
import math
import re
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

    def series(self, namespace: str, name: str, dimension: str) -> dict[str, list[Datapoint]]:
        """``SCHEMA(namespace, dimension)``: the metric's points with exactly that dimension, by value."""
        out: dict[str, list[Datapoint]] = {}
        with self._lock:
            for p in self.points:
                if p.namespace == namespace and p.name == name and len(p.dimensions) == 1:
                    ((key, value),) = p.dimensions
                    if key == dimension:
                        out.setdefault(value, []).append(p)
        return out

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
    # Metrics Insights alarms: the contributors (GROUP BY values) in ALARM, and how many were seen.
    breaching: tuple[str, ...] = ()
    contributors: int = 0


class UnsupportedQueryError(ValueError):
    """A metric-math or Metrics Insights expression the local evaluator does not implement."""


_AGGREGATES = {"MAX": "Maximum", "MIN": "Minimum", "AVG": "Average", "SUM": "Sum", "COUNT": "SampleCount"}
_QUERY = re.compile(
    r"SELECT\s+(?P<fn>\w+)\s*\(\s*(?P<metric>[A-Za-z0-9_.\-]+)\s*\)"
    r"\s+FROM\s+SCHEMA\s*\(\s*\"(?P<ns>[^\"]+)\"\s*,\s*(?P<dim>\w+)\s*\)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?"
    r"\s+GROUP\s+BY\s+(?P<group>\w+)"
    r"(?:\s+ORDER\s+BY\s+(?P<order>\w+)\s*\(\s*\)\s*(?P<dir>ASC|DESC)?)?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?",
    re.IGNORECASE | re.DOTALL,
)
_CONDITION = re.compile(r"(?P<dim>\w+)\s*(?P<op>=|!=)\s*'(?P<value>[^']*)'")


@dataclass(frozen=True)
class InsightsQuery:
    """``SELECT <fn>(<metric>) FROM SCHEMA("<namespace>", <dimension>) ... GROUP BY <dimension>``."""

    statistic: str  # the CloudWatch statistic of the aggregate (MAX -> Maximum)
    metric: str
    namespace: str
    dimension: str
    conditions: tuple[tuple[str, str, str], ...] = ()  # (dimension, "=" | "!=", value)
    limit: int | None = None
    descending: bool = True

    def accepts(self, value: str) -> bool:
        return all((value == v) == (op == "=") for _d, op, v in self.conditions)


def parse_insights_query(expression: str) -> InsightsQuery:
    """Parse the Metrics Insights shape the stack generates; anything else is refused by name.

    >>> q = parse_insights_query(
    ...     'SELECT MAX(DriftShareBreach) FROM SCHEMA("Scorewatch", Model) GROUP BY Model'
    ... )
    >>> (q.statistic, q.metric, q.namespace, q.dimension)
    ('Maximum', 'DriftShareBreach', 'Scorewatch', 'Model')
    """
    m = _QUERY.fullmatch(expression.strip().rstrip(";").strip())
    supported = (
        'SELECT MAX|MIN|AVG|SUM|COUNT(<metric>) FROM SCHEMA("<namespace>", <dim>) '
        "[WHERE <dim> = '<value>' [AND ...]] GROUP BY <dim> [ORDER BY <FN>() ASC|DESC] [LIMIT n]"
    )
    if m is None:
        raise UnsupportedQueryError(f"expression {expression!r} is not of the supported form {supported}")
    fn = m["fn"].upper()
    if fn not in _AGGREGATES:
        raise UnsupportedQueryError(
            f"expression {expression!r}: aggregate {m['fn']} is not one of {sorted(_AGGREGATES)}"
        )
    if m["group"] != m["dim"]:
        raise UnsupportedQueryError(
            f"expression {expression!r}: GROUP BY {m['group']} must be the schema's dimension {m['dim']}"
        )
    conditions = []
    if m["where"]:
        for part in re.split(r"\s+AND\s+", m["where"].strip(), flags=re.IGNORECASE):
            c = _CONDITION.fullmatch(part.strip())
            if c is None or c["dim"] != m["dim"]:
                raise UnsupportedQueryError(
                    f"expression {expression!r}: WHERE {part.strip()!r} is not {m['dim']} = | != '<value>'"
                )
            conditions.append((c["dim"], c["op"], c["value"]))
    return InsightsQuery(
        statistic=_AGGREGATES[fn],
        metric=m["metric"],
        namespace=m["ns"],
        dimension=m["dim"],
        conditions=tuple(conditions),
        limit=int(m["limit"]) if m["limit"] else None,
        descending=(m["dir"] or "DESC").upper() == "DESC",
    )


def insights_query_of(props: dict[str, Any]) -> InsightsQuery | None:
    """The alarm's Metrics Insights query; None for a plain metric alarm; refused for other math."""
    metrics = props.get("Metrics")
    if metrics is None:
        return None
    returned = [m for m in metrics if m.get("ReturnData", True)]
    if len(metrics) != 1 or len(returned) != 1 or "Expression" not in returned[0]:
        raise UnsupportedQueryError(
            f"{len(metrics)} metric-data queries; only one Metrics Insights query per alarm is evaluated"
        )
    return parse_insights_query(returned[0]["Expression"])


def evaluate_alarm(name: str, props: dict[str, Any], store: MetricStore, *, now: float) -> AlarmState:
    """Evaluate one AWS::CloudWatch::Alarm (resolved properties) against the emitted metrics."""
    try:
        query = insights_query_of(props)
    except UnsupportedQueryError as exc:
        return AlarmState(name, "INSUFFICIENT_DATA", f"not evaluated locally: {exc}", "(math)")
    if query is not None:
        return _evaluate_insights(name, props, query, store, now=now)
    metric = f"{props.get('Namespace')}/{props.get('MetricName')}"
    dims = {d["Name"]: str(d["Value"]) for d in props.get("Dimensions", [])}
    points = store.query(props.get("Namespace", ""), props.get("MetricName", ""), dims)
    stat = props.get("ExtendedStatistic") or props.get("Statistic", "Average")
    return _evaluate_series(name, props, points, stat, metric, now=now)


def _evaluate_insights(
    name: str, props: dict[str, Any], query: InsightsQuery, store: MetricStore, *, now: float
) -> AlarmState:
    """One time series per contributor (the GROUP BY value); ALARM while any contributor is."""
    metric = f"{query.namespace}/{query.metric} by {query.dimension}"
    series = store.series(query.namespace, query.metric, query.dimension)
    states = {
        value: _evaluate_series(name, props, points, query.statistic, metric, now=now)
        for value, points in sorted(series.items())
        if query.accepts(value)
    }
    breaching = tuple(v for v, st in states.items() if st.state == "ALARM")
    seen = len(states)
    if breaching:
        reason = f"{len(breaching)} of {seen} contributors breach: " + ", ".join(
            f"{v} ({states[v].reason})" for v in breaching
        )
        return AlarmState(name, "ALARM", reason, metric, breaching, seen)
    if any(st.state == "OK" for st in states.values()):
        return AlarmState(name, "OK", f"none of {seen} contributors breach", metric, (), seen)
    return AlarmState(
        name, "INSUFFICIENT_DATA", "no contributor has datapoints in the window", metric, (), seen
    )


def _evaluate_series(
    name: str, props: dict[str, Any], points: list[Datapoint], stat: str, metric: str, *, now: float
) -> AlarmState:
    period = int(props.get("Period", 0) or _query_period(props) or 300)
    periods = int(props.get("EvaluationPeriods", 1))
    needed = int(props.get("DatapointsToAlarm", periods))
    threshold = float(props.get("Threshold", 0))
    op = _OPERATORS.get(props.get("ComparisonOperator", ""))
    if op is None:
        return AlarmState(
            name, "INSUFFICIENT_DATA", f"operator {props.get('ComparisonOperator')} not evaluated", metric
        )
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


def _query_period(props: dict[str, Any]) -> int | None:
    periods = [m.get("Period") for m in props.get("Metrics", []) if m.get("Period")]
    return int(periods[0]) if periods else None


def op_text(props: dict[str, Any]) -> str:
    return {
        "GreaterThanThreshold": ">",
        "GreaterThanOrEqualToThreshold": ">=",
        "LessThanThreshold": "<",
        "LessThanOrEqualToThreshold": "<=",
    }.get(props.get("ComparisonOperator", ""), "?")

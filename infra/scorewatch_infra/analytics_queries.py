"""The site's views as SQL: the named Athena queries of the analytics stack (one per view).

Each query reads the Glue tables of :mod:`scorewatch_infra.analytics` (``monitoring_history``,
``performance_history``, ``scored_current``) by their bare names: the named query's database is
the stack's. They keep to the SQL that Athena (Trino) and DuckDB both run, so the tests run
every query with DuckDB over a folder laid out like the data bucket and check its rows: no
``date_format``/``strftime``, no ``from_iso8601_*``; ``count_if``, ``bool_or``, ``row_number()``,
``CAST(? AS timestamp)`` and ``INTERVAL 'n' DAY`` arithmetic, which both have.

Parameters are positional execution parameters (``?``), listed in each query's header comment:
``model`` is a partition projected as ``injected``, so every table a query reads needs its own
``model = ?`` (or ``IN (...)``) with a value, and the model is given once per table. The fleet
overview takes an ``IN`` list per table: the stored query has one ``?`` in each (a fleet of one);
:func:`for_models` widens the lists for ``n`` models (the three lists take the same names).
Times are UTC; "24 h" and "7 d" are counted back from the reference time given as the first
parameter (ISO text such as ``2026-06-01 00:00:00``), not from the clock, so a rerun agrees.
"""

from __future__ import annotations

from scorewatch.monitoring.performance import LOWER_IS_BETTER

MODELS = "/* models */ ?"  # one IN-list placeholder; for_models() widens it

_LOWER = ", ".join(f"'{m}'" for m in sorted(LOWER_IS_BETTER))

FLEET_OVERVIEW = f"""-- Fleet overview: one row per model.
-- Parameters: the reference time, then the model list three times.
WITH params AS (SELECT CAST(? AS timestamp) AS now),
evaluations AS (
  SELECT model, batch_id, max(evaluated_at) AS evaluated_at, max(model_version) AS model_version,
         max(drift_share) AS drift_share, bool_or(dataset_drift) AS dataset_drift,
         bool_or(role = 'prediction' AND drifted) AS prediction_drift
  FROM monitoring_history
  WHERE model IN ({MODELS}) AND batch_id NOT LIKE 'window-%'
  GROUP BY model, batch_id
),
latest_evaluation AS (
  SELECT model, batch_id, evaluated_at, model_version, drift_share, dataset_drift, prediction_drift,
         evaluations
  FROM (
    SELECT e.*, row_number() OVER (PARTITION BY model ORDER BY evaluated_at DESC, batch_id DESC) AS rn,
           count(*) OVER (PARTITION BY model) AS evaluations
    FROM evaluations e
  ) ranked
  WHERE rn = 1
),
volumes AS (
  SELECT s.model, max(s.scored_at) AS last_scored_at,
         count_if(s.scored_at > p.now - INTERVAL '1' DAY AND s.scored_at <= p.now) AS rows_24h,
         count_if(s.scored_at > p.now - INTERVAL '7' DAY AND s.scored_at <= p.now) AS rows_7d
  FROM scored_current s CROSS JOIN params p
  WHERE s.model IN ({MODELS})
  GROUP BY s.model
),
latest_run AS (
  SELECT model, metric, realized, estimated, "floor", coverage, computed_at
  FROM (
    SELECT h.*, row_number() OVER (PARTITION BY model ORDER BY computed_at DESC, run_id DESC) AS rn
    FROM performance_history h
    WHERE model IN ({MODELS}) AND scope = 'window' AND headline
  ) ranked
  WHERE rn = 1
),
models AS (
  SELECT model FROM latest_evaluation UNION SELECT model FROM volumes UNION SELECT model FROM latest_run
)
SELECT * FROM (
SELECT m.model,
       greatest(coalesce(e.evaluated_at, v.last_scored_at), coalesce(v.last_scored_at, e.evaluated_at))
         AS last_batch_at,
       e.batch_id AS last_batch_id,
       e.model_version AS last_version,
       e.drift_share AS last_drift_share,
       coalesce(e.dataset_drift OR e.prediction_drift, false) AS drift,
       coalesce(e.evaluations, 0) AS evaluations,
       coalesce(v.rows_24h, 0) AS rows_24h,
       coalesce(v.rows_7d, 0) AS rows_7d,
       r.metric, r.realized, r.estimated, r."floor", r.coverage,
       CASE WHEN r."floor" IS NULL OR r.realized IS NULL THEN NULL
            WHEN r.metric IN ({_LOWER}) THEN r.realized > r."floor"
            ELSE r.realized < r."floor" END AS realized_below_floor,
       CASE WHEN r."floor" IS NULL OR r.estimated IS NULL THEN NULL
            WHEN r.metric IN ({_LOWER}) THEN r.estimated > r."floor"
            ELSE r.estimated < r."floor" END AS estimated_below_floor
FROM models m
LEFT JOIN latest_evaluation e ON e.model = m.model
LEFT JOIN volumes v ON v.model = m.model
LEFT JOIN latest_run r ON r.model = m.model
) overview
ORDER BY drift DESC, coalesce(realized_below_floor, false) DESC, coalesce(last_drift_share, 0) DESC, model
"""  # noqa: S608 - interpolated: the metric-name constants and the placeholder marker, no input

DRIFT_SHARE = """-- A model's dataset drift share per evaluation, oldest first.
-- Parameter: the model.
SELECT batch_id,
       CASE WHEN batch_id LIKE 'window-%' THEN 'window' ELSE 'batch' END AS scope,
       max(evaluated_at) AS evaluated_at,
       max(model_version) AS model_version,
       max(drift_share) AS drift_share,
       bool_or(dataset_drift) AS dataset_drift,
       count_if(role = 'feature') AS features,
       count_if(role = 'feature' AND drifted) AS drifted_features,
       coalesce(sum(quality_violations), 0) AS quality_violations
FROM monitoring_history
WHERE model = ?
GROUP BY batch_id
ORDER BY evaluated_at, batch_id
"""

DRIFT_HEATMAP = """-- A model's features x time drift heatmap, one cell per row (parameter: the model).
-- Features come most drifted first (highest severity over the range), as on the site.
SELECT "column", batch_id, evaluated_at, test, severity, drifted,
       coalesce(pvalue, distance) AS score, threshold,
       max(severity) OVER (PARTITION BY "column") AS column_severity
FROM monitoring_history
WHERE model = ? AND role = 'feature' AND batch_id NOT LIKE 'window-%'
ORDER BY column_severity DESC, "column", evaluated_at, batch_id
"""

PERFORMANCE = """-- A model's realized and estimated performance per scoring batch, with label coverage
-- (parameters: the model, three times). Each labels run recomputes its window, so the newest run's rows
-- are current; the batch's time is its evaluation's.
WITH runs AS (
  SELECT run_id, computed_at,
         row_number() OVER (ORDER BY computed_at DESC, run_id DESC) AS rn
  FROM (SELECT DISTINCT run_id, computed_at FROM performance_history WHERE model = ?) r
),
evaluated AS (
  SELECT batch_id, max(evaluated_at) AS evaluated_at FROM monitoring_history WHERE model = ? GROUP BY batch_id
)
SELECT e.evaluated_at, p.batch_id, p.model_version, p.metric, p.realized, p.estimated, p.coverage,
       p.labeled_rows, p.scored_rows, p.computed_at
FROM performance_history p
JOIN runs ON runs.run_id = p.run_id AND runs.rn = 1
LEFT JOIN evaluated e ON e.batch_id = p.batch_id
WHERE p.model = ? AND p.scope = 'batch'
ORDER BY p.metric, e.evaluated_at, p.batch_id
"""

#: name -> (description, SQL); the named queries of the stack, in this order.
NAMED_QUERIES: dict[str, tuple[str, str]] = {
    "fleet-overview": (
        "One row per model: last batch, rows 24 h / 7 d, drift, realized and estimated vs floor",
        FLEET_OVERVIEW,
    ),
    "drift-share-over-time": ("A model's dataset drift share per evaluation", DRIFT_SHARE),
    "drift-heatmap": ("A model's features x time drift scores (the site's heatmap)", DRIFT_HEATMAP),
    "performance-over-time": (
        "A model's realized and estimated performance per batch with label coverage",
        PERFORMANCE,
    ),
}


def for_models(sql: str, n: int) -> str:
    """``sql`` with each model IN-list widened to ``n`` placeholders (the fleet overview)."""
    if n < 1:
        raise ValueError("the fleet overview needs at least one model")
    return sql.replace(MODELS, ", ".join(["?"] * n))


def parameters(name: str, *, models: list[str], now: str | None = None) -> list[str]:
    """The execution parameters of the named query ``name`` (in the order its header lists)."""
    if name == "fleet-overview":
        if now is None:
            raise ValueError("the fleet overview needs the reference time")
        return [now, *models, *models, *models]
    (model,) = models
    return {"drift-share-over-time": [model], "drift-heatmap": [model]}.get(name, [model, model, model])

"""The queries behind the static site: pure functions over the monitoring history (no I/O).

Inputs are two tables the reader (:mod:`scorewatch.io.site_history`) assembles from the data
bucket; time is a parameter (``now``), never read here.

``history``
    The monitoring history rows as the monitor writes them (one row per evaluated column per
    evaluation; columns documented in ``MonitoringReport.history_rows``): at least ``model_name``,
    ``batch_id``, ``model_version``, ``evaluated_at`` (UTC), ``column``, ``role``, ``test``,
    ``pvalue``, ``distance``, ``threshold``, ``drifted``, ``severity``, ``quality_violations``,
    ``dataset_drift``, ``drift_share``. Window evaluations have a ``batch_id`` starting with
    ``window-``.
``outputs``
    One row per scored or rejected object: ``model``, ``batch_id``, ``kind`` (``scored``,
    ``rejected_rows`` or ``rejected_file``), ``rows`` (rows in the object; a whole-file rejection
    counts 0 rows), ``at`` (the object's modification time, UTC).

Attention order (:func:`fleet`): ``drift`` (the latest evaluation found dataset or prediction
drift) before ``performance`` (the latest labels run found realized performance worse than the
model's floor) before ``quality`` (the latest evaluation has data-quality violations) before ``stale``
(no batch scored or evaluated within ``stale_after``) before ``ok``; within a level the larger
latest drift share comes first, then the name.

>>> import pandas as pd
>>> h = pd.DataFrame({"model_name": ["m"], "batch_id": ["b1"], "model_version": ["000001"],
...     "evaluated_at": [pd.Timestamp("2026-01-01", tz="UTC")], "column": ["x"], "role": ["feature"],
...     "test": ["ks"], "pvalue": [0.5], "distance": [None], "threshold": [0.05], "drifted": [False],
...     "severity": [0.2], "quality_violations": [0], "dataset_drift": [False], "drift_share": [0.0]})
>>> [s.status for s in fleet(h, empty_outputs(), now=pd.Timestamp("2026-01-03", tz="UTC"))]
['stale']
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

STATUSES = ("drift", "performance", "quality", "stale", "ok")  # attention order: first needs it most


@dataclass(frozen=True)
class StaleRule:
    """When a model counts as stale: its own threshold (from its schedules), else ``default``."""

    default: timedelta = timedelta(hours=24)
    per_model: Mapping[str, timedelta] = field(default_factory=dict)

    def __call__(self, model: str) -> timedelta:
        return self.per_model.get(model, self.default)


def stale_rule(stale_after: timedelta | StaleRule) -> StaleRule:
    """``stale_after`` as a :class:`StaleRule` (one threshold for every model, or the rule itself)."""
    return stale_after if isinstance(stale_after, StaleRule) else StaleRule(stale_after)


WINDOW_PREFIX = "window-"
OUTPUT_COLUMNS = ("model", "batch_id", "kind", "rows", "at")


def empty_outputs() -> pd.DataFrame:
    """An ``outputs`` table with no rows (a bucket with history but no scored files)."""
    return pd.DataFrame(
        {
            "model": pd.Series([], dtype="string"),
            "batch_id": pd.Series([], dtype="string"),
            "kind": pd.Series([], dtype="string"),
            "rows": pd.Series([], dtype="Int64"),
            "at": pd.Series([], dtype="datetime64[ms, UTC]"),
        }
    )


@dataclass(frozen=True)
class ModelStatus:
    """One row of the fleet overview."""

    model: str
    status: str  # one of STATUSES
    flags: tuple[str, ...]  # every level that holds (drift and stale can both hold)
    last_batch_at: datetime | None
    last_version: str | None
    last_drift_share: float | None
    drifted_features: tuple[str, ...]  # of the latest evaluation
    drift_series: tuple[float, ...]  # drift share of the per-batch evaluations, oldest first
    batches: int
    rows_24h: int
    rejected_24h: int
    rows_7d: int
    rejected_7d: int
    rejected_files_7d: int
    champion: str | None = None  # from the registry, when the site is built with one
    champion_since: datetime | None = None
    # From the latest labels run (its JSON summary), when there is one.
    metric: str | None = None
    realized: float | None = None
    estimated: float | None = None
    floor: float | None = None
    coverage: float | None = None
    stale_after_hours: float | None = None  # the threshold the stale flag was judged against

    @property
    def rejected_share_7d(self) -> float | None:
        total = self.rows_7d + self.rejected_7d
        return self.rejected_7d / total if total else None


@dataclass(frozen=True)
class Cell:
    """One heatmap cell: a column's drift result in one evaluation."""

    severity: float  # >= 1 means drifted (comparable across tests)
    drifted: bool
    test: str
    score: float | None  # p-value or distance, whichever the test reports
    threshold: float | None


@dataclass(frozen=True)
class Heatmap:
    """Columns (most drifted first) × evaluations (oldest first); ``cells[i][j]`` may be None."""

    columns: tuple[str, ...]
    batch_ids: tuple[str, ...]
    times: tuple[datetime, ...]
    cells: tuple[tuple[Cell | None, ...], ...] = field(repr=False)


def batch_table(history: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, evaluation), oldest first per model.

    Columns: ``model``, ``batch_id``, ``scope`` (``batch``/``window``), ``evaluated_at``,
    ``model_version``, ``config_version`` (the stored config version the batch ran under; NA for
    history written before configurations were stored, or a model on defaults), ``drift_share``,
    ``dataset_drift``, ``prediction_drift`` (any prediction column drifted), ``features``,
    ``drifted_features`` (count), ``drifted_names`` (tuple), ``quality_violations`` (sum over columns).
    """
    cols = [
        "model",
        "batch_id",
        "scope",
        "evaluated_at",
        "model_version",
        "config_version",
        "drift_share",
        "dataset_drift",
        "prediction_drift",
        "features",
        "drifted_features",
        "drifted_names",
        "quality_violations",
    ]
    if history.empty:
        return pd.DataFrame(columns=cols)
    h = history.assign(
        config_version=history["config_version"] if "config_version" in history else pd.NA,
        _feat=history["role"] == "feature",
        _fdrift=(history["role"] == "feature") & history["drifted"].fillna(False).astype(bool),
        _pdrift=(history["role"] == "prediction") & history["drifted"].fillna(False).astype(bool),
    )
    g = h.groupby(["model_name", "batch_id"], sort=False)
    names = h[h["_fdrift"]].groupby(["model_name", "batch_id"])["column"].agg(lambda s: tuple(sorted(s)))
    out = g.agg(
        evaluated_at=("evaluated_at", "max"),
        model_version=("model_version", "first"),
        config_version=("config_version", "first"),
        drift_share=("drift_share", "first"),
        dataset_drift=("dataset_drift", "first"),
        prediction_drift=("_pdrift", "any"),
        features=("_feat", "sum"),
        drifted_features=("_fdrift", "sum"),
        quality_violations=("quality_violations", "sum"),
    )
    by_key = names.to_dict()
    out["drifted_names"] = [by_key.get(k, ()) for k in out.index]
    out = out.reset_index().rename(columns={"model_name": "model"})
    out["scope"] = ["window" if str(b).startswith(WINDOW_PREFIX) else "batch" for b in out["batch_id"]]
    out["drift_share"] = out["drift_share"].astype(float)
    out["dataset_drift"] = out["dataset_drift"].fillna(False).astype(bool)
    out["prediction_drift"] = out["prediction_drift"].astype(bool)
    out["quality_violations"] = out["quality_violations"].fillna(0).astype(int)
    out["config_version"] = pd.array(out["config_version"], dtype="Int64")
    return out.sort_values(["model", "evaluated_at", "batch_id"], kind="stable").reset_index(drop=True)[cols]


def volume_table(outputs: pd.DataFrame) -> pd.DataFrame:
    """Rows scored, rows rejected and whole-file rejections per (model, batch_id), with the time."""
    cols = ["model", "batch_id", "at", "rows_scored", "rows_rejected", "rejected_files"]
    if outputs.empty:
        return pd.DataFrame(columns=cols)
    o = outputs.assign(
        rows_scored=outputs["rows"].where(outputs["kind"] == "scored", 0).fillna(0).astype(int),
        rows_rejected=outputs["rows"].where(outputs["kind"] == "rejected_rows", 0).fillna(0).astype(int),
        rejected_files=(outputs["kind"] == "rejected_file").astype(int),
    )
    out = (
        o.groupby(["model", "batch_id"], sort=False)
        .agg(
            at=("at", "max"),
            rows_scored=("rows_scored", "sum"),
            rows_rejected=("rows_rejected", "sum"),
            rejected_files=("rejected_files", "sum"),
        )
        .reset_index()
    )
    return out.sort_values(["model", "at", "batch_id"], kind="stable").reset_index(drop=True)[cols]


def timeline(history: pd.DataFrame, outputs: pd.DataFrame, model: str) -> pd.DataFrame:
    """Everything known per batch of ``model``, oldest first: evaluations joined with volumes.

    A batch scored but not (yet) evaluated has no drift share; a window evaluation has no
    volumes. ``time`` is the evaluation time, else the scored object's time; ``rejected_rate``
    is rejected / (scored + rejected) rows.
    """
    return join_timeline(batch_table(history), volume_table(outputs), model)


def join_timeline(batches: pd.DataFrame, volumes: pd.DataFrame, model: str) -> pd.DataFrame:
    """:func:`timeline` from already computed :func:`batch_table` and :func:`volume_table`."""
    b = batches[batches["model"] == model]
    v = volumes[volumes["model"] == model]
    t = b.merge(v, on=["model", "batch_id"], how="outer")
    if t.empty:
        return t.assign(
            time=pd.Series([], dtype="datetime64[ms, UTC]"), rejected_rate=pd.Series([], dtype=float)
        )
    unit = "datetime64[us, UTC]"  # one resolution, so fillna keeps the dtype
    evaluated = pd.to_datetime(t["evaluated_at"], utc=True).astype(unit)
    t["time"] = evaluated.fillna(pd.to_datetime(t["at"], utc=True).astype(unit))
    for c in ("rows_scored", "rows_rejected", "rejected_files"):
        t[c] = t[c].fillna(0).astype(int)
    total = t["rows_scored"] + t["rows_rejected"]
    t["rejected_rate"] = (t["rows_rejected"] / total.where(total > 0)).astype(float)
    t["scope"] = t["scope"].fillna("batch")
    return t.sort_values(["time", "batch_id"], kind="stable").reset_index(drop=True)


def heatmap(history: pd.DataFrame, model: str, *, role: str = "feature", last: int | None = None) -> Heatmap:
    """Per-column drift severity over the per-batch evaluations of ``model`` (windows left out).

    Columns are ordered by their highest severity (most drifted first), then name; ``last``
    keeps only the newest ``last`` evaluations.
    """
    h = history[(history["model_name"] == model) & (history["role"] == role)]
    h = h[~h["batch_id"].astype(str).str.startswith(WINDOW_PREFIX)]
    if h.empty:
        return Heatmap((), (), (), ())
    order = h.groupby("batch_id")["evaluated_at"].max().sort_values(kind="stable")
    if last is not None:
        order = order.iloc[-last:]
    h = h[h["batch_id"].isin(order.index)]
    worst = h.groupby("column")["severity"].max().fillna(0.0)
    columns = sorted(worst.index, key=lambda c: (-float(worst[c]), str(c)))
    col_i = {c: i for i, c in enumerate(columns)}
    bat_i = {b: j for j, b in enumerate(order.index)}
    grid: list[list[Cell | None]] = [[None] * len(bat_i) for _ in columns]
    # Plain Python values, converted once per column (per-cell pandas calls dominate otherwise).
    sev = h["severity"].astype(float).fillna(0.0).tolist()
    pval = h["pvalue"].astype(float).tolist()
    dist = h["distance"].astype(float).tolist()
    thr = h["threshold"].astype(float).tolist()
    drifted = h["drifted"].astype("boolean").fillna(False).astype(bool).tolist()
    cols, bids, tests = h["column"].tolist(), h["batch_id"].tolist(), h["test"].tolist()
    for k, (col, bid, test) in enumerate(zip(cols, bids, tests, strict=True)):
        score = pval[k] if not math.isnan(pval[k]) else (dist[k] if not math.isnan(dist[k]) else None)
        grid[col_i[col]][bat_i[bid]] = Cell(
            severity=sev[k],
            drifted=drifted[k],
            test=str(test),
            score=score,
            threshold=None if math.isnan(thr[k]) else thr[k],
        )
    return Heatmap(
        columns=tuple(str(c) for c in columns),
        batch_ids=tuple(str(b) for b in order.index),
        times=tuple(t.to_pydatetime() for t in order),
        cells=tuple(tuple(row) for row in grid),
    )


def _ts(value: Any) -> pd.Timestamp:
    t = pd.Timestamp(value)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def _since(v: pd.DataFrame, now: pd.Timestamp, span: timedelta) -> pd.DataFrame:
    return v[(v["at"] > now - span) & (v["at"] <= now)]


def model_status(
    model: str,
    batches: pd.DataFrame,
    volumes: pd.DataFrame,
    *,
    now: datetime,
    stale_after: timedelta | StaleRule = timedelta(hours=24),
    performance: Mapping[str, Any] | None = None,
) -> ModelStatus:
    """The overview row of one model from its evaluations and volumes (see :func:`fleet`).

    ``performance`` is the latest labels run's summary (``metric``, ``value``, ``estimated_value``,
    ``floor``, ``coverage``, ``degraded``);
    its ``degraded`` raises the ``performance`` flag.
    """
    now_ts = _ts(now)
    b = batches[batches["model"] == model]
    v = volumes[volumes["model"] == model]
    times = (b["evaluated_at"].max() if not b.empty else None, v["at"].max() if not v.empty else None)
    known = [_ts(t) for t in times if t is not None and pd.notna(t)]
    last_at = max(known) if known else None
    latest = b.iloc[-1] if not b.empty else None
    flags = []
    if latest is not None and (bool(latest["dataset_drift"]) or bool(latest["prediction_drift"])):
        flags.append("drift")
    perf = dict(performance or {})
    if perf.get("degraded"):
        flags.append("performance")
    if latest is not None and int(latest["quality_violations"]) > 0:
        flags.append("quality")
    limit = stale_rule(stale_after)(model)
    if last_at is None or now_ts - last_at > limit:
        flags.append("stale")
    status = flags[0] if flags else "ok"
    day, week = _since(v, now_ts, timedelta(days=1)), _since(v, now_ts, timedelta(days=7))
    per_batch = b[b["scope"] == "batch"]
    return ModelStatus(
        model=model,
        status=status,
        flags=tuple(flags) or ("ok",),
        last_batch_at=last_at.to_pydatetime() if last_at is not None else None,
        last_version=str(latest["model_version"]) if latest is not None else None,
        last_drift_share=float(latest["drift_share"]) if latest is not None else None,
        drifted_features=tuple(latest["drifted_names"]) if latest is not None else (),
        drift_series=tuple(float(x) for x in per_batch["drift_share"]),
        batches=int((b["scope"] == "batch").sum()) if not b.empty else len(v),
        rows_24h=int(day["rows_scored"].sum()),
        rejected_24h=int(day["rows_rejected"].sum()),
        rows_7d=int(week["rows_scored"].sum()),
        rejected_7d=int(week["rows_rejected"].sum()),
        rejected_files_7d=int(week["rejected_files"].sum()),
        metric=str(perf["metric"]) if perf.get("metric") else None,
        realized=_float(perf.get("value")),
        estimated=_float(perf.get("estimated_value")),
        floor=_float(perf.get("floor")),
        coverage=_float(perf.get("coverage")),
        stale_after_hours=limit.total_seconds() / 3600,
    )


def _float(x: Any) -> float | None:
    if x is None or x is pd.NA:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


VERSION_COLUMNS = ("model", "version", "status", "created_at", "promoted_at", "archived_at", "parent_version")


def empty_versions() -> pd.DataFrame:
    """A ``versions`` table with no rows (a site built without the registry)."""
    return pd.DataFrame({c: pd.Series([], dtype="object") for c in VERSION_COLUMNS})


def champion(versions: pd.DataFrame, model: str) -> tuple[str | None, datetime | None]:
    """The champion version of ``model`` and when it was promoted, from the registry's ``versions``."""
    v = versions[(versions["model"] == model) & (versions["status"] == "champion")]
    if v.empty:
        return None, None
    row = v.iloc[-1]
    at = row["promoted_at"]
    return str(row["version"]), (_ts(at).to_pydatetime() if at is not None and pd.notna(at) else None)


def promotions(versions: pd.DataFrame, model: str) -> list[tuple[datetime, str]]:
    """(promoted_at, version) of every version of ``model`` that was promoted, oldest first.

    A version keeps its ``promoted_at`` when later archived, so earlier champions are included.
    """
    v = versions[(versions["model"] == model) & versions["promoted_at"].notna()]
    return sorted(
        (_ts(t).to_pydatetime(), str(ver)) for t, ver in zip(v["promoted_at"], v["version"], strict=True)
    )


def marker_positions(
    times: Sequence[datetime], events: Sequence[tuple[datetime, str]]
) -> list[tuple[int, str]]:
    """Where each (time, label) event falls on a batch axis: the index of the first batch at or after it.

    Events before the first batch land on 0, events after the last batch on ``len(times)`` (the
    right edge); ``times`` must be sorted.
    """
    keys = [_ts(t) for t in times]
    return [(bisect_left(keys, _ts(at)), label) for at, label in events]


def attention_key(s: ModelStatus) -> tuple[int, float, str]:
    """Sort key: attention level, then larger latest drift share first, then name."""
    return (STATUSES.index(s.status), -(s.last_drift_share or 0.0), s.model)


def fleet(
    history: pd.DataFrame,
    outputs: pd.DataFrame,
    *,
    now: datetime,
    stale_after: timedelta | StaleRule = timedelta(hours=24),
    models: Iterable[str] | None = None,
) -> list[ModelStatus]:
    """One :class:`ModelStatus` per model, sorted by attention (module docstring).

    ``models`` adds models with no history and no outputs (shown as ``stale``); by default the
    models are those found in either table.
    """
    return fleet_from_tables(
        batch_table(history), volume_table(outputs), now=now, stale_after=stale_after, models=models
    )


def fleet_from_tables(
    batches: pd.DataFrame,
    volumes: pd.DataFrame,
    *,
    now: datetime,
    stale_after: timedelta | StaleRule = timedelta(hours=24),
    models: Iterable[str] | None = None,
    versions: pd.DataFrame | None = None,
    performance: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[ModelStatus]:
    """:func:`fleet` from already computed :func:`batch_table` and :func:`volume_table`.

    With the registry's ``versions`` (columns ``VERSION_COLUMNS``) each row also carries the
    champion and its promotion time, and every registered model is listed. ``performance`` maps a
    model to its latest labels summary (:func:`model_status`).
    """
    registered = set(versions["model"]) if versions is not None else set()
    names: set[str] = set(batches["model"]) | set(volumes["model"]) | set(models or ()) | registered
    b_by = dict(tuple(batches.groupby("model", sort=False))) if not batches.empty else {}
    v_by = dict(tuple(volumes.groupby("model", sort=False))) if not volumes.empty else {}
    rows = [
        model_status(
            m,
            b_by.get(m, batches.iloc[:0]),
            v_by.get(m, volumes.iloc[:0]),
            now=now,
            stale_after=stale_after,
            performance=(performance or {}).get(m),
        )
        for m in names
    ]
    if versions is not None:
        with_champion = []
        for r in rows:
            version, since = champion(versions, r.model)
            with_champion.append(replace(r, champion=version, champion_since=since))
        rows = with_champion
    return sorted(rows, key=attention_key)


def drift_share_series(
    history: pd.DataFrame, model: str, *, scope: str = "batch"
) -> Sequence[tuple[str, float]]:
    """(batch_id, drift share) of the ``scope`` evaluations of ``model``, oldest first."""
    b = batch_table(history)
    b = b[(b["model"] == model) & (b["scope"] == scope)]
    return [(str(i), float(s)) for i, s in zip(b["batch_id"], b["drift_share"], strict=True)]


# -- performance history (the labels runs) ------------------------------------------------------

#: Columns of the performance history rows the labels function writes (``lifecycle.labels.history_rows``).
PERFORMANCE_COLUMNS = (
    "model_name",
    "model_version",
    "scope",
    "batch_id",
    "metric",
    "realized",
    "estimated",
    "scored_rows",
    "labeled_rows",
    "coverage",
    "run_id",
    "computed_at",
)
#: Monitoring history columns named ``estimated_<metric>`` hold a per-batch estimate, when present.
ESTIMATED_PREFIX = "estimated_"


_EMPTY_PERFORMANCE = pd.DataFrame({c: pd.Series([], dtype="object") for c in PERFORMANCE_COLUMNS})


def empty_performance() -> pd.DataFrame:
    """A performance history with no rows (no labels run yet); a copy, so callers may change it."""
    return _EMPTY_PERFORMANCE.copy()


def primary_metric(performance: pd.DataFrame) -> str | None:
    """The metric with the most realized values (ties: name), or None without any."""
    if performance.empty or not {"metric", "realized"} <= set(performance.columns):
        return None
    p = performance[pd.to_numeric(performance["realized"], errors="coerce").notna()]
    if p.empty:
        p = performance
    counts = p["metric"].astype(str).value_counts()
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]


def performance_per_batch(performance: pd.DataFrame, metric: str | None) -> pd.DataFrame:
    """Per scoring batch, the latest labels run's ``metric``: realized, estimated and label coverage.

    Each labels run recomputes every batch of its window, so the newest run (``computed_at``)
    holds the current value. Columns: ``batch_id``, ``realized``, ``estimated``, ``coverage``,
    ``labeled_rows``, ``scored_rows``, ``computed_at``.
    """
    cols = ["batch_id", "realized", "estimated", "coverage", "labeled_rows", "scored_rows", "computed_at"]
    if metric is None or performance.empty or not set(PERFORMANCE_COLUMNS) <= set(performance.columns):
        return pd.DataFrame(columns=cols)
    p = performance[(performance["scope"] == "batch") & (performance["metric"] == metric)]
    p = p[p["batch_id"].notna()]
    if p.empty:
        return pd.DataFrame(columns=cols)
    p = p.assign(computed_at=pd.to_datetime(p["computed_at"], utc=True))
    p = p.sort_values(["computed_at", "run_id"], kind="stable").drop_duplicates("batch_id", keep="last")
    out = p[cols].reset_index(drop=True)
    for c in ("realized", "estimated", "coverage"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
    return out


def performance_per_run(performance: pd.DataFrame, metric: str | None) -> pd.DataFrame:
    """The window value of ``metric`` of every labels run, oldest first (one point per run).

    Columns: ``computed_at``, ``realized``, ``estimated``, ``coverage``, ``labeled_rows``,
    ``scored_rows``, ``model_version``.
    """
    cols = [
        "computed_at",
        "realized",
        "estimated",
        "coverage",
        "labeled_rows",
        "scored_rows",
        "model_version",
    ]
    if metric is None or performance.empty:
        return pd.DataFrame(columns=cols)
    p = performance[(performance["scope"] == "window") & (performance["metric"] == metric)]
    if p.empty:
        return pd.DataFrame(columns=cols)
    p = p.assign(computed_at=pd.to_datetime(p["computed_at"], utc=True))
    p = p.sort_values(["computed_at", "run_id"], kind="stable").drop_duplicates("run_id", keep="last")
    out = p[cols].reset_index(drop=True)
    for c in ("realized", "estimated", "coverage"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
    return out


def history_estimates(history: pd.DataFrame, metric: str | None) -> dict[str, float]:
    """batch_id -> the monitor's own estimate of ``metric``, from an ``estimated_<metric>`` column.

    The monitoring history carries such a column only when the monitor estimates performance;
    without it (or without ``metric``) the mapping is empty.
    """
    col = f"{ESTIMATED_PREFIX}{metric}" if metric else None
    if col is None or col not in history.columns or history.empty:
        return {}
    h = history[["batch_id", col]].copy()
    h[col] = pd.to_numeric(h[col], errors="coerce")
    h = h[h[col].notna()].drop_duplicates("batch_id", keep="first")
    return {str(b): float(v) for b, v in zip(h["batch_id"], h[col], strict=True)}


def history_metrics(history: pd.DataFrame) -> tuple[str, ...]:
    """The metrics the monitoring history estimates (its ``estimated_<metric>`` columns)."""
    return tuple(
        sorted(c[len(ESTIMATED_PREFIX) :] for c in history.columns if c.startswith(ESTIMATED_PREFIX))
    )


# -- the per-model summary an incremental build keeps (the index is rebuilt from these) ---------

_TIMES = ("last_batch_at", "champion_since")
_TUPLES = ("flags", "drifted_features", "drift_series")


def status_to_dict(s: ModelStatus) -> dict[str, Any]:
    """A JSON-able form of ``s`` (times as ISO 8601); :func:`status_from_dict` reverses it."""
    d = asdict(s)
    for k in _TIMES:
        d[k] = d[k].isoformat() if d[k] is not None else None
    for k in _TUPLES:
        d[k] = list(d[k])
    return d


def status_from_dict(d: Mapping[str, Any]) -> ModelStatus:
    """The :class:`ModelStatus` of :func:`status_to_dict` (unknown keys ignored, missing ones default)."""
    known = {f.name for f in fields(ModelStatus)}
    values = {k: v for k, v in d.items() if k in known}
    for k in _TIMES:
        if values.get(k) is not None:
            values[k] = _ts(values[k]).to_pydatetime()
    for k in _TUPLES:
        values[k] = tuple(values.get(k) or ())
    return ModelStatus(**values)


def restale(s: ModelStatus, *, now: datetime, stale_after: timedelta | StaleRule) -> ModelStatus:
    """``s`` with its ``stale`` flag recomputed for ``now`` (a kept summary ages between rebuilds)."""
    limit = stale_rule(stale_after)(s.model)
    flags = [f for f in s.flags if f not in ("stale", "ok")]
    if s.last_batch_at is None or _ts(now) - _ts(s.last_batch_at) > limit:
        flags.append("stale")
    order = sorted(flags, key=STATUSES.index)
    return replace(
        s,
        flags=tuple(order) or ("ok",),
        status=order[0] if order else "ok",
        stale_after_hours=limit.total_seconds() / 3600,
    )

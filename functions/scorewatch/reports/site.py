"""The static site: a fleet overview and one health page per model, from the monitoring history.

Renders what :mod:`scorewatch.reports.site_data` computes with the Jinja2 templates
``templates/site_index.html`` and ``templates/site_model.html``; this module does no I/O (the
command writes the pages :func:`build_pages` returns). Like the drift report, every page is
self-contained: CSS inline, charts as inline SVG built here with every label escaped before the
markup is marked safe, no script, no external URL. Every chart has its values as a table in a
``<details>`` element, and every SVG mark carries its value in a ``<title>`` (the hover text).

Links are relative (``models/<model>/index.html``, ``reports/<id>.html``), so the site works from
a folder, a static file server or presigned S3 URLs of a copied prefix.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import pandas as pd
from markupsafe import Markup, escape

from scorewatch.reports import site_data, site_events
from scorewatch.reports._jinja import environment
from scorewatch.reports.site_charts import _BAD, _OK, Marker, Series, _num, bars, lines

__all__ = ["Series", "bars", "build_pages", "fleet_statuses", "lines", "model_page", "sparkline"]

MAX_CHART_BATCHES = 360  # 90 days of 4 batches a day; older batches stay in the tables
MAX_HEATMAP_BATCHES = 120  # 30 days of 4 a day: 20 features x 120 cells keep a page near 0.5 MB


def _when(t: datetime | None) -> str:
    if t is None or t is pd.NaT or (isinstance(t, float) and math.isnan(t)):
        return "—"
    return _when_text(t)


@lru_cache(maxsize=1 << 16)
def _when_text(t: datetime) -> str:
    # Cached: a batch's time is written on every chart's hover text and in its table row.
    return t.strftime("%Y-%m-%d %H:%M UTC")


def _age(t: datetime | None, now: datetime) -> str:
    if t is None:
        return "never"
    s = (pd.Timestamp(now) - pd.Timestamp(t)).total_seconds()
    if s < 3600:
        return f"{max(int(s // 60), 0)} min ago"
    if s < 2 * 86400:
        return f"{s / 3600:.0f} h ago"
    return f"{s / 86400:.0f} d ago"


def _pct(x: Any) -> str:
    if x is None or x is pd.NA or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    return f"{float(x):.1%}"


def _pct0(x: float) -> str:
    return f"{x:.0%}"


def _count(x: float) -> str:
    return f"{x:,.0f}"


def report_href(model: str, report_id: str) -> str:
    """Where a copied drift report lives, relative to the model's page."""
    return f"reports/{quote(report_id, safe='')}.html"


def model_href(model: str) -> str:
    """The model page, relative to the index."""
    return f"models/{quote(model, safe='')}/index.html"


def sparkline(
    values: Sequence[float], *, width: int = 140, height: int = 28, threshold: float = 0.5
) -> Markup:
    """Drift share per batch as a tiny inline SVG line (0 at the bottom, 1 at the top)."""
    if not values:
        return Markup('<span class="muted">no evaluations</span>')
    vals = list(values)[-60:]
    n = len(vals)
    step = (width - 4) / max(n - 1, 1)
    pts = " ".join(
        f"{2 + i * step:.1f},{height - 2 - (height - 4) * min(max(v, 0.0), 1.0):.1f}"
        for i, v in enumerate(vals)
    )
    last = vals[-1]
    color = _BAD if last >= threshold else _OK
    x_last, y_last = 2 + (n - 1) * step, height - 2 - (height - 4) * min(max(last, 0.0), 1.0)
    return Markup(  # noqa: S704 - numbers only
        f'<svg class="spark" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f"<title>drift share of the last {n} batches: {', '.join(f'{v:.0%}' for v in vals[-8:])}</title>"
        f'<polyline fill="none" stroke="{_OK}" stroke-width="1.5" points="{pts}"/>'
        f'<circle cx="{x_last:.1f}" cy="{y_last:.1f}" r="2.5" fill="{color}"/></svg>'
    )


def _cell_color(c: site_data.Cell | None) -> str:
    if c is None:
        return "#f3f5f9"
    s = min(max(c.severity, 0.0), 2.0) / 2.0  # 0 .. 2 x threshold
    if c.drifted:
        return f"#{200 - int(40 * s):02x}{90 - int(40 * s):02x}{70 - int(30 * s):02x}"
    light = int(235 - 90 * s)
    return f"#{light:02x}{min(light + 8, 255):02x}ff"


def cell_text(column: str, batch_id: str, when: datetime, c: site_data.Cell | None) -> str:
    """The hover text of one heatmap cell (plain text; escaped where it is placed)."""
    head = f"{column} · {batch_id} · {when:%Y-%m-%d %H:%M}"
    if c is None:
        return f"{head}: not evaluated"
    verdict = "drifted" if c.drifted else "no drift"
    score = f"{c.test} {_num(c.score, 3)} (threshold {_num(c.threshold, 3)})"
    return f"{head}: {score}, severity {c.severity:.2f}, {verdict}"


def heatmap_svg(hm: site_data.Heatmap, *, width: int = 900, row_h: int = 14, label_w: int = 160) -> Markup:
    """Columns × evaluations as rectangles coloured by severity; each rect's title holds its values."""
    if not hm.columns:
        return Markup('<p class="muted">no per-batch evaluations</p>')
    n = len(hm.batch_ids)
    cell_w = max((width - label_w) / n, 1.0)
    height = row_h * len(hm.columns) + 16
    parts = [
        f'<svg class="heatmap" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
    ]
    # Escape each user string once (feature, batch id, test), not once per cell: the numbers and
    # fixed words around them need no escaping, and a fleet page has thousands of cells.
    heads = [
        f"{escape(bid)} · {when:%Y-%m-%d %H:%M}" for bid, when in zip(hm.batch_ids, hm.times, strict=True)
    ]
    tests: dict[str, str] = {}
    for i, col in enumerate(hm.columns):
        y = i * row_h
        short = col if len(col) <= 26 else col[:25] + "…"
        esc_col = escape(col)
        parts.append(
            f'<text x="{label_w - 4}" y="{y + row_h - 3}" font-size="10" text-anchor="end" fill="#1d2330">'
            f"{escape(short)}<title>{esc_col}</title></text>"
        )
        for j, c in enumerate(hm.cells[i]):
            if c is None:
                tip = f"{esc_col} · {heads[j]}: not evaluated"
            else:
                test = tests.get(c.test)
                if test is None:
                    test = tests[c.test] = str(escape(c.test))
                verdict = "drifted" if c.drifted else "no drift"
                tip = (
                    f"{esc_col} · {heads[j]}: {test} {_num(c.score, 3)} (threshold {_num(c.threshold, 3)}), "
                    f"severity {c.severity:.2f}, {verdict}"
                )
            parts.append(
                f'<rect class="cell" x="{label_w + j * cell_w:.1f}" y="{y}" width="{cell_w:.1f}" '
                f'height="{row_h - 1}" fill="{_cell_color(c)}"><title>{tip}</title></rect>'
            )
    y = row_h * len(hm.columns) + 12
    parts.append(
        f'<text x="{label_w}" y="{y}" font-size="10" fill="#5b6675">{escape(_when(hm.times[0]))}</text>'
        f'<text x="{width}" y="{y}" font-size="10" text-anchor="end" fill="#5b6675">'
        f"{escape(_when(hm.times[-1]))}</text></svg>"
    )
    return Markup("".join(parts))  # noqa: S704 - every interpolated label is escaped above


def version_markers(versions: Sequence[Any]) -> list[tuple[int, str]]:
    """(index, label) where the scoring version changes from one batch to the next."""
    out: list[tuple[int, str]] = []
    prev = None
    for i, v in enumerate(versions):
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            continue
        if prev is not None and v != prev:
            out.append((i, f"v{v}"))
        prev = v
    return out


def _version_rows(versions: pd.DataFrame, model: str) -> list[dict[str, Any]]:
    v = versions[versions["model"] == model]
    rows = []
    for r in v.itertuples(index=False):
        rows.append(
            {
                "version": r.version,
                "status": r.status,
                "parent": r.parent_version,
                **{k: _when(_py_time(getattr(r, k))) for k in ("created_at", "promoted_at", "archived_at")},
            }
        )
    return sorted(rows, key=lambda d: str(d["version"]), reverse=True)


def _py_time(t: Any) -> datetime | None:
    return None if t is None or pd.isna(t) else pd.Timestamp(t).to_pydatetime()


_ENV = environment(num=_num, pct=_pct, when=_when)


@dataclass(frozen=True)
class SitePage:
    """One page: its path relative to the site root and its HTML."""

    path: str
    html: str


def render_index(
    statuses: Sequence[site_data.ModelStatus], *, now: datetime, stale_after: timedelta | site_data.StaleRule
) -> str:
    """The fleet overview: one row per model in attention order."""
    rows = [
        {
            "s": s,
            "href": model_href(s.model),
            "age": _age(s.last_batch_at, now),
            "champion_age": _age(s.champion_since, now) if s.champion_since else None,
            "spark": sparkline(s.drift_series),
        }
        for s in statuses
    ]
    counts = {level: sum(s.status == level for s in statuses) for level in site_data.STATUSES}
    return _ENV.get_template("site_index.html").render(
        title="scorewatch — fleet overview",
        rows=rows,
        counts=counts,
        generated=_when(now),
        stale_hours=site_data.stale_rule(stale_after).default.total_seconds() / 3600,
    )


def render_model(
    status: site_data.ModelStatus,
    timeline: pd.DataFrame,
    hm: site_data.Heatmap,
    *,
    now: datetime,
    reports: Mapping[str, str],
    versions: pd.DataFrame | None = None,
    performance: pd.DataFrame | None = None,
    monitor_estimates: Mapping[str, float] | None = None,
    higher_is_better: bool = True,
) -> str:
    """One model's health over time. ``reports`` maps report id -> href of its drift report.

    ``performance`` is the model's performance history (labels runs, ``PERFORMANCE_COLUMNS``),
    ``monitor_estimates`` the monitor's per-batch estimates (batch id -> value) when it writes
    them; ``higher_is_better`` is the direction of the metric (for the below-floor marks).
    """
    per_batch = timeline[timeline["scope"] == "batch"].tail(MAX_CHART_BATCHES)
    windows = timeline[timeline["scope"] == "window"].tail(MAX_CHART_BATCHES)
    records = []
    for r in timeline.iloc[::-1].itertuples(index=False):  # newest first in the tables
        d = r._asdict()
        d["report"] = reports.get(str(r.batch_id))
        d["drifted_names"] = d.get("drifted_names") if isinstance(d.get("drifted_names"), tuple) else ()
        if d["scope"] == "batch":
            d["row"] = _batch_row(d)
        records.append(d)
    first, last = (
        (_when(per_batch["time"].iloc[0]), _when(per_batch["time"].iloc[-1])) if len(per_batch) else ("", "")
    )
    events: list[site_events.LifecycleEvent] = []
    markers: list[Marker]
    if versions is not None:
        # The registry's events (promotions, retraining verdicts, approvals), each placed at the
        # first batch at or after it; one after the last batch sits on the right edge.
        events = site_events.lifecycle_events(versions, status.model)
        places = site_data.marker_positions(list(per_batch["time"]), [(e.at, e.label) for e in events])
        markers = [
            (i, e.label, e.detail, e.kind)
            for (i, _), e in zip(places, events, strict=True)
            if 0 < i <= len(per_batch)
        ]
    else:
        markers = [*version_markers(list(per_batch["model_version"]))] if "model_version" in per_batch else []

    # Plain Python lists, once per frame: iterating pandas' Arrow-backed columns element by
    # element is several times slower, and each chart walks the same batches again.
    heads: dict[int, list[str]] = {}

    def tips(frame: pd.DataFrame, what: str, fmt: Any) -> list[str]:
        head = heads.get(id(frame))
        if head is None:
            head = heads[id(frame)] = [
                f"{b} · {_when(t)} · v{v if isinstance(v, str) else '?'}: "
                for b, t, v in zip(
                    frame["batch_id"].tolist(), frame["time"], frame["model_version"].tolist(), strict=True
                )
            ]
        return [f"{h}{what} {fmt(x)}" for h, x in zip(head, frame[what].tolist(), strict=True)]

    def vals(frame: pd.DataFrame, col: str) -> list[float | None]:
        return [None if pd.isna(x) else float(x) for x in frame[col]]

    charts = {
        "drift": bars(
            vals(per_batch, "drift_share"),
            tips(per_batch, "drift_share", _pct),
            bad=[bool(x) if not pd.isna(x) else False for x in per_batch["dataset_drift"]],
            top=1.0,
            markers=markers,
            axis=(first, last),
            fmt=_pct0,
        ),
        "windows": bars(
            vals(windows, "drift_share"),
            tips(windows, "drift_share", _pct),
            bad=[bool(x) if not pd.isna(x) else False for x in windows["dataset_drift"]],
            top=1.0,
            fmt=_pct0,
        )
        if len(windows)
        else None,
        "rows": bars(
            vals(per_batch, "rows_scored"),
            tips(per_batch, "rows_scored", _num),
            markers=markers,
            axis=(first, last),
            fmt=_count,
        ),
        "rejected": bars(
            vals(per_batch, "rejected_rate"),
            tips(per_batch, "rejected_rate", _pct),
            bad=[bool(x and x > 0) for x in vals(per_batch, "rejected_rate")],
            markers=markers,
            axis=(first, last),
            fmt=lambda x: f"{x:.1%}",
        ),
        "heatmap": heatmap_svg(hm),
    }
    perf = _performance_view(
        status,
        per_batch,
        performance if performance is not None else site_data.empty_performance(),
        monitor_estimates or {},
        higher_is_better=higher_is_better,
        markers=markers,
        axis=(first, last),
    )
    return _ENV.get_template("site_model.html").render(
        title=f"{status.model} — model health",
        s=status,
        age=_age(status.last_batch_at, now),
        charts=charts,
        records=records,
        windows=[d for d in records if d["scope"] == "window"],
        versions=_version_rows(versions, status.model) if versions is not None else None,
        marker_source="promotions, retraining verdicts and approvals (registry)"
        if versions is not None
        else "a change of the scoring version",
        events=[
            {"at": _when(e.at), "version": e.version, "kind": e.kind, "detail": e.detail} for e in events
        ],
        hm=hm,
        hm_rows=[(col, _heatmap_cells(cells)) for col, cells in zip(hm.columns, hm.cells, strict=True)],
        hm_times=[_when(t) for t in hm.times],
        max_heatmap=MAX_HEATMAP_BATCHES,
        generated=_when(now),
        max_chart=MAX_CHART_BATCHES,
        n_batches=int((timeline["scope"] == "batch").sum()),
        perf=perf,
    )


def _yes_no(x: Any) -> str:
    return "yes" if x is True else ("no" if x is False else "—")


def _batch_row(d: Mapping[str, Any]) -> Markup:
    """One row of the batch table, built in Python (hundreds per page): every string from the data
    (batch id, version, feature names, report href) is escaped; the rest are numbers and fixed words."""
    version = escape(d["model_version"]) if isinstance(d.get("model_version"), str) else "—"
    cv = d.get("config_version")
    # numpy integers are numbers.Real too; pandas' NA and NaN are not a version
    is_version = isinstance(cv, numbers.Real) and not isinstance(cv, bool) and not math.isnan(cv)
    config = _num(int(cv)) if is_version and cv is not None else "—"
    names = ", ".join(f"<code>{escape(f)}</code>" for f in d["drifted_names"])
    report = f'<a href="{escape(d["report"])}">drift report</a>' if d.get("report") else "—"
    return Markup(  # noqa: S704 - every string from the data is escaped above
        f"<tr><td><code>{escape(d['batch_id'])}</code></td><td>{_when(d['time'])}</td><td>{version}</td>\n"
        f"<td>{config}</td>\n"
        f'<td class="n">{_pct(d.get("drift_share"))}</td><td>{_yes_no(d.get("dataset_drift"))}</td>\n'
        f"<td>{_yes_no(d.get('prediction_drift'))}</td>\n<td>{names}</td>\n"
        f'<td class="n">{_num(d.get("quality_violations"))}</td>'
        f'<td class="n">{_num(d.get("rows_scored"))}</td>'
        f'<td class="n">{_num(d.get("rows_rejected"))}</td>\n'
        f'<td class="n">{_pct(d.get("rejected_rate"))}</td><td>{report}</td></tr>'
    )


def _heatmap_cells(cells: Sequence[site_data.Cell | None]) -> Markup:
    """One heatmap-table row's cells (numbers only, so nothing to escape), built once in Python:
    a page has thousands of them and a template loop per cell dominated the rendering."""
    return Markup(  # noqa: S704 - severities and a fixed mark only
        "".join(
            '<td class="n hm-cell">—</td>'
            if c is None
            else f'<td class="n hm-cell">{c.severity:.2f}{"*" if c.drifted else ""}</td>'
            for c in cells
        )
    )


def _labeled(row: Any) -> int | None:
    v = getattr(row, "labeled_rows", None)
    return None if v is None or pd.isna(v) else int(v)


def _performance_view(
    status: site_data.ModelStatus,
    per_batch: pd.DataFrame,
    performance: pd.DataFrame,
    monitor_estimates: Mapping[str, float],
    *,
    higher_is_better: bool,
    markers: Sequence[Marker],
    axis: tuple[str, str],
) -> dict[str, Any]:
    """The performance section: charts over the batch axis, the per-batch and per-run tables."""
    metric = status.metric or site_data.primary_metric(performance)
    pb = site_data.performance_per_batch(performance, metric)
    runs = site_data.performance_per_run(performance, metric)
    by_batch = {str(r.batch_id): r for r in pb.itertuples(index=False)}
    floor = status.floor

    def below(v: float | None) -> bool | None:
        if v is None or floor is None or not math.isfinite(v):
            return None
        return v < floor if higher_is_better else v > floor

    def val(r: Any, col: str) -> float | None:
        if r is None:
            return None
        v = getattr(r, col)
        return None if v is None or pd.isna(v) else float(v)

    ids = [str(b) for b in per_batch["batch_id"]]
    rows_ = [by_batch.get(b) for b in ids]
    realized = [val(r, "realized") for r in rows_]
    estimated = [val(r, "estimated") for r in rows_]
    monitor = [monitor_estimates.get(b) for b in ids]
    coverage = [val(r, "coverage") for r in rows_]
    times = list(per_batch["time"])

    def tips(name: str, values: Sequence[float | None]) -> list[str]:
        return [
            f"{b} · {_when(t)}: {name} {metric} {_num(v, 4)}"
            for b, t, v in zip(ids, times, values, strict=True)
        ]

    series = [Series("realized", realized, tips("realized", realized), "#1d2330")]
    if any(v is not None for v in estimated):
        series.append(
            Series("estimated (labels run)", estimated, tips("estimated", estimated), "#2f7f6f", True)
        )
    if any(v is not None for v in monitor):
        series.append(Series("estimated (monitor)", monitor, tips("estimated", monitor), "#d07a00", True))
    table = [
        {
            "batch_id": b,
            "time": t,
            "realized": realized[i],
            "estimated": estimated[i],
            "monitor": monitor[i],
            "coverage": coverage[i],
            "labeled_rows": _labeled(rows_[i]),
            "below": below(realized[i]) if realized[i] is not None else below(estimated[i] or monitor[i]),
        }
        for i, (b, t) in enumerate(zip(ids, times, strict=True))
        if realized[i] is not None or estimated[i] is not None or monitor[i] is not None
    ][::-1]
    has_any = bool(table) or not runs.empty
    return {
        "metric": metric,
        "floor": floor,
        "has_any": has_any,
        "monitor": any(v is not None for v in monitor),
        "chart": lines(series, floor=floor, markers=markers, axis=axis, fmt=lambda x: f"{x:.3g}")
        if has_any
        else None,
        "coverage": bars(
            coverage,
            [
                f"{b} · {_when(t)}: label coverage {_pct(c)}"
                for b, t, c in zip(ids, times, coverage, strict=True)
            ],
            top=1.0,
            markers=markers,
            axis=axis,
            fmt=lambda x: f"{x:.0%}",
        )
        if any(c is not None for c in coverage)
        else None,
        "table": table,
        "runs": [
            {
                "time": r.computed_at.to_pydatetime(),
                "version": r.model_version,
                "realized": None if pd.isna(r.realized) else float(r.realized),
                "estimated": None if pd.isna(r.estimated) else float(r.estimated),
                "coverage": None if pd.isna(r.coverage) else float(r.coverage),
                "labeled_rows": r.labeled_rows,
                "below": below(None if pd.isna(r.realized) else float(r.realized)),
            }
            for r in runs.iloc[::-1].itertuples(index=False)
        ],
    }


def build_pages(
    history: pd.DataFrame,
    outputs: pd.DataFrame,
    *,
    now: datetime,
    stale_after: timedelta | site_data.StaleRule = timedelta(hours=24),
    reports: Mapping[tuple[str, str], str] | None = None,
    models: Sequence[str] | None = None,
    versions: pd.DataFrame | None = None,
    performance: pd.DataFrame | None = None,
    summaries: Mapping[str, Mapping[str, Any]] | None = None,
    higher_is_better: Mapping[str, bool] | None = None,
) -> list[SitePage]:
    """The index and every model page. ``reports`` are the (model, id) pairs that have a drift report
    (their hrefs point at ``models/<model>/reports/<id>.html``, which the caller copies).

    ``performance`` is the performance history of every model, ``summaries`` each model's latest
    labels summary and ``higher_is_better`` each metric's direction (default: higher is better).
    """
    batches, volumes = site_data.batch_table(history), site_data.volume_table(outputs)
    statuses = site_data.fleet_from_tables(
        batches,
        volumes,
        now=now,
        stale_after=stale_after,
        models=models,
        versions=versions,
        performance=summaries,
    )
    pages = [SitePage("index.html", render_index(statuses, now=now, stale_after=stale_after))]
    b_by = dict(tuple(batches.groupby("model", sort=False))) if not batches.empty else {}
    v_by = dict(tuple(volumes.groupby("model", sort=False))) if not volumes.empty else {}
    have = set(reports or {})
    # Slice once per model: the per-model queries then scan only that model's rows.
    h_by = dict(tuple(history.groupby("model_name", sort=False))) if not history.empty else {}
    o_by = dict(tuple(outputs.groupby("model", sort=False))) if not outputs.empty else {}
    p_by = (
        dict(tuple(performance.groupby("model_name", sort=False)))
        if performance is not None and not performance.empty
        else {}
    )
    for s in statuses:
        hrefs = {rid: report_href(s.model, rid) for (m, rid) in have if m == s.model}
        pages.append(
            model_page(
                s,
                h_by.get(s.model, history.iloc[:0]),
                o_by.get(s.model, outputs.iloc[:0]),
                now=now,
                reports=hrefs,
                versions=versions,
                performance=p_by.get(s.model),
                higher_is_better=(higher_is_better or {}).get(s.metric or "", True),
                tables=(b_by.get(s.model, batches.iloc[:0]), v_by.get(s.model, volumes.iloc[:0])),
            )
        )
    return pages


def fleet_statuses(
    history: pd.DataFrame,
    outputs: pd.DataFrame,
    *,
    now: datetime,
    stale_after: timedelta | site_data.StaleRule = timedelta(hours=24),
    models: Sequence[str] | None = None,
    versions: pd.DataFrame | None = None,
    summaries: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[site_data.ModelStatus]:
    """The overview rows (attention order) of the models in ``history``/``outputs``/``versions``."""
    return site_data.fleet_from_tables(
        site_data.batch_table(history),
        site_data.volume_table(outputs),
        now=now,
        stale_after=stale_after,
        models=models,
        versions=versions,
        performance=summaries,
    )


def model_page(
    status: site_data.ModelStatus,
    history: pd.DataFrame,
    outputs: pd.DataFrame,
    *,
    now: datetime,
    reports: Mapping[str, str],
    versions: pd.DataFrame | None = None,
    performance: pd.DataFrame | None = None,
    higher_is_better: bool = True,
    tables: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> SitePage:
    """The page of one model from its own rows only (``history``/``outputs``/``performance``).

    ``tables`` are the model's :func:`~site_data.batch_table` and :func:`~site_data.volume_table`
    when the caller already has them.
    """
    if tables is not None:
        tl = site_data.join_timeline(tables[0], tables[1], status.model)
    else:
        tl = site_data.timeline(history, outputs, status.model)
    hm = site_data.heatmap(history, status.model, last=MAX_HEATMAP_BATCHES)
    metric = status.metric or (site_data.primary_metric(performance) if performance is not None else None)
    html = render_model(
        status,
        tl,
        hm,
        now=now,
        reports=reports,
        versions=versions,
        performance=performance,
        monitor_estimates=site_data.history_estimates(history, metric),
        higher_is_better=higher_is_better,
    )
    return SitePage(model_href(status.model), html)

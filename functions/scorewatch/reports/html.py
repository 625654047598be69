"""Self-contained HTML drift report: summary first, then one collapsible section per column.

No external resource (CSS inline, charts as inline SVG, no script), so the file works offline and
from an S3 presigned URL. Every string that comes from data or configuration (column names,
categories, titles, messages) goes through :func:`html.escape`. Columns are sorted by severity
and collapsed (``<details>``) except the most drifted ones, so 200 columns stay readable and small.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scorewatch.monitoring.drift import ColumnDrift
    from scorewatch.monitoring.evaluation import MonitoringReport

OPEN_SECTIONS = 10  # drifted columns shown expanded; the rest are one click away
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d232b;
max-width:1100px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde2e8}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:14px 0}
.card{border:1px solid #dde2e8;border-radius:8px;padding:10px 14px;min-width:150px}
.card b{display:block;font-size:20px}.card span{color:#5b6675;font-size:12px}
.bad{background:#fdecec;border-color:#f0b4b4}.ok{background:#edf8ef;border-color:#b7e0c0}
.warn{background:#fff6e0;border-color:#f1d48a}
table{border-collapse:collapse;width:100%;margin:6px 0}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eef1f4;font-size:13px;vertical-align:top}
th{color:#5b6675;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600}
.b-high{background:#c62828;color:#fff}.b-drift{background:#ef6c00;color:#fff}.b-ok{background:#2e7d32;color:#fff}
.b-skip{background:#90a4ae;color:#fff}.b-error{background:#c62828;color:#fff}.b-warning{background:#f9a825}
details{border:1px solid #e3e7ec;border-radius:6px;margin:6px 0;padding:4px 10px}
summary{cursor:pointer;padding:4px 0}summary code{font-size:14px;font-weight:600}
.muted{color:#5b6675}.legend i{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}
.cols{display:flex;gap:18px;flex-wrap:wrap}.cols>div{flex:1;min-width:300px}
"""
_REF, _CUR = "#7b9cc4", "#f08a24"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _num(x: float | None, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    if isinstance(x, int) and not isinstance(x, bool):
        return f"{x:,}"
    return f"{x:.{digits}g}"


def _badge(c: ColumnDrift) -> str:
    if c.result.reason is not None:
        return '<span class="badge b-skip">not tested</span>'
    if c.drifted and c.severity >= 2:
        return '<span class="badge b-high">high drift</span>'
    if c.drifted:
        return '<span class="badge b-drift">drift</span>'
    return '<span class="badge b-ok">ok</span>'


def _score_text(c: ColumnDrift) -> str:
    r = c.result
    if r.reason is not None:
        return f"{_e(r.test)}: {_e(r.reason)}"
    what = "p-value" if r.pvalue is not None else "distance"
    op = ("≤" if r.test == "ks" else "<") if r.pvalue is not None else "≥"
    return f"{_e(r.test)} {what} {_num(r.score)} (drift if {op} {_num(r.threshold)})"


def svg_bars(
    labels: list[str],
    reference: list[float],
    current: list[float],
    *,
    width: int = 520,
    axis: list[str] | None = None,
) -> str:
    """Paired bars (reference, current) per label as an inline SVG; labels are escaped.

    ``axis`` are shorter tick labels (e.g. a bin's lower edge); the full label stays in the tooltip.
    """
    n = len(labels)
    if n == 0:
        return '<p class="muted">no distribution to draw</p>'
    height, pad_b, pad_t = 150, 34, 8
    top = max([*reference, *current, 1e-12])
    slot = (width - 10) / n
    bar = max(min(slot * 0.38, 26), 1.0)
    parts = [
        f'<svg role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f'<line x1="5" y1="{height - pad_b}" x2="{width - 5}" y2="{height - pad_b}" stroke="#b0b8c2"/>'
    ]
    plot_h = height - pad_b - pad_t
    show_labels = n <= 12
    ticks = axis if axis is not None and len(axis) == n else labels
    for i, (lab, r, c) in enumerate(zip(labels, reference, current, strict=True)):
        x0 = 5 + i * slot + (slot - 2 * bar) / 2
        for j, (v, color) in enumerate(((r, _REF), (c, _CUR))):
            h = plot_h * v / top
            y = height - pad_b - h
            who = "reference" if j == 0 else "current"
            parts.append(
                f'<rect x="{x0 + j * bar:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{color}">'
                f"<title>{_e(lab)} — {who} {v:.1%}</title></rect>"
            )
        if show_labels:
            tick = ticks[i]
            limit = max(int(slot / 6), 4)  # ~6 px per character at font-size 10
            short = tick if len(tick) <= limit else tick[: limit - 1] + "…"
            parts.append(
                f'<text x="{5 + (i + 0.5) * slot:.1f}" y="{height - pad_b + 14}" font-size="10" '
                f'text-anchor="middle" fill="#5b6675">{_e(short)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _stats_table(summary_ref: dict[str, Any], summary_cur: dict[str, Any], kind: str) -> str:
    if kind == "numeric":
        keys = ["count", "missing_rate", "mean", "std", "min", "max", "invalid", "infinite"]
    else:
        keys = ["count", "missing_rate", "other", "unseen"]
    rows = []
    for k in keys:
        rv, cv = summary_ref.get(k), summary_cur.get(k)
        if k == "missing_rate":
            rv_s, cv_s = f"{rv:.1%}", f"{cv:.1%}"
        else:
            rv_s, cv_s = _num(rv), _num(cv)
        rows.append(f'<tr><th>{_e(k)}</th><td class="n">{rv_s}</td><td class="n">{cv_s}</td></tr>')
    if kind == "categorical":
        tops = [
            f"{_e(name)} ({_num(n)})"
            for name, n in summary_cur.get("top", [])  # top current categories
        ]
        rows.append(f'<tr><th>top now</th><td colspan="2">{", ".join(tops) or "—"}</td></tr>')
    return (
        '<table><tr><th></th><th class="n">reference</th><th class="n">current</th></tr>'
        + "".join(rows)
        + "</table>"
    )


def _column_section(report: MonitoringReport, c: ColumnDrift, is_open: bool) -> str:
    ref, cur = report.reference.column(c.column), report.current.column(c.column)
    from scorewatch.monitoring.evaluation import column_summary, distribution

    dist = distribution(ref, cur)
    extra = []
    if c.psi is not None:
        extra.append(f"PSI {_num(c.psi)}")
    if c.jensenshannon is not None:
        extra.append(f"Jensen-Shannon {_num(c.jensenshannon)}")
    note = f'<p class="muted">{_e(c.note)}</p>' if c.note else ""
    labels = dist["labels"]
    axis = None
    if labels and labels[0].startswith("< ") and labels[-1].startswith("> "):
        # Quantile bins: tick = the bin's lower edge; the range is in each bar's tooltip.
        axis = [lab.split(" – ")[0] for lab in labels]
    chart = svg_bars(labels, dist["reference"], dist["current"], axis=axis)
    return (
        f"<details{' open' if is_open else ''}><summary>{_badge(c)} <code>{_e(c.column)}</code> "
        f'<span class="muted">{_e(c.kind)} · {_score_text(c)}</span></summary>'
        f'<div class="cols"><div>{chart}<div class="legend muted"><i style="background:{_REF}"></i>reference'
        f'<i style="background:{_CUR}"></i>current</div></div>'
        f"<div>{_stats_table(column_summary(ref), column_summary(cur), c.kind)}"
        f'<p class="muted">{" · ".join(extra)}</p>{note}</div></div></details>'
    )


def _card(label: str, value: str, cls: str = "") -> str:
    return f'<div class="card {cls}"><b>{value}</b><span>{_e(label)}</span></div>'


def render_html(report: MonitoringReport, *, title: str) -> str:
    """Render ``report`` as one self-contained HTML page.

    Parameters
    ----------
    report : MonitoringReport
    title : str
        Page title (escaped like every other user-supplied string).

    Returns
    -------
    str
        The HTML document (no external URL, no script).
    """
    mv = report.multivariate
    n_feat = len(report.features)
    n_drift = len(report.drifted_features)
    errors = sum(v.severity == "error" for v in report.quality_violations)
    warnings = len(report.quality_violations) - errors
    cards = [
        _card(
            "dataset drift",
            "yes" if report.dataset_drift else "no",
            "bad" if report.dataset_drift else "ok",
        ),
        _card(
            f"features drifted (threshold {report.drift.dataset_drift_share:.0%})",
            f"{n_drift}/{n_feat} ({report.drift_share:.0%})",
            "bad" if report.dataset_drift else ("warn" if n_drift else "ok"),
        ),
        _card(
            "prediction drift (max JS distance)",
            ("yes" if report.prediction_drift else "no") + f" · {_num(report.prediction_drift_score, 3)}",
            "bad" if report.prediction_drift else "ok",
        ),
        _card(
            f"multivariate AUC (threshold {mv.threshold:g})" if mv else "multivariate",
            _num(mv.auc, 3) if mv and mv.auc is not None else "not run",
            ("bad" if mv.drifted else "ok") if mv and mv.auc is not None else "",
        ),
        _card(
            "quality violations (errors / warnings)",
            f"{errors} / {warnings}",
            "bad" if errors else ("warn" if warnings else "ok"),
        ),
        _card("max PSI", _num(report.max_psi, 3)),
        _card("rows reference / current", f"{report.reference.rows:,} / {report.current.rows:,}"),
    ]
    ranked = sorted(report.features, key=lambda c: (-c.severity, c.column))
    drifted = [c for c in ranked if c.drifted]
    top_rows = "".join(
        f"<tr><td>{_badge(c)}</td><td><code>{_e(c.column)}</code></td><td>{_e(c.result.test)}</td>"
        f'<td class="n">{_num(c.result.score)}</td><td class="n">{_num(c.result.threshold)}</td>'
        f'<td class="n">{_num(c.severity, 3)}</td><td class="n">{_num(c.psi, 3)}</td></tr>'
        for c in drifted
    )
    drift_table = (
        "<table><tr><th></th><th>column</th><th>test</th><th class='n'>score</th>"
        "<th class='n'>threshold</th><th class='n'>severity</th><th class='n'>PSI</th></tr>"
        f"{top_rows}</table>"
        if drifted
        else '<p class="muted">No feature drifted.</p>'
    )
    q_rows = "".join(
        f'<tr><td><span class="badge b-{_e(v.severity)}">{_e(v.severity)}</span></td><td>{_e(v.kind)}</td>'
        f"<td>{'<code>' + _e(v.column) + '</code>' if v.column else '—'}</td>"
        f"<td>{_e(v.description)}</td></tr>"
        for v in report.quality_violations
    )
    quality = (
        f"<table><tr><th></th><th>check</th><th>column</th><th>finding</th></tr>{q_rows}</table>"
        if q_rows
        else '<p class="muted">No data-quality violation.</p>'
    )
    mv_html = ""
    if mv is not None:
        if mv.auc is None:
            mv_html = f'<p class="muted">Domain classifier not run: {_e(mv.reason)}.</p>'
        else:
            tops = ", ".join(f"<code>{_e(n)}</code> {a:.3f}" for n, a in mv.top_columns)
            mv_html = (
                f"<p>A classifier separating reference rows from current rows reached ROC AUC "
                f"<b>{mv.auc:.3f}</b> ({mv.reference_rows:,} + {mv.current_rows:,} rows; drift above "
                f"{mv.threshold:g}: <b>{'drift' if mv.drifted else 'no drift'}</b>)."
                + (f" Single-column AUCs: {tops}.</p>" if tops else "</p>")
            )
    sections = "".join(
        _column_section(report, c, i < OPEN_SECTIONS and c.drifted) for i, c in enumerate(ranked)
    )
    preds = "".join(_column_section(report, c, c.drifted) for c in report.predictions)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{_e(title)}</h1><p class='muted'>scorewatch monitoring report</p>"
        f"<div class='cards'>{''.join(cards)}</div>"
        f"<h2>Drifted features by severity</h2>{drift_table}"
        f"<h2>Data quality</h2>{quality}"
        + (f"<h2>Multivariate drift</h2>{mv_html}" if mv_html else "")
        + (f"<h2>Predictions</h2>{preds}" if preds else "")
        + f"<h2>All features ({n_feat}, most drifted first)</h2>{sections}"
        "</body></html>"
    )

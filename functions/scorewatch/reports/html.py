"""Self-contained HTML drift report: summary first, then one collapsible section per column.

Renders the plain view of a report (:meth:`scorewatch.monitoring.evaluation.MonitoringReport.to_view`)
with the Jinja2 template ``templates/report.html``; this module imports nothing from
``scorewatch.monitoring``. No external resource (CSS inline, charts as inline SVG, no script), so
the file works offline and from an S3 presigned URL. Autoescape is on, so every string that comes
from data or configuration (column names, categories, titles, messages) is escaped; the SVG charts
are built here with every label escaped before the markup is marked safe. Columns are sorted by
severity and collapsed (``<details>``) except the most drifted ones, so 200 columns stay readable
and small.
"""

from __future__ import annotations

import math
from typing import Any

from markupsafe import Markup, escape

from scorewatch.reports._jinja import environment

OPEN_SECTIONS = 10  # drifted columns shown expanded; the rest are one click away
_REF, _CUR = "#7b9cc4", "#f08a24"
_NUMERIC_KEYS = ("count", "missing_rate", "mean", "std", "min", "max", "invalid", "infinite")
_CATEGORICAL_KEYS = ("count", "missing_rate", "other", "unseen")


def _num(x: float | None, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    if isinstance(x, int) and not isinstance(x, bool):
        return f"{x:,}"
    return f"{x:.{digits}g}"


def _score_text(c: dict[str, Any]) -> str:
    if c["reason"] is not None:
        return f"{c['test']}: {c['reason']}"
    what = "p-value" if c["is_pvalue"] else "distance"
    op = ("≤" if c["test"] == "ks" else "<") if c["is_pvalue"] else "≥"
    method = c.get("correction")
    if c["is_pvalue"] and method in ("holm", "bonferroni") and c.get("adjusted_pvalue") is not None:
        name = "Holm" if method == "holm" else "Bonferroni"
        return (
            f"{c['test']} p-value {_num(c['score'])}, {name}-adjusted over {c['family_size']} columns "
            f"{_num(c['adjusted_pvalue'])} (drift if {op} {_num(c['threshold'])}; raw p-value "
            f"level {_num(c['effective_threshold'])})"
        )
    return f"{c['test']} {what} {_num(c['score'])} (drift if {op} {_num(c['threshold'])})"


def _extras(c: dict[str, Any]) -> str:
    extra = []
    if c["psi"] is not None:
        extra.append(f"PSI {_num(c['psi'])}")
    if c["jensenshannon"] is not None:
        extra.append(f"Jensen-Shannon {_num(c['jensenshannon'])}")
    return " · ".join(extra)


def svg_bars(
    labels: list[str],
    reference: list[float],
    current: list[float],
    *,
    width: int = 520,
    axis: list[str] | None = None,
) -> Markup:
    """Paired bars (reference, current) per label as an inline SVG; labels are escaped.

    ``axis`` are shorter tick labels (e.g. a bin's lower edge); the full label stays in the tooltip.
    Returned as :class:`markupsafe.Markup` (safe: every label in it went through ``escape``).
    """
    n = len(labels)
    if n == 0:
        return Markup('<p class="muted">no distribution to draw</p>')
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
                f"<title>{escape(lab)} — {who} {v:.1%}</title></rect>"
            )
        if show_labels:
            tick = ticks[i]
            limit = max(int(slot / 6), 4)  # ~6 px per character at font-size 10
            short = tick if len(tick) <= limit else tick[: limit - 1] + "…"
            parts.append(
                f'<text x="{5 + (i + 0.5) * slot:.1f}" y="{height - pad_b + 14}" font-size="10" '
                f'text-anchor="middle" fill="#5b6675">{escape(short)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated label is escaped above


def _chart(c: dict[str, Any]) -> Markup:
    dist = c["distribution"]
    labels = dist["labels"]
    axis = None
    if labels and labels[0].startswith("< ") and labels[-1].startswith("> "):
        # Quantile bins: tick = the bin's lower edge; the range is in each bar's tooltip.
        axis = [lab.split(" – ")[0] for lab in labels]
    return svg_bars(labels, dist["reference"], dist["current"], axis=axis)


_ENV = environment(num=_num, score_text=_score_text, extras=_extras, chart=_chart)


def _cards(view: dict[str, Any]) -> list[dict[str, str]]:
    s, mv = view["summary"], view["multivariate"]
    n_drift, n_feat = s["features_drifted"], s["features_evaluated"]
    errors, warnings = s["quality_errors"], s["quality_warnings"]
    mv_run = mv is not None and mv["auc"] is not None

    def card(label: str, value: str, cls: str = "") -> dict[str, str]:
        return {"label": label, "value": value, "cls": cls}

    return [
        card(
            "dataset drift",
            "yes" if s["dataset_drift"] else "no",
            "bad" if s["dataset_drift"] else "ok",
        ),
        card(
            f"features drifted (threshold {s['dataset_drift_share']:.0%})",
            f"{n_drift}/{n_feat} ({s['drift_share']:.0%})",
            "bad" if s["dataset_drift"] else ("warn" if n_drift else "ok"),
        ),
        card(
            "prediction drift (max JS distance)",
            ("yes" if s["prediction_drift"] else "no") + f" · {_num(s['prediction_drift_score'], 3)}",
            "bad" if s["prediction_drift"] else "ok",
        ),
        card(
            f"multivariate AUC (threshold {mv['threshold']:g})" if mv else "multivariate",
            _num(mv["auc"], 3) if mv_run else "not run",
            ("bad" if mv["drifted"] else "ok") if mv_run else "",
        ),
        card(
            "quality violations (errors / warnings)",
            f"{errors} / {warnings}",
            "bad" if errors else ("warn" if warnings else "ok"),
        ),
        card("max PSI", _num(s["max_psi"], 3)),
        card("rows reference / current", f"{s['reference_rows']:,} / {s['current_rows']:,}"),
    ]


def render_html(view: dict[str, Any], *, title: str) -> str:
    """Render a report view as one self-contained HTML page.

    Parameters
    ----------
    view : dict
        The plain view of a monitoring report, ``MonitoringReport.to_view()`` (layout documented
        there): summary, multivariate, quality, features and predictions with their column
        summaries and distributions.
    title : str
        Page title (escaped like every other user-supplied string).

    Returns
    -------
    str
        The HTML document (no external URL, no script).
    """
    ranked = sorted(view["features"], key=lambda c: (-c["severity"], c["column"]))
    return _ENV.get_template("report.html").render(
        title=title,
        cards=_cards(view),
        drifted=[c for c in ranked if c["drifted"]],
        quality=view["quality"],
        mv=view["multivariate"],
        predictions=view["predictions"],
        features=ranked,
        open_sections=OPEN_SECTIONS,
        numeric_keys=_NUMERIC_KEYS,
        categorical_keys=_CATEGORICAL_KEYS,
        ref_color=_REF,
        cur_color=_CUR,
    )

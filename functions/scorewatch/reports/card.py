"""Model card as one self-contained HTML page (inline CSS, no scripts, every value escaped).

Rendered next to the drift reports so a colleague can audit a version months later: schema,
target, training data (URI, sha256, row counts), holdout metrics, the challenger-vs-champion
comparison with the gate's reasons, decision policy, calibration, params, library versions,
lineage (parent version, who/what promoted it) and approvals.
"""

from __future__ import annotations

import html
import json
from typing import Any

from scorewatch.core.cards import ModelCard

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1d2330;max-width:70rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.1rem;margin-top:1.8rem;border-bottom:1px solid #dde}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #dde;padding:.3rem .6rem;text-align:left;
vertical-align:top;font-size:.9rem}th{background:#f3f5f9}.ok{color:#17683a}.fail{color:#a4161a}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:.6rem;background:#e8ecf4;font-size:.85rem}
.champion{background:#d8f3dc}.rejected{background:#ffd6d6}.candidate{background:#fff3bf}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem;word-break:break-all}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _num(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return _e(value)


def _value(value: Any) -> str:
    if isinstance(value, dict | list | tuple):
        return _e(json.dumps(value, default=str))
    return _num(value)


def _rows(pairs: list[tuple[str, Any]], *, code: tuple[str, ...] = ()) -> str:
    body = []
    for key, value in pairs:
        shown = f"<code>{_e(value)}</code>" if key in code and value is not None else _num(value)
        body.append(f"<tr><th>{_e(key)}</th><td>{shown if value is not None else '&mdash;'}</td></tr>")
    return "<table>" + "".join(body) + "</table>"


def _dict_table(data: dict[str, Any] | None, *, headers: tuple[str, str] = ("name", "value")) -> str:
    if not data:
        return "<p>&mdash;</p>"
    rows = "".join(f"<tr><td>{_e(k)}</td><td>{_value(v)}</td></tr>" for k, v in sorted(data.items()))
    return f"<table><tr><th>{_e(headers[0])}</th><th>{_e(headers[1])}</th></tr>{rows}</table>"


def _comparison(card: ModelCard) -> str:
    c = card.comparison
    if c is None:
        return "<p>No challenger-vs-champion comparison recorded (not promoted by the retraining gate).</p>"
    verdict = '<span class="ok">passed</span>' if c.passed else '<span class="fail">failed</span>'
    head = _rows(
        [
            ("metric", c.metric),
            ("challenger", c.challenger),
            ("champion", c.champion),
            ("min_improvement", c.min_improvement),
            ("floor", c.floor),
        ]
    )
    reasons = "".join(f'<li class="{"fail" if r.endswith("fail") else "ok"}">{_e(r)}</li>' for r in c.reasons)
    guards = ""
    if c.guards:
        rows = "".join(
            f"<tr><td>{_e(name)}</td><td>{_num(g.get('challenger'))}</td><td>{_num(g.get('champion'))}</td>"
            f"<td>{_num(g.get('regression'))}</td><td>{_num(g.get('tolerance'))}</td></tr>"
            for name, g in sorted(c.guards.items())
        )
        guards = (
            "<table><tr><th>guard</th><th>challenger</th><th>champion</th><th>regression</th>"
            f"<th>tolerance</th></tr>{rows}</table>"
        )
    return f"<p>Gate {verdict}</p>{head}<ul>{reasons}</ul>{guards}"


def render_card_html(card: ModelCard) -> str:
    """Render a model card as a standalone HTML document.

    Parameters
    ----------
    card
        The version's card (``Registry.get``).

    Returns
    -------
    str
        ``<!doctype html>`` page with inline CSS, no external resources, no scripts; every value
        from the card is HTML-escaped.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> from scorewatch.core.cards import ArtifactRef
    >>> from scorewatch.core.schema import FeatureSchema, FeatureSpec
    >>> card = ModelCard(model_name="churn", version="000001", task="binary",
    ...     feature_schema=FeatureSchema(features=(FeatureSpec(name="<x>", type="numeric"),)),
    ...     artifact=ArtifactRef(key="k", sha256="0" * 64, size_bytes=1),
    ...     created_at=datetime(2026, 1, 1, tzinfo=UTC))
    >>> page = render_card_html(card)
    >>> "&lt;x&gt;" in page and "<x>" not in page
    True
    """
    title = f"Model card: {card.model_name} v{card.version}"
    schema_rows = "".join(
        f"<tr><td>{_e(f.name)}</td><td>{_e(f.type)}</td><td>{_e(f.nullable)}</td>"
        f"<td>{_e(', '.join(f.categories) if f.categories else '')}</td>"
        f"<td>{_num(f.min)}</td><td>{_num(f.max)}</td></tr>"
        for f in card.feature_schema.features
    )
    schema_table = (
        "<table><tr><th>feature</th><th>type</th><th>nullable</th><th>categories</th><th>min</th><th>max</th></tr>"
        f"{schema_rows}</table><p>Id columns: {_e(', '.join(card.feature_schema.id_columns) or '—')}</p>"
    )
    td = card.training_data
    overview = _rows(
        [
            ("model", card.model_name),
            ("version", card.version),
            ("status", card.status),
            ("task", card.task),
            ("target", card.target),
            ("classes", ", ".join(map(str, card.classes)) if card.classes else None),
            ("created at", card.created_at.isoformat()),
            ("parent version", card.parent_version),
            ("promoted at", card.promoted_at.isoformat() if card.promoted_at else None),
            ("promoted by", card.promoted_by),
            ("previous champion", getattr(card, "previous_champion", None)),
            ("approvals", ", ".join(card.approvals) if card.approvals else None),
            ("description", card.description),
        ],
        code=("promoted by",),
    )
    data = _rows(
        [
            ("training data", td.uri),
            ("data sha256", td.sha256),
            ("training rows", td.rows),
            ("holdout rows", td.holdout_rows),
            ("baseline profile", card.baseline.profile_key),
            ("baseline sample", card.baseline.sample_key),
            ("baseline rows", card.baseline.rows),
        ],
        code=("training data", "data sha256", "baseline profile", "baseline sample"),
    )
    artifact = _rows(
        [
            ("key", card.artifact.key),
            ("format", card.artifact.format),
            ("sha256", card.artifact.sha256),
            ("size (bytes)", card.artifact.size_bytes),
        ],
        code=("key", "sha256"),
    )
    status_class = card.status if card.status in ("champion", "rejected", "candidate") else ""
    sections = [
        f"<h1>{_e(title)}</h1><p><span class='badge {status_class}'>{_e(card.status)}</span></p>",
        "<h2>Overview</h2>" + overview,
        "<h2>Feature schema</h2>" + schema_table,
        "<h2>Training data and baseline</h2>" + data,
        "<h2>Holdout metrics</h2>" + _dict_table(card.metrics, headers=("metric", "value")),
        "<h2>Challenger vs champion</h2>" + _comparison(card),
        "<h2>Decision policy</h2>" + _dict_table(card.decision_policy, headers=("setting", "value")),
        "<h2>Calibration</h2>"
        + _dict_table(card.calibration, headers=("measure", "value"))
        + (
            f"<p>Isotonic calibrator with {len(card.calibrator.get('x', []))} knots is applied before "
            "performance estimation.</p>"
            if getattr(card, "calibrator", None)
            else ""
        ),
        "<h2>Parameters</h2>" + _dict_table(card.params, headers=("parameter", "value")),
        "<h2>Artifact</h2>" + artifact,
        "<h2>Library versions</h2>" + _dict_table(card.library_versions, headers=("library", "version")),
    ]
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width,initial-scale=1'><title>{_e(title)}</title>"
        f"<style>{_CSS}</style></head><body>{''.join(sections)}</body></html>"
    )

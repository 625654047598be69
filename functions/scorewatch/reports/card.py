"""Model card as one self-contained HTML page (inline CSS, no scripts, every value escaped).

Rendered next to the drift reports so a colleague can audit a version months later: schema,
target, training data (URI, sha256, row counts), holdout metrics, the challenger-vs-champion
comparison with the gate's reasons, decision policy, calibration, params, library versions,
lineage (parent version, who/what promoted it) and approvals. Rendered with the Jinja2 template
``templates/card.html`` (autoescape on).
"""

from __future__ import annotations

import json
from typing import Any

from scorewatch.core.cards import ModelCard
from scorewatch.reports._jinja import environment


def _num(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _value(value: Any) -> str:
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=str)
    return _num(value)


def _blank_none(value: Any) -> Any:
    return "" if value is None else value


# None renders as "" (not "None") everywhere, as the hand-built page did.
_ENV = environment(finalize=_blank_none, num=_num, value=_value)


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
    td = card.training_data
    overview = [
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
    ]
    data = [
        ("training data", td.uri),
        ("data sha256", td.sha256),
        ("training rows", td.rows),
        ("holdout rows", td.holdout_rows),
        ("baseline profile", card.baseline.profile_key),
        ("baseline sample", card.baseline.sample_key),
        ("baseline rows", card.baseline.rows),
    ]
    artifact = [
        ("key", card.artifact.key),
        ("format", card.artifact.format),
        ("sha256", card.artifact.sha256),
        ("size (bytes)", card.artifact.size_bytes),
    ]
    calibrator = getattr(card, "calibrator", None)
    knots = None
    if calibrator:
        maps = calibrator.get("maps") or [calibrator]  # one map, or one per class (one-vs-rest)
        knots = sum(len(m.get("x", [])) for m in maps if m)
    estimation = getattr(card, "estimation", None) or {}
    check = [
        (metric, v.get("estimated"), v.get("realized"))
        for metric, v in sorted((estimation.get("check") or {}).items())
    ]
    return _ENV.get_template("card.html").render(
        title=title,
        card=card,
        status_class=card.status if card.status in ("champion", "rejected", "candidate") else "",
        overview=overview,
        data=data,
        artifact=artifact,
        calibrator_knots=knots,
        estimation_method=estimation.get("method"),
        estimation_check=check,
    )

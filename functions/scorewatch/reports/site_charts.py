"""The SVG charts of the static site: bars and lines over the batch axis, with scale labels.

Pure string building (no I/O). Every label and hover text is escaped with ``markupsafe.escape``
before it is interpolated; only numbers and fixed colours are placed unescaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from markupsafe import Markup, escape

_BAD, _OK, _GRID, _MARK = "#c0392b", "#7b9cc4", "#b0b8c2", "#6a4c93"


def _num(x: Any, digits: int = 3) -> str:
    if type(x) is float:  # the common case first (a heatmap formats two per cell)
        return f"{x:.{digits}g}" if math.isfinite(x) else "—"
    if x is None or (isinstance(x, float) and not math.isfinite(x)) or x is pd.NA:
        return "—"
    if isinstance(x, int) and not isinstance(x, bool):
        return f"{x:,}"
    return f"{float(x):.{digits}g}"


_LEFT = 46  # room for the y-axis scale labels


def _y_axis(lo: float, hi: float, *, width: int, top_y: float, bottom_y: float, fmt: Any) -> list[str]:
    """Three gridlines with their scale labels (low, middle, high) at the left of a chart."""
    parts = []
    for frac in (0.0, 0.5, 1.0):
        y = bottom_y - (bottom_y - top_y) * frac
        value = lo + (hi - lo) * frac
        parts.append(
            f'<line class="grid" x1="{_LEFT}" y1="{y:.1f}" x2="{width - 5}" y2="{y:.1f}" stroke="#e6e9ef"/>'
            f'<text class="ylabel" x="{_LEFT - 4}" y="{y + 3:.1f}" font-size="9" text-anchor="end" '
            f'fill="#5b6675">{escape(fmt(value))}</text>'
        )
    return parts


#: A marker: (batch index, label) or (batch index, label, hover text, kind); the kind (a fixed word,
#: ``reports.site_events.EVENT_KINDS``) becomes ``data-kind`` and picks the colour.
Marker = tuple[int, str] | tuple[int, str, str, str]
_KIND_COLOR = {"rejected": _BAD, "rejected_by_human": _BAD, "awaiting_approval": "#b7791f"}


def _markers(markers: Sequence[Marker], *, slot: float, top_y: float, bottom_y: float) -> list[str]:
    parts = []
    for m in markers:
        i, label = m[0], m[1]
        title, kind = (m[2], m[3]) if len(m) == 4 else (label, "")
        color = _KIND_COLOR.get(kind, _MARK)
        data = f' data-kind="{escape(kind)}"' if kind else ""
        x = _LEFT + i * slot
        parts.append(
            f'<line class="marker"{data} x1="{x:.1f}" y1="{top_y}" x2="{x:.1f}" y2="{bottom_y}" '
            f'stroke="{color}" stroke-dasharray="3,2"><title>{escape(title)}</title></line>'
            f'<text x="{x + 2:.1f}" y="{top_y + 9}" font-size="9" fill="{color}">{escape(label)}</text>'
        )
    return parts


def _axis_labels(axis: tuple[str, str], *, width: int, height: int) -> str:
    return (
        f'<text x="{_LEFT}" y="{height - 4}" font-size="10" fill="#5b6675">{escape(axis[0])}</text>'
        f'<text x="{width - 5}" y="{height - 4}" font-size="10" text-anchor="end" fill="#5b6675">'
        f"{escape(axis[1])}</text>"
    )


def bars(
    values: Sequence[float | None],
    tips: Sequence[str],
    *,
    bad: Sequence[bool] | None = None,
    top: float | None = None,
    markers: Sequence[Marker] = (),
    width: int = 900,
    height: int = 140,
    axis: tuple[str, str] = ("", ""),
    fmt: Any = None,
) -> Markup:
    """One bar per batch (oldest left) with its tooltip; ``markers`` are (index, label) vertical lines.

    The y axis runs from 0 to ``top`` (default: the largest value), labelled with ``fmt``.
    """
    n = len(values)
    if n == 0:
        return Markup('<p class="muted">nothing to draw</p>')
    pad_b, pad_t = 18, 6
    plot_h = height - pad_b - pad_t
    hi = top if top is not None else max([v for v in values if v is not None] + [1e-12])
    slot = (width - 5 - _LEFT) / n
    bar_w = max(slot * 0.8, 0.5)
    parts = [
        f'<svg class="chart" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        *_y_axis(0.0, hi, width=width, top_y=pad_t, bottom_y=height - pad_b, fmt=fmt or _num),
        f'<line x1="{_LEFT}" y1="{height - pad_b}" x2="{width - 5}" y2="{height - pad_b}" stroke="{_GRID}"/>',
    ]
    for i, (v, tip) in enumerate(zip(values, tips, strict=True)):
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            continue
        h = plot_h * min(max(v / hi if hi else 0.0, 0.0), 1.0)
        color = _BAD if bad is not None and bad[i] else _OK
        parts.append(
            f'<rect x="{_LEFT + i * slot:.1f}" y="{height - pad_b - h:.1f}" width="{bar_w:.1f}" '
            f'height="{max(h, 0.5):.1f}" fill="{color}"><title>{escape(tip)}</title></rect>'
        )
    parts += _markers(markers, slot=slot, top_y=pad_t, bottom_y=height - pad_b)
    parts.append(_axis_labels(axis, width=width, height=height) + "</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated label is escaped above


@dataclass(frozen=True)
class Series:
    """One line of :func:`lines`: a value per batch (None: a gap) and the hover text of each point."""

    name: str
    values: Sequence[float | None]
    tips: Sequence[str]
    color: str
    dashed: bool = False


def lines(
    series: Sequence[Series],
    *,
    floor: float | None = None,
    markers: Sequence[Marker] = (),
    width: int = 900,
    height: int = 170,
    axis: tuple[str, str] = ("", ""),
    fmt: Any = None,
) -> Markup:
    """Lines over the batch axis (gaps where a value is missing), a point per value with its tooltip,
    an optional horizontal ``floor`` line and the promotion ``markers``; y axis scaled to the data."""
    n = max((len(s.values) for s in series), default=0)
    known = [v for s in series for v in s.values if v is not None and math.isfinite(v)]
    if n == 0 or not known:
        return Markup('<p class="muted">nothing to draw</p>')
    pad_b, pad_t = 18, 8
    lo, hi = (
        min(known + ([floor] if floor is not None else [])),
        max(known + ([floor] if floor is not None else [])),
    )
    span = hi - lo
    lo, hi = (lo - 0.05 * span, hi + 0.05 * span) if span > 0 else (lo - 0.05, hi + 0.05)
    slot = (width - 5 - _LEFT) / n
    bottom = height - pad_b

    def xy(i: int, v: float) -> tuple[float, float]:
        return _LEFT + (i + 0.5) * slot, bottom - (bottom - pad_t) * (v - lo) / (hi - lo)

    parts = [
        f'<svg class="chart lines" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">',
        *_y_axis(lo, hi, width=width, top_y=pad_t, bottom_y=bottom, fmt=fmt or _num),
        f'<line x1="{_LEFT}" y1="{bottom}" x2="{width - 5}" y2="{bottom}" stroke="{_GRID}"/>',
    ]
    if floor is not None:
        _, y = xy(0, floor)
        parts.append(
            f'<line class="floor" x1="{_LEFT}" y1="{y:.1f}" x2="{width - 5}" y2="{y:.1f}" stroke="{_BAD}" '
            f'stroke-dasharray="6,3"><title>floor {escape(_num(floor))}</title></line>'
            f'<text x="{width - 7}" y="{y - 3:.1f}" font-size="9" text-anchor="end" fill="{_BAD}">'
            f"floor {escape(_num(floor))}</text>"
        )
    for s in series:
        run: list[str] = []
        segments: list[list[str]] = []
        for i, v in enumerate(s.values):
            if v is None or not math.isfinite(v):
                if run:
                    segments.append(run)
                run = []
                continue
            x, y = xy(i, v)
            run.append(f"{x:.1f},{y:.1f}")
        if run:
            segments.append(run)
        dash = ' stroke-dasharray="4,2"' if s.dashed else ""
        for seg in segments:
            parts.append(
                f'<polyline class="line" fill="none" stroke="{s.color}" stroke-width="1.5"{dash} '
                f'points="{" ".join(seg)}"/>'
            )
        for i, (v, tip) in enumerate(zip(s.values, s.tips, strict=True)):
            if v is None or not math.isfinite(v):
                continue
            x, y = xy(i, v)
            parts.append(
                f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="2.2" fill="{s.color}">'
                f"<title>{escape(tip)}</title></circle>"
            )
    parts += _markers(markers, slot=slot, top_y=pad_t, bottom_y=bottom)
    legend_x = _LEFT + 4
    for s in series:
        parts.append(
            f'<text x="{legend_x}" y="{pad_t + 9}" font-size="10" fill="{s.color}">{escape(s.name)}</text>'
        )
        legend_x += 8 + 6 * len(s.name)
    parts.append(_axis_labels(axis, width=width, height=height) + "</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated label is escaped above

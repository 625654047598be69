"""How often a model's schedules run, and so when its site row counts as stale.

A model is *stale* when nothing was scored or evaluated for longer than its schedules allow:
:func:`stale_after` is one and a half times the longest gap between two runs of the model's most
frequent schedule (scoring or monitoring). A model without a schedule, or whose expressions this
module cannot evaluate (EventBridge's ``L``, ``W`` and ``#``), falls back to the caller's default.

:func:`longest_gap` evaluates an EventBridge expression exactly instead of reading a rough
period off it: ``cron(0 6,18 * * ? *)`` runs every 12 hours, ``cron(0 9 ? * MON-FRI *)`` leaves a
gap of 3 days over the weekend, ``rate(15 minutes)`` is 15 minutes. Written here rather than
taken from a cron library: those parse Unix cron (5 fields, no ``?``, Sunday = 0), not
EventBridge's 6-field form, and only the gap is needed.

>>> longest_gap("rate(2 hours)")
datetime.timedelta(seconds=7200)
>>> longest_gap("cron(0 9 ? * MON-FRI *)")
datetime.timedelta(days=3)
>>> longest_gap("cron(0 6,18 * * ? *)")
datetime.timedelta(seconds=43200)
>>> longest_gap("cron(0 0 L * ? *)") is None
True
"""

from __future__ import annotations

import itertools
import re
from datetime import date, timedelta

from scorewatch.core.config import ModelConfig

STALE_FACTOR = 1.5  # one missed run is tolerated up to half a period late
_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_UNIT_MINUTES = {"minute": 1, "hour": 60, "day": 1440}
_MONTHS = {m: i for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), 1)}
_DAYS = {d: i for i, d in enumerate("SUN MON TUE WED THU FRI SAT".split(), 1)}  # EventBridge: SUN=1
_HORIZON_DAYS = 400  # long enough to see two runs of a yearly-by-month schedule's neighbours


def _value(text: str, names: dict[str, int] | None) -> int:
    return names[text.upper()] if names and text.upper() in names else int(text)


def _field(text: str, lo: int, hi: int, names: dict[str, int] | None = None) -> set[int] | None:
    """The values of one cron field within [lo, hi]; None for what is not evaluated here."""
    if text in ("*", "?"):
        return set(range(lo, hi + 1))
    out: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() else (None if step_text else 1)
        if step is None or step < 1:
            return None
        if base in ("*", "?"):
            start, end = lo, hi
        else:
            first, _, last = base.partition("-")
            try:
                start = _value(first, names)
                end = _value(last, names) if last else start
            except ValueError:
                return None  # L, W, # and anything else
            if step_text and not last:
                end = hi  # "5/10" means from 5 to the end in steps of 10
        if not (lo <= start <= hi and lo <= end <= hi) or start > end:
            return None
        out.update(range(start, end + 1, step))
    return out


def _cron_gap(expr: str) -> timedelta | None:
    fields = expr.split()
    if len(fields) != 6:
        return None
    minutes, hours = _field(fields[0], 0, 59), _field(fields[1], 0, 23)
    doms, months = _field(fields[2], 1, 31), _field(fields[3], 1, 12, _MONTHS)
    dows = _field(fields[4], 1, 7, _DAYS)
    if None in (minutes, hours, doms, months, dows) or fields[5] not in ("*", "?"):
        return None  # a year list is not a recurring cadence
    assert minutes and hours and doms is not None and months is not None and dows is not None
    times = sorted(h * 60 + m for h in hours for m in minutes)
    within = max((b - a for a, b in itertools.pairwise(times)), default=0)
    start = date(2027, 1, 1)
    every_dom, every_dow = fields[2] in ("*", "?"), fields[4] in ("*", "?")
    days = []
    for i in range(_HORIZON_DAYS):
        d = start + timedelta(days=i)
        dow = d.isoweekday() % 7 + 1  # Monday=1..Sunday=7 -> SUN=1..SAT=7
        # AWS: one of day-of-month and day-of-week must be '?', so at most one restricts.
        if d.month in months and (every_dom or d.day in doms) and (every_dow or dow in dows):
            days.append(i)
    if len(days) < 2:
        return None
    across = max((b - a) * 1440 + times[0] - times[-1] for a, b in itertools.pairwise(days))
    return timedelta(minutes=max(within, across))


def longest_gap(expr: str) -> timedelta | None:
    """The longest time between two runs of EventBridge schedule ``expr``; None when unknown."""
    expr = expr.strip()
    rate = _RATE.match(expr)
    if rate:
        n = int(rate.group(1))
        return timedelta(minutes=n * _UNIT_MINUTES[rate.group(2).rstrip("s")]) if n > 0 else None
    if expr.startswith("cron(") and expr.endswith(")"):
        return _cron_gap(expr[5:-1])
    return None


def stale_after(cfg: ModelConfig, default: timedelta) -> timedelta:
    """When ``cfg``'s model counts as stale: 1.5x its most frequent schedule's longest gap."""
    gaps = [
        g
        for expr in (cfg.schedules.scoring, cfg.schedules.monitoring)
        if expr
        for g in [longest_gap(expr)]
        if g is not None
    ]
    return min(gaps) * STALE_FACTOR if gaps else default

"""Per-model thresholds folded into one scale, so one alarm covers a whole fleet.

Each model has its own limits (``alarms.drift_share``, ``alarms.performance_floor`` ...). The
functions publish, beside each raw metric, a *breach* metric: the value measured against that
model's own limit, in the direction that is bad for it. A breach above 1 means the limit is
crossed; one CloudWatch Metrics Insights alarm per concern (``GROUP BY Model``, threshold 1)
then alarms each model on its own limit, whatever the fleet's size.

The scale is ``1 + (value - limit) / |limit|`` when higher is worse and
``1 + (limit - value) / |limit|`` when lower is worse: equal to ``value / limit`` for the usual
positive limits, monotone, and defined for zero or negative limits (an R² floor of 0) too.

>>> breach(0.6, 0.5, higher_is_worse=True)
1.2
>>> breach(0.65, 0.7, higher_is_worse=False) > 1
True
>>> breach(0.0, 0.0, higher_is_worse=True)
1.0
"""

from __future__ import annotations

import math
from typing import Final

#: The largest value published: CloudWatch refuses infinities, and anything this far over a
#: limit is simply "breached".
BREACH_CAP: Final = 1_000_000.0
_EPS: Final = 1e-9


def breach(value: float, limit: float, *, higher_is_worse: bool) -> float | None:
    """``value`` against ``limit`` on the fleet-wide scale (> 1: breached); ``None`` if not finite."""
    if not (math.isfinite(value) and math.isfinite(limit)):
        return None
    scale = max(abs(limit), _EPS)
    over = (value - limit) if higher_is_worse else (limit - value)
    return float(min(max(1.0 + over / scale, -BREACH_CAP), BREACH_CAP))

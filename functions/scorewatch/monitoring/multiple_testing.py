"""Family-wise error control of the per-column p-value tests of one comparison.

One batch tests every feature column at once; with ``m`` independent p-value tests at level
``alpha`` the chance that at least one same-distribution column crosses it is
``1 - (1 - alpha) ** m`` (40% at 10 columns, 0.05). The correction keeps that family-wise error
at or below ``alpha``:

- ``holm`` (Holm-Bonferroni, step-down): sort the ``m`` p-values ascending; the one of rank ``k``
  (1-based) is compared with ``alpha / (m - k + 1)``, and the first that is not below its level
  stops the procedure (it and every larger one are not rejected). The adjusted p-value is
  ``max over j <= k of min(1, (m - j + 1) * p_(j))``, so a column is rejected exactly when its
  adjusted p-value is at or below ``alpha``. Holds under any dependence between the columns, and
  rejects everything Bonferroni rejects.
- ``bonferroni``: every p-value compared with ``alpha / m``; adjusted ``min(1, m * p)``.
- ``none``: the raw p-values (each column tested at ``alpha`` alone).

Pure functions on floats: the caller decides which columns form the family.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Correction = Literal["holm", "bonferroni", "none"]
CORRECTIONS: tuple[Correction, ...] = ("holm", "bonferroni", "none")


@dataclass(frozen=True)
class Adjusted:
    """One p-value after the correction.

    ``pvalue`` is the adjusted p-value (compare it with ``alpha``); ``divisor`` is what ``alpha``
    is divided by to get the level the raw p-value was compared with (Holm: ``m - rank + 1``, for
    a run of tied p-values the first one's, as they pass or fail together; Bonferroni: ``m``;
    none: 1).
    """

    pvalue: float
    divisor: int


def adjust_pvalues(pvalues: Sequence[float], method: Correction) -> list[Adjusted]:
    """Adjusted p-values of one family, in the order given.

    A NaN p-value counts as 1 (no evidence); values are clipped to [0, 1].

    Parameters
    ----------
    pvalues : sequence of float
        The raw p-values of the family's tests.
    method : {"holm", "bonferroni", "none"}

    Returns
    -------
    list of Adjusted
        One per input, same order.

    Raises
    ------
    ValueError
        Unknown ``method``.

    Examples
    --------
    >>> [round(a.pvalue, 6) for a in adjust_pvalues([0.01, 0.04, 0.03, 0.005], "holm")]
    [0.03, 0.06, 0.06, 0.02]
    >>> [a.divisor for a in adjust_pvalues([0.01, 0.04, 0.03, 0.005], "holm")]
    [3, 1, 2, 4]
    """
    if method not in CORRECTIONS:
        raise ValueError(f"unknown multiple-testing correction {method!r}; known: {list(CORRECTIONS)}")
    ps = [1.0 if math.isnan(p) else min(max(float(p), 0.0), 1.0) for p in pvalues]
    m = len(ps)
    if method == "none":
        return [Adjusted(p, 1) for p in ps]
    if method == "bonferroni":
        return [Adjusted(min(1.0, m * p), m) for p in ps]
    order = sorted(range(m), key=lambda i: ps[i])
    out: list[Adjusted | None] = [None] * m
    running, divisor, previous = 0.0, m, -1.0
    for rank, i in enumerate(order):
        if ps[i] != previous:  # tied p-values pass or fail together, at the first one's level
            divisor, previous = m - rank, ps[i]
        running = max(running, min(1.0, (m - rank) * ps[i]))
        out[i] = Adjusted(running, divisor)
    return [a for a in out if a is not None]

"""The promotion gate: does the challenger earn the champion's place?

Pure. Three rules, each direction-aware (``performance.higher_is_better``):

1. the challenger beats the champion on the gate metric by at least ``min_improvement``
   (skipped when there is no champion yet);
2. the challenger reaches the absolute ``floor`` (for an error metric such as RMSE the floor is a
   ceiling: the challenger's error must not exceed it);
3. no guard metric regresses by more than its tolerance (``guards: {metric: max_regression}``;
   regression is measured in the metric's own direction, so +0.02 on log loss or -0.02 on
   accuracy are both a regression of 0.02).

A metric that could not be computed (``None``) fails the rule that needs it. The result is a
``cards.Comparison`` whose ``reasons`` state every rule with its numbers, passed or not.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from scorewatch.core.cards import Comparison
from scorewatch.monitoring.performance import higher_is_better, regression_of


def _num(v: float | None) -> float | None:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _fmt(v: float | None) -> str:
    return "undefined" if v is None else f"{v:.6g}"


def evaluate_gate(
    *,
    metric: str,
    challenger: Mapping[str, float | None],
    champion: Mapping[str, float | None] | None,
    min_improvement: float = 0.0,
    floor: float | None = None,
    guards: Mapping[str, float] | None = None,
) -> Comparison:
    """Decide promotion from holdout metrics of the challenger and (if any) the champion.

    Parameters
    ----------
    metric
        The gate metric (``roc_auc``, ``f1_macro``, ``rmse``, ...).
    challenger, champion
        Holdout metrics by name; ``champion`` is ``None`` for a model's first version.
    min_improvement
        Required margin over the champion, in the metric's direction (>= 0 recommended).
    floor
        Absolute bound the challenger must reach (a minimum, or a maximum for error metrics).
    guards
        ``{metric: max_regression}`` checked challenger vs champion.

    Returns
    -------
    cards.Comparison
        ``passed`` and one reason per rule.

    Examples
    --------
    >>> c = evaluate_gate(metric="roc_auc", challenger={"roc_auc": 0.81}, champion={"roc_auc": 0.80},
    ...                   min_improvement=0.005)
    >>> c.passed, c.reasons[0]
    (True, 'roc_auc: challenger 0.81 vs champion 0.8 + min_improvement 0.005 (higher is better): ok')
    """
    guards = dict(guards or {})
    up = higher_is_better(metric)
    direction = "higher is better" if up else "lower is better"
    chal = _num(challenger.get(metric))
    champ = _num(champion.get(metric)) if champion is not None else None
    reasons: list[str] = []
    passed = True

    if chal is None:
        passed = False
        reasons.append(f"{metric}: challenger value undefined on the holdout: fail")
    elif champion is None:
        reasons.append(f"{metric}: no champion to compare with ({direction}): ok")
    elif champ is None:
        reasons.append(f"{metric}: champion value undefined on the holdout; challenger {_fmt(chal)}: ok")
    else:
        sign = "+" if up else "-"
        target = champ + min_improvement if up else champ - min_improvement
        ok = chal >= target if up else chal <= target
        passed &= ok
        reasons.append(
            f"{metric}: challenger {_fmt(chal)} vs champion {_fmt(champ)} {sign} min_improvement "
            f"{min_improvement:g} ({direction}): {'ok' if ok else 'fail'}"
        )

    if floor is not None:
        if chal is None:
            ok = False
        else:
            ok = chal >= floor if up else chal <= floor
        passed &= ok
        bound = "floor" if up else "ceiling"
        reasons.append(f"{metric}: challenger {_fmt(chal)} vs {bound} {floor:g}: {'ok' if ok else 'fail'}")

    guard_rows: dict[str, dict[str, float | None]] = {}
    for name, tolerance in sorted(guards.items()):
        g_chal = _num(challenger.get(name))
        g_champ = _num(champion.get(name)) if champion is not None else None
        row: dict[str, float | None] = {
            "challenger": g_chal,
            "champion": g_champ,
            "tolerance": float(tolerance),
            "regression": None,
        }
        if champion is None:
            reasons.append(f"guard {name}: no champion to compare with: ok")
        elif g_chal is None:
            passed = False
            reasons.append(f"guard {name}: challenger value undefined: fail")
        elif g_champ is None:
            reasons.append(f"guard {name}: champion value undefined; challenger {_fmt(g_chal)}: ok")
        else:
            reg = regression_of(name, g_chal, g_champ)
            row["regression"] = reg
            ok = reg <= tolerance + 1e-12
            passed &= ok
            reasons.append(
                f"guard {name}: challenger {_fmt(g_chal)} vs champion {_fmt(g_champ)}, regression "
                f"{_fmt(reg)} (tolerance {tolerance:g}): {'ok' if ok else 'fail'}"
            )
        guard_rows[name] = row

    return Comparison(
        metric=metric,
        challenger=chal,
        champion=champ,
        min_improvement=float(min_improvement),
        floor=floor,
        guards=guard_rows,
        passed=bool(passed),
        reasons=tuple(reasons),
    )

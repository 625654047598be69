"""Decision policies: turn positive-class scores into actions (the scored output's ``decision``).

Three kinds (``config.DecisionPolicy.kind``):

- ``fixed``: act when ``score >= threshold``.
- ``top_k``: act on the ``k`` highest-scored rows of each call (or ``ceil(budget_fraction * rows)``;
  with both set, the smaller). Scoring applies it to the whole batch (:class:`BatchDecider`), so
  ``k`` is a budget over the scored object, whatever ``chunk_rows`` is (per part for a large
  file split into parts).
- ``expected_value``: act when acting is worth more than not acting. ``CostMatrix`` holds the
  *value* of each outcome (benefits positive, costs negative): a calibrated probability ``p`` makes
  acting worth ``p*tp + (1-p)*fp`` and not acting ``p*fn + (1-p)*tn``, so the closed-form
  threshold is ``t* = (tn - fp) / ((tp - fn) + (tn - fp))``. At each retraining the threshold is
  re-optimised on the holdout (``optimise_threshold``) and stored in the card's policy.

Binary classifiers only: the score is the positive class's probability. Pure, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scorewatch.core.config import CostMatrix, DecisionPolicy
from scorewatch.monitoring.performance import SCORE_PREFIX

DECISION_COLUMN = "decision"


@dataclass(frozen=True)
class ThresholdChoice:
    """A threshold and the value it achieves: ``value`` in total, ``value_per_row`` on average."""

    threshold: float
    value: float
    value_per_row: float
    rows: int
    acted: int


def closed_form_threshold(costs: CostMatrix) -> float:
    """The expected-value-optimal threshold for calibrated probabilities.

    Acting beats not acting when ``p * (tp - fn) > (1 - p) * (tn - fp)``. Returns 0.0 when acting
    is never worse and 1.0 when it is never better (then only ``p == 1`` acts).

    Examples
    --------
    >>> closed_form_threshold(CostMatrix(tp=100, fp=-10))
    0.09090909090909091
    >>> closed_form_threshold(CostMatrix(tp=1, fn=-1, fp=-1, tn=1))
    0.5
    """
    gain_pos = costs.tp - costs.fn
    gain_neg = costs.tn - costs.fp
    denom = gain_pos + gain_neg
    if denom <= 0:
        return 0.0 if gain_pos >= 0 and gain_neg <= 0 else 1.0
    return float(min(1.0, max(0.0, gain_neg / denom)))


def _arrays(
    y_true: Sequence[Any] | np.ndarray, scores: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=float)
    s = np.asarray(scores, dtype=float)
    if y.shape != s.shape:
        raise ValueError(f"{y.size} labels for {s.size} scores")
    if not (np.all(np.isfinite(s)) and np.all(np.isin(y, (0.0, 1.0)))):
        raise ValueError("labels must be 0/1 and scores finite")
    return y, s


def realized_value(
    y_true: Sequence[int] | np.ndarray, act: Sequence[bool] | np.ndarray, costs: CostMatrix
) -> float:
    """Total value of the actions given the true outcomes.

    >>> realized_value([1, 0, 1], [True, True, False], CostMatrix(tp=10, fp=-1, fn=-5))
    4.0
    """
    y = np.asarray(y_true, dtype=bool)
    a = np.asarray(act, dtype=bool)
    tp = int((a & y).sum())
    fp = int((a & ~y).sum())
    fn = int((~a & y).sum())
    tn = int((~a & ~y).sum())
    return float(costs.tp * tp + costs.fp * fp + costs.fn * fn + costs.tn * tn)


def optimise_threshold(
    y_true: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray, costs: CostMatrix
) -> ThresholdChoice:
    """The threshold maximising realized value on labeled data (the retraining holdout).

    Every distinct score is a candidate (act on rows scoring at least it), plus "act on none".
    Ties in value go to the higher threshold (fewer actions).

    Parameters
    ----------
    y_true
        0/1 outcomes.
    scores
        Positive-class scores, same length.
    costs
        Value of each outcome.

    Returns
    -------
    ThresholdChoice

    Raises
    ------
    ValueError
        No rows, mismatched lengths, labels not 0/1 or scores not finite.

    Examples
    --------
    >>> c = optimise_threshold([1, 0, 1, 0], [0.9, 0.6, 0.3, 0.1], CostMatrix(tp=10, fp=-1))
    >>> (c.threshold, c.value)
    (0.3, 19.0)
    """
    y, s = _arrays(y_true, scores)
    n = y.size
    if n == 0:
        raise ValueError("cannot optimise a threshold on zero rows")
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], y[order]
    pos_total = y.sum()
    neg_total = n - pos_total
    tp = np.cumsum(y_sorted)
    fp = np.cumsum(1 - y_sorted)
    # only group boundaries are valid cut points: equal scores are acted on together
    ends = np.r_[np.flatnonzero(np.diff(s_sorted)), n - 1]
    values = (
        costs.tp * tp[ends]
        + costs.fp * fp[ends]
        + costs.fn * (pos_total - tp[ends])
        + costs.tn * (neg_total - fp[ends])
    )
    none_value = costs.fn * pos_total + costs.tn * neg_total
    best = int(np.argmax(values))
    top = float(s_sorted[0])
    # "act on none" needs a threshold above every score; a score of 1.0 leaves no such threshold,
    # so then the best real cut point wins even when none would have been worth more.
    if values[best] <= none_value and top < 1.0:
        threshold = math.nextafter(top, math.inf)
        acted = int((s >= threshold).sum())
        value = realized_value(y, s >= threshold, costs)
        return ThresholdChoice(threshold, value, value / n, int(n), acted)
    threshold = float(s_sorted[ends[best]])
    value = float(values[best])
    return ThresholdChoice(threshold, value, value / n, int(n), int(ends[best] + 1))


def expected_value(
    scores: Sequence[float] | np.ndarray, act: Sequence[bool] | np.ndarray, costs: CostMatrix
) -> float:
    """Value the actions are expected to earn if the scores are calibrated probabilities (no labels).

    >>> expected_value([0.5], [True], CostMatrix(tp=10, fp=-2))
    4.0
    """
    p = np.asarray(scores, dtype=float)
    a = np.asarray(act, dtype=bool)
    acted = p[a] * costs.tp + (1 - p[a]) * costs.fp
    idle = p[~a] * costs.fn + (1 - p[~a]) * costs.tn
    return float(acted.sum() + idle.sum())


def effective_threshold(policy: DecisionPolicy) -> float | None:
    """The threshold a ``fixed`` or ``expected_value`` policy applies (``None`` for ``top_k``)."""
    if policy.kind == "top_k":
        return None
    if policy.threshold is not None:
        return float(policy.threshold)
    assert policy.costs is not None  # guaranteed by DecisionPolicy's validator
    return closed_form_threshold(policy.costs)


def positive_scores(scores: pd.Series | pd.DataFrame, *, positive_class: Any = None) -> pd.Series:
    """The positive-class score from a Series, or from a scored-output frame's ``score_<class>``.

    Without ``positive_class`` the last score column is used (scikit-learn's positive class).

    Raises
    ------
    ValueError
        When the frame has no score column (or not the requested one).
    """
    if isinstance(scores, pd.Series):
        return scores.astype(float)
    if positive_class is not None:
        col = f"{SCORE_PREFIX}{positive_class}"
        if col not in scores.columns:
            raise ValueError(f"no score column {col!r} for positive class (columns: {list(scores.columns)})")
        return scores[col].astype(float)
    cols = [c for c in scores.columns if str(c).startswith(SCORE_PREFIX)]
    if not cols:
        raise ValueError(f"no score_<class> columns to decide on (columns: {list(scores.columns)})")
    return scores[cols[-1]].astype(float)


def decide(
    policy: DecisionPolicy, scores: pd.Series | pd.DataFrame, *, positive_class: Any = None
) -> pd.Series:
    """Apply a policy: one action per row (``policy.positive_action`` or ``negative_action``).

    Parameters
    ----------
    policy
        The model's decision policy.
    scores
        Positive-class scores, or a scored-output frame (``score_<class>`` columns).
    positive_class
        Which ``score_<class>`` column of a frame to use (default: the last).

    Returns
    -------
    pd.Series
        Named ``decision``, aligned with ``scores``' index. Rows with a missing score get the
        negative action.

    Examples
    --------
    >>> p = DecisionPolicy(kind="top_k", k=1)
    >>> decide(p, pd.Series([0.2, 0.9, 0.5])).tolist()
    ['none', 'act', 'none']
    """
    s = positive_scores(scores, positive_class=positive_class)
    values = s.to_numpy(dtype=float)
    valid = np.isfinite(values)
    act = np.zeros(len(values), dtype=bool)
    if policy.kind == "top_k":
        n_valid = int(valid.sum())
        limits = []
        if policy.k is not None:
            limits.append(policy.k)
        if policy.budget_fraction is not None:
            limits.append(math.ceil(policy.budget_fraction * n_valid))
        k = min(*limits, n_valid)
        ranked = np.argsort(np.where(valid, -values, np.inf), kind="stable")[:k]
        act[ranked] = True
    else:
        threshold = effective_threshold(policy)
        act = valid & (np.nan_to_num(values, nan=-np.inf) >= threshold)
    out = np.where(act, policy.positive_action, policy.negative_action)
    return pd.Series(out, index=s.index, name=DECISION_COLUMN, dtype=object)


@dataclass(frozen=True)
class BatchDecider:
    """A policy decided over a whole batch, not per chunk (``top_k``: the budget is the batch's).

    ``score_source`` keeps each chunk's positive-class scores (:meth:`scores`, 8 bytes a row) and
    calls :meth:`decide_all` once on all of them, then writes the decisions beside the rows.
    """

    policy: DecisionPolicy
    positive_class: Any = None

    whole_batch = True

    def scores(self, outputs: pd.DataFrame) -> np.ndarray:
        values: np.ndarray = positive_scores(outputs, positive_class=self.positive_class).to_numpy(
            dtype=float
        )
        return values

    def decide_all(self, scores: np.ndarray) -> np.ndarray:
        """One action per row of the batch, in row order.

        >>> BatchDecider(DecisionPolicy(kind="top_k", k=2)).decide_all(np.array([0.1, 0.9, 0.5])).tolist()
        ['none', 'act', 'act']
        """
        actions: np.ndarray = decide(self.policy, pd.Series(scores, dtype=float)).to_numpy()
        return actions

    def __call__(self, outputs: pd.DataFrame) -> pd.Series:
        """Per-call decisions (what a caller without batch support gets: the call's own top k)."""
        return decide(self.policy, outputs, positive_class=self.positive_class)


def make_decider(
    policy: DecisionPolicy, *, positive_class: Any = None
) -> Callable[[pd.DataFrame], pd.Series]:
    """A ``decide`` callable for ``scoring.score_source``.

    ``fixed`` and ``expected_value`` decide each row on its own score (per chunk); ``top_k`` gets a
    :class:`BatchDecider`, which ``score_source`` applies to the whole batch at once.
    """
    if policy.kind == "top_k":
        return BatchDecider(policy, positive_class=positive_class)

    def _decide(outputs: pd.DataFrame) -> pd.Series:
        return decide(policy, outputs, positive_class=positive_class)

    return _decide


def policy_from_card(decision_policy: Mapping[str, Any] | None) -> DecisionPolicy | None:
    """Rebuild the policy stored on a model card (``card.decision_policy``), if any."""
    if not decision_policy:
        return None
    return DecisionPolicy.model_validate(dict(decision_policy))


def optimise_policy(
    policy: DecisionPolicy, y_true: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray
) -> tuple[DecisionPolicy, dict[str, float]]:
    """Re-fit a policy on the holdout; returns the policy to store and numbers for the card.

    ``expected_value`` gets the holdout-optimal threshold; ``fixed`` and ``top_k`` keep their
    settings. The numbers are the holdout value at the policy's actions (``decision_value``,
    ``decision_value_per_row``) and the share of rows acted on (``decision_action_rate``).

    Examples
    --------
    >>> pol = DecisionPolicy(kind="expected_value", costs=CostMatrix(tp=10, fp=-1))
    >>> new, nums = optimise_policy(pol, [1, 0, 1, 0], [0.9, 0.6, 0.3, 0.1])
    >>> new.threshold, nums["decision_value"]
    (0.3, 19.0)
    """
    y, s = _arrays(y_true, scores)
    if policy.kind == "expected_value":
        assert policy.costs is not None
        choice = optimise_threshold(y, s, policy.costs)
        policy = policy.model_copy(update={"threshold": choice.threshold})
    act = decide(policy, pd.Series(s)).to_numpy() == policy.positive_action
    numbers = {"decision_action_rate": float(act.mean()) if act.size else 0.0}
    if policy.costs is not None:
        value = realized_value(y, act, policy.costs)
        numbers["decision_value"] = value
        numbers["decision_value_per_row"] = value / y.size if y.size else 0.0
        numbers["decision_expected_value"] = expected_value(s, act, policy.costs)
    return policy, numbers

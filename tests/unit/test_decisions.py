"""Decision policies: closed-form thresholds, holdout optimisation, top-k budgets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from scorewatch.core.config import CostMatrix, DecisionPolicy
from scorewatch.scoring import decisions as dec


@pytest.mark.parametrize(
    ("costs", "expected"),
    [
        (CostMatrix(tp=1, fp=-1, fn=-1, tn=1), 0.5),
        (CostMatrix(tp=100, fp=-10), 10 / 110),
        (CostMatrix(tp=5, fp=-5), 0.5),
        (CostMatrix(tp=1, fp=-9), 0.9),
        (CostMatrix(tp=0, fp=-1, fn=0, tn=0), 1.0),  # acting never pays
        (CostMatrix(tp=1, fp=0, fn=0, tn=0), 0.0),  # acting never costs
    ],
)
def test_closed_form_threshold_known_answers(costs: CostMatrix, expected: float) -> None:
    assert dec.closed_form_threshold(costs) == pytest.approx(expected)


def test_holdout_optimum_approaches_the_closed_form_on_calibrated_scores() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(size=20000)
    y = (rng.uniform(size=20000) < p).astype(int)
    costs = CostMatrix(tp=30, fp=-10)
    choice = dec.optimise_threshold(y, p, costs)
    assert choice.threshold == pytest.approx(dec.closed_form_threshold(costs), abs=0.03)
    # the holdout optimum is never worse than the closed-form threshold on the same data
    assert choice.value >= dec.realized_value(y, p >= 0.25, costs)


def test_optimise_threshold_known_answer_and_tie_groups() -> None:
    c = dec.optimise_threshold([1, 0, 1, 0], [0.9, 0.6, 0.3, 0.1], CostMatrix(tp=10, fp=-1))
    assert (c.threshold, c.value, c.acted) == (0.3, 19.0, 3)
    # equal scores are acted on together: the cut cannot split the 0.5 pair
    c = dec.optimise_threshold([1, 0, 1], [0.5, 0.5, 0.2], CostMatrix(tp=1, fp=-3))
    assert c.acted == 0 and c.threshold > 0.5 and c.value == 0.0


def test_optimise_threshold_refuses_bad_labels() -> None:
    with pytest.raises(ValueError, match="0/1"):
        dec.optimise_threshold([2, 0], [0.1, 0.2], CostMatrix(tp=1))
    with pytest.raises(ValueError, match="labels for"):
        dec.optimise_threshold([1], [0.1, 0.2], CostMatrix(tp=1))


def test_fixed_policy_acts_at_or_above_threshold_and_not_on_missing_scores() -> None:
    pol = DecisionPolicy(kind="fixed", threshold=0.5, positive_action="call", negative_action="skip")
    out = dec.decide(pol, pd.Series([0.5, 0.49, np.nan, 0.9], index=[10, 11, 12, 13]))
    assert out.tolist() == ["call", "skip", "skip", "call"]
    assert out.name == "decision" and out.index.tolist() == [10, 11, 12, 13]


def test_top_k_and_budget_take_the_smaller_and_pick_highest_scores() -> None:
    frame = pd.DataFrame({"prediction": [0] * 5, "score_0": [0.9, 0.8, 0.1, 0.3, 0.6]})
    frame["score_1"] = 1 - frame["score_0"]
    pol = DecisionPolicy(kind="top_k", k=3, budget_fraction=0.4)
    assert dec.decide(pol, frame).tolist() == ["none", "none", "act", "act", "none"]
    pol = DecisionPolicy(kind="top_k", k=10)
    assert (dec.decide(pol, frame) == "act").sum() == 5


def test_expected_value_policy_uses_stored_threshold_else_closed_form() -> None:
    pol = DecisionPolicy(kind="expected_value", costs=CostMatrix(tp=1, fp=-1, fn=-1, tn=1))
    assert dec.effective_threshold(pol) == 0.5
    tuned, numbers = dec.optimise_policy(pol, [1, 0, 1, 0], [0.9, 0.6, 0.3, 0.1])
    assert tuned.threshold == 0.9 and numbers["decision_value"] == 2.0
    assert dec.policy_from_card(tuned.model_dump()) == tuned
    assert dec.policy_from_card(None) is None


def test_expected_value_of_actions_known_answer() -> None:
    costs = CostMatrix(tp=10, fp=-2, fn=-1, tn=0)
    # acted 0.5 -> 5 - 1 = 4 ; idle 0.2 -> -0.2
    assert dec.expected_value([0.5, 0.2], [True, False], costs) == pytest.approx(3.8)


def test_decider_reads_the_named_positive_class_column() -> None:
    frame = pd.DataFrame({"score_no": [0.9, 0.2], "score_yes": [0.1, 0.8]})
    decider = dec.make_decider(DecisionPolicy(kind="fixed", threshold=0.5), positive_class="no")
    assert decider(frame).tolist() == ["act", "none"]
    with pytest.raises(ValueError, match="score_maybe"):
        dec.decide(DecisionPolicy(kind="fixed", threshold=0.5), frame, positive_class="maybe")


@settings(max_examples=50, deadline=None)
@example(rows=[(0, 1.0), (1, 0.0)], tp=1.0, fp=-1.0)  # "none" is best but a score of 1.0 makes it unreachable
@given(
    st.lists(st.tuples(st.integers(0, 1), st.floats(0, 1, allow_nan=False)), min_size=1, max_size=40),
    st.floats(-10, 10),
    st.floats(-10, 10),
)
def test_optimised_threshold_is_at_least_as_good_as_any_other(rows, tp, fp) -> None:
    y = np.array([r[0] for r in rows])
    s = np.array([r[1] for r in rows])
    costs = CostMatrix(tp=tp, fp=fp)
    choice = dec.optimise_threshold(y, s, costs)
    assert choice.value == pytest.approx(dec.realized_value(y, s >= choice.threshold, costs))
    for t in np.r_[s, 0.0, 1.0]:
        assert choice.value >= dec.realized_value(y, s >= t, costs) - 1e-9

"""The synthetic churn generator behind the demo: seeded, and each scenario drifts as described."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "examples" / "churn.py"
_spec = importlib.util.spec_from_file_location("churn_examples", _PATH)
churn = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(churn)


def test_same_seed_gives_the_same_frame_and_another_seed_does_not():
    a = churn.generate(500, scenario="drifted", seed=3)
    assert a.equals(churn.generate(500, scenario="drifted", seed=3))
    assert not a.equals(churn.generate(500, scenario="drifted", seed=4))


def test_reference_and_stable_share_a_population_with_a_plausible_churn_rate():
    ref = churn.generate(4000, scenario="reference", seed=0)
    stable = churn.generate(4000, scenario="stable", seed=0)
    assert list(ref.columns) == [churn.ID_COLUMN, *churn.FEATURES, churn.TARGET]
    assert 0.15 < ref[churn.TARGET].mean() < 0.35
    assert abs(ref["monthly_charges"].mean() - stable["monthly_charges"].mean()) < 2.0
    assert churn.NEW_CONTRACT not in set(ref["contract"]) | set(stable["contract"])
    assert ref.notna().all().all()


def test_drifted_batch_has_price_increase_new_contract_and_missing_value_spike():
    ref = churn.generate(4000, scenario="reference", seed=0)
    drifted = churn.generate(4000, scenario="drifted", seed=0)
    assert drifted["monthly_charges"].mean() > 1.1 * ref["monthly_charges"].mean()
    assert 0.25 < (drifted["contract"] == churn.NEW_CONTRACT).mean() < 0.45
    assert 0.1 < drifted["total_charges"].isna().mean() < 0.2
    assert 0.1 < drifted["tech_support"].isna().mean() < 0.2
    assert drifted[churn.TARGET].mean() > ref[churn.TARGET].mean()  # price sensitivity: more churn


def test_customer_ids_do_not_collide_across_scenarios_and_labels_are_keyed_by_id():
    ids = [set(churn.generate(300, scenario=s, seed=1)[churn.ID_COLUMN]) for s in churn.SCENARIOS]
    assert sum(len(i) for i in ids) == len(set().union(*ids)) == 300 * len(churn.SCENARIOS)
    later = churn.generate(300, scenario="later", seed=1)
    assert list(churn.labels_for(later).columns) == [churn.ID_COLUMN, churn.TARGET]
    with pytest.raises(ValueError, match="with_labels"):
        churn.labels_for(later.drop(columns=[churn.TARGET]))


def test_bad_arguments_are_rejected_by_name():
    with pytest.raises(ValueError, match="unknown scenario 'winter'"):
        churn.generate(10, scenario="winter")
    with pytest.raises(ValueError, match="rows must be positive"):
        churn.generate(0)


def test_write_scenarios_writes_inputs_without_labels_and_separate_label_files(tmp_path):
    paths = churn.write_scenarios(tmp_path, rows=50, seed=2)
    assert churn.TARGET in paths["reference"].read_text().splitlines()[0]
    assert churn.TARGET not in paths["drifted"].read_text().splitlines()[0]
    assert paths["drifted_labels"].read_text().splitlines()[0] == f"{churn.ID_COLUMN},{churn.TARGET}"

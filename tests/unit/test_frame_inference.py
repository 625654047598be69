"""The one schema inference (issue 14, defects 1, 2 and 4): blanks, identifiers, free text, reasons."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from scorewatch.api import compare, infer_schema
from scorewatch.cli import main
from scorewatch.monitoring.profiles import MISSING_TOKENS, numeric_values
from scorewatch.scoring.schema_inference import infer_column, infer_frame, looks_like_id_name
from scorewatch.scoring.validation import NULL_TOKENS


def _churn(n: int, seed: int) -> pd.DataFrame:
    """A telecom-churn-shaped table: text ids, totals with a few blank strings, a plan."""
    rng = np.random.default_rng(seed)
    total = rng.gamma(2.0, 1000.0, n).round(2).astype(str).astype(object)
    total[rng.choice(n, max(n // 600, 2), replace=False)] = " "
    return pd.DataFrame(
        {
            "customerID": [f"{i:04d}-{''.join(rng.choice(list('ABCDEFGH'), 5))}" for i in range(n)],
            "tenure": rng.integers(0, 72, n),
            "TotalCharges": total,
            "plan": rng.choice(["month", "year", "two-year"], n),
        }
    )


def test_missing_tokens_are_the_validation_coercion_rules():
    assert MISSING_TOKENS == NULL_TOKENS


def test_numbers_with_blank_strings_are_numeric_and_say_why():
    col = infer_column(pd.Series(["1.5", " ", "", "NA", "null", "NaN", "2"] * 5), "x")
    assert (col.type, col.role) == ("numeric", "feature")
    assert col.reason == "numeric: 10 of 10 non-blank values parse, 25 blank"


def test_one_unparsable_value_keeps_a_column_numeric():
    col = infer_column(pd.Series([str(v) for v in range(100)] + ["abc"]), "amount")
    assert col.type == "numeric"
    assert "1 do not parse (e.g. 'abc')" in col.reason


def test_mostly_text_stays_categorical():
    assert infer_column(pd.Series(["a", "b", "1"] * 10), "c").type == "categorical"


def test_blanks_are_missing_not_invalid_in_numeric_profiles():
    values, missing, invalid, infinite = numeric_values(pd.Series(["1", " ", " 2 ", "NA", "abc", None]))
    assert values.tolist() == [1.0, 2.0]
    assert (missing, invalid, infinite) == (3, 1, 0)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        *[("id", True), ("customerID", True), ("user_id", True), ("uuid", True), ("rownames", True)],
        *[("paid", False), ("idle", False), ("valid", False), ("monkey", False)],
    ],
)
def test_id_names(name, expected):
    assert looks_like_id_name(name) is expected


def test_identifiers_and_text_get_roles_with_reasons():
    rng = np.random.default_rng(0)
    n = 200
    words = np.array(["late", "delivery", "great", "service", "broken", "screen", "refund", "asked"])
    df = pd.DataFrame(
        {
            "row": np.arange(n),  # monotone integers
            "order_key": rng.permutation(n) % 150,  # named like an id, mostly distinct
            "token": [f"t{v}" for v in rng.permutation(n)],  # distinct on every row
            "comment": [" ".join(rng.choice(words, 8)) for _ in range(n)],
            "store_id": rng.choice(["s1", "s2", "s3"], n),  # named like an id, but 3 values: a feature
            "x": rng.normal(size=n),  # continuous floats are unique per row and still features
        }
    )
    inferred = infer_frame(df)
    roles = {c.name: c.role for c in inferred.columns}
    assert roles == {
        "row": "id",
        "order_key": "id",
        "token": "id",
        "comment": "text",
        "store_id": "feature",
        "x": "feature",
    }
    assert inferred.schema.names == ["store_id", "x"]
    assert set(inferred.schema.id_columns) == {"row", "order_key", "token"}
    reasons = {c.name: c.reason for c in inferred.excluded}
    assert "monotone" in reasons["row"] and "free text" in reasons["comment"]


def test_caller_named_ids_target_and_exclusions():
    df = _churn(300, 1).assign(churn=np.arange(300) % 2)
    inferred = infer_frame(df, id_columns=["tenure"], exclude=["plan"], target="churn")
    assert inferred.schema.names == ["TotalCharges"]
    assert {c.name: c.role for c in inferred.excluded} == {
        "customerID": "id",
        "tenure": "id",
        "plan": "excluded",
        "churn": "target",
    }


def test_api_compare_of_two_halves_does_not_flag_ids_or_blank_numerics():
    df = _churn(4000, 2)
    ref, cur = df.iloc[:2000], df.iloc[2000:].reset_index(drop=True)
    schema = infer_schema(ref)
    assert schema.of_type("numeric") == ["tenure", "TotalCharges"]
    report = compare(ref, cur)
    assert report.drifted_features == ()
    assert not [v for v in report.quality_violations if v.severity == "error"]


def test_drift_cli_excludes_ids_and_lists_them(tmp_path, capsys):
    df = _churn(4000, 3)
    df.iloc[:2000].to_csv(tmp_path / "ref.csv", index=False)
    df.iloc[2000:].to_csv(tmp_path / "cur.csv", index=False)
    out = tmp_path / "r.json"
    args = ["drift", "--reference", str(tmp_path / "ref.csv"), "--current", str(tmp_path / "cur.csv")]
    assert main([*args, "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert [c["name"] for c in doc["excluded_columns"]] == ["customerID"]
    assert {f["column"] for f in doc["features"]} == {"tenure", "TotalCharges", "plan"}
    assert "excluded customerID: " in capsys.readouterr().out
    # --exclude and --target leave columns out of feature drift
    assert main([*args, "--json", str(out), "--exclude", "plan", "--target", "tenure"]) == 0
    assert {f["column"] for f in json.loads(out.read_text())["features"]} == {"TotalCharges"}


def test_schema_infer_prints_a_schema_drift_accepts(tmp_path, capsys):
    _churn(500, 4).to_csv(tmp_path / "ref.csv", index=False)
    assert main(["schema", "infer", str(tmp_path / "ref.csv")]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["feature_schema"]["id_columns"] == ["customerID"]
    by_name = {c["name"]: c for c in doc["columns"]}
    assert by_name["TotalCharges"]["type"] == "numeric"
    assert by_name["TotalCharges"]["reason"].startswith("numeric: ")
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(doc))
    ref = str(tmp_path / "ref.csv")
    rc = main(["drift", "--reference", ref, "--current", ref, "--schema", str(schema), "--exclude", "plan"])
    assert rc == 0


def test_local_model_file_rejects_one_row_for_one_bad_value_not_the_file(tmp_path):
    skops_io = pytest.importorskip("skops.io")
    from sklearn.linear_model import LinearRegression

    from scorewatch.api import score_file

    rng = np.random.default_rng(5)
    X = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    est = LinearRegression().fit(X, X["a"] * 2 + X["b"])
    skops_io.dump(est, tmp_path / "m.skops")
    text = X.astype(str)
    text.loc[7, "b"] = "abc"  # one bad value
    text.loc[9, "b"] = " "  # a blank: missing, as the coercion rules say
    text.to_csv(tmp_path / "in.csv", index=False)
    result = score_file(str(tmp_path / "m.skops"), str(tmp_path / "in.csv"), str(tmp_path / "out") + "/")
    assert result.rows_in == 200
    # the bad value and the missing value are rejected rows (the model takes no missing values)
    assert (result.rows_rejected, result.rows_scored) == (2, 198)


def test_timestamp_text_is_datetime_and_left_out_of_drift() -> None:
    # nycflights13's weather.time_hour as exported to CSV: every batch covers a new period, so a
    # timestamp compared across batches is "drifted" by construction.
    stamps = pd.Series(pd.date_range("2013-01-01", periods=60, freq="h").strftime("%Y-%m-%dT%H:%M:%SZ"))
    col = infer_column(stamps, "time_hour")
    assert (col.type, col.role) == ("datetime", "excluded")
    assert "timestamp" in col.reason
    assert infer_column(pd.Series(["1/31/2013"] * 30 + ["2/1/2013"] * 30), "day").type == "datetime"
    assert infer_column(pd.Series(["basic", "pro", "1-2"] * 20), "plan").type == "categorical"


def _per_row_inference(series: pd.Series, name: str) -> tuple[str, str, str]:
    """The text branch of infer_column written row by row (its definition before it worked on
    distinct values): the factorized version must give the same type, role and reason."""
    from scorewatch.scoring import schema_inference as si

    text = series.astype("object").where(series.notna(), None)
    stripped = text.map(lambda v: v.strip() if isinstance(v, str) else v)
    blank = stripped.isna().to_numpy() | stripped.map(
        lambda v: isinstance(v, str) and v.lower() in MISSING_TOKENS
    ).to_numpy(dtype=bool)
    present = stripped[~blank]
    if present.empty:
        return "categorical", "feature", f"categorical: all {len(series)} values are missing"
    parsed = pd.to_numeric(present.astype(str), errors="coerce")
    ok = int(parsed.notna().sum())
    if ok and (len(present) - ok) <= si.UNPARSED_SHARE * len(present):
        reason = f"numeric: {ok} of {len(present)} non-blank values parse, {int(blank.sum())} blank"
        if ok < len(present):
            bad = present[parsed.isna().to_numpy()].iloc[0]
            reason += f", {len(present) - ok} do not parse (e.g. {str(bad)[:20]!r})"
        role, why = si._numeric_role(name, parsed)
        return "numeric", role, f"{reason}; {why}" if why else reason
    sample = present.iloc[: si.TIMESTAMP_SAMPLE].astype(str)
    stamps = int(sample.str.match(si._TIMESTAMP).sum())
    if stamps and (len(sample) - stamps) <= si.UNPARSED_SHARE * len(sample):
        return "datetime", "excluded", infer_column(series, name).reason  # wording only
    distinct = int(present.nunique())
    share = distinct / len(present)
    reason = f"categorical: {distinct} distinct of {len(present)} non-blank values"
    if len(present) >= si.MIN_ROWS_FOR_ROLE:
        mean_len = float(present.astype(str).str.len().mean())
        if mean_len >= si.TEXT_MIN_LENGTH and share >= si.NAMED_ID_SHARE:
            return "categorical", "text", infer_column(series, name).reason
        if share >= si.UNIQUE_SHARE:
            return "categorical", "id", f"{reason}; identifier ({share:.1%} distinct)"
        if looks_like_id_name(name) and share >= si.NAMED_ID_SHARE:
            return "categorical", "id", f"{reason}; identifier (named like one, {share:.0%} distinct)"
    return "categorical", "feature", reason


def _text_columns() -> list[tuple[str, pd.Series]]:
    from palmerpenguins import load_penguins

    rng = np.random.default_rng(3)
    penguins = load_penguins()
    cols = [(c, penguins[c]) for c in ("species", "island", "sex")]
    cols += [(f"{c}_text", penguins[c].astype(str)) for c in ("bill_length_mm", "year")]
    churn = _churn(600, 4)
    cols += [(c, churn[c]) for c in ("customerID", "TotalCharges", "plan")]
    messy = pd.Series([" a", "a", "a ", "NA", None, "", " null ", "b", "3", "x" * 40] * 7, dtype=object)
    cols += [("messy", messy), ("messy_str", messy.astype("str"))]
    cols += [("mostly_numbers", pd.Series(["1", "2", " 3", "abc"] + [str(i) for i in range(60)]))]
    cols += [("order_id", pd.Series([f"{i}" for i in rng.permutation(500)] + [" "]))]
    cols += [("stamps", pd.Series(["2026-01-02 10:00:00", "2026-01-03", " "] * 10))]
    cols += [("blank", pd.Series([None, " ", "n/a"] * 3, dtype=object))]
    cols += [("mixed_objects", pd.Series([1, "1", 2.5, " z ", None, "z"] * 5, dtype=object))]
    return cols


@pytest.mark.parametrize("name, series", _text_columns(), ids=[n for n, _ in _text_columns()])
def test_text_inference_on_distinct_values_matches_the_per_row_definition(name, series):
    col = infer_column(series, name)
    assert (col.type, col.role, col.reason) == _per_row_inference(series, name)

"""`scorewatch profile` and `scorewatch drift` on local files (exit codes gate pipelines)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from scorewatch.cli import EXIT_CONFIG_ERROR, EXIT_DRIFT, EXIT_OK, main


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    n = 1500
    ref = pd.DataFrame({"a": rng.normal(size=n), "b": rng.choice(list("xyz"), n), "score_1": rng.random(n)})
    same = ref.sample(frac=1.0, random_state=1).reset_index(drop=True)
    drifted = ref.assign(a=ref["a"] + 2)
    ref.to_csv(tmp_path / "ref.csv", index=False)
    same.to_parquet(tmp_path / "same.parquet")
    drifted.to_parquet(tmp_path / "drifted.parquet")
    return tmp_path


def test_profile_writes_a_profile_and_sample(files, capsys):
    rc = main(
        [
            "profile",
            "--input",
            str(files / "ref.csv"),
            "--output",
            str(files / "p.json"),
            "--sample",
            str(files / "s.parquet"),
        ]
    )
    assert rc == EXIT_OK
    doc = json.loads((files / "p.json").read_text())
    assert doc["format"] == "scorewatch.profile" and doc["rows"] == 1500
    kinds = {c["name"]: (c["kind"], c["role"]) for c in doc["columns"]}
    assert kinds == {
        "a": ("numeric", "feature"),
        "b": ("categorical", "feature"),
        "score_1": ("numeric", "prediction"),
    }
    assert len(pd.read_parquet(files / "s.parquet")) == 1500
    assert "1,500 rows" in capsys.readouterr().out


def test_drift_against_a_stored_baseline_exits_1_and_writes_reports(files):
    main(
        [
            "profile",
            "--input",
            str(files / "ref.csv"),
            "--output",
            str(files / "p.json"),
            "--sample",
            str(files / "s.parquet"),
        ]
    )
    rc = main(
        [
            "drift",
            "--baseline",
            str(files / "p.json"),
            "--reference-sample",
            str(files / "s.parquet"),
            "--current",
            str(files / "drifted.parquet"),
            "--json",
            str(files / "o.json"),
            "--html",
            str(files / "o.html"),
        ]
    )
    assert rc == EXIT_DRIFT
    report = json.loads((files / "o.json").read_text())
    assert report["summary"]["drifted_features"] == ["a"]
    assert (files / "o.html").read_text().startswith("<!doctype html>")


def test_drift_of_the_same_data_exits_0(files):
    rc = main(
        [
            "drift",
            "--reference",
            str(files / "ref.csv"),
            "--current",
            str(files / "same.parquet"),
            "--settings",
            str(_settings(files, {"multivariate": False})),
        ]
    )
    assert rc == EXIT_OK


def test_invalid_settings_exit_with_a_config_error(files, capsys):
    rc = main(
        [
            "drift",
            "--reference",
            str(files / "ref.csv"),
            "--current",
            str(files / "same.parquet"),
            "--settings",
            str(_settings(files, {"columns": {"a": {"test": "nope"}}})),
        ]
    )
    assert rc == EXIT_CONFIG_ERROR
    err = capsys.readouterr().err
    assert "invalid drift settings" in err and "columns.a.test" in err


def _settings(path, doc):
    p = path / "settings.json"
    p.write_text(json.dumps(doc))
    return p


def test_drift_corrects_the_per_column_pvalues_unless_told_not_to(tmp_path, capsys):
    # 30 same-distribution columns of 200 rows (KS each): uncorrected, three cross p <= 0.05 by
    # chance; Holm-Bonferroni (the default) flags none, with the raw p-values unchanged.
    rng = np.random.default_rng(12)
    sides = [pd.DataFrame({f"x{i}": rng.normal(size=200) for i in range(30)}) for _ in range(2)]
    sides[0].to_csv(tmp_path / "ref.csv", index=False)
    sides[1].to_csv(tmp_path / "cur.csv", index=False)
    settings = str(_settings(tmp_path, {"multivariate": False, "dataset_drift_share": 0.03}))  # any column
    base = ["drift", "--reference", str(tmp_path / "ref.csv"), "--current", str(tmp_path / "cur.csv")]
    base += ["--settings", settings]
    assert main([*base, "--json", str(tmp_path / "holm.json")]) == EXIT_OK
    assert main([*base, "--json", str(tmp_path / "none.json"), "--multiple-testing", "none"]) == EXIT_DRIFT
    holm, none = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("holm", "none"))
    assert none["summary"]["drifted_features"] == ["x19", "x21", "x27"]
    assert holm["summary"]["drifted_features"] == [] and holm["settings"]["multiple_testing"] == "holm"
    for h, n in zip(holm["features"], none["features"], strict=True):
        assert h["test"] == "ks" and h["pvalue"] == n["pvalue"] == n["adjusted_pvalue"]
        assert h["correction"] == "holm" and h["family_size"] == 30 and h["adjusted_pvalue"] > 0.05

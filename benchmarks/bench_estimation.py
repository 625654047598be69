"""Performance estimation without labels: scorewatch's CBPE/DLE against NannyML 0.13 on the same data.

Three synthetic tasks with a known covariate shift (P(y | x) fixed, the features move chunk by
chunk): a binary and a 3-class logistic model, and a linear regressor whose noise depends on a
feature and a category. Each tool fits its estimator on the same labeled reference (rows the
model was not trained on) and estimates every analysis chunk; the chunks' labels give the
realized value. NannyML runs in its own virtual environment in a subprocess (it is not a
scorewatch dependency): create it with

    python3 -m venv /work/nannyml-venv && /work/nannyml-venv/bin/pip install nannyml==0.13.1 statsmodels

(nannyml 0.13.1 imports statsmodels without declaring it). Without that interpreter only
scorewatch's side is reported. Results are quoted in docs/benchmarks.md.

Run: .venv/bin/python benchmarks/bench_estimation.py [--rows 5000] [--nannyml /work/nannyml-venv/bin/python]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression, LogisticRegression

from scorewatch.monitoring import estimation, performance
from scorewatch.monitoring.estimation import dle

SHIFTS = (0.0, 0.5, 1.0, 1.5, 2.0)
METRICS = {
    "binary": ("roc_auc", "f1", "accuracy"),
    "multiclass": ("roc_auc", "f1_macro", "accuracy"),
    "regression": ("mae", "rmse"),
}
# scorewatch metric name -> NannyML's
NML_NAME = {"f1_macro": "f1"}
# The stated agreement: classification metrics within 0.02 absolute, MAE/RMSE within 5 %.
TOLERANCE = {"binary": 0.02, "multiclass": 0.02, "regression": 0.05}
_W = np.array([[1.5, -1.0, 0.5, 0.0], [-1.0, 1.2, 0.0, 0.8], [0.3, 0.3, -1.5, 0.5]])

NANNYML_SCRIPT = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
# NannyML 0.13's DLE reshapes categorical columns' .values, which pandas 3's arrow-backed strings
# refuse: keep text as object columns in this process.
pd.set_option("future.infer_string", False)
import nannyml as nml
spec = json.loads(sys.argv[1])
ref = pd.read_parquet(spec["reference"]); ana = pd.read_parquet(spec["analysis"])
for c in spec.get("categorical", []):
    ref[c] = ref[c].astype(object); ana[c] = ana[c].astype(object)
task = spec["task"]
t0 = time.perf_counter()
if task == "regression":
    est = nml.DLE(feature_column_names=spec["features"], y_pred="prediction", y_true="y",
                  metrics=spec["metrics"], chunk_size=spec["chunk_size"], timestamp_column_name=None)
else:
    proba = {int(k): v for k, v in spec["proba"].items()} if task == "multiclass" else spec["proba"]["1"]
    est = nml.CBPE(y_pred_proba=proba, y_pred="prediction", y_true="y", metrics=spec["metrics"],
                   chunk_size=spec["chunk_size"],
                   problem_type="classification_" + task)
est.fit(ref)
t1 = time.perf_counter()
res = est.estimate(ana.drop(columns=["y"]))
t2 = time.perf_counter()
df = res.filter(period="analysis").to_df()
out = {m: [float(v) for v in df[(m, "value")].tolist()] for m in spec["metrics"]}
import nannyml as _n
print(json.dumps({"estimates": out, "fit_s": t1 - t0, "estimate_s": t2 - t1, "version": _n.__version__}))
"""


def _classification(
    n: int, k: int, shift: float, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray]:
    X = rng.normal(size=(n, 4))
    X[:, 0] += shift
    if k == 2:
        y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(X @ _W[0])))).astype(int)
    else:
        z = X @ _W[:k].T
        P = np.exp(z - z.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        y = (rng.uniform(size=(n, 1)) > np.cumsum(P, axis=1)).sum(axis=1)
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(4)]), y


def _regression(n: int, shift: float, rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    # The shift moves rows towards the noisy category "c" and widens x0 (within the reference's range).
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=["x0", "x1", "x2"])
    share = 1 / 3 + shift * 0.25
    X["c"] = rng.choice(["a", "b", "c"], size=n, p=[(1 - share) / 2, (1 - share) / 2, share])
    scale = (0.3 + X["x2"].abs()) * np.where(X["c"] == "c", 2.0, 1.0)
    y = 2 * X["x0"] + X["x1"] ** 2 + rng.normal(size=n) * scale
    return X, y.to_numpy()


def _dataset(task: str, rows: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    if task == "regression":
        Xt, yt = _regression(rows, 0.0, rng)
        model = LinearRegression().fit(Xt[["x0", "x1", "x2"]], yt)
        make = lambda s: _regression(rows, s, rng)  # noqa: E731
        predict = lambda X: pd.DataFrame({"prediction": model.predict(X[["x0", "x1", "x2"]])})  # noqa: E731
        classes = None
    else:
        k = 2 if task == "binary" else 3
        Xt, yt = _classification(rows, k, 0.0, rng)
        model = LogisticRegression(max_iter=1000).fit(Xt, yt)
        make = lambda s: _classification(rows, k, s, rng)  # noqa: E731
        classes = [int(c) for c in model.classes_]

        def predict(X: pd.DataFrame) -> pd.DataFrame:
            P = model.predict_proba(X)
            out = pd.DataFrame({f"score_{c}": P[:, i] for i, c in enumerate(classes)})
            out["prediction"] = np.asarray(classes)[P.argmax(axis=1)]
            return out

    Xr, yr = make(0.0)
    chunks = [make(s) for s in SHIFTS]
    return {
        "classes": classes,
        "reference": (Xr, yr, predict(Xr)),
        "chunks": [(X, y, predict(X)) for X, y in chunks],
    }


def _scorewatch(task: str, data: dict[str, Any]) -> dict[str, Any]:
    Xr, yr, out_r = data["reference"]
    cat = ["c"] if task == "regression" else []
    t0 = time.perf_counter()
    fit = estimation.fit_reference(task, yr, out_r, features=Xr, classes=data["classes"], categorical=cat)
    t1 = time.perf_counter()
    assert fit is not None
    calibrator = fit.calibration.calibrator if fit.calibration else None
    estimates: dict[str, list[float]] = {m: [] for m in METRICS[task]}
    realized: dict[str, list[float]] = {m: [] for m in METRICS[task]}
    for X, y, out in data["chunks"]:
        frame = pd.concat([X, out], axis=1) if task == "regression" else out
        est = estimation.estimate_outputs(
            frame, task=task, classes=data["classes"], calibrator=calibrator, loss_models=fit.loss_models
        )
        real = performance.realized_performance(task, pd.Series(y), out, classes=data["classes"]).metrics
        for m in METRICS[task]:
            estimates[m].append(float(est.metrics[m]))
            realized[m].append(float(real[m]))
    t2 = time.perf_counter()
    cal = fit.calibration
    return {
        "estimates": estimates,
        "realized": realized,
        "fit_s": t1 - t0,
        "estimate_s": t2 - t1,
        "ece": None if cal is None else (cal.ece, cal.ece_calibrated, cal.calibrator is not None),
    }


def _nannyml(task: str, data: dict[str, Any], python: str, tmp: Path) -> dict[str, Any] | None:
    if not Path(python).exists():
        return None
    Xr, yr, out_r = data["reference"]
    ref = pd.concat([Xr, out_r], axis=1).assign(y=yr)
    ana = pd.concat(
        [pd.concat([X, out], axis=1).assign(y=y) for X, y, out in data["chunks"]], ignore_index=True
    )
    if task != "regression":
        for df in (ref, ana):
            df["prediction"] = df["prediction"].astype(int)
            df["y"] = df["y"].astype(int)
    ref.to_parquet(tmp / f"{task}-reference.parquet")
    ana.to_parquet(tmp / f"{task}-analysis.parquet")
    spec = {
        "task": task,
        "reference": str(tmp / f"{task}-reference.parquet"),
        "analysis": str(tmp / f"{task}-analysis.parquet"),
        "metrics": sorted({NML_NAME.get(m, m) for m in METRICS[task]}),
        "chunk_size": len(data["chunks"][0][0]),
        "features": list(Xr.columns),
        "categorical": ["c"] if task == "regression" else [],
        "proba": {str(c): f"score_{c}" for c in data["classes"] or []},
    }
    done = subprocess.run(
        [python, "-c", NANNYML_SCRIPT, json.dumps(spec)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        print(f"nannyml failed for {task}:\n{done.stderr[-2000:]}", file=sys.stderr)
        return None
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["estimates"] = {m: result["estimates"][NML_NAME.get(m, m)] for m in METRICS[task]}
    return result


def _lightgbm_dle(data: dict[str, Any]) -> dict[str, Any] | None:
    """scorewatch's DLE with LightGBM loss models instead of HistGradientBoosting (the choice's check)."""
    try:
        import lightgbm
    except ImportError:
        return None
    original = dle._trees
    dle._trees = lambda random_state: lightgbm.LGBMRegressor(random_state=random_state, verbose=-1)  # type: ignore[assignment]
    try:
        return _scorewatch("regression", data)
    finally:
        dle._trees = original  # type: ignore[assignment]


def _report(task: str, sw: dict[str, Any], nml: dict[str, Any] | None) -> float | None:
    """Print one task's table; return the largest |scorewatch - NannyML| (relative for regression)."""
    line = f"\n## {task}  (scorewatch fit {sw['fit_s']:.2f} s, estimate {sw['estimate_s']:.2f} s"
    if nml:
        line += f"; NannyML {nml['version']} fit {nml['fit_s']:.2f} s, estimate {nml['estimate_s']:.2f} s)"
    print(line if nml else line + "; NannyML not run)")
    if sw["ece"]:
        raw, calibrated, kept = sw["ece"]
        print(f"calibration: ECE on the check split {raw:.4f}, after isotonic {calibrated:.4f}, kept {kept}")
    print("| metric | shift | realized | scorewatch | NannyML | sw - NannyML | sw - realized |")
    print("|---|---|---|---|---|---|---|")
    worst = None
    for m, estimates in sw["estimates"].items():
        for i, shift in enumerate(SHIFTS):
            r, e = sw["realized"][m][i], estimates[i]
            n = nml["estimates"][m][i] if nml else float("nan")
            if nml:
                scale = abs(n) if task == "regression" else 1.0
                worst = max(worst or 0.0, abs(e - n) / scale)
            print(f"| {m} | {shift} | {r:.4f} | {e:.4f} | {n:.4f} | {e - n:+.4f} | {e - r:+.4f} |")
        sw_err = np.mean(np.abs(np.subtract(estimates, sw["realized"][m])))
        nml_err = (
            np.mean(np.abs(np.subtract(nml["estimates"][m], sw["realized"][m]))) if nml else float("nan")
        )
        print(f"{m}: mean |estimate - realized| scorewatch {sw_err:.4f}, NannyML {nml_err:.4f}")
    return worst


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5000, help="rows per reference and per chunk")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--nannyml", default="/work/nannyml-venv/bin/python")
    args = parser.parse_args()
    threads = os.environ.get("OMP_NUM_THREADS")
    print(f"rows per chunk {args.rows}, shifts {SHIFTS}, OMP_NUM_THREADS={threads}")
    worst: dict[str, float | None] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for task, metrics in METRICS.items():
            data = _dataset(task, args.rows, args.seed)
            sw = _scorewatch(task, data)
            worst[task] = _report(task, sw, _nannyml(task, data, args.nannyml, Path(tmp)))
            lgb = _lightgbm_dle(data) if task == "regression" else None
            if lgb:
                times = f"fit {lgb['fit_s']:.2f} s, estimate {lgb['estimate_s']:.2f} s"
                print(f"\nDLE with LightGBM loss models: {times}")
                for m in metrics:
                    err_h = np.mean(np.abs(np.subtract(sw["estimates"][m], sw["realized"][m])))
                    err_l = np.mean(np.abs(np.subtract(lgb["estimates"][m], lgb["realized"][m])))
                    print(f"  {m}: mean |estimate - realized| HistGradientBoosting {err_h:.4f}, ", end="")
                    print(f"LightGBM {err_l:.4f}")
    print("\nlargest difference from NannyML (absolute; relative for regression) against the tolerance:")
    for task, value in worst.items():
        if value is None:
            print(f"  {task}: NannyML not run")
        else:
            verdict = "within" if value <= TOLERANCE[task] else "OUTSIDE"
            print(f"  {task}: {value:.4f} ({verdict} {TOLERANCE[task]})")


if __name__ == "__main__":
    main()

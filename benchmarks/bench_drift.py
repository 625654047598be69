"""Drift benchmark: scorewatch vs Evidently 0.7.23's DataDriftPreset on the same data.

20 columns (15 numeric, 5 categorical), some shifted, at 10k / 100k / 1M rows. Every measurement
runs in a fresh subprocess so peak memory (VmHWM, benchmarks/_memory.py) belongs to that
measurement alone:

- ``ours``: ``scorewatch.api.compare(reference, current)`` in memory, multivariate off (Evidently's
  preset has no multivariate check), Evidently's default test choice;
- ``evidently``: ``Report([DataDriftPreset()]).run(current, reference)`` in its own venv
  (benchmarks/.evidently-venv, pandas 2.3: Evidently 0.7.23 does not import under pandas 3);
- ``baseline``: the Lambda path — a stored baseline profile + 50k-row reference sample, the current
  file streamed in 65,536-row chunks into a profile and sample, then ``evaluate`` with the domain
  classifier on. The raw reference data is never read.

Time is the wall time of the drift computation only (data already loaded; imports excluded);
``peak MiB`` is the process's peak RSS including the loaded data. Agreement compares, per
column, the test both chose and its value (|ours - evidently|).

Usage: ``make bench-drift`` or ``.venv/bin/python benchmarks/bench_drift.py [--sizes 10000,100000]``.
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

from _memory import current_mib, peak_mib

HERE = Path(__file__).resolve().parent
EVIDENTLY_PY = HERE / ".evidently-venv" / "bin" / "python"
NUMERIC = [f"num{i:02d}" for i in range(15)]
CATEGORICAL = [f"cat{i}" for i in range(5)]
EVIDENTLY_NAMES = {
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "z",
    "PSI": "psi",
}


def _peak_mib() -> float:
    return peak_mib()  # VmHWM of this process, not ru_maxrss (which inherits the driver's peak)


def make_data(n: int, seed: int, shifted: bool):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    cols = {}
    for i, name in enumerate(NUMERIC):
        shift = 0.25 * (i % 5 == 0) if shifted else 0.0  # num00, num05, num10 shift by 0.25 sd
        scale = 1.0 + (0.3 if shifted and i == 3 else 0.0)
        cols[name] = rng.normal(10 * i + shift, scale, n)
    for i, name in enumerate(CATEGORICAL):
        k = 3 + 4 * i
        p = np.ones(k) / k
        if shifted and i == 1:
            p = np.linspace(1, 2, k)
            p /= p.sum()
        cols[name] = rng.choice([f"v{j}" for j in range(k)], n, p=p)
    return pd.DataFrame(cols)


# ---------------------------------------------------------------------------------------------
# workers (each runs in its own process)


def worker_ours(ref_path: str, cur_path: str) -> dict:
    import pandas as pd

    from scorewatch.api import compare
    from scorewatch.core.config import DriftSettings

    ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
    t = time.perf_counter()
    report = compare(ref, cur, settings=DriftSettings(multivariate=False))
    seconds = time.perf_counter() - t
    cols = {
        f.column: {"test": f.result.test, "value": f.result.score, "drifted": f.drifted}
        for f in report.features
    }
    return {
        "seconds": seconds,
        "peak_mib": _peak_mib(),
        "columns": cols,
        "dataset_drift": report.dataset_drift,
    }


def worker_floor(ref_path: str, cur_path: str) -> dict:
    """The single-pass floor: sort each numeric column once per side, count each categorical once.

    The least any exact engine does for these tests (KS, Wasserstein and quantile bins need the
    sorted values; category tests need the counts); no schema inference, no statistics.
    """
    import numpy as np
    import pandas as pd

    ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
    t = time.perf_counter()
    for frame in (ref, cur):
        for name in NUMERIC:
            np.sort(frame[name].to_numpy(dtype=float))
        for name in CATEGORICAL:
            frame[name].value_counts(dropna=True, sort=False)
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "peak_mib": _peak_mib()}


def worker_evidently(ref_path: str, cur_path: str) -> dict:
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
    dd = DataDefinition(numerical_columns=NUMERIC, categorical_columns=CATEGORICAL)
    t = time.perf_counter()
    snap = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(cur, data_definition=dd), Dataset.from_pandas(ref, data_definition=dd)
    )
    metrics = snap.dict()["metrics"]
    seconds = time.perf_counter() - t
    cols, share = {}, None
    for m in metrics:
        cfg = m["config"]
        if cfg["type"].endswith("ValueDrift"):
            test = EVIDENTLY_NAMES.get(cfg["method"], cfg["method"])
            value, thr = float(m["value"]), float(cfg["threshold"])
            if test in ("ks",):
                drifted = value <= thr
            elif test in ("chisquare", "z"):
                drifted = value < thr
            else:
                drifted = value >= thr
            cols[cfg["column"]] = {"test": test, "value": value, "drifted": drifted}
        elif cfg["type"].endswith("DriftedColumnsCount"):
            share = m["value"]["share"]
    return {
        "seconds": seconds,
        "peak_mib": _peak_mib(),
        "columns": cols,
        "dataset_drift": (share or 0) >= 0.5,
    }


def worker_prepare_baseline(ref_path: str, out_dir: str) -> dict:
    """Registration time: build and store the baseline profile + reference sample (not timed)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from scorewatch.api import infer_schema
    from scorewatch.io import storage
    from scorewatch.monitoring.profiles import ProfileBuilder

    schema = None
    builder = None
    for batch in storage.open_batches(ref_path, chunk_rows=65_536):
        frame = batch.to_pandas()
        if builder is None:
            schema = infer_schema(frame)
            builder = ProfileBuilder(schema, sample_rows=50_000, random_state=0)
        builder.update(frame, None)
    profile, sample = builder.finish()
    Path(out_dir, "profile.json").write_text(json.dumps(profile.to_dict()))
    pq.write_table(pa.Table.from_pandas(sample, preserve_index=False), str(Path(out_dir, "sample.parquet")))
    return {"peak_mib": _peak_mib()}


def worker_baseline(out_dir: str, cur_path: str) -> dict:
    """Lambda path: stored baseline + sample, current streamed in chunks, evaluate with multivariate."""
    import pyarrow.parquet as pq

    from scorewatch.core.config import DriftSettings
    from scorewatch.core.schema import FeatureSchema, FeatureSpec
    from scorewatch.io import storage
    from scorewatch.monitoring.evaluation import evaluate
    from scorewatch.monitoring.profiles import Profile, ProfileBuilder

    start_rss = current_mib()
    t = time.perf_counter()
    reference = Profile.from_dict(json.loads(Path(out_dir, "profile.json").read_text()))
    ref_sample = pq.read_table(str(Path(out_dir, "sample.parquet"))).to_pandas()
    schema = FeatureSchema(features=tuple(FeatureSpec(name=c.name, type=c.kind) for c in reference.features))
    builder = ProfileBuilder(schema, edges_from=reference, sample_rows=50_000, random_state=1)
    for batch in storage.open_batches(cur_path, chunk_rows=65_536):
        builder.update(batch.to_pandas(), None)
    current, cur_sample = builder.finish()
    report = evaluate(
        reference, current, settings=DriftSettings(), reference_sample=ref_sample, current_sample=cur_sample
    )
    seconds = time.perf_counter() - t
    mv = report.multivariate
    return {
        "seconds": seconds,
        "peak_mib": _peak_mib(),
        "start_mib": start_rss,
        "drifted": list(report.drifted_features),
        "auc": mv.auc if mv else None,
    }


WORKERS = {
    "ours": worker_ours,
    "floor": worker_floor,
    "evidently": worker_evidently,
    "prepare": worker_prepare_baseline,
    "baseline": worker_baseline,
}


def _run(python: Path | str, worker: str, *args: str, functions: Path | None = None) -> dict:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    if functions is not None:  # another revision's package first on the path
        env["PYTHONPATH"] = os.pathsep.join([str(functions), env.get("PYTHONPATH", "")])
    out = subprocess.run(
        [str(python), __file__, "--worker", worker, *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{worker} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _best(python: Path | str, worker: str, repeats: int, *args: str) -> dict:
    runs = [_run(python, worker, *args) for _ in range(repeats)]
    best = min(runs, key=lambda r: r["seconds"])
    best["peak_mib"] = max(r["peak_mib"] for r in runs)
    return best


def agreement(ours: dict, ev: dict) -> tuple[int, int, float, int]:
    """(columns where both chose the same test, of those within 1e-6, max |diff|, verdict matches)."""
    same, close, worst, verdicts = 0, 0, 0.0, 0
    for col, e in ev["columns"].items():
        o = ours["columns"].get(col)
        if o is None:
            continue
        verdicts += o["drifted"] == e["drifted"]
        if o["test"] != e["test"] or o["value"] is None:
            continue
        same += 1
        diff = abs(o["value"] - e["value"])
        worst = max(worst, diff)
        close += diff <= 1e-6
    return same, close, worst, verdicts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    parser.add_argument("--no-evidently", action="store_true")
    parser.add_argument(
        "--before-rev",
        help="only time compare() of this tree against REV (git archive), interleaved, and print the ratio",
    )
    parser.add_argument("--repeat", type=int, default=3, help="rounds for --before-rev")
    ns = parser.parse_args()
    if ns.worker:
        print(json.dumps(WORKERS[ns.worker](*ns.args)))
        return 0
    if ns.before_rev:
        return before_after(ns.before_rev, [int(s) for s in ns.sizes.split(",")], ns.repeat)
    have_ev = EVIDENTLY_PY.exists() and not ns.no_evidently
    if not have_ev and not ns.no_evidently:
        print(f"note: {EVIDENTLY_PY} missing (make bench-drift creates it); Evidently columns skipped")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-drift-") as tmp:
        for n in [int(s) for s in ns.sizes.split(",")]:
            ref_path, cur_path = f"{tmp}/ref_{n}.parquet", f"{tmp}/cur_{n}.parquet"
            make_data(n, 1, shifted=False).to_parquet(ref_path, row_group_size=65_536)
            make_data(n, 2, shifted=True).to_parquet(cur_path, row_group_size=65_536)
            repeats = 3 if n <= 100_000 else 1
            ours = _best(sys.executable, "ours", repeats, ref_path, cur_path)
            ev = _best(EVIDENTLY_PY, "evidently", repeats, ref_path, cur_path) if have_ev else None
            base_dir = Path(tmp, f"base_{n}")
            base_dir.mkdir()
            _run(sys.executable, "prepare", ref_path, str(base_dir))
            base = _run(sys.executable, "baseline", str(base_dir), cur_path)
            row = {"rows": n, "ours": ours, "evidently": ev, "baseline": base}
            if ev:
                row["agreement"] = agreement(ours, ev)
            rows.append(row)
            print(_line(row), flush=True)
    print()
    print(_table(rows))
    return 0


def before_after(rev: str, sizes: list[int], repeat: int) -> int:
    """compare() of REV and of this tree and the single-pass floor on the same files, alternating
    runs (each in a fresh process); medians and the median of the per-round ratios."""
    import statistics

    root = HERE.parent
    with tempfile.TemporaryDirectory(prefix="bench-drift-") as tmp:
        archive = subprocess.run(
            ["git", "-C", str(root), "archive", rev, "functions"], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        trees = {"before": Path(tmp, "functions"), "after": root / "functions"}
        print(f"before={rev} repeat={repeat} cpus={os.cpu_count()} load_avg_1min={os.getloadavg()[0]:.1f}")
        print(
            "| rows | floor s | before s | after s | after/before | before/floor | after/floor "
            "| peak MiB before/after |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|---|")
        for n in sizes:
            ref_path, cur_path = f"{tmp}/ref_{n}.parquet", f"{tmp}/cur_{n}.parquet"
            make_data(n, 1, shifted=False).to_parquet(ref_path, row_group_size=65_536)
            make_data(n, 2, shifted=True).to_parquet(cur_path, row_group_size=65_536)
            runs: dict[str, list[dict]] = {"floor": [], "before": [], "after": []}
            for _ in range(repeat):  # interleaved: floor, before, after, floor, ...
                runs["floor"].append(_run(sys.executable, "floor", ref_path, cur_path))
                for label, tree in trees.items():
                    runs[label].append(_run(sys.executable, "ours", ref_path, cur_path, functions=tree))
            f, b, a = ([r["seconds"] for r in runs[k]] for k in ("floor", "before", "after"))

            def paired(x: list[float], y: list[float]) -> float:
                return statistics.median(p / q for p, q in zip(x, y, strict=True))

            peaks = "/".join(f"{max(r['peak_mib'] for r in runs[k]):.0f}" for k in ("before", "after"))
            mf, mb, ma = (statistics.median(v) for v in (f, b, a))
            print(
                f"| {n:,} | {mf:.3f} | {mb:.3f} | {ma:.3f} | {paired(a, b):.2f} | {paired(b, f):.2f} "
                f"| {paired(a, f):.2f} | {peaks} |",
                flush=True,
            )
            same = _same_values(runs["before"][0], runs["after"][0])
            print(f"  rows={n:,}: before and after values agree to {same:.1e} (max |diff| over columns)")
        print(f"load_avg_1min_at_end={os.getloadavg()[0]:.1f}")
    return 0


def _same_values(before: dict, after: dict) -> float:
    """Largest |after - before| of any column's deciding value (test names must match)."""
    worst = 0.0
    for col, b in before["columns"].items():
        a = after["columns"][col]
        if a["test"] != b["test"] or a["drifted"] != b["drifted"]:
            return float("inf")
        if a["value"] is not None and b["value"] is not None:
            worst = max(worst, abs(a["value"] - b["value"]))
    return worst


def _line(row: dict) -> str:
    o, e, b = row["ours"], row["evidently"], row["baseline"]
    msg = f"{row['rows']:>9,} rows: ours {o['seconds']:.3f}s {o['peak_mib']:.0f} MiB"
    if e:
        s, c, w, v = row["agreement"]
        msg += (
            f" | evidently {e['seconds']:.3f}s {e['peak_mib']:.0f} MiB | x{e['seconds'] / o['seconds']:.1f}"
            f" | same test {s}/20, within 1e-6 {c}/{s}, max diff {w:.2e}, verdicts {v}/20"
        )
    msg += f" | baseline path {b['seconds']:.2f}s {b['peak_mib']:.0f} MiB (AUC {b['auc']:.3f})"
    return msg


def _table(rows: list[dict]) -> str:
    head = (
        "| rows | scorewatch compare (s) | peak MiB | Evidently DataDriftPreset (s) | peak MiB "
        "| speed-up | same test / within 1e-6 / max abs diff | drift verdicts agree "
        "| stored-baseline path (s) | peak MiB |\n"
        "|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|"
    )
    lines = [head]
    for r in rows:
        o, e, b = r["ours"], r["evidently"], r["baseline"]
        if e:
            s, c, w, v = r["agreement"]
            ev = (
                f"{e['seconds']:.3f} | {e['peak_mib']:.0f} | {e['seconds'] / o['seconds']:.1f}x "
                f"| {s}/20 / {c}/{s} / {w:.1e} | {v}/20"
            )
        else:
            ev = "— | — | — | — | —"
        lines.append(
            f"| {r['rows']:,} | {o['seconds']:.3f} | {o['peak_mib']:.0f} | {ev} "
            f"| {b['seconds']:.2f} | {b['peak_mib']:.0f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

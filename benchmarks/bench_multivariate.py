"""Domain classifier on a 10k-row batch: this tree against another revision, interleaved.

The monitor function's multivariate check on the bench_drift data (15 numeric, 5 categorical
columns): a 10,000-row reference sample against a 10,000-row batch, the same distribution and a
shifted one. Each measurement runs in a fresh process (imports excluded from the time: scikit-learn
is imported and warmed on a tiny fit first); rounds alternate before/after.

Usage: ``.venv/bin/python benchmarks/bench_multivariate.py --before-rev REV [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_drift import CATEGORICAL, NUMERIC, make_data

HERE = Path(__file__).resolve().parent


def worker(rows: str) -> dict:
    from scorewatch.monitoring.multivariate import domain_classifier_drift

    n = int(rows)
    ref, same, shifted = make_data(n, 1, False), make_data(n, 3, False), make_data(n, 2, True)
    cols = [*NUMERIC, *CATEGORICAL]
    domain_classifier_drift(ref.head(200), same.head(200), columns=cols, categorical=CATEGORICAL)  # warm
    out = {}
    for label, cur in (("same", same), ("shifted", shifted)):
        t = time.perf_counter()
        res = domain_classifier_drift(ref, cur, columns=cols, categorical=CATEGORICAL)
        out[label] = {"seconds": time.perf_counter() - t, "auc": res.auc, "drifted": res.drifted}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before-rev", default="HEAD")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ns = parser.parse_args()
    if ns.worker:
        print(json.dumps(worker(str(ns.rows))))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-mv-") as tmp:
        archive = subprocess.run(
            ["git", "-C", str(HERE.parent), "archive", ns.before_rev, "functions"],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        trees = {"before": Path(tmp, "functions"), "after": HERE.parent / "functions"}
        runs: dict[str, list[dict]] = {k: [] for k in trees}
        print(
            f"before={ns.before_rev} rows={ns.rows:,} repeat={ns.repeat}",
            f"load_avg_1min={os.getloadavg()[0]:.1f}",
        )
        for _ in range(ns.repeat):
            for label, tree in trees.items():
                env = {
                    **os.environ,
                    "PYTHONPATH": os.pathsep.join([str(tree), os.environ.get("PYTHONPATH", "")]),
                }
                cmd = [sys.executable, __file__, "--worker", "--rows", str(ns.rows)]
                out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
                runs[label].append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(
            "| batch | before s | after s | after/before (median of paired) | AUC before / after | drifted |"
        )
        print("|---|---:|---:|---:|---|---|")
        for case in ("same", "shifted"):
            b = [r[case]["seconds"] for r in runs["before"]]
            a = [r[case]["seconds"] for r in runs["after"]]
            ratio = statistics.median(x / y for x, y in zip(a, b, strict=True))
            rb, ra = runs["before"][0][case], runs["after"][0][case]
            print(
                f"| {case} | {statistics.median(b):.3f} | {statistics.median(a):.3f} | {ratio:.2f} "
                f"| {rb['auc']:.3f} / {ra['auc']:.3f} | {rb['drifted']} / {ra['drifted']} |"
            )
        print(f"load_avg_1min_at_end={os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

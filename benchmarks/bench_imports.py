"""Import time side by side: this tree against another revision, in fresh processes, interleaved.

For each target (a handler module, a statistics module, or the monitor's first drift computation
on a 10k-row batch after importing its handler) a fresh ``python`` process measures the wall time;
the processes alternate between the two trees (``--rev``, extracted with ``git archive`` into a
temporary directory, and this working tree), so a change in machine load hits both alike. The
eager baseline ``import pandas, pyarrow.parquet, sklearn.ensemble, aws_lambda_powertools`` runs in
the same rounds. Medians of ``--runs`` rounds are reported, with the ratio after/before.

Usage: ``python benchmarks/bench_imports.py [--rev HEAD~1] [--runs 9]``. Compare ratios, not seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EAGER = "pandas, pyarrow.parquet, sklearn.ensemble, aws_lambda_powertools"

FIRST_DRIFT = """
import numpy as np, pandas as pd
from scorewatch.core.config import DriftSettings
from scorewatch.core.schema import FeatureSchema, FeatureSpec
from scorewatch.monitoring.evaluation import evaluate
from scorewatch.monitoring.profiles import build_profile
rng = np.random.default_rng(0)
n = 10_000
feats = [FeatureSpec(name=f"x{i}", type="numeric") for i in range(8)]
feats += [FeatureSpec(name=f"c{i}", type="categorical") for i in range(2)]
schema = FeatureSchema(features=tuple(feats))
def frame(shift):
    cols = {f"x{i}": rng.normal(shift * (i == 0), 1, n) for i in range(8)}
    cols.update({f"c{i}": rng.choice(list("abcde"), n) for i in range(2)})
    return pd.DataFrame(cols)
ref, cur = frame(0.0), frame(0.5)
rp = build_profile(ref, schema)
evaluate(rp, build_profile(cur, schema, edges_from=rp), settings=DriftSettings(multivariate=False),
         reference_sample=ref, current_sample=cur)
"""

TARGETS = {
    "import scorewatch.handlers.score": "import scorewatch.handlers.score",
    "import scorewatch.handlers.monitor": "import scorewatch.handlers.monitor",
    "import scorewatch.monitoring.stattests": "import scorewatch.monitoring.stattests",
    "monitor import + first drift, 10k rows x 10": "import scorewatch.handlers.monitor\n" + FIRST_DRIFT,
}


def _timed(code: str) -> str:
    body = textwrap.indent(code.strip(), "    ")
    return (
        "import time, json, sys\n_t = time.perf_counter()\nif True:\n"
        f"{body}\n"
        "print(json.dumps({'s': time.perf_counter() - _t, 'scipy_stats': 'scipy.stats' in sys.modules}))\n"
    )


def _run(code: str, functions: Path | None) -> dict:
    env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": "true", "PYTHONWARNINGS": "ignore"}
    if functions is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(functions), env.get("PYTHONPATH", "")])
    out = subprocess.run(
        [sys.executable, "-c", _timed(code)], capture_output=True, text=True, check=False, env=env
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", default="HEAD~1", help="the 'before' revision (git archive)")
    parser.add_argument("--runs", type=int, default=9)
    ns = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-imports-") as tmp:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", ns.rev, "functions"], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        trees = {"before": Path(tmp, "functions"), "after": ROOT / "functions"}
        for tree in trees.values():  # warm-up: .pyc files written, page cache filled
            for code in TARGETS.values():
                _run(code, tree)
        times: dict[tuple[str, str], list[float]] = {}
        stats_loaded: dict[tuple[str, str], bool] = {}
        eager: list[float] = []
        for _ in range(ns.runs):
            eager.append(_run(f"import {EAGER}", None)["s"])
            for name, code in TARGETS.items():
                for label, tree in trees.items():
                    r = _run(code, tree)
                    times.setdefault((name, label), []).append(r["s"])
                    stats_loaded[(name, label)] = r["scipy_stats"]
    load = os.getloadavg()[0]
    print(f"rev before={ns.rev} runs={ns.runs} cpus={os.cpu_count()} load_avg_1min_at_end={load:.1f}")
    print()
    print("| what | before s | after s | after/before | scipy.stats loaded (before/after) |")
    print("|---|---:|---:|---:|---|")
    eager_s = statistics.median(eager)
    for name in TARGETS:
        b, a = (statistics.median(times[(name, lab)]) for lab in ("before", "after"))
        flags = "/".join("yes" if stats_loaded[(name, lab)] else "no" for lab in ("before", "after"))
        print(f"| {name} | {b:.3f} | {a:.3f} | {a / b:.2f} | {flags} |")
    print(f"| eager `import {EAGER}` (baseline) | {eager_s:.3f} | {eager_s:.3f} | — | — |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

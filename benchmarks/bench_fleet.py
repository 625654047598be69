"""A fleet on the local cloud: M models × B batches of R rows, some drifting (issue 16).

Runs the ``scorewatch demo --fleet`` scenario (infra/scorewatch_infra/local/fleet.py) at benchmark
sizes: one synthesized stack, the models onboarded with ``configure`` only, a champion each, then
every model's batches dropped round by round; the drifting models' ``Drift Detected`` start their
retraining executions on the one state machine while the other models' batches are still being
scored. Reports the wall time of the whole run and of the batch rounds, batches per second over
the rounds, the p50/p95 drop-to-Parquet latency (upload -> the Batch Scored event's
``scored_at``, queueing in the local router included), the peak RSS of the process (one process
runs emulator, router, functions and executions) and the accounting: every batch scored or
rejected, every Drift Detected matched by one finished execution.

Usage: ``python benchmarks/bench_fleet.py [--models 100] [--batches 3] [--rows 5000]
[--drift-fraction 0.1] [--output DIR] [--json]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "functions"))
sys.path.insert(0, str(ROOT / "infra"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
from _memory import peak_mib  # noqa: E402

from scorewatch_infra.local.fleet import run_fleet  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", type=int, default=100)
    p.add_argument("--batches", type=int, default=3)
    p.add_argument("--rows", type=int, default=5000)
    p.add_argument("--drift-fraction", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--output", type=Path, default=None, help="keep the run's outputs here")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = p.parse_args(argv)
    output = args.output or Path(tempfile.mkdtemp(prefix="bench-fleet-")) / "out"
    t0 = time.perf_counter()
    result = run_fleet(
        output,
        models=args.models,
        batches=args.batches,
        rows=args.rows,
        drift_fraction=args.drift_fraction,
        seed=args.seed,
        printer=lambda line: print(line, flush=True) if not args.json else None,
    )
    wall = time.perf_counter() - t0
    rounds = sum(s for name, s in result.phases.items() if name.startswith("batch "))
    a = result.accounting
    lat = np.array(result.latencies) if result.latencies else np.array([np.nan])
    figures = {
        "models": args.models,
        "batches_per_model": args.batches,
        "rows_per_batch": args.rows,
        "drifting": sum(r["drifting"] for r in result.rows),
        "wall_seconds": round(wall, 1),
        "phases_seconds": {k: round(v, 1) for k, v in result.phases.items()},
        "batch_rounds_seconds": round(rounds, 1),
        "batches_per_second": round(a["batches_scored"] / rounds, 2) if rounds else None,
        "drop_to_parquet_p50_s": round(float(np.percentile(lat, 50)), 2),
        "drop_to_parquet_p95_s": round(float(np.percentile(lat, 95)), 2),
        "peak_rss_mib": round(peak_mib(), 0),
        "batches_dropped": a["batches_dropped"],
        "batches_scored": a["batches_scored"],
        "batches_rejected": a["batches_rejected"],
        "retraining_executions": a["retraining_executions"],
        "executions_by_status": a["executions_by_status"],
        "max_concurrent_executions": a["max_concurrent_executions"],
        "champions_moved": sum(r["champion_before"] != r["champion_after"] for r in result.rows),
        "all_accounted_for": a["all_accounted_for"],
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print()
        for k, v in figures.items():
            print(f"{k:28} {v}")
    return 0 if a["all_accounted_for"] else 1


if __name__ == "__main__":
    raise SystemExit(main())

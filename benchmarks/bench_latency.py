"""Warm per-batch latency of the score and monitor functions, and of the CLI, against their floors.

Everything is measured side by side in one run, on moto's server (benchmarks/bench_coldstart.py's
``Cloud``: a registered LogisticRegression champion with its baseline and stored configuration):

- **score function, warm:** one fresh process imports the handler and serves ``--events`` S3
  Object Created events for new ``--rows``-row CSV files; the first is the cold one, the median of
  the rest is the warm time. Compared with the model's own ``predict_proba`` on the same rows
  (median of 5, in this process). Target: warm ≤ 10x predict.
- **monitor function, warm:** the same for the ``Batch Scored`` events those runs published.
  Target: warm ≤ 0.5x the score function's warm time.
- **CLI:** ``scorewatch score --model m.skops --input x.csv --output y.parquet`` on a
  ``--rows``-row file (wall time of the process), against ``python -c "import pandas, pyarrow"``
  plus predict. Target: ≤ 2x.

Usage: ``.venv/bin/python benchmarks/bench_latency.py [--rows 10000] [--events 6]``. Times vary with
machine load; the ratios are what to compare.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_coldstart import CONTEXT_CLASS, Cloud, run_child, tracing_env  # noqa: E402

from scorewatch.core.contract import HANDLERS  # noqa: E402

WARM = (
    textwrap.dedent(
        """
    import sys, time, json, io, contextlib, importlib
    mod = importlib.import_module({module!r})
    fn = getattr(mod, {attr!r})
    events = json.loads(sys.stdin.read())
    """
    )
    + CONTEXT_CLASS
    + textwrap.dedent(
        """
    times, statuses = [], []
    for event in events:
        t = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            out = fn(event, Ctx())
        times.append(time.perf_counter() - t)
        statuses.append(out.get("status"))
    print(json.dumps({{"times": times, "statuses": statuses}}))
    """
    )
)


def serve(cloud: Cloud, fid: str, events: list[dict]) -> dict:
    module, attr = HANDLERS[fid].rsplit(".", 1)
    return run_child(WARM.format(module=module, attr=attr, fid=fid), cloud.env, json.dumps(events))


def wall(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000, help="rows per file")
    ap.add_argument("--events", type=int, default=6, help="events per function (the first is cold)")
    args = ap.parse_args()

    cloud = Cloud()
    cloud.env = tracing_env(cloud.env, True)
    try:
        frame = cloud.frame(args.rows, 99)
        features = frame[list(cloud.schema.names)]
        predict = []
        for _ in range(5):
            t = time.perf_counter()
            cloud.estimator.predict_proba(features)
            predict.append(time.perf_counter() - t)
        predict_s = statistics.median(predict)

        score = serve(cloud, "score", [cloud.s3_event(100 + i, rows=args.rows) for i in range(args.events)])
        scored = cloud.batch_scored_events()
        monitor = serve(cloud, "monitor", scored[: args.events])
        score_warm = statistics.median(score["times"][1:])
        monitor_warm = statistics.median(monitor["times"][1:])

        with tempfile.TemporaryDirectory() as tmp:
            import skops.io as sio

            model, data, out = Path(tmp, "m.skops"), Path(tmp, "x.csv"), Path(tmp, "y.parquet")
            sio.dump(cloud.estimator, model)
            frame.to_csv(data, index=False)
            cli = str(Path(sys.executable).with_name("scorewatch"))
            cmd = [cli, "score", "--model", str(model), "--input", str(data), "--output", str(out)]
            cmd += ["--id-columns", "customer_id"]
            wall(cmd)  # warm-up: .pyc files
            base_cmd = [sys.executable, "-c", "import pandas, pyarrow"]
            cli_s, base_s = [], []
            for _ in range(5):  # interleaved
                out.unlink(missing_ok=True)
                cli_s.append(wall(cmd))
                base_s.append(wall(base_cmd))
        cli_t, base_t = statistics.median(cli_s), statistics.median(base_s)
        result = {
            "rows": args.rows,
            "predict_s": predict_s,
            "score_cold_s": score["times"][0],
            "score_warm_s": score_warm,
            "score_warm_over_predict": score_warm / predict_s,
            "score_statuses": sorted(set(map(str, score["statuses"]))),
            "monitor_cold_s": monitor["times"][0],
            "monitor_warm_s": monitor_warm,
            "monitor_warm_over_score_warm": monitor_warm / score_warm,
            "monitor_statuses": sorted(set(map(str, monitor["statuses"]))),
            "cli_s": cli_t,
            "import_pandas_pyarrow_s": base_t,
            "cli_over_floor": cli_t / (base_t + predict_s),
        }
    finally:
        cloud.close()
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

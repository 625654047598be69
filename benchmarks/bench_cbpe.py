"""How close CBPE's estimate is to realized performance on calibrated scores.

Quoted in docs/benchmarks.md.

Run: .venv/bin/python benchmarks/bench_cbpe.py [--runs 50] [--rows 5000]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from scorewatch.monitoring import estimation, performance

METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--rows", type=int, default=5000)
    args = parser.parse_args()
    for a, b in ((2.0, 2.0), (0.5, 0.5), (1.0, 4.0)):
        errors: dict[str, list[float]] = {m: [] for m in METRICS}
        for seed in range(args.runs):
            rng = np.random.default_rng(seed)
            p = rng.beta(a, b, args.rows)
            y = (rng.uniform(size=args.rows) < p).astype(int)
            est = estimation.estimate_binary(p).metrics
            out = pd.DataFrame({"prediction": (p >= 0.5).astype(int), "score_0": 1 - p, "score_1": p})
            real = performance.classification_performance(y, out, classes=[0, 1]).metrics
            for m in METRICS:
                errors[m].append(abs(est[m] - real[m]))
        cells = "  ".join(f"{m} {np.mean(v):.4f}/{np.max(v):.4f}" for m, v in errors.items())
        print(f"beta({a},{b}) rows={args.rows} runs={args.runs}  |estimate-realized| mean/max: {cells}")


if __name__ == "__main__":
    main()

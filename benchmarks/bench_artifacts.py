"""Artifact cost: skops dump, sha256, type audit and verified load for two typical pipelines.

Run: .venv/bin/python benchmarks/bench_artifacts.py   (numbers in docs/benchmarks.md)
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from scorewatch.io import artifacts

ROWS = 20_000
NUMERIC = [f"n{i}" for i in range(15)]
CATEGORICAL = [f"c{i}" for i in range(5)]


def _timed(fn, *args, **kwargs):
    """(result, milliseconds) of one call."""
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, (time.perf_counter() - started) * 1000


def main() -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {c: rng.normal(size=ROWS) for c in NUMERIC}
        | {c: rng.choice(list("abcdefgh"), ROWS) for c in CATEGORICAL}
    )
    y = (X["n0"] + (X["c0"] == "a") > 0.5).astype(int)
    models = [
        (
            "HGB (200 iterations)",
            HistGradientBoostingClassifier(max_iter=200, early_stopping=False, random_state=0),
        ),
        ("LogisticRegression", LogisticRegression(max_iter=500)),
    ]
    print("| pipeline | artifact | dump | sha256 | type audit | verified load |")
    print("|---|---|---|---|---|---|")
    for name, model in models:
        ct = ColumnTransformer(
            [("num", StandardScaler(), NUMERIC), ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL)]
        )
        pipe = Pipeline([("ct", ct), ("m", model)]).fit(X, y)
        art, dump = _timed(artifacts.dump_artifact, pipe)
        _, sha = _timed(artifacts.verify_sha256, art.data, art.sha256, what=name)
        _, audit = _timed(artifacts.untrusted_types, art.data)
        _, load = _timed(
            artifacts.load_artifact,
            art.data,
            fmt="skops",
            expected_sha256=art.sha256,
            what=name,
            library_versions_recorded=art.library_versions,
        )
        size = f"{art.size_bytes / 1024:.0f} KiB"
        print(f"| {name} | {size} | {dump:.0f} ms | {sha:.1f} ms | {audit:.0f} ms | {load:.0f} ms |")


if __name__ == "__main__":
    main()

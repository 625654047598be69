"""Benchmark: ONNX twin (onnxruntime) vs the native scikit-learn pipeline, side by side.

Data: bench_scoring.py's synthetic set (N rows x 15 numeric + 5 categorical features + an id).
Models (fitted on the first 50k rows), each converted by ``scorewatch.cli.onnx_export.convert`` and
checked with ``agreement`` on 10k rows before anything is timed:

- ``logreg``: ColumnTransformer(StandardScaler, OneHotEncoder) + LogisticRegression
- ``hgb``: ColumnTransformer(passthrough, OrdinalEncoder) + HistGradientBoostingClassifier
  (100 iterations; categories as ordinal numbers: skl2onnx has no native categorical splits)
- ``lgbm``: the same preprocessing + LGBMClassifier (100 trees), when lightgbm is installed

Two measurements per model, native and ONNX alternating, ``--repeat`` times (median):

- ``small``: one ``predict_proba`` call on 100 rows (the median of 50 calls): per-call latency;
- ``predict``: ``predict_proba`` on the validated frame in memory (the model alone);
- ``scorer``: ``scoring.score_source`` end to end on the Parquet file (read, validate, predict,
  write), the way the score function runs either kind of version.

The ratio is ONNX time / native time (below 1: ONNX is faster). Wall time on a shared machine
moves with its load; the process CPU seconds are printed too.

Usage::

    python benchmarks/bench_onnx.py                        # 200k rows, 3 repeats
    python benchmarks/bench_onnx.py --rows 1000000 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the image and bench_scoring.py run

from bench_scoring import _feature_names, generate


def _models(x, y) -> dict:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    numeric, categorical = _feature_names()

    def ordinal() -> ColumnTransformer:
        encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
        return ColumnTransformer([("num", "passthrough", numeric), ("cat", encoder, categorical)])

    out = {
        "logreg": Pipeline(
            [
                (
                    "pre",
                    ColumnTransformer(
                        [
                            ("num", StandardScaler(), numeric),
                            ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
                        ]
                    ),
                ),
                ("model", LogisticRegression(max_iter=500)),
            ]
        ),
        "hgb": Pipeline([("pre", ordinal()), ("model", HistGradientBoostingClassifier(max_iter=100))]),
    }
    try:
        from lightgbm import LGBMClassifier

        out["lgbm"] = Pipeline([("pre", ordinal()), ("model", LGBMClassifier(n_estimators=100, verbose=-1))])
    except ModuleNotFoundError:
        pass
    return {name: est.fit(x, y) for name, est in out.items()}


SMALL_ROWS = 100
SMALL_CALLS = 50
STAGES = ("small", "predict", "scorer")


class _Loaded:
    def __init__(self, card, estimator) -> None:
        self.card, self.estimator = card, estimator


def _time(fn) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chunk-rows", type=int, default=65_536)
    parser.add_argument("--models", default="logreg,hgb,lgbm")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()

    import numpy as np
    import pyarrow.parquet as pq

    from scorewatch.cli.onnx_export import agreement, convert
    from scorewatch.core.cards import ArtifactRef, ModelCard
    from scorewatch.core.schema import FeatureSchema, FeatureSpec
    from scorewatch.io import onnx_model
    from scorewatch.scoring.scorer import score_source
    from scorewatch.scoring.validation import validate_batch

    numeric, categorical = _feature_names()
    schema = FeatureSchema(
        features=tuple(
            [FeatureSpec(name=n, type="numeric") for n in numeric]
            + [FeatureSpec(name=c, type="categorical") for c in categorical]
        ),
        id_columns=("row_id",),
    )
    work = Path(tempfile.mkdtemp(prefix="bench-onnx-"))
    csv, parquet = work / "data.csv", work / "data.parquet"
    generate(csv, parquet, args.rows)
    table = pq.read_table(parquet)
    features = validate_batch(table, schema, row_offset=0, source_uri=str(parquet)).features
    head = features.head(50_000)
    logit = head["num_00"] - 0.3 * head["num_03"] + (head["cat_0"] == "level_00") * 1.5
    y = (logit + np.random.default_rng(1).normal(0, 1, len(head)) > 0).astype(int)
    models = _models(head, y)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    wanted = args.models.split(",")
    results = []
    for name, est in models.items():
        if name not in wanted:
            continue
        twin = onnx_model.load(
            convert(est, schema, task="binary", classes=(0, 1), name=name), what=f"{name}.onnx"
        )
        agreed = agreement(est, twin, features.head(10_000), task="binary", classes=(0, 1))
        card = ModelCard(
            model_name="bench",
            version="000001",
            task="binary",
            feature_schema=schema,
            classes=(0, 1),
            artifact=ArtifactRef(key="bench/000001/model", sha256="0" * 64, size_bytes=1),
            created_at=now,
        )

        def loaded(m, card=card) -> _Loaded:
            return _Loaded(card, m)

        row: dict = {
            "model": name,
            "max_abs_diff": agreed.max_abs_diff,
            "precision": twin.metadata.get(onnx_model.META_PRECISION),
        }
        small = features.head(SMALL_ROWS)
        for stage in STAGES:
            times: dict[str, list[tuple[float, float]]] = {"native": [], "onnx": []}
            for _ in range(args.repeat):
                for kind, model in (("native", est), ("onnx", twin)):
                    if stage == "predict":
                        times[kind].append(_time(lambda m=model: m.predict_proba(features)))
                    elif stage == "small":  # one call's latency: the median of SMALL_CALLS calls
                        calls = [
                            _time(lambda m=model, s=small: m.predict_proba(s)) for _ in range(SMALL_CALLS)
                        ]
                        times[kind].append(
                            (statistics.median(t for t, _ in calls), statistics.median(c for _, c in calls))
                        )
                    else:
                        out = work / f"{name}-{kind}.parquet"

                        def run(m=model, out=out) -> None:
                            score_source(
                                str(parquet),
                                model=loaded(m),  # type: ignore[arg-type]
                                output_uri=str(out),
                                batch_id="bench",
                                chunk_rows=args.chunk_rows,
                                max_reject_fraction=0.05,
                                scored_at=now,
                            )

                        times[kind].append(_time(run))
            for kind in ("native", "onnx"):
                row[f"{stage}_{kind}_s"] = statistics.median(t for t, _ in times[kind])
                row[f"{stage}_{kind}_cpu_s"] = statistics.median(c for _, c in times[kind])
            row[f"{stage}_ratio"] = row[f"{stage}_onnx_s"] / row[f"{stage}_native_s"]
        results.append(row)
    print(
        f"bench_onnx: {args.rows:,} rows, {args.repeat} repeats, {os.cpu_count()} CPUs, "
        f"{platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    header = f"{'model':8} {'max|diff|':>10} {'stage':8} {'native s':>9} {'onnx s':>8} {'onnx/native':>11}"
    print(header)
    for r in results:
        for stage in STAGES:
            print(
                f"{r['model']:8} {r['max_abs_diff']:10.2g} {stage:8} {r[f'{stage}_native_s']:9.4f} "
                f"{r[f'{stage}_onnx_s']:8.4f} {r[f'{stage}_ratio']:11.2f}"
            )
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": args.rows, "results": results}, indent=2))


if __name__ == "__main__":
    main()

"""Benchmark: scorewatch's streaming scorer vs the floor vs the naive approach.

Data: N rows x 20 features (15 numeric, 5 categorical) + an id column, as CSV and Parquet.
Models: Pipeline(ColumnTransformer(OrdinalEncoder) + HistGradientBoostingClassifier) and
Pipeline(ColumnTransformer(StandardScaler, OneHotEncoder) + LogisticRegression).

Approaches (each measured in its own process, so peak RSS is per approach):
- scorer: ``scoring.score_source`` (stream -> validate/coerce -> predict_proba -> Parquet sink).
- floor:  each stage alone, timed separately: parse (pyarrow reads the whole file into a
          DataFrame), predict on pre-encoded input (the pipeline's preprocessing applied
          untimed, then the final estimator's ``predict_proba`` alone: the scorer replaces the
          model's categorical encoders, so the model's own encoders are no part of a floor),
          and the Parquet write (the same output columns: ids, prediction, scores, lineage,
          scored_at). The floor is ``max(stage)``: the scorer overlaps reading with predicting on
          two cores, so no overlap can beat its slowest stage. The sequential sum and the
          model's own ``predict_proba`` (its encoders included) are shown next to it. It is a
          lower bound on the work, not a runnable pipeline: no validation, no streaming.
- naive:  pandas reads the whole file -> predict_proba -> DataFrame.to_parquet.

Targets (issue 2, floor as above since issue 20): scorer <= 1.3x floor; scorer RSS at 4N within
15% of N; scorer RSS <= 40% of naive at N on CSV, while no slower than naive.

Usage::

    python benchmarks/bench_scoring.py                 # 1M rows + the 4M-row RSS check
    python benchmarks/bench_scoring.py --chunk-rows 32768 --repeat 5   # as quoted in docs/benchmarks.md
    python benchmarks/bench_scoring.py --rows 200000 --no-large   # quick run
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from _memory import peak_mib

N_NUMERIC = 15
N_CATEGORICAL = 5
CATEGORIES = [f"level_{i:02d}" for i in range(12)]


def _feature_names() -> tuple[list[str], list[str]]:
    return [f"num_{i:02d}" for i in range(N_NUMERIC)], [f"cat_{i}" for i in range(N_CATEGORICAL)]


def generate(path_csv: Path, path_parquet: Path, rows: int, seed: int = 0) -> None:
    """Write the synthetic data set in slices (the generator itself stays small in memory)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    numeric, categorical = _feature_names()
    rng = np.random.default_rng(seed)
    step = 250_000
    csv_writer = pq_writer = None
    try:
        for start in range(0, rows, step):
            n = min(step, rows - start)
            cols: dict[str, pa.Array] = {"row_id": pa.array([f"id{start + i:09d}" for i in range(n)])}
            for j, name in enumerate(numeric):
                cols[name] = pa.array(np.round(rng.normal(j, 1 + j / 5, n), 4))
            for name in categorical:
                cols[name] = pa.array(rng.choice(CATEGORIES, n, p=_probs(len(CATEGORIES))))
            table = pa.table(cols)
            if csv_writer is None:
                csv_writer = pa_csv.CSVWriter(str(path_csv), table.schema)
                pq_writer = pq.ParquetWriter(str(path_parquet), table.schema, compression="snappy")
            csv_writer.write_table(table)
            pq_writer.write_table(table, row_group_size=131_072)
    finally:
        if csv_writer is not None:
            csv_writer.close()
        if pq_writer is not None:
            pq_writer.close()


def _probs(k: int):
    import numpy as np

    w = 1 / np.arange(1, k + 1)
    return w / w.sum()


def train(path_parquet: Path, out_dir: Path) -> None:
    """Fit both pipelines on the first 50k rows and pickle them (benchmark-local, trusted)."""
    import numpy as np
    import pyarrow.parquet as pq
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    numeric, categorical = _feature_names()
    df = pq.ParquetFile(path_parquet).read_row_group(0).to_pandas().head(50_000)
    x = df[numeric + categorical]
    logit = x["num_00"] - 0.3 * x["num_03"] + (x["cat_0"] == "level_00") * 1.5 - (x["cat_1"] == "level_01")
    y = (logit + np.random.default_rng(1).normal(0, 1, len(x)) > 0).astype(int)
    hgb = Pipeline(
        [
            (
                "pre",
                ColumnTransformer(
                    [
                        ("num", "passthrough", numeric),
                        (
                            "cat",
                            OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                            categorical,
                        ),
                    ]
                ),
            ),
            (
                "model",
                HistGradientBoostingClassifier(
                    max_iter=100, categorical_features=list(range(N_NUMERIC, N_NUMERIC + N_CATEGORICAL))
                ),
            ),
        ]
    ).fit(x, y)
    logreg = Pipeline(
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
    ).fit(x, y)
    for name, est in (("hgb", hgb), ("logreg", logreg)):
        (out_dir / f"{name}.pkl").write_bytes(pickle.dumps(est))


# --------------------------------------------------------------------------------- child processes
def _peak_rss_mb() -> float:
    """Peak RSS of this process image (VmHWM, benchmarks/_memory.py; not ru_maxrss)."""
    return peak_mib()


def _load(model_path: str):
    return pickle.loads(Path(model_path).read_bytes())


def _split_pipeline(est):
    """(preprocessing, final estimator) of a Pipeline; (None, est) for anything else."""
    from sklearn.pipeline import Pipeline

    if isinstance(est, Pipeline) and len(est.steps) > 1:
        return est[:-1], est[-1]
    return None, est


def child(args: argparse.Namespace) -> dict:
    """Run one approach in this process and return timings and peak RSS."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    numeric, categorical = _feature_names()
    features = numeric + categorical
    est = _load(args.model_path)
    base_rss = _peak_rss_mb()
    out = Path(args.out)
    out.unlink(missing_ok=True)
    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}  # process CPU seconds (all threads): steadier than wall time on a busy host
    if args.approach == "scorer":
        from scorewatch.core.cards import ArtifactRef, ModelCard
        from scorewatch.core.schema import FeatureSchema, FeatureSpec
        from scorewatch.scoring.scorer import score_source

        schema = FeatureSchema(
            features=tuple(
                [FeatureSpec(name=n, type="numeric") for n in numeric]
                + [FeatureSpec(name=c, type="categorical") for c in categorical]
            ),
            id_columns=("row_id",),
        )
        now = datetime(2026, 1, 1, tzinfo=UTC)
        card = ModelCard(
            model_name="bench",
            version="000001",
            task="binary",
            feature_schema=schema,
            classes=(0, 1),
            artifact=ArtifactRef(key="bench/000001/model.pkl", sha256="0" * 64, size_bytes=1),
            created_at=now,
        )

        class Loaded:
            pass

        loaded = Loaded()
        loaded.card, loaded.estimator = card, est  # type: ignore[attr-defined]
        t0, c0 = time.perf_counter(), time.process_time()
        result = score_source(
            args.input,
            model=loaded,  # type: ignore[arg-type]
            output_uri=str(out),
            batch_id="bench",
            chunk_rows=args.chunk_rows,
            reader_priority=args.reader_priority,
            distinct_encoding=args.distinct_encoding == "on",
            max_reject_fraction=0.05,
            scored_at=now,
        )
        timings["total"] = time.perf_counter() - t0
        cpu["total"] = time.process_time() - c0
        rows = result.rows_scored
    elif args.approach == "floor":
        t0, c0 = time.perf_counter(), time.process_time()
        if args.input.endswith(".csv"):
            table = pa_csv.read_csv(args.input)
        else:
            table = pq.read_table(args.input)
        frame = table.select(features).to_pandas()
        ids = table.column("row_id")
        timings["parse"], cpu["parse"] = time.perf_counter() - t0, time.process_time() - c0
        t0, c0 = time.perf_counter(), time.process_time()
        proba = est.predict_proba(frame)
        timings["predict_model"], cpu["predict_model"] = time.perf_counter() - t0, time.process_time() - c0
        # predict on pre-encoded input: the preprocessing untimed, the final estimator alone
        pre, final = _split_pipeline(est)
        encoded = pre.transform(frame) if pre is not None else frame
        t0, c0 = time.perf_counter(), time.process_time()
        proba = final.predict_proba(encoded)
        timings["predict"], cpu["predict"] = time.perf_counter() - t0, time.process_time() - c0
        del encoded
        # the same output columns the scorer writes (ids, prediction, scores, lineage, scored_at)
        zeros = pa.array(np.zeros(len(frame), dtype=np.int32))
        lineage = {
            "model_name": "bench",
            "model_version": "000001",
            "batch_id": "bench",
            "source_uri": args.input,
        }
        outputs = pa.table(
            {
                "row_id": ids,
                "prediction": proba.argmax(axis=1),
                "score_0": proba[:, 0],
                "score_1": proba[:, 1],
                **{k: pa.DictionaryArray.from_arrays(zeros, pa.array([v])) for k, v in lineage.items()},
                "scored_at": pa.array(np.zeros(len(frame), dtype=np.int64)).view(pa.timestamp("us", "UTC")),
            }
        )
        t0, c0 = time.perf_counter(), time.process_time()
        pq.write_table(outputs, out, compression="zstd", store_schema=False)
        timings["write"], cpu["write"] = time.perf_counter() - t0, time.process_time() - c0
        stages = ("parse", "predict", "write")
        timings["sum"] = sum(timings[k] for k in stages)
        timings["total"] = max(timings[k] for k in stages)  # two-core overlap: the slowest stage
        cpu["total"] = sum(cpu[k] for k in stages)  # CPU work does not overlap away
        rows = len(frame)
    else:  # naive
        t0, c0 = time.perf_counter(), time.process_time()
        frame = pd.read_csv(args.input) if args.input.endswith(".csv") else pd.read_parquet(args.input)
        proba = est.predict_proba(frame[features])
        result_df = pd.DataFrame(
            {
                "row_id": frame["row_id"],
                "prediction": proba.argmax(axis=1),
                "score_0": proba[:, 0],
                "score_1": proba[:, 1],
            }
        )
        result_df.to_parquet(out, index=False)
        timings["total"] = time.perf_counter() - t0
        cpu["total"] = time.process_time() - c0
        rows = len(frame)
    return {
        "rows": rows,
        "seconds": timings,
        "cpu_seconds": cpu,
        "peak_rss_mb": _peak_rss_mb(),
        "baseline_rss_mb": base_rss,
    }


# ---------------------------------------------------------------------------------------- driver
def _run_child(
    approach: str,
    data: Path,
    model: Path,
    workdir: Path,
    chunk_rows: int,
    priority: str,
    distinct: str = "on",
) -> dict:
    if approach == "scorer_plain":  # the scorer with the model's encoders run as they are
        approach, distinct = "scorer", "off"
    elif approach == "scorer":
        distinct = "on" if distinct == "both" else distinct
    cmd = [
        sys.executable,
        __file__,
        "--child",
        "--approach",
        approach,
        "--input",
        str(data),
        "--model-path",
        str(model),
        "--out",
        str(workdir / f"out-{approach}.parquet"),
        "--chunk-rows",
        str(chunk_rows),
        "--reader-priority",
        priority,
        "--distinct-encoding",
        distinct,
    ]
    # OpenMP threads (HistGradientBoosting, BLAS) spin while waiting by default; on a shared or
    # oversubscribed host that burns the cores the reader thread needs (measured: 35 s -> 20 s for
    # the HGB scorer). PASSIVE applies to every approach alike; recommended for the Lambda too.
    # The function image's process setting (layers/Dockerfile), for every approach alike.
    env = {
        **os.environ,
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE"),
    }
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{approach} on {data.name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


APPROACHES = ("scorer", "floor", "naive")


def _median_run(runs: list[dict]) -> dict:
    """The run with the median total time (a real run, so its breakdown adds up)."""
    ordered = sorted(runs, key=lambda r: r["seconds"]["total"])
    return dict(ordered[(len(ordered) - 1) // 2])


def _dataset(workdir: Path, rows: int) -> tuple[Path, Path]:
    csv_path, pq_path = workdir / f"data-{rows}.csv", workdir / f"data-{rows}.parquet"
    if not (csv_path.exists() and pq_path.exists()):
        print(f"generating {rows:,} rows ...", file=sys.stderr)
        generate(csv_path, pq_path, rows)
    return csv_path, pq_path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--large-rows", type=int, default=4_000_000)
    parser.add_argument("--no-large", action="store_true", help="skip the 4x-rows RSS check")
    parser.add_argument("--chunk-rows", type=int, default=65_536)
    parser.add_argument(
        "--reader-priority",
        choices=("idle", "normal"),
        default="idle",
        help="scheduling class of the scorer's read-ahead thread (idle: the score function's default)",
    )
    parser.add_argument(
        "--distinct-encoding",
        choices=("on", "off", "both"),
        default="on",
        help="scorer encodes each chunk's distinct categorical values once (scoring's default: on); "
        "both: also run the scorer without it in every round and report the paired on/off ratio",
    )
    parser.add_argument("--models", default="hgb,logreg")
    parser.add_argument("--formats", default="csv,parquet")
    parser.add_argument(
        "--workdir", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "scorewatch-bench")
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="interleaved rounds; the median run of each approach is reported",
    )
    parser.add_argument("--json", help="also write the results here")
    # child mode
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--approach", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--model-path", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return

    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    csv_path, pq_path = _dataset(workdir, args.rows)
    models = {m: workdir / f"{m}.pkl" for m in args.models.split(",")}
    if not all(p.exists() for p in models.values()):
        print("training models ...", file=sys.stderr)
        train(pq_path, workdir)
    results: list[dict] = []
    paths = {"csv": csv_path, "parquet": pq_path}
    for model_name, model_path in models.items():
        for fmt in args.formats.split(","):
            row: dict = {"model": model_name, "format": fmt, "rows": args.rows}
            approaches = APPROACHES if args.distinct_encoding != "both" else ("scorer_plain", *APPROACHES)
            runs: dict[str, list[dict]] = {a: [] for a in approaches}
            # Rounds interleave the approaches, so a change in machine load hits all of them alike.
            for i in range(args.repeat):
                for approach in approaches:
                    print(f"{model_name} {fmt} {approach} (round {i + 1}/{args.repeat}) ...", file=sys.stderr)
                    runs[approach].append(
                        _run_child(
                            approach,
                            paths[fmt],
                            model_path,
                            workdir,
                            args.chunk_rows,
                            args.reader_priority,
                            args.distinct_encoding,
                        )
                    )
            for approach, rs in runs.items():
                row[approach] = _median_run(rs)
                row[approach]["cpu_median_total"] = statistics.median(r["cpu_seconds"]["total"] for r in rs)
                row[approach]["all_seconds"] = [round(r["seconds"]["total"], 3) for r in rs]
            paired = [
                s["seconds"]["total"] / n["seconds"]["total"]
                for s, n in zip(runs["scorer"], runs["naive"], strict=True)
            ]
            row["scorer_naive_paired"] = statistics.median(paired)
            row["scorer_faster_rounds"] = sum(p < 1 for p in paired)
            if "scorer_plain" in runs:
                on_off = [
                    s["seconds"]["total"] / p["seconds"]["total"]
                    for s, p in zip(runs["scorer"], runs["scorer_plain"], strict=True)
                ]
                row["distinct_paired"] = statistics.median(on_off)
                row["distinct_faster_rounds"] = sum(r < 1 for r in on_off)
            results.append(row)
    large: list[dict] = []
    if not args.no_large:
        big_csv, big_pq = _dataset(workdir, args.large_rows)
        model_name = "logreg" if "logreg" in models else next(iter(models))
        for fmt, path in (("csv", big_csv), ("parquet", big_pq)):
            print(f"{model_name} {fmt} scorer at {args.large_rows:,} rows ...", file=sys.stderr)
            large.append(
                {
                    "model": model_name,
                    "format": fmt,
                    "rows": args.large_rows,
                    "scorer": _run_child(
                        "scorer",
                        path,
                        models[model_name],
                        workdir,
                        args.chunk_rows,
                        args.reader_priority,
                        args.distinct_encoding,
                    ),
                }
            )
    report = _report(results, large, args)
    print(report)
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "large": large}, indent=2))


def _report(results: list[dict], large: list[dict], args: argparse.Namespace) -> str:
    load = os.getloadavg()[0]
    lines = [
        f"rows={args.rows:,} chunk_rows={args.chunk_rows:,} reader={args.reader_priority} "
        f"distinct_encoding={args.distinct_encoding} cpus={os.cpu_count()} repeat={args.repeat} "
        f"load_avg_1min_at_end={load:.1f} OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'PASSIVE')} "
        f"ARROW_DEFAULT_MEMORY_POOL={os.environ.get('ARROW_DEFAULT_MEMORY_POOL', 'default')} "
        f"python={sys.version.split()[0]}",
        "",
        "| model | format | scorer s | floor s = max(parse, predict pre-encoded, write) "
        "| sequential sum s | model's own predict_proba s | naive s | scorer/floor wall "
        "| scorer/sum wall | scorer/(parse + predict) wall | scorer/floor CPU (sum of stages) "
        "| scorer/naive wall (paired) | scorer faster in | scorer RSS MB | naive RSS MB | RSS scorer/naive |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        s, f, n = r["scorer"], r["floor"], r["naive"]
        fs = f["seconds"]
        lines.append(
            f"| {r['model']} | {r['format']} | {s['seconds']['total']:.2f} | {fs['total']:.2f} "
            f"(max of {fs['parse']:.2f}, {fs['predict']:.2f}, {fs['write']:.2f}) | {fs['sum']:.2f} "
            f"| {fs['predict_model']:.2f} | {n['seconds']['total']:.2f} "
            f"| {s['seconds']['total'] / fs['total']:.2f} | {s['seconds']['total'] / fs['sum']:.2f} "
            f"| {s['seconds']['total'] / (fs['parse'] + fs['predict']):.2f} "
            f"| {s['cpu_median_total'] / f['cpu_median_total']:.2f} "
            f"| {r['scorer_naive_paired']:.2f} | {r['scorer_faster_rounds']}/{args.repeat} rounds "
            f"| {s['peak_rss_mb']:.0f} | {n['peak_rss_mb']:.0f} "
            f"| {s['peak_rss_mb'] / n['peak_rss_mb']:.2f} |"
        )
    if any("scorer_plain" in r for r in results):
        lines += [
            "",
            "| model | format | scorer s | scorer without distinct encoding s | CPU s (with/without) "
            "| with/without wall (paired) | with it faster in |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in results:
            s, p = r["scorer"], r["scorer_plain"]
            lines.append(
                f"| {r['model']} | {r['format']} | {s['seconds']['total']:.2f} | {p['seconds']['total']:.2f} "
                f"| {s['cpu_median_total']:.2f}/{p['cpu_median_total']:.2f} "
                f"| {r['distinct_paired']:.2f} | {r['distinct_faster_rounds']}/{args.repeat} rounds |"
            )
    if large:
        lines += [
            "",
            "| model | format | rows | scorer s | scorer RSS MB | RSS vs the smaller run |",
            "|---|---|---|---|---|---|",
        ]
        for big in large:
            small = next(
                (r for r in results if r["model"] == big["model"] and r["format"] == big["format"]), None
            )
            ratio = big["scorer"]["peak_rss_mb"] / small["scorer"]["peak_rss_mb"] if small else float("nan")
            lines.append(
                f"| {big['model']} | {big['format']} | {big['rows']:,} "
                f"| {big['scorer']['seconds']['total']:.2f} "
                f"| {big['scorer']['peak_rss_mb']:.0f} | {ratio:.2f} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()

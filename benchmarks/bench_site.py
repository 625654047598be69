"""Building the monitoring site from a synthetic fleet history (the queries and the rendering).

``--models`` models × ``--days`` days × ``--per-day`` batches a day × ``--features`` features
(plus one prediction column) of history rows shaped like the monitor's, with scored volumes;
some models drift in their last batches, some stop (stale). Measures the wall time of
``build_pages`` (every query and every page, no I/O), the peak RSS of the process, and the sizes
of the index and of the largest model page. ``--write DIR`` also writes the pages.

``--incremental`` measures instead what the ``site`` function does after one batch: one model's
history (one Parquet object per evaluation) and scored outputs are written to a temporary folder
laid out like the data bucket, with every model's kept summary; the model's state is warmed by
a first update; then one new batch is added and ``update_model`` is timed (list the model's
prefixes, read the new history object and footer, render its page and the index from the
summaries, write). Run it in its own process: its peak RSS is then the update's.

Usage: ``python benchmarks/bench_site.py [--models 100] [--days 90] [--per-day 4] [--features 20]
[--incremental]``
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "functions"))

from _memory import peak_mib  # noqa: E402

from scorewatch.reports.site import build_pages  # noqa: E402

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def synthetic(models: int, days: int, per_day: int, features: int, seed: int = 0):
    """History and outputs tables of a fleet (vectorised: one row per column per batch)."""
    rng = np.random.default_rng(seed)
    batches = days * per_day
    step = timedelta(hours=24 / per_day)
    m_idx = np.repeat(np.arange(models), batches)
    b_idx = np.tile(np.arange(batches), models)
    stale = (m_idx % 10) == 9  # every tenth model stopped 3 days ago
    at = pd.Timestamp(NOW) - (batches - b_idx) * step - pd.to_timedelta(np.where(stale, 3, 0), unit="D")
    drifting = ((m_idx % 7) == 3) & (b_idx > batches - 12)  # some models drift in their last batches
    names = np.array([f"model-{i:03d}" for i in range(models)])
    bids = np.char.add(np.char.add(names[m_idx], "-b"), b_idx.astype(str))
    cols = [f"feature_{j:02d}" for j in range(features)] + ["score_1"]
    n_col = len(cols)
    sev = rng.gamma(2.0, 0.15, (len(m_idx), n_col))
    sev[drifting, : features // 3] += 1.5
    drifted = sev >= 1.0
    share = drifted[:, :features].mean(axis=1)
    version = np.where(b_idx > batches // 2, "000002", "000001")
    history = pd.DataFrame(
        {
            "model_name": np.repeat(names[m_idx], n_col),
            "batch_id": np.repeat(bids, n_col),
            "model_version": np.repeat(version, n_col),
            "evaluated_at": np.repeat(at.values, n_col),
            "column": np.tile(cols, len(m_idx)),
            "role": np.tile(["feature"] * features + ["prediction"], len(m_idx)),
            "test": "wasserstein",
            "pvalue": np.nan,
            "distance": sev.ravel() * 0.1,
            "threshold": 0.1,
            "drifted": drifted.ravel(),
            "severity": sev.ravel(),
            "quality_violations": 0,
            "dataset_drift": np.repeat(share >= 0.5, n_col),
            "drift_share": np.repeat(share, n_col),
        }
    )
    history["evaluated_at"] = pd.to_datetime(history["evaluated_at"], utc=True)
    rows = rng.integers(500, 5000, len(m_idx))
    outputs = pd.DataFrame(
        {"model": names[m_idx], "batch_id": bids, "kind": "scored", "rows": rows, "at": at.values}
    )
    outputs["at"] = pd.to_datetime(outputs["at"], utc=True)
    return history, outputs


def _write_model(root: Path, history: pd.DataFrame, outputs: pd.DataFrame, batch_ids: list[str]) -> None:
    """Write the given batches of one model where the monitor and the scorer write them."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from scorewatch.core import layout

    by_batch = dict(tuple(history[history["batch_id"].isin(batch_ids)].groupby("batch_id", sort=False)))
    out_by = dict(tuple(outputs[outputs["batch_id"].isin(batch_ids)].groupby("batch_id", sort=False)))
    for bid in batch_ids:
        rows = by_batch[bid]
        model, day = str(rows["model_name"].iloc[0]), layout.day(rows["evaluated_at"].iloc[0].to_pydatetime())
        path = root / layout.history_key(model, day, bid)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), path)
        scored = root / layout.scored_key(model, day, bid)
        scored.parent.mkdir(parents=True, exist_ok=True)
        n = int(out_by[bid]["rows"].iloc[0])
        pq.write_table(pa.table({"prediction": np.zeros(n)}), scored)


def incremental(args: argparse.Namespace) -> int:
    """One ``site`` function update after a new batch (see the module docstring)."""
    from scorewatch.monitoring.site_update import update_model, write_summaries
    from scorewatch.reports.site import fleet_statuses

    t0 = time.perf_counter()
    history, outputs = synthetic(args.models, args.days, args.per_day, args.features)
    model = "model-003"  # one that drifts in its last batches
    mine = history[history["model_name"] == model]
    order = list(dict.fromkeys(mine.sort_values("evaluated_at")["batch_id"]))
    with tempfile.TemporaryDirectory() as tmp:
        data, site = Path(tmp) / "data", Path(tmp) / "site"
        _write_model(data, mine, outputs, order[:-1])
        # Every model's overview row, as the full build and earlier updates keep them.
        write_summaries(str(site), fleet_statuses(history, outputs, now=NOW))
        del history
        t1 = time.perf_counter()
        warm = update_model(str(data), str(site), model, now=NOW)
        t2 = time.perf_counter()
        _write_model(data, mine, outputs, order[-1:])
        print(f"setup (synthesize, write {len(order)} history objects + footers, summaries): {t1 - t0:.1f} s")
        print(f"first update (cold state, reads {warm.objects_read} objects): {t2 - t1:.2f} s")
        # The timed update in a fresh process, so its peak RSS is the update's own.
        import subprocess

        subprocess.run([sys.executable, __file__, "--update", str(data), str(site), model], check=True)
        page = (site / "models" / model / "index.html").stat().st_size
        index = (site / "index.html").stat().st_size
    print(f"index.html: {index / 1024:,.0f} KB · model page: {page / 1024:,.0f} KB")
    return 0


def timed_update(data: str, site: str, model: str) -> int:
    from scorewatch.monitoring.site_update import update_model

    before = peak_mib()
    t0 = time.perf_counter()
    done = update_model(data, site, model, now=NOW)
    t1 = time.perf_counter()
    print(
        f"incremental update after one batch (reads {done.objects_read} objects, "
        f"index of {done.models_in_index} models): {t1 - t0:.2f} s"
    )
    print(f"peak RSS of that process: {peak_mib():,.0f} MiB (after imports: {before:,.0f} MiB)")
    return 0


READERS = ("pyarrow-objects", "pyarrow-dataset", "duckdb", "duckdb-union")


def read_history(method: str, root: str) -> pd.DataFrame:
    """Every history row under ``root`` (laid out like the data bucket) as a DataFrame, three ways.

    ``pyarrow-objects`` is the site's reader (``io.site_history``: list the prefix, one
    ``read_table`` per object, concatenate); ``pyarrow-dataset`` is one ``pyarrow.dataset`` scan
    of the Hive-partitioned keys; ``duckdb`` is ``read_parquet`` over the same glob, the
    ``monitoring_history`` table as the named Athena queries see it (``duckdb-union`` with
    ``union_by_name``, which a history whose columns grew over time needs).
    """
    if method == "pyarrow-objects":
        from scorewatch.io.site_history import list_monitoring, read_tables

        frame = read_tables(list_monitoring(f"{root}/monitoring/").history, time_column="evaluated_at")
        assert frame is not None
        return frame.drop(columns="_source")
    if method == "pyarrow-dataset":
        import pyarrow.dataset as ds

        files = sorted(str(p) for p in Path(root, "monitoring").glob("model=*/history/date=*/*.parquet"))
        table = ds.dataset(files, format="parquet").to_table()
        return table.to_pandas()
    if method in ("duckdb", "duckdb-union"):
        import duckdb

        glob = f"{root}/monitoring/model=*/history/date=*/*.parquet"
        con = duckdb.connect()
        con.execute("SET threads = 2")
        # union_by_name: history written before a column existed (config_version) has fewer
        # columns; without it DuckDB takes the first file's schema for all.
        union = ", union_by_name = true" if method == "duckdb-union" else ""
        sql = f"SELECT * FROM read_parquet('{glob}'{union})"
        return con.execute(sql).to_arrow_table().to_pandas()
    raise ValueError(method)


def reads(args: argparse.Namespace) -> int:
    """The history read three ways (:data:`READERS`), each in its own process, over the same files."""
    import subprocess

    t0 = time.perf_counter()
    history, outputs = synthetic(args.models, args.days, args.per_day, args.features)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for _, mine in history.groupby("model_name", sort=False):
            _write_history(root, mine)
        n = sum(1 for _ in root.glob("monitoring/model=*/history/date=*/*.parquet"))
        mib = sum(p.stat().st_size for p in root.rglob("*.parquet")) / 2**20
        print(
            f"wrote {n:,} history objects ({mib:,.0f} MiB, {len(history):,} rows) "
            f"in {time.perf_counter() - t0:.1f} s"
        )
        del history, outputs
        for method in READERS:
            subprocess.run([sys.executable, __file__, "--read-one", method, str(root)], check=False)
    return 0


_READER_MODULES = {"pyarrow-objects": "scorewatch.io.site_history", "pyarrow-dataset": "pyarrow.dataset"}


def read_one(method: str, root: str) -> int:
    import importlib

    try:
        importlib.import_module(_READER_MODULES.get(method, "duckdb"))  # imports are not the read
        before = peak_mib()
        t0, c0 = time.perf_counter(), time.process_time()
        frame = read_history(method, root)
        t1, c1 = time.perf_counter(), time.process_time()
    except ImportError as exc:
        print(f"{method:16s} not measured: {exc}")
        return 0
    # What the site does next with the frame: the per-evaluation table every page starts from.
    from scorewatch.reports.site_data import batch_table

    batch_table(frame.assign(evaluated_at=pd.to_datetime(frame["evaluated_at"], utc=True)))
    t2 = time.perf_counter()
    print(
        f"{method:16s} read {len(frame):,} rows: {t1 - t0:5.2f} s wall, {c1 - c0:5.2f} s CPU "
        f"(+ batch_table {t2 - t1:.2f} s) · "
        f"peak RSS {peak_mib():,.0f} MiB (after imports {before:,.0f} MiB)"
    )
    return 0


def _write_history(root: Path, history: pd.DataFrame) -> None:
    """One Parquet object per evaluation, where the monitor writes it (no scored outputs)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from scorewatch.core import layout

    table = pa.Table.from_pandas(history, preserve_index=False)
    bids = history["batch_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, bids[1:] != bids[:-1]])  # rows of a batch are contiguous
    ends = np.r_[starts[1:], len(bids)]
    model = str(history["model_name"].iloc[0])
    days = history["evaluated_at"].dt.strftime("%Y-%m-%d").to_numpy()
    made: set[Path] = set()
    for a, b in zip(starts, ends, strict=True):
        path = root / layout.history_key(model, str(days[a]), str(bids[a]))
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        pq.write_table(table.slice(a, b - a), path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=100)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--per-day", type=int, default=4)
    ap.add_argument("--features", type=int, default=20)
    ap.add_argument("--write", metavar="DIR", help="also write the pages here")
    ap.add_argument("--incremental", action="store_true", help="time one incremental update instead")
    ap.add_argument("--read", action="store_true", help="time the history read: pyarrow vs DuckDB")
    ap.add_argument("--update", nargs=3, metavar=("DATA", "SITE", "MODEL"), help=argparse.SUPPRESS)
    ap.add_argument("--read-one", nargs=2, metavar=("METHOD", "ROOT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.update:
        return timed_update(*args.update)
    if args.read_one:
        return read_one(*args.read_one)
    if args.read:
        return reads(args)
    if args.incremental:
        return incremental(args)
    t0 = time.perf_counter()
    history, outputs = synthetic(args.models, args.days, args.per_day, args.features)
    t1, c1 = time.perf_counter(), time.process_time()
    pages = build_pages(history, outputs, now=NOW)
    t2, c2 = time.perf_counter(), time.process_time()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sizes = {p.path: len(p.html.encode()) for p in pages}
    model_sizes = [v for k, v in sizes.items() if k != "index.html"]
    print(f"history rows: {len(history):,} ({args.models} models x {args.days * args.per_day} batches)")
    print(
        f"synthesize: {t1 - t0:.1f} s · build_pages (all queries + {len(pages)} pages): "
        f"{t2 - t1:.1f} s wall, {c2 - c1:.1f} s CPU · load average {os.getloadavg()[0]:.1f}"
    )
    print(f"peak RSS: {rss_mb:,.0f} MB")
    print(
        f"index.html: {sizes['index.html'] / 1024:,.0f} KB · "
        f"model page: max {max(model_sizes) / 1024:,.0f} KB"
    )
    if args.write:
        out = Path(args.write)
        for p in pages:
            (out / p.path).parent.mkdir(parents=True, exist_ok=True)
            (out / p.path).write_text(p.html, encoding="utf-8")
        print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

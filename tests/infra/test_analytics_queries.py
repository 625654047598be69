"""The performance-history table, the Athena workgroup and the site's views as named queries.

The named queries' SQL runs with DuckDB over a folder laid out like the data bucket, written by
the runtime's own row builders (the monitor's history rows, the labels run's performance rows),
with the catalogue's tables as DuckDB views over the same Hive-partitioned keys; the rows are
checked against known answers. DuckDB is not a project dependency: without it those tests skip.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from scorewatch.core import layout
from scorewatch_infra.analytics import CURRENT_VIEW, PERFORMANCE_COLUMNS, SCORED_CURRENT_SQL
from scorewatch_infra.analytics_queries import NAMED_QUERIES, for_models, parameters

pytestmark = pytest.mark.xdist_group("infra")

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
FEATURES = ("monthly_charges", "tenure", "contract")


def test_the_workgroup_encrypts_results_and_holds_one_named_query_per_view(synth):
    (wg,) = synth.of_type("AWS::Athena::WorkGroup").values()
    conf = wg["Properties"]["WorkGroupConfiguration"]
    assert conf["EnforceWorkGroupConfiguration"] is True
    result = conf["ResultConfiguration"]
    assert result["EncryptionConfiguration"]["EncryptionOption"] == "SSE_KMS"
    assert "athena-results/" in str(result["OutputLocation"])
    queries = synth.of_type("AWS::Athena::NamedQuery")
    assert len(queries) == len(NAMED_QUERIES) == 4
    wg_id = next(k for k, v in synth.resources.items() if v is wg)
    for q in queries.values():
        props = q["Properties"]
        assert props["WorkGroup"] == {"Ref": wg_id}
        assert props["Database"] == "scorewatch"
        assert props["QueryString"] in {sql for _, sql in NAMED_QUERIES.values()}


def test_the_performance_table_reads_the_labels_runs_rows_only(synth):
    (table,) = [
        t["Properties"]["TableInput"]
        for t in synth.of_type("AWS::Glue::Table").values()
        if t["Properties"]["TableInput"]["Name"] == "performance_history"
    ]
    template = str(table["Parameters"]["storage.location.template"])
    assert "/performance/date=${date}/" in template
    # The run summaries (JSON) are not in the partition folder Athena reads whole.
    summary = layout.performance_summary_key("churn", "2026-01-01", "r1")
    rows = layout.performance_key("churn", "2026-01-01", "r1")
    assert rows.rsplit("/", 1)[0] + "/" == "monitoring/model=churn/performance/date=2026-01-01/"
    assert not summary.startswith("monitoring/model=churn/performance/date=")
    assert [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]] == list(
        PERFORMANCE_COLUMNS
    )


def _label_result(model: str, run: str, at: datetime, batches: list[tuple[str, float, float, float]]) -> Any:
    from scorewatch.lifecycle.labels import BatchPerformance, LabelJoinResult

    return LabelJoinResult(
        model_name=model,
        model_version="000002",
        run_id=run,
        label_files=1,
        labels=100,
        unknown_ids=0,
        duplicate_labels=0,
        scored_rows=1000,
        labeled_rows=100,
        coverage=0.1,
        latency_hours={},
        metric="roc_auc",
        value=batches[-1][1],
        estimated_value=batches[-1][2],
        floor=0.7,
        degraded=batches[-1][1] < 0.7,
        window_metrics={"roc_auc": batches[-1][1], "accuracy": 0.9},
        window_estimated={"roc_auc": batches[-1][2]},
        batches=[
            BatchPerformance(
                batch_id=b,
                model_version="000002",
                scored_rows=500,
                labeled_rows=int(500 * cov),
                coverage=cov,
                metrics={"roc_auc": realized},
                estimated={"roc_auc": est},
            )
            for b, realized, est, cov in batches
        ],
        computed_at=at,
    )


def _write(path: Path, frame: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)


def _evaluation(model: str, batch: str, at: datetime, drifted: set[str]) -> pd.DataFrame:
    from scorewatch.monitoring.evaluation import _typed_history

    share = len(drifted) / len(FEATURES)
    rows = [
        {
            "batch_id": batch,
            "model_name": model,
            "model_version": "000002",
            "evaluated_at": at,
            "column": c,
            "role": role,
            "kind": "numerical",
            "test": "ks",
            "pvalue": 0.001 if c in drifted else 0.5,
            "threshold": 0.05,
            "drifted": c in drifted,
            "severity": 2.0 if c in drifted else 0.1 + 0.01 * i,
            "quality_violations": 0,
            "dataset_drift": share >= 0.5,
            "drift_share": share,
        }
        for i, (c, role) in enumerate([*((f, "feature") for f in FEATURES), ("score_1", "prediction")])
    ]
    return _typed_history(rows)


@pytest.fixture(scope="module")
def bucket(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two models: churn drifts in its last batch and is below its floor; fraud is fine."""
    root = tmp_path_factory.mktemp("bucket")
    for model, last_drift in (("churn", {"monthly_charges", "tenure"}), ("fraud", set())):
        for b in range(4):
            at = NOW - timedelta(hours=6 * (4 - b))  # 18 h .. 6 h before now, plus one 3 days back
            if b == 0:
                at = NOW - timedelta(days=3)
            batch = f"{model}-b{b}"
            _write(
                root / layout.history_key(model, layout.day(at), batch),
                _evaluation(model, batch, at, last_drift if b == 3 else set()),
            )
            scored = pd.DataFrame(
                {
                    "model_name": model,
                    "model_version": "000002",
                    "batch_id": batch,
                    "source_uri": f"s3://data/incoming/{model}/{b}.csv",
                    "scored_at": pd.Timestamp(at),
                    "decision": "none",
                    "prediction": [0.1] * (10 + b),
                }
            )
            _write(root / layout.scored_key(model, layout.day(at), batch), scored)
        from scorewatch.lifecycle.labels import history_rows

        bad = model == "churn"
        older = _label_result(model, "run1", NOW - timedelta(hours=12), [(f"{model}-b0", 0.8, 0.79, 0.5)])
        newer = _label_result(
            model,
            "run2",
            NOW - timedelta(hours=1),
            [(f"{model}-b0", 0.8, 0.79, 0.9), (f"{model}-b1", 0.6 if bad else 0.85, 0.65, 0.4)],
        )
        for result in (older, newer):
            d = layout.day(result.computed_at)
            _write(root / layout.performance_key(model, d, result.run_id), history_rows(result))
            # The summary beside it: a Parquet reader of the partition folder must never see it.
            (root / layout.performance_summary_key(model, d, result.run_id)).parent.mkdir(
                parents=True, exist_ok=True
            )
            (root / layout.performance_summary_key(model, d, result.run_id)).write_text("{}")
    return root


@pytest.fixture(scope="module")
def duck(bucket: Path) -> Any:
    import duckdb  # a dev dependency: these tests must run, not skip

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    tables = {
        "monitoring_history": "monitoring/model=*/history/date=*/*.parquet",
        "performance_history": "monitoring/model=*/performance/date=*/*.parquet",
        "scored": "scored/model=*/date=*/*.parquet",
    }
    for name, glob in tables.items():
        con.execute(
            f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{bucket}/{glob}', "
            "hive_partitioning = true, hive_types_autocast = false, union_by_name = true)"
        )
    # The catalogue's own view SQL, as Athena stores it.
    con.execute(f"CREATE VIEW {CURRENT_VIEW} AS {SCORED_CURRENT_SQL.replace('{table}', 'scored')}")
    return con


def _run(con: Any, name: str, models: list[str]) -> pd.DataFrame:
    sql = NAMED_QUERIES[name][1]
    if name == "fleet-overview":
        sql = for_models(sql, len(models))
    params = parameters(name, models=models, now=NOW.strftime("%Y-%m-%d %H:%M:%S"))
    assert sql.count("?") == len(params)
    return con.execute(sql, params).to_arrow_table().to_pandas()


def test_fleet_overview_one_row_per_model_by_attention(duck):
    rows = _run(duck, "fleet-overview", ["fraud", "churn"])
    assert list(rows["model"]) == ["churn", "fraud"]  # churn drifts: first
    churn = rows.iloc[0]
    assert bool(churn["drift"]) and churn["last_batch_id"] == "churn-b3"
    assert churn["last_drift_share"] == pytest.approx(2 / 3)
    assert churn["evaluations"] == 4
    # b1..b3 are within 24 h (11 + 12 + 13 rows), b0 three days back counts in the 7 days
    assert (churn["rows_24h"], churn["rows_7d"]) == (36, 46)
    assert churn["metric"] == "roc_auc" and churn["floor"] == pytest.approx(0.7)
    assert churn["realized"] == pytest.approx(0.6) and bool(churn["realized_below_floor"])
    assert churn["estimated"] == pytest.approx(0.65) and bool(churn["estimated_below_floor"])
    fraud = rows.iloc[1]
    assert not bool(fraud["drift"]) and not bool(fraud["realized_below_floor"])
    assert pd.Timestamp(fraud["last_batch_at"]) == pd.Timestamp(NOW - timedelta(hours=6))


def test_drift_share_over_time_per_evaluation(duck):
    rows = _run(duck, "drift-share-over-time", ["churn"])
    assert list(rows["batch_id"]) == ["churn-b0", "churn-b1", "churn-b2", "churn-b3"]
    assert list(rows["drift_share"]) == pytest.approx([0, 0, 0, 2 / 3])
    assert list(rows["features"]) == [3] * 4
    assert list(rows["drifted_features"]) == [0, 0, 0, 2]


def test_drift_heatmap_most_drifted_feature_first_one_cell_per_batch(duck):
    rows = _run(duck, "drift-heatmap", ["churn"])
    assert len(rows) == 4 * len(FEATURES)  # the prediction column is not a feature row
    order = list(dict.fromkeys(rows["column"]))
    assert order == ["monthly_charges", "tenure", "contract"]  # severity 2.0, 2.0, then 0.12
    last = rows[rows["batch_id"] == "churn-b3"].set_index("column")
    assert bool(last.loc["tenure", "drifted"]) and last.loc["tenure", "score"] == pytest.approx(0.001)
    assert not bool(last.loc["contract", "drifted"])


def test_performance_over_time_is_the_newest_runs_batches_with_coverage(duck):
    rows = _run(duck, "performance-over-time", ["churn"])
    auc = rows[rows["metric"] == "roc_auc"]
    assert list(auc["batch_id"]) == ["churn-b0", "churn-b1"]  # run2's rows, not run1's
    assert list(auc["realized"]) == pytest.approx([0.8, 0.6])
    assert list(auc["coverage"]) == pytest.approx([0.9, 0.4])
    assert auc["evaluated_at"].notna().all()


def test_every_named_query_names_the_model_of_every_table_it_reads():
    """``model`` is projected as ``injected``: each table read needs its own model predicate."""
    for name, (_, sql) in NAMED_QUERIES.items():
        reads = sum(
            sql.count(f"FROM {t}") for t in ("monitoring_history", "performance_history", CURRENT_VIEW)
        )
        predicates = sql.count("model = ?") + sql.count("model IN (")
        assert reads == predicates, name


def test_performance_columns_match_the_rows_the_labels_run_writes():
    from scorewatch.lifecycle.labels import history_rows

    frame = history_rows(_label_result("churn", "r", NOW, [("b0", 0.8, 0.7, 0.5)]))
    schema = pa.Table.from_pandas(frame, preserve_index=False).schema
    assert [c for c, _ in PERFORMANCE_COLUMNS] == schema.names
    glue = {
        "string": "string",
        "large_string": "string",
        "double": "double",
        "int64": "bigint",
        "bool": "boolean",
    }
    for name, kind in PERFORMANCE_COLUMNS:
        arrow = schema.field(name).type
        assert (pa.types.is_timestamp(arrow) and kind == "timestamp") or glue.get(str(arrow)) == kind, name

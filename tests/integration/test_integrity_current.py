"""Issue 15, invariant 2 over HTTP on the emulator: one current result per source key.

A re-upload of a key supersedes the earlier result. The outputs stay (write-once); every reader
(the labels join, the retraining assembly, the ``scored_current`` Athena view) sees only the
batch scored last for each source.
"""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest
from handler_kit import MODEL, Ctx, encode, frame, make_stack, register_champion

from scorewatch.core.config import parse_config
from scorewatch.handlers import score
from scorewatch.io import scored
from scorewatch.io.registry import Registry
from scorewatch.lifecycle.labels import LabelJoiner
from scorewatch.lifecycle.retraining.assemble import AssembleStep

CONFIG = {
    "models": [
        {
            "name": MODEL,
            "id_columns": ["customer_id"],
            "chunk_rows": 100,
            "max_reject_fraction": 0.2,
            "retraining": {"window_days": 30},
        }
    ]
}


@pytest.fixture
def three_uploads(resources, monkeypatch):
    """The same 20-row key uploaded three times (identical bytes twice, then corrected)."""
    st = make_stack(resources, monkeypatch, config=CONFIG)
    st.card = register_champion(resources)
    key = f"incoming/{MODEL}/customers #1.csv"
    first = frame(20, seed=1)
    corrected = first.assign(charges=first["charges"] + 1.0)
    outs = []
    for df in (first, first, corrected):
        put = st.put(key, encode(df, "csv"))
        outs.append(score.handler(st.s3_event(key, put), Ctx()))
    assert [o["status"] for o in outs] == ["scored"] * 3
    assert len({o["batch_id"] for o in outs}) == 3
    st.outs = outs
    st.labels = first[["customer_id"]].assign(label=[i % 2 for i in range(20)])
    st.put(f"labels/{MODEL}/labels.csv", encode(st.labels, "csv"))
    return st


def test_three_uploads_of_one_key_leave_one_current_result(three_uploads):
    st = three_uploads
    objects = st.keys(f"scored/model={MODEL}/")
    assert len(objects) == 3  # write-once: nothing deleted
    keep, gone = scored.current(scored.describe(i) for i in scored.list_scored(st.res.data_bucket, MODEL))
    assert [o.batch_id for o in keep] == [st.outs[2]["batch_id"]]
    assert sorted(o.batch_id for o in gone) == sorted(o["batch_id"] for o in st.outs[:2])
    current = scored.current_scored(st.res.data_bucket, MODEL)
    rows = pd.concat(st.read_parquet(i.uri.split("/", 3)[3]) for i in current)
    assert len(rows) == 20 and rows["customer_id"].is_unique
    # the current result is the corrected upload's
    assert set(rows["batch_id"]) == {st.outs[2]["batch_id"]}


def test_labels_join_counts_each_customer_once(three_uploads):
    st = three_uploads
    reg = Registry(table_name=st.res.registry_table, models_bucket=st.res.models_bucket)
    result = LabelJoiner(data_bucket=st.res.data_bucket, registry=reg).run(parse_config(CONFIG).model(MODEL))
    assert (result.scored_rows, result.labeled_rows, result.labels) == (20, 20, 20)
    assert [b.batch_id for b in result.batches] == [st.outs[2]["batch_id"]]


def test_retraining_assembly_reads_the_current_result_only(three_uploads):
    from datetime import UTC, datetime

    st = three_uploads
    reg = Registry(table_name=st.res.registry_table, models_bucket=st.res.models_bucket)
    config = parse_config(CONFIG)
    step = AssembleStep(data_bucket=st.res.data_bucket, registry=reg, config=config)
    data = step._from_scored_with_labels(config.model(MODEL), st.card, ["customer_id"], datetime.now(UTC))
    assert len(data) == 20 and data["customer_id"].is_unique
    assert sorted(data["label"].astype(int)) == sorted(st.labels["label"])


def test_the_athena_view_sql_keeps_the_batch_scored_last_per_source(three_uploads):
    """The view's SQL, run on every row of the three outputs (SQLite has the same window functions)."""
    from scorewatch_infra.analytics import SCORED_COLUMNS, SCORED_CURRENT_SQL

    st = three_uploads
    frames = []
    for key in st.keys(f"scored/model={MODEL}/"):
        df = st.read_parquet(key)
        df["model"] = MODEL
        df["date"] = key.split("date=")[1].split("/")[0]
        frames.append(df)
    rows = pd.concat(frames, ignore_index=True)
    assert len(rows) == 60
    rows["scored_at"] = rows["scored_at"].map(lambda t: t.isoformat())
    cols = [c for c, _ in SCORED_COLUMNS if c in rows.columns] + ["model", "date"]
    with sqlite3.connect(":memory:") as db:
        rows.reindex(columns=[*cols, "decision"]).loc[:, ~pd.Index([*cols, "decision"]).duplicated()].to_sql(
            "scored", db, index=False
        )
        out = pd.read_sql(SCORED_CURRENT_SQL.replace("{table}", "scored"), db)
    assert len(out) == 20
    assert set(out["batch_id"]) == {st.outs[2]["batch_id"]}


def test_scorewatch_site_counts_the_current_result_only(three_uploads):
    from scorewatch.io.site_history import read_outputs

    st = three_uploads
    outputs = read_outputs(f"s3://{st.res.data_bucket}")
    scored_rows = outputs[outputs["kind"] == "scored"]
    assert scored_rows["batch_id"].tolist() == [st.outs[2]["batch_id"]]
    assert scored_rows["rows"].tolist() == [20]


def test_the_footer_statistics_and_the_columns_give_the_same_lineage(three_uploads):
    st = three_uploads
    for info in scored.list_scored(st.res.data_bucket, MODEL):
        by_footer = scored.describe(info)
        by_columns = scored._from_columns(info)
        assert (by_footer.source_uri, by_footer.batch_id, by_footer.scored_at, by_footer.rows) == (
            by_columns.source_uri,
            by_columns.batch_id,
            by_columns.scored_at,
            by_columns.rows,
        )
        assert by_footer.rows == 20 and by_footer.source_uri.endswith("customers #1.csv")


def test_a_rejected_reupload_supersedes_the_earlier_result(three_uploads):
    st = three_uploads
    key = f"incoming/{MODEL}/customers #1.csv"
    out = score.handler(st.s3_event(key, st.put(key, b"customer_id,tenure\nc1,1\n")), Ctx())
    assert out["status"] == "rejected"
    assert scored.current_scored(st.res.data_bucket, MODEL) == []
    reg = Registry(table_name=st.res.registry_table, models_bucket=st.res.models_bucket)
    result = LabelJoiner(data_bucket=st.res.data_bucket, registry=reg).run(parse_config(CONFIG).model(MODEL))
    assert (result.scored_rows, result.labeled_rows, result.unknown_ids) == (0, 0, 20)
    # and a corrected upload after it is current again
    again = score.handler(st.s3_event(key, st.put(key, encode(frame(20, seed=1), "csv"))), Ctx())
    (current,) = scored.current_scored(st.res.data_bucket, MODEL)
    assert again["batch_id"] in current.uri

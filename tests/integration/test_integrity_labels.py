"""Issue 15, invariant 5 over HTTP on the emulator: labels are incremental and bounded.

Only new label files are read (a ledger), labels that arrive before their batch are joined when
it is scored, realized performance is reported per model version (the headline value is the
champion's), and the scored window is streamed keeping only labeled rows and a capped sample.
"""

from __future__ import annotations

import pandas as pd
import pytest
from handler_kit import MODEL, Ctx, encode, fixture, frame, make_stack, register_champion

from scorewatch.core.config import parse_config
from scorewatch.handlers import labels as labels_handler
from scorewatch.handlers import score
from scorewatch.io.registry import Registry
from scorewatch.lifecycle import label_store
from scorewatch.lifecycle.labels import LabelJoiner

CONFIG = {"models": [{"name": MODEL, "id_columns": ["customer_id"], "chunk_rows": 100}]}


@pytest.fixture
def st(resources, monkeypatch):
    stack = make_stack(resources, monkeypatch, config=CONFIG)
    stack.card = register_champion(resources)
    stack.registry = Registry(table_name=resources.registry_table, models_bucket=resources.models_bucket)
    stack.mc = parse_config(CONFIG).model(MODEL)
    return stack


def _score(st, name: str, df: pd.DataFrame) -> dict:
    key = f"incoming/{MODEL}/{name}"
    out = score.handler(st.s3_event(key, st.put(key, encode(df, "csv"))), Ctx())
    assert out["status"] == "scored", out
    return out


def _labels(df: pd.DataFrame, *, flip: bool = False) -> pd.DataFrame:
    y = ((df["tenure"] < 20) | (df["plan"] == "basic")).astype(int)
    return pd.DataFrame({"customer_id": df["customer_id"], "label": 1 - y if flip else y})


def _label_event(st, name: str, df: pd.DataFrame) -> dict:
    key = f"labels/{MODEL}/{name}"
    return st.s3_event(key, st.put(key, encode(df, "csv")))


def test_only_new_label_files_are_read(st, monkeypatch):
    a, b = frame(40, seed=1), frame(40, seed=2, start_id=100)
    _score(st, "a.csv", a)
    _score(st, "b.csv", b)
    opened: list[str] = []
    real = label_store.storage.open_batches

    def spy(uri, **kw):
        if "/labels/" in uri and "/store/" not in uri:
            opened.append(uri.rsplit("/", 1)[1])
        return real(uri, **kw)

    monkeypatch.setattr(label_store.storage, "open_batches", spy)
    first = labels_handler.handler(_label_event(st, "l1.csv", _labels(a)), Ctx(function_name="labels"))
    second = labels_handler.handler(_label_event(st, "l2.csv", _labels(b)), Ctx(function_name="labels"))
    replay = labels_handler.handler(_label_event(st, "l2.csv", _labels(b)), Ctx(function_name="labels"))
    # the same bytes again (same ETag, as a redelivery) are not read again
    assert opened == ["l1.csv", "l2.csv"]
    assert (first["labeled_rows"], second["labeled_rows"], replay["labeled_rows"]) == (40, 80, 80)
    assert (first["new_label_files"], second["new_label_files"], replay["new_label_files"]) == (1, 1, 0)
    assert second["label_files"] == replay["label_files"] == 2
    corrected = labels_handler.handler(
        _label_event(st, "l2.csv", _labels(b, flip=True)), Ctx(function_name="labels")
    )
    assert opened == ["l1.csv", "l2.csv", "l2.csv"]  # new content, new ETag: read once
    assert (corrected["new_label_files"], corrected["duplicate_labels"]) == (1, 40)
    # a run with no new file reads no label file and gives the same numbers
    again = LabelJoiner(data_bucket=st.res.data_bucket, registry=st.registry).run(st.mc)
    assert opened == ["l1.csv", "l2.csv", "l2.csv"]
    assert (again.labeled_rows, again.new_label_files, again.duplicate_labels) == (80, 0, 40)
    assert again.window_metrics == corrected.get("window_metrics", again.window_metrics)


def test_labels_that_arrive_early_are_joined_when_their_batch_is_scored(st):
    early = frame(30, seed=3, start_id=500)
    out = labels_handler.handler(_label_event(st, "early.csv", _labels(early)), Ctx(function_name="labels"))
    assert (out["labeled_rows"], out["unknown_ids"]) == (0, 30)
    scored = _score(st, "late.csv", early)
    event = fixture("batch_scored.json")
    event["detail"] = {**event["detail"], "model": MODEL, "batch_id": scored["batch_id"]}
    joined = labels_handler.handler(event, Ctx(function_name="labels"))
    assert (joined["labeled_rows"], joined["unknown_ids"], joined["coverage"]) == (30, 0, 1.0)


def test_batch_scored_for_a_model_without_labels_reads_nothing(st):
    event = fixture("batch_scored.json")
    event["detail"] = {**event["detail"], "model": MODEL}
    assert labels_handler.handler(event, Ctx(function_name="labels"))["skipped"]


def test_realized_performance_is_per_model_version_and_the_headline_is_the_champions(st, resources):
    old_rows, new_rows = frame(200, seed=4), frame(200, seed=5, start_id=1000)
    _score(st, "old.csv", old_rows)
    v2 = register_champion(resources, seed=1)  # a promotion
    _score(st, "new.csv", new_rows)
    # labels agree with the rule for the new version's rows, contradict it for the old one's
    both = pd.concat([_labels(old_rows, flip=True), _labels(new_rows)], ignore_index=True)
    out = labels_handler.handler(_label_event(st, "both.csv", both), Ctx(function_name="labels"))
    result = LabelJoiner(data_bucket=st.res.data_bucket, registry=st.registry).run(st.mc)
    by_version = {v.model_version: v for v in result.versions}
    assert set(by_version) == {st.card.version, v2.version}
    assert by_version[v2.version].champion and not by_version[st.card.version].champion
    assert by_version[st.card.version].labeled_rows == by_version[v2.version].labeled_rows == 200
    new_auc = by_version[v2.version].metrics["roc_auc"]
    old_auc = by_version[st.card.version].metrics["roc_auc"]
    assert new_auc > 0.9 and old_auc < 0.1
    assert result.value == pytest.approx(new_auc)  # not the mixed window's
    assert result.window_metrics["roc_auc"] != pytest.approx(new_auc)
    assert out["value"] == pytest.approx(new_auc)
    history = st.read_parquet(result.history_uri.split("/", 3)[3])
    versions = history[(history["scope"] == "version") & (history["metric"] == "roc_auc")]
    assert dict(zip(versions["model_version"], versions["realized"], strict=True)) == pytest.approx(
        {st.card.version: old_auc, v2.version: new_auc}
    )


def test_the_scan_keeps_only_labeled_rows_and_a_capped_sample(st, monkeypatch):
    for i in range(3):
        _score(st, f"big-{i}.csv", frame(1000, seed=10 + i, start_id=10_000 * i))
    labeled = frame(1000, seed=10).head(50)
    labels_handler.handler(_label_event(st, "some.csv", _labels(labeled)), Ctx(function_name="labels"))
    monkeypatch.setattr(label_store, "ESTIMATE_ROWS", 300)
    from datetime import UTC, datetime, timedelta

    labels, _ = label_store.read_store(st.res.data_bucket, MODEL)
    from scorewatch.lifecycle.labels import canonical_ids

    scan = label_store.scan_scored(
        st.res.data_bucket,
        MODEL,
        since=datetime.now(UTC) - timedelta(days=1),
        id_columns=["customer_id"],
        keys=labels["_id_key"],
        canon=canonical_ids,
    )
    assert scan.rows == 3000 and sum(scan.batch_rows.values()) == 3000
    assert len(scan.matched) == 50 and set(scan.matched["customer_id"]) == set(labeled["customer_id"])
    assert len(scan.sample) == 300  # every 10th row of 3,000
    assert {"score_0", "score_1", "batch_id"} <= set(scan.sample.columns)
    assert "tenure" not in scan.matched.columns  # features are never read

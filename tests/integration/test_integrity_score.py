"""Issue 15 regressions on the score path, over HTTP on the emulator: awkward keys, per-object
outcomes in scheduled runs, and an idempotency key that includes the model version."""

from __future__ import annotations

import pytest
from handler_kit import MODEL, Ctx, encode, fixture, frame, make_stack, register_champion

from scorewatch.handlers import score

AWKWARD = [
    "Invoice #123.csv",
    "what?.csv",
    "a+b c.csv",
    "ünïcødé #?+ 名前.csv",
]


@pytest.fixture
def stack(resources, monkeypatch):
    st = make_stack(resources, monkeypatch)
    st.card = register_champion(resources)
    return st


@pytest.mark.parametrize("name", AWKWARD)
def test_keys_with_hash_query_plus_space_unicode_are_scored_under_their_full_key(stack, name):
    key = f"incoming/{MODEL}/{name}"
    put = stack.put(key, encode(frame(20), "csv"))
    out = score.handler(stack.s3_event(key, put), Ctx())
    assert out["status"] == "scored", out
    assert (out["rows_in"], out["rows_scored"], out["rows_rejected"]) == (20, 20, 0)
    assert out["source_uri"] == f"s3://{stack.res.data_bucket}/{key}"
    scored = stack.keys("scored/")
    assert len(scored) == 1
    assert set(stack.read_parquet(scored[0])["source_uri"]) == {out["source_uri"]}
    events = stack.events()
    assert [e["detail-type"] for e in events] == ["Batch Scored"]
    assert events[0]["detail"]["source_uri"] == out["source_uri"]
    # a redelivery returns the stored *scored* outcome, not a stored "missing"
    assert score.handler(stack.s3_event(key, put), Ctx()) == out


def _scheduled(resources, monkeypatch):
    cfg = {"models": [{"name": MODEL, "schedules": {"scoring": "rate(1 hour)"}}]}
    st = make_stack(resources, monkeypatch, config=cfg)
    st.card = register_champion(resources)
    event = dict(fixture("scheduled_event.json"))
    event["resources"] = ["arn:aws:events:us-east-1:123456789012:rule/sw-score-churn"]
    return st, event


def test_scheduled_run_scores_awkward_keys_and_every_object_after_them(resources, monkeypatch):
    st, event = _scheduled(resources, monkeypatch)
    names = ["0-first.csv", *AWKWARD, "z-last.csv"]
    for i, name in enumerate(names):
        st.put(f"incoming/{MODEL}/{name}", encode(frame(10, seed=i), "csv"))
    out = score.handler(event, Ctx())
    assert out["count"] == len(names)
    assert [o["status"] for o in out["outcomes"]] == ["scored"] * len(names)
    assert sorted(o["source_uri"].split("/", 5)[5] for o in out["outcomes"]) == sorted(names)
    assert sum(o["rows_scored"] for o in out["outcomes"]) == 10 * len(names)
    assert len(st.events()) == len(names)
    assert score.handler(event, Ctx()) == out  # idempotent per object
    assert st.events() == []


def test_scheduled_run_turns_one_failing_object_into_its_outcome(resources, monkeypatch):
    from scorewatch.handlers import scorer
    from scorewatch.handlers.settings import ScoreSettings, load

    st, event = _scheduled(resources, monkeypatch)
    for name in ("a.csv", "b-corrupt.csv", "c.csv"):
        st.put(f"incoming/{MODEL}/{name}", encode(frame(10), "csv"))
    service = scorer(load(ScoreSettings))
    real = service._score_object

    def corrupt_b(req, **kw):
        if req.key.endswith("b-corrupt.csv"):
            raise RuntimeError("artifact for this object is corrupt")
        return real(req, **kw)

    monkeypatch.setattr(service, "_score_object", corrupt_b)
    out = score.handler(event, Ctx())
    by_key = {o["source_uri"].rsplit("/", 1)[1]: o for o in out["outcomes"]}
    assert [by_key[k]["status"] for k in ("a.csv", "b-corrupt.csv", "c.csv")] == [
        "scored",
        "failed",
        "scored",
    ]
    assert by_key["b-corrupt.csv"]["reason"] == "RuntimeError"
    assert len(st.events()) == 2
    monkeypatch.setattr(service, "_score_object", real)
    again = score.handler(event, Ctx())  # the failure was not stored: the next run scores it
    assert [o["status"] for o in again["outcomes"]] == ["scored"] * 3
    assert [e["detail"]["source_uri"].rsplit("/", 1)[1] for e in st.events()] == ["b-corrupt.csv"]


def test_direct_payload_for_an_absent_object_is_a_missing_outcome_not_an_exception(stack):
    out = score.handler({"bucket": stack.res.data_bucket, "key": f"incoming/{MODEL}/nothing #1.csv"}, Ctx())
    assert out["status"] == "missing" and out["source_uri"].endswith("nothing #1.csv")
    assert stack.keys("scored/") == [] and stack.events() == []


def test_pinning_another_model_version_is_its_own_run_not_the_stored_outcome(stack, resources):
    key = f"incoming/{MODEL}/backfill.csv"
    put = stack.put(key, encode(frame(25), "csv"))
    base = {"bucket": stack.res.data_bucket, "key": key, "version_id": put["VersionId"]}
    first = score.handler(dict(base, model_version=stack.card.version), Ctx())
    new = register_champion(resources, seed=1)  # a promotion
    assert new.version != stack.card.version
    second = score.handler(dict(base, model_version=new.version), Ctx())
    assert (first["version"], second["version"]) == (stack.card.version, new.version)
    assert first["batch_id"] != second["batch_id"]
    assert [e["detail"]["version"] for e in stack.events()] == [stack.card.version, new.version]
    # each pair is still exactly once
    assert score.handler(dict(base, model_version=new.version), Ctx()) == second
    assert stack.events() == []


def test_every_rejected_row_is_recorded_with_its_ids_and_rows_balance(resources, monkeypatch):
    """40,000 rows, 1,600 bad: nothing sampled, every input row in exactly one output."""
    cfg = {"models": [{"name": MODEL, "chunk_rows": 5000, "max_reject_fraction": 0.05}]}
    st = make_stack(resources, monkeypatch, config=cfg)
    register_champion(resources)
    df = frame(40_000, seed=3).astype({"tenure": object, "charges": object})
    bad = df.index[::25]  # 1,600 rows
    df.loc[bad[::2], "tenure"] = "ten"
    df.loc[bad[1::2], "charges"] = "12,5"
    key = f"incoming/{MODEL}/big #1.csv"
    out = score.handler(st.s3_event(key, st.put(key, encode(df, "csv"))), Ctx())
    assert out["status"] == "scored", out
    assert (out["rows_in"], out["rows_rejected"]) == (40_000, 1_600)
    assert out["rows_in"] == out["rows_scored"] + out["rows_rejected"]
    rejected = st.read_parquet(out["rejected_uri"].split("/", 3)[3])
    assert len(rejected) == 1_600
    assert {"row", "column", "value", "reason", "customer_id"} <= set(rejected.columns)
    assert sorted(rejected["row"]) == [i + 1 for i in bad]  # 1-based data rows
    assert sorted(rejected["customer_id"]) == sorted(df.loc[bad, "customer_id"])
    by_column = rejected.groupby("column")["value"].agg(set).to_dict()
    assert by_column == {"tenure": {"ten"}, "charges": {"12,5"}}
    scored = st.read_parquet(st.keys("scored/")[0])
    assert len(scored) == out["rows_scored"]
    assert set(scored["customer_id"]).isdisjoint(rejected["customer_id"])
    assert sorted([*scored["customer_id"], *rejected["customer_id"]]) == sorted(df["customer_id"])
    (event,) = st.events()
    assert event["detail"]["rows_in"] == event["detail"]["rows_scored"] + event["detail"]["rows_rejected"]


def test_top_k_is_a_budget_over_the_whole_batch_not_per_chunk(resources, monkeypatch):
    cfg = {
        "models": [
            {
                "name": MODEL,
                "chunk_rows": 1000,
                "positive_class": 1,
                "decision": {"kind": "top_k", "k": 10},
            }
        ]
    }
    st = make_stack(resources, monkeypatch, config=cfg)
    register_champion(resources)
    df = frame(6000, seed=4)
    key = f"incoming/{MODEL}/top-k.parquet"
    out = score.handler(st.s3_event(key, st.put(key, encode(df, "parquet"))), Ctx())
    assert out["status"] == "scored" and out["rows_scored"] == 6000
    scored = st.read_parquet(st.keys("scored/")[0])
    acted = scored[scored["decision"] == "act"]
    assert len(acted) == 10  # not 10 per 1,000-row chunk
    top = scored["score_1"].nlargest(10)
    assert acted["score_1"].min() >= top.min()
    assert sorted(scored["customer_id"]) == sorted(df["customer_id"])  # every row kept, in order
    assert scored["customer_id"].tolist() == df["customer_id"].tolist()
    assert set(scored["decision"]) == {"act", "none"}


def test_scheduled_run_reports_an_object_deleted_after_listing_and_scores_the_rest(resources, monkeypatch):
    """Listed, then gone before it is pinned: a ``missing`` outcome, not an IdempotencyKeyError."""
    from scorewatch.io import storage

    st, event = _scheduled(resources, monkeypatch)
    for name in ("a.csv", "ghost #1.csv", "z.csv"):
        st.put(f"incoming/{MODEL}/{name}", encode(frame(10), "csv"))
    real_list = storage.list_uris

    def list_then_delete(prefix):
        listed = real_list(prefix)
        st.s3.delete_object(Bucket=st.res.data_bucket, Key=f"incoming/{MODEL}/ghost #1.csv")
        return listed

    monkeypatch.setattr(storage, "list_uris", list_then_delete)
    out = score.handler(event, Ctx())
    statuses = {o["source_uri"].rsplit("/", 1)[1]: o["status"] for o in out["outcomes"]}
    assert statuses == {"a.csv": "scored", "ghost #1.csv": "missing", "z.csv": "scored"}
    assert len(st.events()) == 2

"""Configuration as data on moto's server: the versioned store, the TTL-cached reader, and a model
onboarded, retuned and retired with no synthesis and no environment change."""

from __future__ import annotations

import threading

import pytest
from handler_kit import MODEL, Ctx, encode, frame, make_stack, register_champion

from scorewatch.core.config import ModelConfig
from scorewatch.core.errors import ConfigError
from scorewatch.handlers import monitor, score
from scorewatch.io.fleet_config import FleetConfig
from scorewatch.io.registry.configs import ConfigStore, parse_model_config


class Clock:
    """Monotonic seconds the test moves by hand (no sleeps)."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def store(resources) -> ConfigStore:
    return ConfigStore(resources.registry_table)


def test_put_stores_versions_and_an_identical_document_writes_nothing(store):
    first = store.put(ModelConfig(name="m1", chunk_rows=500), actor="alice")
    again = store.put(ModelConfig.model_validate({"name": "m1", "chunk_rows": 500}), actor="bob")
    second = store.put(ModelConfig(name="m1", chunk_rows=600), actor="bob")

    assert (first.version, again.version, second.version) == (1, 1, 2)
    assert again.stored_by == "alice" and again.sha256 == first.sha256 != second.sha256
    current = store.current("m1")
    assert current is not None and current.version == 2 and current.config.chunk_rows == 600
    history = store.history("m1")
    assert [(h.version, h.config.chunk_rows, h.stored_by) for h in history] == [
        (1, 500, "alice"),
        (2, 600, "bob"),
    ]
    assert store.current("never-configured") is None and store.history("never-configured") == []


def test_racing_writers_never_lose_an_update(store):
    barrier = threading.Barrier(4)
    results = []

    def put(i: int) -> None:
        barrier.wait()
        results.append(store.put(ModelConfig(name="raced", chunk_rows=1000 + i), actor=f"w{i}"))

    threads = [threading.Thread(target=put, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    history = store.history("raced")
    assert [h.version for h in history] == [1, 2, 3, 4]
    assert sorted(h.config.chunk_rows for h in history) == [1000, 1001, 1002, 1003]
    assert sorted(r.version for r in results) == [1, 2, 3, 4]
    assert store.current("raced").version == 4


def test_a_bad_document_is_refused_naming_the_field_and_the_good_one_stays(store):
    store.put(ModelConfig(name="m2", drift={"cooldown_minutes": 30}), actor="alice")
    with pytest.raises(ConfigError, match=r"drift\.cooldown_minutes"):
        parse_model_config({"name": "m2", "drift": {"cooldown_minutes": -5}}, source="model.json")
    with pytest.raises(ConfigError, match=r"decision"):
        parse_model_config({"name": "m2", "decision": {"kind": "fixed"}}, source="model.json")
    current = store.current("m2")
    assert current is not None and current.version == 1 and current.config.drift.cooldown_minutes == 30


def test_all_current_is_one_partition_and_retire_keeps_history(store):
    for i in range(3):
        store.put(ModelConfig(name=f"fleet-{i}"), actor="seed")
    store.put(ModelConfig(name="fleet-1", chunk_rows=777), actor="seed")
    retired = store.retire("fleet-2", actor="ops")

    assert retired.status == "retired" and retired.version == 1
    assert [s.name for s in store.all_current()] == ["fleet-0", "fleet-1"]
    assert [(s.name, s.status) for s in store.all_current(include_retired=True)] == [
        ("fleet-0", "active"),
        ("fleet-1", "active"),
        ("fleet-2", "retired"),
    ]
    assert [h.version for h in store.history("fleet-1")] == [1, 2]
    assert store.retire("fleet-2", actor="ops").status == "retired"  # idempotent
    with pytest.raises(ConfigError, match="no stored configuration"):
        store.retire("ghost", actor="ops")
    # configuring a retired model again re-activates it as a new version
    back = store.put(ModelConfig(name="fleet-2"), actor="ops")
    assert (back.version, back.status) == (2, "active")


def test_reader_serves_its_snapshot_until_the_ttl_then_rereads(store):
    clock = Clock()
    store.put(ModelConfig(name="ttl", chunk_rows=500), actor="a")
    reader = FleetConfig(store, ttl_seconds=30, clock=clock)
    assert reader.model("ttl").chunk_rows == 500 and reader.version("ttl") == 1

    store.put(ModelConfig(name="ttl", chunk_rows=900), actor="a")
    clock.t += 29
    assert reader.model("ttl").chunk_rows == 500  # cached within the TTL
    clock.t += 2
    assert reader.model("ttl").chunk_rows == 900 and reader.version("ttl") == 2

    # a model stored after the snapshot is found by name at once, and is not run on defaults
    store.put(ModelConfig(name="newcomer", chunk_rows=4321), actor="a")
    assert reader.model("newcomer").chunk_rows == 4321
    assert reader.model("unknown") == ModelConfig(name="unknown") and reader.version("unknown") is None
    store.retire("ttl", actor="a")
    clock.t += 31
    assert reader.retired("ttl") and [m.name for m in reader.models] == ["newcomer"]


# ---------------------------------------------------------------- the score function reads it


@pytest.fixture
def stack(resources, monkeypatch):
    # Nothing about MODEL in the environment or a models file: only the store knows it.
    st = make_stack(resources, monkeypatch, config={"models": []})
    st.card = register_champion(resources)
    st.store = ConfigStore(resources.registry_table)
    return st


def _drop(stack, name: str, n: int = 120):
    key = f"incoming/{MODEL}/2026-01-02/{name}.csv"
    put = stack.put(key, encode(frame(n, seed=len(name)), "csv"))
    return score.handler(stack.s3_event(key, put), Ctx())


def test_a_model_onboarded_by_configure_only_is_scored_with_its_config(stack):
    stack.store.put(
        parse_model_config(
            {
                "name": MODEL,
                "id_columns": ["customer_id"],
                "decision": {"kind": "fixed", "threshold": 0.5, "positive_action": "call"},
            }
        ),
        actor="onboarding",
    )
    out = _drop(stack, "first")

    assert out["status"] == "scored" and out["config_version"] == 1
    table = stack.read_parquet(out["output_uri"].split("/", 3)[3])
    assert "customer_id" in table.columns
    assert set(table["decision"]) <= {"call", "none"} and "call" in set(table["decision"])
    (event,) = [e for e in stack.events() if e["detail-type"] == "Batch Scored"]
    assert event["detail"]["config_version"] == 1

    # the batch's monitoring report and history rows record the config version it ran under
    stack.store.put(ModelConfig(name=MODEL, chunk_rows=1234), actor="retune")  # v2: not this batch's
    assert monitor.handler(event, Ctx(function_name="monitor"))["status"] == "evaluated"
    (history,) = stack.keys(f"monitoring/model={MODEL}/history/")
    assert set(stack.read_parquet(history)["config_version"]) == {1}
    (report,) = [k for k in stack.keys(f"monitoring/model={MODEL}/drift/") if k.endswith(".json")]
    assert stack.read_json(report)["config_version"] == 1


def test_a_retuned_threshold_applies_to_the_next_drop_and_a_bad_one_never_lands(stack):
    base = {"name": MODEL, "id_columns": ["customer_id"]}
    stack.store.put(parse_model_config({**base, "decision": {"kind": "fixed", "threshold": 0.0}}), actor="a")
    first = stack.read_parquet(_drop(stack, "before")["output_uri"].split("/", 3)[3])
    assert set(first["decision"]) == {"act"}

    with pytest.raises(ConfigError, match=r"decision\.threshold"):
        parse_model_config({**base, "decision": {"kind": "fixed", "threshold": 7}})
    assert stack.store.current(MODEL).version == 1

    stack.store.put(parse_model_config({**base, "decision": {"kind": "fixed", "threshold": 1.0}}), actor="a")
    out = _drop(stack, "after")  # the test environment's TTL is 0: the next read sees version 2
    assert out["config_version"] == 2
    assert set(stack.read_parquet(out["output_uri"].split("/", 3)[3])["decision"]) == {"none"}


def test_a_drop_for_a_retired_model_is_rejected_with_the_reason_and_kept(stack):
    stack.store.put(ModelConfig(name=MODEL), actor="a")
    stack.store.retire(MODEL, actor="ops")
    out = _drop(stack, "late")

    assert out["status"] == "rejected" and out["reason"] == "model_retired"
    assert "retired" in out["message"]
    assert stack.keys(f"incoming/{MODEL}/") == [f"incoming/{MODEL}/2026-01-02/late.csv"]
    assert stack.keys("scored/") == []
    report = stack.read_json(out["report_uri"].split("/", 3)[3])
    assert report["reason"] == "model_retired"
    (event,) = [e for e in stack.events() if e["detail-type"] == "Batch Rejected"]
    assert event["detail"]["reason"] == "model_retired"


def test_with_a_ttl_the_function_picks_up_a_retuned_threshold_once_the_ttl_has_passed(resources, monkeypatch):
    import time

    from scorewatch.core.contract import Env

    stack = make_stack(resources, monkeypatch, config={"models": []}, extra_env={Env.CONFIG_TTL_SECONDS: "1"})
    register_champion(resources)
    store = ConfigStore(resources.registry_table)
    base = {"name": MODEL, "decision": {"kind": "fixed", "threshold": 0.0}}
    store.put(parse_model_config(base), actor="a")
    first = _drop(stack, "one")
    assert first["config_version"] == 1
    store.put(parse_model_config({**base, "decision": {"kind": "fixed", "threshold": 1.0}}), actor="a")
    time.sleep(1.2)  # past the 1 s TTL of the container's cached configurations
    second = _drop(stack, "two")
    assert second["config_version"] == 2
    assert set(stack.read_parquet(second["output_uri"].split("/", 3)[3])["decision"]) == {"none"}

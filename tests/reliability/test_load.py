"""Load: 100 drops across 3 models from 8 threads; every input row is accounted for, per file."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from reliability_kit import Ctx, csv_bytes, frame, make_stack, model_config, register_champion

MODELS = ("churn", "ads", "failures")
DROPS = 100
THREADS = 8


@pytest.fixture
def stack(resources, monkeypatch):
    st = make_stack(resources, monkeypatch, models=[model_config(m) for m in MODELS])
    for m in MODELS:
        register_champion(resources, m, baseline=False)
    return st


def _drops():
    """(model, key, frame, bad row ids) per drop: 20-59 rows, 0-3 of them unscorable."""
    rng = np.random.default_rng(42)
    out = []
    for i in range(DROPS):
        model = MODELS[i % len(MODELS)]
        df = frame(int(rng.integers(20, 60)), seed=i, start_id=i * 1000)
        df["tenure"] = df["tenure"].astype(object)
        bad = rng.choice(len(df), size=int(rng.integers(0, 4)), replace=False)
        df.loc[bad, "tenure"] = "not-a-number"
        out.append((model, f"incoming/{model}/load/drop-{i:03d}.csv", df, set(df["customer_id"].iloc[bad])))
    return out


def test_hundred_concurrent_drops_account_for_every_row(stack):
    from scorewatch.handlers import score

    drops = _drops()
    events = [stack.s3_event(key, stack.put(key, csv_bytes(df))) for _, key, df, _ in drops]
    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(lambda ev: score.handler(ev, Ctx()), events))

    assert [o["status"] for o in outcomes] == ["scored"] * DROPS
    for (model, key, df, bad_ids), out in zip(drops, outcomes, strict=True):
        assert out["source_uri"].endswith(key) and out["model"] == model
        scored = stack.read_parquet(out["output_uri"].split("/", 3)[3])
        scored_ids = set(scored["customer_id"])
        rejected_rows: set[int] = set()
        if bad_ids:
            rejected = stack.read_parquet(out["rejected_uri"].split("/", 3)[3])
            rejected_rows = set(rejected["row"])
        else:
            assert out["rejected_uri"] is None
        # scored + rejected = input, row for row
        assert len(scored) + len(rejected_rows) == len(df) == out["rows_in"]
        assert scored_ids == set(df["customer_id"]) - bad_ids
        assert {df["customer_id"].iloc[r - 1] for r in rejected_rows} == bad_ids
        assert set(scored["model_name"]) == {model}
    # one output per drop, one event per drop, nothing else
    assert len(stack.keys("scored/")) == DROPS
    per_model = {m: len(stack.keys(f"scored/model={m}/")) for m in MODELS}
    assert per_model == {m: sum(d[0] == m for d in drops) for m in MODELS}
    published = stack.events()
    assert len(published) == DROPS
    assert {e["detail"]["batch_id"] for e in published} == {o["batch_id"] for o in outcomes}

"""A soak over the score path on moto's server (issue 15): mixed formats and keys, bad rows,
re-uploads and duplicate deliveries across three models; afterwards every object is accounted
for exactly once and the row totals balance.

240 uploads: CSV, CSV.gz, Parquet and JSON lines; 5% of the rows of text files unscorable; one
upload in 20 missing a column (rejected whole); 10% of the keys uploaded again with new content;
5% of the events delivered twice; keys with spaces, ``#``, ``?``, ``+`` and unicode.
"""

from __future__ import annotations

import gzip
import io
import random
import time

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from reliability_kit import Ctx, frame, make_stack, model_config, register_champion

from scorewatch.io import scored

MODELS = ("churn", "fraud", "upsell")
UPLOADS = 240
NAMES = ("plain", "with space", "hash #7", "what?", "a+b", "ünï 名前")


def _encode(df: pd.DataFrame, fmt: str) -> bytes:
    if fmt == "parquet":
        buf = io.BytesIO()
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), buf)
        return buf.getvalue()
    if fmt == "jsonl":
        return df.to_json(orient="records", lines=True).encode()
    data = df.to_csv(index=False).encode()
    return gzip.compress(data) if fmt == "csv.gz" else data


@pytest.fixture
def stack(resources, monkeypatch):
    st = make_stack(resources, monkeypatch, models=[model_config(m) for m in MODELS])
    for m in MODELS:
        register_champion(resources, m)
    return st


def test_soak_every_object_accounted_for_once_and_rows_balance(stack):
    from scorewatch.handlers import score

    rng = random.Random(15)
    started = time.monotonic()
    uploads: list[dict] = []  # every upload: key, rows, expected bad rows, whole-file rejection
    keys: list[tuple[str, str]] = []
    for i in range(UPLOADS):
        reupload = keys and rng.random() < 0.10
        if reupload:
            model, key = rng.choice(keys)
            fmt = key.rsplit(".", 1)[1] if not key.endswith(".csv.gz") else "csv.gz"
        else:
            model = MODELS[i % 3]
            fmt = ("csv", "csv.gz", "parquet", "jsonl")[i % 4]
            key = f"incoming/{model}/soak/{NAMES[i % len(NAMES)]} {i}.{fmt}"
            keys.append((model, key))
        n = rng.randint(20, 80)
        df = frame(n, seed=i, start_id=i * 1000)
        bad = 0
        reject_file = rng.random() < 0.05
        if reject_file:
            df = df.drop(columns=["plan"])
        elif fmt != "parquet":
            df = df.astype({"tenure": object})
            for r in range(n):
                if rng.random() < 0.05:
                    df.loc[r, "tenure"] = "not a number"
                    bad += 1
        put = stack.put(key, _encode(df, fmt))
        event = stack.s3_event(key, put)
        out = score.handler(event, Ctx())
        if rng.random() < 0.05:
            assert score.handler(event, Ctx()) == out  # a duplicate delivery
        uploads.append({"model": model, "key": key, "rows": n, "bad": bad, "reject": reject_file, "out": out})
    events = stack.events(wait=1.0)
    seconds = time.monotonic() - started

    # every upload has one outcome, and it is the right one
    for u in uploads:
        o = u["out"]
        if u["reject"]:
            assert o["status"] == "rejected" and o["reason"] == "missing_columns", u
        else:
            assert o["status"] == "scored", u
            assert (o["rows_in"], o["rows_rejected"]) == (u["rows"], u["bad"]), u
            assert o["rows_in"] == o["rows_scored"] + o["rows_rejected"], u
    # one event per upload, none for a duplicate delivery
    assert sorted(e["detail"]["batch_id"] for e in events) == sorted(u["out"]["batch_id"] for u in uploads)
    # one current result per key: the last upload's, when it was scored
    last = {}
    for u in uploads:
        last[u["key"]] = u
    current_rows = 0
    for model in MODELS:
        objects = scored.current(
            scored.describe(i) for i in scored.list_scored(stack.res.data_bucket, model)
        )[0]
        by_source = {}
        for o in objects:
            by_source.setdefault(o.source_uri.split("/", 3)[3], set()).add(o.batch_id)
            current_rows += o.rows or 0
        current_infos = {i.uri for i in scored.current_scored(stack.res.data_bucket, model)}
        for key, batches in by_source.items():
            assert len(batches) == 1, key
            if not last[key]["reject"]:
                assert batches == {last[key]["out"]["batch_id"]}, key
            else:  # a rejected re-upload supersedes the earlier result too
                assert not any(b in u for b in batches for u in current_infos), key
        current_rows -= sum(o.rows or 0 for o in objects if o.info.uri not in current_infos)
    expected = sum(u["rows"] - u["bad"] for u in last.values() if not u["reject"])
    assert current_rows == expected
    reuploads = len(uploads) - len(last)
    print(
        f"soak: {len(uploads)} uploads of {len(last)} keys ({reuploads} re-uploads), "
        f"{sum(u['rows'] for u in uploads)} rows in, {sum(u['bad'] for u in uploads)} bad rows, "
        f"{sum(u['reject'] for u in uploads)} files rejected, {len(events)} events, "
        f"{current_rows} current scored rows, {seconds:.0f} s"
    )

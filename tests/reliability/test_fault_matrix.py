"""Fault-injection matrix over the score path, on moto's server (issue 15).

For every AWS call a warm score invocation makes (discovered by recording a clean run, so a new
call joins the matrix by itself), a transient failure (503/throttling, once) and a permanent one
(403 AccessDenied, until fixed) are injected at that call. The same event is then delivered
again with the fault gone, and once more as a duplicate. Invariants afterwards, for every point:

* no loss: the object is scored, ``rows_in = rows_scored + rows_rejected = 30``, and the scoring
  ledger has its entry;
* no duplicate: one output object for the batch and one ``Batch Scored`` over all three calls;
* clear outcome: the faulted invocation either raised (``TransientError`` for a transient fault,
  so Lambda retries; the AWS error for a permanent one, so the event lands in the DLQ) or
  completed in full; it never returned a partial result.

The table of points x outcomes is written to ``test-artifacts/fault-matrix.md`` and is the one
in docs/reliability.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import botocore.client
import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from faults import client_error, install_arrow_read_faults, install_boto_faults
from reliability_kit import MODEL, Ctx, csv_bytes, frame, make_stack, model_config, register_champion

from scorewatch.core.errors import TransientError

ROWS = 30
TRANSIENT = {
    "s3": "SlowDown",
    "dynamodb": "ProvisionedThroughputExceededException",
    "events": "ThrottlingException",
}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _target(service: str, op: str, params: dict[str, Any], stack: Any) -> str:
    """A readable name for what the call touches (key prefix, table)."""
    if service == "s3":
        if params.get("Bucket") == stack.res.models_bucket:
            return "models bucket"
        key = str(params.get("Key") or params.get("Prefix") or "")
        parts = key.split("/")
        if parts[0] == "monitoring" and len(parts) > 2:
            return f"monitoring/{parts[2]}/"
        return f"{parts[0]}/" if parts[0] else "(bucket)"
    if service == "dynamodb":
        table = str(params.get("TableName", ""))
        return "idempotency" if table == stack.res.idempotency_table else "registry"
    return "bus"


def _recorder(monkeypatch, stack) -> list[tuple[str, str, str]]:
    calls: list[tuple[str, str, str]] = []
    original = botocore.client.BaseClient._make_api_call

    def wrapped(self, operation_name, api_params):
        service = self.meta.service_model.service_name
        point = (service, operation_name, _target(service, operation_name, api_params, stack))
        if point not in calls:
            calls.append(point)
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", wrapped)
    return calls


@pytest.fixture
def stack(resources, monkeypatch):
    st = make_stack(resources, monkeypatch, models=[model_config()])
    st.card = register_champion(resources)
    return st


def _drop(stack, name: str, seed: int) -> dict:
    key = f"incoming/{MODEL}/{name}.csv"
    return stack.s3_event(key, stack.put(key, csv_bytes(frame(ROWS, seed=seed))))


def _discover(stack, monkeypatch) -> list[tuple[str, str, str]]:
    from scorewatch.handlers import score

    assert score.handler(_drop(stack, "warm-up", 0), Ctx())["status"] == "scored"
    stack.events()
    with monkeypatch.context() as m:
        calls = _recorder(m, stack)
        score.handler(_drop(stack, "discover", 1), Ctx())
    stack.events()
    # the test's own put_object is not the score path's
    return [c for c in calls if not (c[1] == "PutObject" and c[2] == "incoming/")]


def _inject(monkeypatch, point, mode: str):
    service, op, target = point
    faults = install_boto_faults(monkeypatch)

    def when(params, _t=target):
        return _target(service, op, params, _stack_ref[0]) == _t

    if mode == "transient":
        faults.fail(op, when=when, error=lambda: client_error(TRANSIENT[service], op, 503), times=1)
    else:
        faults.fail(op, when=when, error=lambda: client_error("AccessDenied", op, 403))
    return faults


_stack_ref: list[Any] = []


def _run_point(stack, monkeypatch, point, mode: str, i: int) -> dict[str, Any]:
    from scorewatch.handlers import score

    event = _drop(stack, f"fault-{i}-{mode}", 10 + i)
    key = event["detail"]["object"]["key"]
    with monkeypatch.context() as m:
        if point[1] == "GetObject (pyarrow)":
            state = install_arrow_read_faults(m, lambda path: path.endswith(f"{key}"))
            if mode == "transient":
                first_calls = [0]
                real = state.when

                def once(path, _real=real, _n=first_calls):
                    if _real(path) and _n[0] == 0:
                        _n[0] += 1
                        return True
                    return False

                state.when = once
            hit = lambda: state.hits  # noqa: E731
        else:
            faults = _inject(m, point, mode)
            hit = lambda: sum(faults.hits.values())  # noqa: E731
        try:
            first: Any = score.handler(event, Ctx())
            first_result = f"completed ({first['status']})"
        except TransientError:
            first_result = "TransientError"
        except Exception as exc:  # the matrix records what escaped
            first_result = type(exc).__name__
        injected = hit()
    try:
        replay = score.handler(event, Ctx())
        waited = False
    except IdempotencyAlreadyInProgressError:
        # The faulted run left its INPROGRESS record (saving the result failed): Lambda's retry
        # is refused until that record's expiry, the invocation's timeout. Let it expire.
        _expire_in_progress(stack)
        replay = score.handler(event, Ctx())
        waited = True
    duplicate = score.handler(event, Ctx())
    events = [e for e in stack.events(wait=0.5) if e["detail"].get("source_uri", "").endswith(key)]
    batch = replay["batch_id"]
    outputs = [k for k in stack.keys("scored/") if batch in k]
    from scorewatch.core import layout
    from scorewatch.io import storage

    uri = layout.s3_uri(stack.res.data_bucket, key)
    entry = layout.ledger_key(MODEL, storage.source_identity(storage.stat(uri)), stack.card.version)
    ledger = storage.exists(layout.s3_uri(stack.res.data_bucket, entry))
    return {
        "point": point,
        "mode": mode,
        "injected": injected,
        "first": first_result,
        "replay": replay,
        "duplicate": duplicate,
        "events": [e["detail-type"] for e in events],
        "outputs": outputs,
        "ledger": ledger,
        "waited": waited,
    }


def _expire_in_progress(stack) -> None:
    import boto3

    table = boto3.resource("dynamodb").Table(stack.res.idempotency_table)
    for item in table.scan()["Items"]:
        if item.get("status") == "INPROGRESS":
            table.delete_item(Key={"id": item["id"]})


def test_every_aws_call_of_the_score_path_under_transient_and_permanent_faults(stack, monkeypatch):
    _stack_ref[:] = [stack]
    points = _discover(stack, monkeypatch)
    names = {(s, o) for s, o, _ in points}
    # the calls a warm invocation makes: the matrix must cover at least these
    assert {
        ("s3", "HeadObject"),
        ("s3", "ListObjectsV2"),
        ("dynamodb", "PutItem"),
        ("events", "PutEvents"),
    } <= names
    points.append(("s3", "GetObject (pyarrow)", "incoming/"))  # permanent here: 503 until fixed
    rows = []
    for i, point in enumerate(points):
        for mode in ("transient", "permanent"):
            r = _run_point(stack, monkeypatch, point, mode, i)
            rows.append(r)
            where = f"{point} {mode}: {r['first']}"
            assert r["injected"] >= 1, where
            assert r["replay"]["status"] == "scored", where
            assert (
                r["replay"]["rows_in"] == r["replay"]["rows_scored"] + r["replay"]["rows_rejected"] == ROWS
            ), where
            assert r["duplicate"] == r["replay"], where
            assert r["events"] == ["Batch Scored"], where
            assert len(r["outputs"]) == 1, where
            assert r["first"] in ("TransientError", "completed (scored)") or mode == "permanent", where
            if mode == "transient":
                assert r["first"] in ("TransientError", "completed (scored)"), where
            else:
                assert r["first"] != "completed (rejected)", where
    # the ledger entry is written after the event: only a fault on that very write leaves it out
    assert [r["point"][2] for r in rows if not r["ledger"]] == ["monitoring/ledger/"] * 2
    ARTIFACTS.mkdir(exist_ok=True)
    lines = [
        "| call (target) | transient (503/throttle, once) | permanent (403, until fixed) "
        "| after replay + duplicate | ledger entry |",
        "|---|---|---|---|---|",
    ]
    for point in points:
        t, p = (
            next(r for r in rows if r["point"] == point and r["mode"] == m)
            for m in ("transient", "permanent")
        )
        service, op, target = point
        wait = " (retry after the in-progress record expires)" if t["waited"] or p["waited"] else ""
        lines.append(
            f"| {service} {op} ({target}) | {t['first']} | {p['first']} "
            f"| scored once: 1 output, 1 Batch Scored{wait} "
            f"| {'yes' if t['ledger'] and p['ledger'] else 'no'} |"
        )
    (ARTIFACTS / "fault-matrix.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    print(f"points={len(points)} faults={len(rows)} objects={len(rows) + 2} rows={ROWS * (len(rows) + 2)}")


# ------------------------------------------------------------------------------------ labels path
LABEL_ROWS = 20


def _labels_stack(resources, monkeypatch):
    cfg = model_config(id_columns=["customer_id"], target="churn", alarms={"performance_floor": 0.99})
    st = make_stack(resources, monkeypatch, models=[cfg])
    st.card = register_champion(resources)
    return st


def _label_drop(stack, name: str, start: int) -> dict:
    ids = [f"c{start + i:07d}" for i in range(LABEL_ROWS)]
    body = ("customer_id,churn\n" + "".join(f"{c},{i % 2}\n" for i, c in enumerate(ids))).encode()
    key = f"labels/{MODEL}/{name}.csv"
    return stack.s3_event(key, stack.put(key, body))


def _end_cooldown(stack) -> None:
    """What the cooldown's expiry does: the next degraded join may announce again."""
    import boto3

    table = boto3.resource("dynamodb").Table(stack.res.registry_table)
    from scorewatch.core.contract import Table

    pk, sk = Table.REGISTRY_PK, Table.REGISTRY_SK
    for item in table.scan()["Items"]:
        if str(item.get(pk, "")).startswith(Table.CONTROL_PREFIX):
            table.delete_item(Key={pk: item[pk], sk: item[sk]})


def test_every_aws_call_of_the_labels_path_under_transient_and_permanent_faults(resources, monkeypatch):
    from scorewatch.handlers import labels as labels_handler
    from scorewatch.handlers import score

    st = _labels_stack(resources, monkeypatch)
    _stack_ref[:] = [st]
    n_scored = 2000  # ids c0000000.. scored in one batch; every label file names 20 of them
    key = f"incoming/{MODEL}/scored.csv"
    assert (
        score.handler(st.s3_event(key, st.put(key, csv_bytes(frame(n_scored)))), Ctx())["status"] == "scored"
    )
    labels_handler.handler(_label_drop(st, "warm-up", 0), Ctx(function_name="labels"))
    st.events()
    _end_cooldown(st)
    with monkeypatch.context() as m:
        calls = _recorder(m, st)
        labels_handler.handler(_label_drop(st, "discover", LABEL_ROWS), Ctx(function_name="labels"))
    st.events()
    points = [c for c in calls if not (c[1] == "PutObject" and c[2] == "labels/")]
    assert ("events", "PutEvents", "bus") in points and ("dynamodb", "PutItem", "registry") in points
    files, rows = 2, []
    for i, point in enumerate(points):
        for mode in ("transient", "permanent"):
            _end_cooldown(st)
            event = _label_drop(st, f"p{i}-{mode}", LABEL_ROWS * (files + 0))
            files += 1
            with monkeypatch.context() as m:
                faults = _inject(m, point, mode)
                try:
                    labels_handler.handler(event, Ctx(function_name="labels"))
                    first = "completed"
                except TransientError:
                    first = "TransientError"
                except Exception as exc:  # the matrix records what escaped
                    first = type(exc).__name__
                injected = sum(faults.hits.values())
            replay = labels_handler.handler(event, Ctx(function_name="labels"))
            duplicate = labels_handler.handler(event, Ctx(function_name="labels"))
            degraded = [e for e in st.events(wait=0.5) if e["detail-type"] == "Performance Degraded"]
            store = [k for k in st.keys(f"monitoring/model={MODEL}/labels/store/") if k.endswith(".parquet")]
            r = {
                "point": point,
                "mode": mode,
                "first": first,
                "injected": injected,
                "labeled": (replay["labeled_rows"], duplicate["labeled_rows"]),
                "store": len(store),
                "degraded": len(degraded),
            }
            rows.append(r)
            where = f"{point} {mode}: {r}"
            assert injected >= 1, where
            assert r["labeled"] == (LABEL_ROWS * files,) * 2, where  # no label lost or counted twice
            assert r["store"] == files, where  # each label file in the ledger once
            assert r["degraded"] == 1, where  # announced once, not lost and not twice
            if mode == "transient":
                assert first in ("TransientError", "completed"), where
    lines = [
        "| call (target) | transient (once) | permanent (403, until fixed) | after replay + duplicate |",
        "|---|---|---|---|",
    ]
    for point in points:
        t, p = (
            next(r for r in rows if r["point"] == point and r["mode"] == m)
            for m in ("transient", "permanent")
        )
        service, op, target = point
        lines.append(
            f"| {service} {op} ({target}) | {t['first']} | {p['first']} "
            "| labels counted once, 1 store part, 1 Performance Degraded |"
        )
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "fault-matrix-labels.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    print(f"points={len(points)} faults={len(rows)} label files={files}")


# ----------------------------------------------------------------------------------- monitor path
@pytest.mark.parametrize("mode", ["transient", "permanent"])
def test_a_failed_drift_detected_publish_gives_the_cooldown_back_and_the_retry_announces_once(
    stack, monkeypatch, mode
):
    """The cooldown is claimed before Drift Detected is published: a failed publish must not
    leave it claimed, or the retry finds the cooldown taken and the drift is never announced."""
    from scorewatch.handlers import monitor, score

    _stack_ref[:] = [stack]
    drifted = frame(300, seed=3)
    drifted["tenure"] += 40
    drifted["plan"] = "max"
    key = f"incoming/{MODEL}/drifted.csv"
    score.handler(stack.s3_event(key, stack.put(key, csv_bytes(drifted))), Ctx())
    (scored_event,) = stack.events()
    with monkeypatch.context() as m:
        faults = _inject(m, ("events", "PutEvents", "bus"), mode)
        with pytest.raises(Exception) as err:
            monitor.handler(scored_event, Ctx(function_name="monitor"))
        assert sum(faults.hits.values()) == 1 if mode == "transient" else sum(faults.hits.values()) >= 1
    assert isinstance(err.value, TransientError) == (mode == "transient")
    retry = monitor.handler(scored_event, Ctx(function_name="monitor"))
    duplicate = monitor.handler(scored_event, Ctx(function_name="monitor"))
    assert (retry["drift_event"], duplicate["drift_event"]) == (True, False)
    assert [e["detail-type"] for e in stack.events(wait=0.5)] == ["Drift Detected"]


def test_every_aws_call_of_the_monitor_path_under_transient_and_permanent_faults(stack, monkeypatch):
    """Batch Scored -> monitor for a drifted batch: one report, one history file, one Drift Detected."""
    from scorewatch.handlers import monitor, score

    _stack_ref[:] = [stack]

    def drifted_batch(name: str, seed: int) -> dict:
        df = frame(300, seed=seed)
        df["tenure"] += 40
        df["plan"] = "max"
        key = f"incoming/{MODEL}/{name}.csv"
        score.handler(stack.s3_event(key, stack.put(key, csv_bytes(df))), Ctx())
        (event,) = stack.events()
        return event

    monitor.handler(drifted_batch("warm-up", 0), Ctx(function_name="monitor"))
    stack.events()
    _end_cooldown(stack)
    event = drifted_batch("discover", 1)
    with monkeypatch.context() as m:
        calls = _recorder(m, stack)
        monitor.handler(event, Ctx(function_name="monitor"))
    stack.events()
    points = list(calls)
    assert ("events", "PutEvents", "bus") in points
    rows = []
    for i, point in enumerate(points):
        for mode in ("transient", "permanent"):
            event = drifted_batch(f"m{i}-{mode}", 100 + 2 * i + (mode == "permanent"))
            batch = event["detail"]["batch_id"]
            _end_cooldown(stack)
            with monkeypatch.context() as m:
                faults = _inject(m, point, mode)
                try:
                    monitor.handler(event, Ctx(function_name="monitor"))
                    first = "completed"
                except TransientError:
                    first = "TransientError"
                except Exception as exc:  # the matrix records what escaped
                    first = type(exc).__name__
                injected = sum(faults.hits.values())
            retry = monitor.handler(event, Ctx(function_name="monitor"))
            duplicate = monitor.handler(event, Ctx(function_name="monitor"))
            drift = [e for e in stack.events(wait=0.5) if e["detail-type"] == "Drift Detected"]
            reports = [k for k in stack.keys(f"monitoring/model={MODEL}/drift/") if batch in k]
            history = [k for k in stack.keys(f"monitoring/model={MODEL}/history/") if batch in k]
            r = {"point": point, "mode": mode, "first": first, "injected": injected}
            rows.append(r)
            where = f"{point} {mode}: {r} {retry}"
            assert injected >= 1, where
            assert retry["report_uri"] == duplicate["report_uri"], where
            assert sorted(k.rsplit(".", 1)[1] for k in reports) == ["html", "json"], where
            assert len(history) == 1, where
            assert len(drift) == 1 and drift[0]["detail"]["batch_id"] == batch, where
            if mode == "transient":
                assert first in ("TransientError", "completed"), where
    lines = [
        "| call (target) | transient (once) | permanent (403, until fixed) | after retry + duplicate |",
        "|---|---|---|---|",
    ]
    for point in points:
        t, p = (
            next(r for r in rows if r["point"] == point and r["mode"] == m)
            for m in ("transient", "permanent")
        )
        service, op, target = point
        lines.append(
            f"| {service} {op} ({target}) | {t['first']} | {p['first']} "
            "| 1 drift report (json + html), 1 history file, 1 Drift Detected |"
        )
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "fault-matrix-monitor.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    print(f"points={len(points)} faults={len(rows)}")

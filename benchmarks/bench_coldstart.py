"""Cold start per handler: import time and first invocation, each in a fresh process.

For every handler module in ``contract.HANDLERS``: a fresh ``python`` process (``.pyc`` already
written by a warm-up run) imports the module; the median of ``--runs`` processes is reported next
to the eager baseline ``import pandas, pyarrow.parquet, sklearn.ensemble, aws_lambda_powertools``
and checked against the target (import <= 60% of the baseline). For the score and monitor
handlers the same fresh process then serves its first event against moto's server (a champion is
registered once, each run drops a new file so nothing is answered from the idempotency store).

Usage: ``python benchmarks/bench_coldstart.py [--runs 10] [--no-invoke] [--tracing on|off] [--json out.json]``
(``make bench-coldstart``). ``--families`` also times the score function's model-loading imports
(the handler plus ``skops.io``) alone and with each boosting library an artifact may need, which
skops imports only when the artifact holds one of its models (wall and CPU seconds; handler
modules are not re-timed then). Timing varies with machine load: compare ratios, not seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "functions"))

from scorewatch.core.contract import HANDLERS  # noqa: E402

EAGER = "pandas, pyarrow.parquet, sklearn.ensemble, aws_lambda_powertools"
TARGET = 0.60
ESTIMATOR_MODULES = (
    "sklearn.ensemble",
    "sklearn.linear_model",
    "sklearn.tree",
    "sklearn.svm",
    "sklearn.neighbors",
    "sklearn.neural_network",
)

IMPORT_ONLY = textwrap.dedent(
    """
    import sys, time, json
    t, c = time.perf_counter(), time.process_time()
    import {modules}
    dt, dc = time.perf_counter() - t, time.process_time() - c
    est = [m for m in {estimators!r} if m in sys.modules]
    print(json.dumps({{"import_s": dt, "cpu_s": dc, "estimators": est}}))
    """
)

#: The Lambda context object a child process hands the handler (a template: ``{fid!r}``).
CONTEXT_CLASS = """
class Ctx:
    function_name = {fid!r}
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + {fid!r}
    aws_request_id = "bench"
    def get_remaining_time_in_millis(self):
        return 300000
"""

INVOKE = (
    textwrap.dedent(
        """
    import sys, time, json
    t = time.perf_counter()
    import importlib
    mod = importlib.import_module({module!r})
    dt = time.perf_counter() - t
    event = json.loads(sys.stdin.read())
    """
    )
    + CONTEXT_CLASS
    + textwrap.dedent(
        """
    import io, contextlib
    t = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        out = getattr(mod, {attr!r})(event, Ctx())
    first = time.perf_counter() - t
    est = [m for m in {estimators!r} if m in sys.modules]
    print(json.dumps({{"import_s": dt, "invoke_s": first, "estimators": est, "status": out.get("status")}}))
    """
    )
)


def run_child(code: str, env: dict[str, str], stdin: str = "") -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", code], input=stdin, capture_output=True, text=True, env=env, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def tracing_env(env: dict[str, str], on: bool) -> dict[str, str]:
    """The environment a deployed function traces in (or one with tracing disabled).

    Powertools enables its Tracer only inside Lambda (``LAMBDA_TASK_ROOT`` set); no X-Ray
    daemon or trace header exists here, so a missing segment is ignored rather than logged.
    """
    env = {k: v for k, v in env.items() if k != "POWERTOOLS_TRACE_DISABLED"}
    if on:
        env.update({"LAMBDA_TASK_ROOT": str(ROOT / "functions"), "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR"})
    else:
        env.pop("LAMBDA_TASK_ROOT", None)
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
    return env


def median_imports(
    targets: dict[str, str], runs: int, env: dict[str, str], cpu: dict[str, float] | None = None
) -> dict[str, tuple[float, list[str]]]:
    """Median import time per target, interleaved run by run so load changes hit every target alike."""
    codes = {
        name: IMPORT_ONLY.format(modules=mods, estimators=ESTIMATOR_MODULES) for name, mods in targets.items()
    }
    for code in codes.values():
        run_child(code, env)  # warm-up: writes .pyc files
    samples: dict[str, list[dict]] = {name: [] for name in codes}
    for _ in range(runs):
        for name, code in codes.items():
            samples[name].append(run_child(code, env))
    if cpu is not None:  # the process's CPU seconds: less sensitive to other load than wall time
        cpu.update({name: statistics.median(r["cpu_s"] for r in rs) for name, rs in samples.items()})
    return {
        name: (statistics.median(r["import_s"] for r in rs), sorted({m for r in rs for m in r["estimators"]}))
        for name, rs in samples.items()
    }


class Cloud:
    """moto's server + resources + a champion, for first-invocation timings."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        os.environ.update(
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_REGION="us-east-1",
        )
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        os.environ["AWS_ENDPOINT_URL"] = f"http://{host}:{port}"
        self._create()

    def _create(self) -> None:
        import boto3
        import numpy as np
        import pandas as pd
        import pyarrow as pa
        from sklearn.compose import ColumnTransformer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import OneHotEncoder

        from scorewatch.core.contract import EVENT_SOURCE, Env, Table
        from scorewatch.core.schema import FeatureSchema, FeatureSpec
        from scorewatch.io.registry import Registry
        from scorewatch.monitoring.profiles import build_profile
        from scorewatch.scoring.scorer import predict_frame

        s = uuid.uuid4().hex[:8]
        self.data, models, reg_table, idem, bus = (
            f"bench-{n}-{s}" for n in ("data", "models", "reg", "idem", "bus")
        )
        s3 = boto3.client("s3")
        for b in (self.data, models):
            s3.create_bucket(Bucket=b)
            s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        ddb = boto3.client("dynamodb")
        ddb.create_table(
            TableName=reg_table,
            KeySchema=[
                {"AttributeName": Table.REGISTRY_PK, "KeyType": "HASH"},
                {"AttributeName": Table.REGISTRY_SK, "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": Table.REGISTRY_PK, "AttributeType": "S"},
                {"AttributeName": Table.REGISTRY_SK, "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        ddb.create_table(
            TableName=idem,
            KeySchema=[{"AttributeName": Table.IDEMPOTENCY_PK, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": Table.IDEMPOTENCY_PK, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        events = boto3.client("events")
        events.create_event_bus(Name=bus)
        sqs = boto3.client("sqs")
        self.queue = sqs.create_queue(QueueName=f"bench-{s}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(Name="all", EventBusName=bus, EventPattern=json.dumps({"source": [EVENT_SOURCE]}))
        events.put_targets(Rule="all", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])

        schema = FeatureSchema(
            features=(
                FeatureSpec(name="tenure", type="numeric"),
                FeatureSpec(name="charges", type="numeric"),
                FeatureSpec(name="plan", type="categorical", categories=("basic", "max", "pro")),
            ),
            id_columns=("customer_id",),
        )
        self.frame = lambda n, seed: pd.DataFrame(
            {
                "customer_id": [f"c{seed}-{i}" for i in range(n)],
                "tenure": np.random.default_rng(seed).normal(24, 8, n).round(2),
                "charges": np.random.default_rng(seed + 1).normal(70, 15, n).round(2),
                "plan": np.random.default_rng(seed + 2).choice(["basic", "pro", "max"], n),
            }
        )
        train = self.frame(500, 0)
        y = (train["tenure"] < 20).astype(int)
        ct = ColumnTransformer(
            [
                ("num", "passthrough", ["tenure", "charges"]),
                ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
            ]
        )
        est = Pipeline([("ct", ct), ("m", LogisticRegression(max_iter=300))]).fit(train[schema.names], y)
        self.estimator, self.schema = est, schema
        out = predict_frame(est, train[schema.names], task="binary", classes=(0, 1))
        both = pd.concat([train[schema.names], out], axis=1)
        reg = Registry(table_name=reg_table, models_bucket=models)
        from datetime import UTC, datetime

        now = datetime(2026, 1, 1, tzinfo=UTC)
        card = reg.register(
            "churn",
            est,
            task="binary",
            feature_schema=schema,
            now=now,
            classes=(0, 1),
            baseline_profile=build_profile(
                both, schema, score_columns=("prediction", "score_0", "score_1")
            ).to_dict(),
            baseline_sample=pa.Table.from_pandas(both, preserve_index=False),
        )
        reg.promote("churn", card.version, now=now, promoted_by="bench")
        from scorewatch.core.config import ModelConfig
        from scorewatch.io.registry.configs import ConfigStore

        # The functions read the model's configuration from the registry (configure's store).
        ConfigStore(reg_table).put(ModelConfig(name="churn", chunk_rows=1000), actor="bench")
        self.env = {
            **os.environ,
            Env.DATA_BUCKET: self.data,
            Env.MODELS_BUCKET: models,
            Env.REGISTRY_TABLE: reg_table,
            Env.IDEMPOTENCY_TABLE: idem,
            Env.EVENT_BUS: bus,
            "POWERTOOLS_SERVICE_NAME": "scorewatch",
        }

    def s3_event(self, i: int, rows: int = 1000) -> dict:
        import boto3

        key = f"incoming/churn/bench/{uuid.uuid4().hex}.csv"
        body = self.frame(rows, i).to_csv(index=False).encode()
        put = boto3.client("s3").put_object(Bucket=self.data, Key=key, Body=body)
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Object Created",
            "source": "aws.s3",
            "account": "123456789012",
            "time": "2026-01-02T03:04:05Z",
            "region": "us-east-1",
            "resources": [f"arn:aws:s3:::{self.data}"],
            "detail": {
                "version": "0",
                "bucket": {"name": self.data},
                "object": {
                    "key": key,
                    "size": len(body),
                    "etag": put["ETag"].strip('"'),
                    "version-id": put["VersionId"],
                },
                "request-id": "BENCH",
                "requester": "123456789012",
                "source-ip-address": "127.0.0.1",
                "reason": "PutObject",
            },
        }

    def batch_scored_events(self) -> list[dict]:
        import boto3

        sqs, out = boto3.client("sqs"), []
        while True:
            msgs = sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get("Messages", [])
            if not msgs:
                return [e for e in out if e["detail-type"] == "Batch Scored"]
            for m in msgs:
                out.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=m["ReceiptHandle"])

    def close(self) -> None:
        self.server.stop()


def first_invocations(runs: int, tracing: bool) -> dict[str, dict]:
    cloud = Cloud()
    cloud.env = tracing_env(cloud.env, tracing)
    try:
        results: dict[str, dict] = {}
        pending: list[dict] = []  # Batch Scored events from the score runs, replayed to the monitor
        for fid in ("score", "monitor"):
            module, attr = HANDLERS[fid].rsplit(".", 1)
            code = INVOKE.format(module=module, attr=attr, fid=fid, estimators=ESTIMATOR_MODULES)
            samples = []
            for i in range(runs + 1):  # the first run writes .pyc files and is discarded
                if fid == "score":
                    event = cloud.s3_event(i)
                else:
                    if not pending:
                        raise RuntimeError("no Batch Scored events to replay to the monitor")
                    event = pending.pop()
                r = run_child(code, cloud.env, json.dumps(event))
                if i:
                    samples.append(r)
            if fid == "score":
                pending = cloud.batch_scored_events()
            results[fid] = {
                "import_s": statistics.median(s["import_s"] for s in samples),
                "invoke_s": statistics.median(s["invoke_s"] for s in samples),
                "estimators": sorted({m for s in samples for m in s["estimators"]}),
                "status": sorted({str(s["status"]) for s in samples}),
            }
        return results
    finally:
        cloud.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--no-invoke", action="store_true", help="import times only (no emulator)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a handler misses the import target")
    ap.add_argument("--families", action="store_true", help="also time the boosting libraries' imports")
    ap.add_argument(
        "--tracing",
        choices=("on", "off"),
        default="on",
        help="on (as deployed: active tracing, so Powertools' Tracer loads the X-Ray SDK and patches "
        "botocore at import) or off (POWERTOOLS_TRACE_DISABLED=true)",
    )
    args = ap.parse_args(argv)
    env = tracing_env(dict(os.environ), args.tracing == "on")
    modules: dict[str, list[str]] = {}
    for fid, entry in HANDLERS.items():
        modules.setdefault(entry.rsplit(".", 1)[0], []).append(fid)
    scoring = "scorewatch.handlers.score, skops.io"
    families = (
        {
            "score + skops.io": scoring,
            **{f"  + {lib}": f"{scoring}, {lib}" for lib in ("lightgbm", "xgboost", "catboost")},
            "  + all three": f"{scoring}, lightgbm, xgboost, catboost",
        }
        if args.families
        else {}
    )
    cpu: dict[str, float] = {}
    handlers = {} if args.families else {m: m for m in modules}
    measured = median_imports({"eager": EAGER, **handlers, **families}, args.runs, env, cpu)
    eager = measured["eager"][0]
    rows = []
    print(f"tracing {args.tracing}; eager baseline ({EAGER}): {eager:.3f} s median of {args.runs}")
    print(f"{'handler module':38} {'import s':>9} {'/eager':>7} {'target':>7}  estimator modules at import")
    for module, fids in modules.items():
        if module not in measured:
            continue
        t, est = measured[module]
        ok = t <= TARGET * eager
        row = {
            "module": module,
            "handlers": fids,
            "import_s": t,
            "ratio": t / eager,
            "ok": ok,
            "estimators": est,
        }
        rows.append(row)
        print(f"{module:38} {t:9.3f} {t / eager:7.0%} {'ok' if ok else 'MISS':>7}  {', '.join(est) or '-'}")
    if families:
        print(f"eager baseline CPU {cpu['eager']:.3f} s")
    for name in families:
        t, c = measured[name][0], cpu[name]
        base, base_c = measured["score + skops.io"][0], cpu["score + skops.io"]
        print(f"{name:38} wall {t:6.3f} s ({t - base:+.3f})  cpu {c:6.3f} s ({c - base_c:+.3f})")
    invoke = {}
    if not args.no_invoke:
        invoke = first_invocations(args.runs, args.tracing == "on")
        for fid, r in invoke.items():
            print(
                f"first invocation {fid:8}: import {r['import_s']:.3f} s + first event {r['invoke_s']:.3f} s "
                f"(status {','.join(r['status'])}; estimator modules: {', '.join(r['estimators']) or '-'})"
            )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "eager_s": eager,
                    "modules": rows,
                    "families": {n: {"wall_s": measured[n][0], "cpu_s": cpu[n]} for n in families},
                    "first_invocation": invoke,
                },
                indent=2,
            )
        )
    return 1 if args.strict and not all(r["ok"] for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())

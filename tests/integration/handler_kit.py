"""Shared set-up for the handler integration tests: env, a registered champion, event capture."""

from __future__ import annotations

import gzip
import io
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from handler_env import Ctx, Stack, fixture, wire_handlers  # noqa: F401 - re-exported to the tests
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from scorewatch.core.schema import FeatureSchema, FeatureSpec
from scorewatch.io.registry import Registry
from scorewatch.monitoring.profiles import build_profile
from scorewatch.scoring.scorer import predict_frame

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
MODEL = "churn"
SCHEMA = FeatureSchema(
    features=(
        FeatureSpec(name="tenure", type="numeric"),
        FeatureSpec(name="charges", type="numeric"),
        FeatureSpec(name="plan", type="categorical", categories=("basic", "max", "pro")),
    ),
    id_columns=("customer_id",),
)
SCORE_COLUMNS = ("prediction", "score_0", "score_1")


def frame(n: int, *, seed: int = 0, shift: float = 0.0, start_id: int = 0) -> pd.DataFrame:
    """Churn-like rows; ``shift`` moves the numeric features (drift)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": [f"c{start_id + i:06d}" for i in range(n)],
            "tenure": rng.normal(24 + 30 * shift, 8, n).round(2),
            "charges": rng.normal(70 + 40 * shift, 15, n).round(2),
            "plan": rng.choice(
                ["basic", "pro", "max"], n, p=[0.5, 0.3, 0.2] if not shift else [0.1, 0.2, 0.7]
            ),
        }
    )


def encode(df: pd.DataFrame, fmt: str) -> bytes:
    if fmt == "parquet":
        buf = io.BytesIO()
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), buf)
        return buf.getvalue()
    data = df.to_csv(index=False).encode()
    return gzip.compress(data) if fmt == "csv.gz" else data


def make_stack(resources, monkeypatch, *, config: dict[str, Any] | None = None, extra_env=None) -> Stack:
    """Env for every handler + an SQS queue capturing everything published on the bus."""
    cfg = config or {"models": [{"name": MODEL, "chunk_rows": 100, "max_reject_fraction": 0.2}]}
    return Stack(res=resources, queue_url=wire_handlers(resources, monkeypatch, cfg, extra_env))


def register_champion(resources, *, seed: int = 0, with_baseline: bool = True) -> Any:
    """Train a small pipeline on ``frame`` data, register it with a baseline and promote it."""
    train = frame(600, seed=seed)
    y = ((train["tenure"] < 20) | (train["plan"] == "basic")).astype(int)
    ct = ColumnTransformer(
        [
            ("num", "passthrough", ["tenure", "charges"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
        ]
    )
    est = Pipeline([("ct", ct), ("model", LogisticRegression(max_iter=500))]).fit(train[SCHEMA.names], y)
    reg = Registry(table_name=resources.registry_table, models_bucket=resources.models_bucket)
    kw: dict[str, Any] = {}
    if with_baseline:
        outputs = predict_frame(est, train[SCHEMA.names], task="binary", classes=(0, 1))
        both = pd.concat([train[SCHEMA.names], outputs], axis=1)
        kw["baseline_profile"] = build_profile(both, SCHEMA, score_columns=SCORE_COLUMNS).to_dict()
        kw["baseline_sample"] = pa.Table.from_pandas(both, preserve_index=False)
    card = reg.register(MODEL, est, task="binary", feature_schema=SCHEMA, now=NOW, classes=(0, 1), **kw)
    reg.promote(MODEL, card.version, now=NOW, promoted_by="test")
    return card


def emf_blobs(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{") and '"_aws"' in line]


@contextmanager
def captured_logs() -> Iterator[io.StringIO]:
    """What the handlers' Powertools logger writes (its handler holds the stdout of import time)."""
    from scorewatch.handlers import logger

    buf = io.StringIO()
    old = logger.registered_handler.setStream(buf)
    try:
        yield buf
    finally:
        logger.registered_handler.setStream(old)


def log_lines(stdout: str) -> list[dict[str, Any]]:
    out = []
    for line in stdout.splitlines():
        if line.startswith("{") and '"_aws"' not in line:
            out.append(json.loads(line))
    return out


class FaultProxy:
    """An HTTP proxy in front of the emulator that answers matching requests with S3 503 SlowDown.

    Used to inject transient S3 failures over real HTTP (boto3 and pyarrow both go through it).
    """

    def __init__(self, target: str, fail: Callable[[str, str], bool]):
        import http.client
        import http.server
        import socketserver
        from urllib.parse import urlparse

        self.fail = fail
        self.enabled = True
        self.failures = 0
        up = urlparse(target)
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    out = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            self.rfile.readline()
                            return out
                        out += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _handle(self):
                body = self._body()
                if proxy.enabled and proxy.fail(self.command, self.path):
                    proxy.failures += 1
                    msg = b"<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>"
                    self.send_response(503)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(msg)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(msg)
                    return
                conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "transfer-encoding"}
                headers["Content-Length"] = str(len(body))
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                # HEAD answers carry the object's length without a body: pass it through.
                skip = ("transfer-encoding", "connection", "server", "date")
                if self.command != "HEAD":
                    skip += ("content-length",)
                    self.send_header("Content-Length", str(len(data)))
                for k, v in resp.getheaders():
                    if k.lower() not in skip:
                        self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _handle

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

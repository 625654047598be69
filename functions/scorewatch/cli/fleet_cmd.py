"""``scorewatch fleet status``: one row per model from the registry and the monitoring history.

Per model: its stored config version and status, the champion, the last batch, rows scored and
rejected in the last 24 hours, the latest drift share (and whether it drifted), the latest
realized and estimated performance from the labels runs, and the retraining state (running while
the workflow's lock is held, awaiting approval while a candidate waits, else idle or disabled).
Alarm states are not listed: one Metrics Insights alarm covers every model, and which models are
its breaching contributors is not something DescribeAlarms returns; the dashboard shows them.
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import datetime, timedelta
from typing import Any

from scorewatch.cli.config_cmd import store_from_args
from scorewatch.cli.registry_args import add_registry_args, registry_from_args, utcnow
from scorewatch.core.contract import Env, Prefix
from scorewatch.core.errors import ConfigError

#: Lock the retraining workflow holds while it runs (scorewatch.lifecycle.retraining.payloads).
RETRAINING_LOCK = "retraining"
COLUMNS = (
    "model",
    "status",
    "config_version",
    "champion",
    "last_batch_at",
    "rows_scored_24h",
    "rows_rejected_24h",
    "drift_share",
    "drifted",
    "realized",
    "estimated",
    "retraining",
)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("fleet", help="the whole fleet of models at a glance")
    sub = p.add_subparsers(dest="fleet_command", required=True)
    st = sub.add_parser("status", help="one row per model: config, champion, volumes, drift, performance")
    st.add_argument("--data-bucket", help=f"data bucket (default: ${Env.DATA_BUCKET})")
    st.add_argument("--json", action="store_true", help="print the rows as JSON")
    add_registry_args(st)
    st.set_defaults(func=run_status)


def _latest_performance(data_uri: str, model: str) -> dict[str, Any]:
    """``metric``, ``value`` and ``estimated_value`` of the newest labels run of ``model``."""
    from scorewatch.io import storage

    prefix = storage.join(data_uri, f"{Prefix.MONITORING}model={model}/performance/")
    runs = [i for i in storage.list_uris(prefix) if i.uri.endswith(".json")]
    if not runs:
        return {}
    newest = max(runs, key=lambda i: (i.last_modified.timestamp() if i.last_modified else 0.0, i.uri))
    doc = storage.read_json(newest.uri)
    return {k: doc.get(k) for k in ("metric", "value", "estimated_value")}


def _retraining(registry: Any, model: str, enabled: bool, now: datetime) -> str:
    if registry.lock_holder(model, RETRAINING_LOCK, now=now):
        return "running"
    if registry.get_approval_request(model) is not None:
        return "awaiting approval"
    return "idle" if enabled else "disabled"


def fleet_rows(store: Any, registry: Any, data_uri: str, *, now: datetime) -> list[dict[str, Any]]:
    """The rows of ``fleet status`` (every stored model, then registered models with no config)."""
    from scorewatch.io.site_history import read_site_inputs, read_versions
    from scorewatch.reports.site_data import batch_table, champion, model_status, volume_table

    configs = {s.name: s for s in store.all_current(include_retired=True)}
    versions = read_versions(registry)
    names = sorted(set(configs) | set(versions["model"]))
    inputs = read_site_inputs(data_uri)
    batches, volumes = batch_table(inputs.history), volume_table(inputs.outputs)
    rows = []
    for name in names:
        stored = configs.get(name)
        ms = model_status(name, batches, volumes, now=now, stale_after=timedelta(hours=24))
        perf = _latest_performance(data_uri, name)
        enabled = stored.config.retraining.enabled if stored else True
        rows.append(
            {
                "model": name,
                "status": stored.status if stored else "unconfigured",
                "config_version": stored.version if stored else None,
                "champion": champion(versions, name)[0],
                "last_batch_at": ms.last_batch_at.isoformat() if ms.last_batch_at else None,
                "rows_scored_24h": ms.rows_24h,
                "rows_rejected_24h": ms.rejected_24h,
                "drift_share": ms.last_drift_share,
                "drifted": "drift" in ms.flags,
                "realized": perf.get("value"),
                "estimated": perf.get("estimated_value"),
                "metric": perf.get("metric"),
                "retraining": _retraining(registry, name, enabled, now),
            }
        )
    return rows


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def run_status(args: argparse.Namespace) -> int:
    bucket = args.data_bucket or os.environ.get(Env.DATA_BUCKET)
    if not bucket:
        raise ConfigError(f"no data bucket configured: set --data-bucket or ${Env.DATA_BUCKET}")
    rows = fleet_rows(store_from_args(args), registry_from_args(args), f"s3://{bucket}", now=utcnow())
    if args.json:
        print(json.dumps(rows))
        return 0
    if not rows:
        print("no models configured or registered")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(*COLUMNS)
    for r in rows:
        table.add_row(*(_fmt(r[c]) for c in COLUMNS))
    Console(soft_wrap=False, width=max(160, Console().width)).print(table)
    return 0

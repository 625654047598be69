"""``scorewatch models configure|config|retire``: model configurations as data, no deploy.

``configure`` validates a document with the pydantic models (exit 2 naming the field: nothing is
written), stores it as the model's next config version in the registry table (an identical
document stores nothing) and applies its schedules in the deployment's EventBridge Scheduler
group. The functions read the stored configuration through a cache of
``SCOREWATCH_CONFIG_TTL_SECONDS`` (60 s by default): the change is live within that, with no
``cdk deploy``. The schedule wiring comes from flags or the stack outputs' environment keys
(``SCOREWATCH_SCHEDULE_GROUP``, ``SCOREWATCH_SCHEDULER_ROLE_ARN``, ``SCOREWATCH_SCORE_FUNCTION_ARN``,
``SCOREWATCH_MONITOR_FUNCTION_ARN``); without any of them the configuration is stored and the
schedules are left as they are (said on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from scorewatch.core.contract import Env
from scorewatch.core.errors import ConfigError

_WIRING = {
    "group": ("schedule_group", Env.SCHEDULE_GROUP),
    "role_arn": ("scheduler_role_arn", Env.SCHEDULER_ROLE_ARN),
    "score_arn": ("score_function_arn", Env.SCORE_FUNCTION_ARN),
    "monitor_arn": ("monitor_function_arn", Env.MONITOR_FUNCTION_ARN),
}


def add_table_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--registry-table", help=f"DynamoDB registry table (default: ${Env.REGISTRY_TABLE})")


def add_wiring_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("schedules (stack outputs)")
    group.add_argument(
        "--schedule-group", help=f"EventBridge Scheduler group (default: ${Env.SCHEDULE_GROUP})"
    )
    group.add_argument(
        "--scheduler-role-arn",
        help=f"role the schedules invoke functions as (default: ${Env.SCHEDULER_ROLE_ARN})",
    )
    group.add_argument(
        "--score-function-arn", help=f"score function ARN (default: ${Env.SCORE_FUNCTION_ARN})"
    )
    group.add_argument(
        "--monitor-function-arn", help=f"monitor function ARN (default: ${Env.MONITOR_FUNCTION_ARN})"
    )


def register_models(sub: Any) -> None:
    """Add ``configure``, ``config`` and ``retire`` to the ``models`` sub-commands."""
    cf = sub.add_parser(
        "configure",
        help="validate and store a model's configuration, apply its schedules (no deploy)",
        description=__doc__.split("\n\n")[1],
    )
    cf.add_argument("name", nargs="?", help="model name (with --file)")
    src = cf.add_mutually_exclusive_group(required=True)
    src.add_argument("--file", type=Path, help="one model's configuration (JSON, a ModelConfig document)")
    src.add_argument(
        "--all", dest="all_file", type=Path, metavar="MODELS_JSON", help="every model of a models file"
    )
    cf.add_argument("--by", default=os.environ.get("USER") or "cli", help="recorded as stored_by")
    cf.add_argument("--json", action="store_true", help="print the outcome as JSON")
    add_table_arg(cf)
    add_wiring_args(cf)
    cf.set_defaults(func=run_configure)

    show = sub.add_parser("config", help="a model's stored configuration (or its version history)")
    show.add_argument("name", help="model name")
    show.add_argument("--history", action="store_true", help="list every stored version instead")
    show.add_argument("--json", action="store_true", help="print as JSON")
    add_table_arg(show)
    show.set_defaults(func=run_config)

    rt = sub.add_parser(
        "retire",
        help="stop a model's schedules and mark it retired (history, versions, artifacts kept)",
        description="Drops for a retired model are rejected (reason model_retired; the input is "
        "kept). `models configure` re-activates it.",
    )
    rt.add_argument("name", help="model name")
    rt.add_argument("--by", default=os.environ.get("USER") or "cli", help="recorded as retired_by")
    rt.add_argument("--json", action="store_true", help="print the outcome as JSON")
    add_table_arg(rt)
    add_wiring_args(rt)
    rt.set_defaults(func=run_retire)


# ------------------------------------------------------------------------------------- wiring


def store_from_args(args: argparse.Namespace) -> Any:
    from scorewatch.io.registry.configs import ConfigStore

    table = getattr(args, "registry_table", None) or os.environ.get(Env.REGISTRY_TABLE)
    if not table:
        raise ConfigError(f"no registry table configured: set --registry-table or ${Env.REGISTRY_TABLE}")
    return ConfigStore(table)


def scheduler_from_args(args: argparse.Namespace) -> Any:
    """The Scheduler wiring from flags/env; None when none of it is set (partial wiring is an error)."""
    import boto3

    from scorewatch.io.schedules import SchedulerTargets
    from scorewatch.lifecycle.configure import Scheduler

    values = {k: getattr(args, flag, None) or os.environ.get(env) for k, (flag, env) in _WIRING.items()}
    if not any(values.values()):
        return None
    missing = [f"--{_WIRING[k][0].replace('_', '-')} or ${_WIRING[k][1]}" for k, v in values.items() if not v]
    if missing:
        raise ConfigError("schedule wiring incomplete: set " + ", ".join(missing))
    return Scheduler(client=boto3.client("scheduler"), targets=SchedulerTargets.from_values(values))


def _read_json(path: Path) -> Any:
    from scorewatch.cli import UsageError

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise UsageError(f"invalid JSON in {path}: {exc}") from exc


def _model_document(name: str | None, path: Path) -> Any:
    """One model's validated config from ``path`` (a ModelConfig document; ``name`` fills it in)."""
    from scorewatch.cli import UsageError
    from scorewatch.io.registry.configs import parse_model_config

    doc = _read_json(path)
    if not isinstance(doc, dict):
        raise UsageError(f"{path}: expected a JSON object (one model's configuration)")
    if name and doc.get("name", name) != name:
        raise UsageError(f"{path} configures {doc.get('name')!r}, not {name!r}")
    if not name and not doc.get("name"):
        raise UsageError(f"{path}: give the model NAME or a 'name' field")
    try:
        return parse_model_config({**doc, "name": name or doc["name"]}, source=str(path))
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc


# ------------------------------------------------------------------------------------- commands


def run_configure(args: argparse.Namespace) -> int:
    from scorewatch.cli import UsageError
    from scorewatch.core.config import parse_config
    from scorewatch.lifecycle.configure import configure, configure_all

    if args.all_file is not None:
        if args.name:
            raise UsageError("give NAME with --file, or --all MODELS_JSON alone")
        try:
            config = parse_config(_read_json(args.all_file), source=str(args.all_file))
        except ConfigError as exc:
            raise UsageError(str(exc)) from exc
        cfgs = None
    else:
        cfgs = _model_document(args.name, args.file)
    store, scheduler = store_from_args(args), scheduler_from_args(args)
    if cfgs is None:
        applied = configure_all(store, config, actor=args.by, scheduler=scheduler)
    else:
        applied = [configure(store, cfgs, actor=args.by, scheduler=scheduler)]
    if scheduler is None:
        print("scorewatch: schedules not applied (no schedule wiring: see --schedule-group)", file=sys.stderr)
    if args.json:
        print(json.dumps([a.to_dict() for a in applied]))
        return 0
    for a in applied:
        sched = ", ".join(f"{c.name} {c.action}" for c in a.schedules if c.action != "absent")
        print(
            f"{a.name}: {a.outcome}, config version {a.stored.version}"
            + (f"; schedules: {sched}" if sched else "")
        )
    if len(applied) > 1:
        counts = {k: sum(a.outcome == k for a in applied) for k in ("created", "updated", "unchanged")}
        print(", ".join(f"{n} {k}" for k, n in counts.items()))
    return 0


def run_config(args: argparse.Namespace) -> int:
    store = store_from_args(args)
    if args.history:
        history = store.history(args.name)
        if not history:
            raise ConfigError(f"model {args.name!r} has no stored configuration")
        if args.json:
            print(json.dumps([{**h.summary(), "config": h.config.model_dump(mode="json")} for h in history]))
            return 0
        for h in history:
            print(f"{h.version:>4}  {h.stored_at.isoformat()}  {h.stored_by}  sha256 {h.sha256[:12]}")
        print(f"status: {history[-1].status}")
        return 0
    current = store.current(args.name)
    if current is None:
        raise ConfigError(f"model {args.name!r} has no stored configuration (it runs on the defaults)")
    doc = {**current.summary(), "config": current.config.model_dump(mode="json", exclude_defaults=True)}
    print(json.dumps(doc, indent=None if args.json else 2))
    return 0


def run_retire(args: argparse.Namespace) -> int:
    from scorewatch.lifecycle.configure import retire

    scheduler = scheduler_from_args(args)
    stored, changes = retire(store_from_args(args), args.name, actor=args.by, scheduler=scheduler)
    if scheduler is None:
        print("scorewatch: schedules not removed (no schedule wiring: see --schedule-group)", file=sys.stderr)
    if args.json:
        print(json.dumps({**stored.summary(), "schedules": {c.name: c.action for c in changes}}))
        return 0
    removed = [c.name for c in changes if c.action == "deleted"]
    print(
        f"{stored.name}: retired (config version {stored.version} kept)"
        + (f"; schedules removed: {', '.join(removed)}" if removed else "")
    )
    return 0

"""``scorewatch retrain``, ``scorewatch labels join`` and ``scorewatch card``: the model lifecycle locally.

Resources come from options or the same environment variables the functions read
(``SCOREWATCH_DATA_BUCKET``, ``SCOREWATCH_MODELS_BUCKET``, ``SCOREWATCH_REGISTRY_TABLE``,
``SCOREWATCH_EVENT_BUS``); the models' configurations are the stored ones (``scorewatch models
configure``) in the registry table, or ``--config`` reads a models.json file instead.
``AWS_ENDPOINT_URL`` points everything at the local emulator.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

from scorewatch.core.contract import Env
from scorewatch.core.errors import ConfigError


def _common(p: argparse.ArgumentParser, *, bus: bool = True) -> None:
    p.add_argument("--data-bucket", default=None, help=f"data bucket (default ${Env.DATA_BUCKET})")
    p.add_argument("--models-bucket", default=None, help=f"models bucket (default ${Env.MODELS_BUCKET})")
    p.add_argument("--table", default=None, help=f"registry table (default ${Env.REGISTRY_TABLE})")
    if bus:
        p.add_argument(
            "--event-bus", default=None, help=f"event bus (default ${Env.EVENT_BUS}; none: no events)"
        )
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        help="models.json (default: the configurations stored in the registry)",
    )
    p.add_argument("--json", action="store_true", help="print the full result as JSON")


def register(sub: argparse._SubParsersAction) -> None:
    retrain = sub.add_parser(
        "retrain", help="run the retraining steps for a model (assemble..promote|reject)"
    )
    retrain.add_argument("--model", required=True, help="model name")
    retrain.add_argument("--reason", default="manual", help="recorded on the candidate's card")
    retrain.add_argument("--execution-id", default=None, help="run id (default: local-<random>)")
    _common(retrain)
    retrain.set_defaults(func=_retrain)

    labels = sub.add_parser("labels", help="delayed labels")
    lsub = labels.add_subparsers(dest="labels_command", required=True)
    join = lsub.add_parser("join", help="join labels/<model>/ with scored outputs; realized performance")
    join.add_argument("--model", required=True, help="model name")
    _common(join, bus=False)
    join.set_defaults(func=_labels_join)

    card = sub.add_parser("card", help="render a model card as a self-contained HTML page")
    card.add_argument("--model", required=True, help="model name")
    card.add_argument("--version", default="champion", help="version or 'champion' (default)")
    card.add_argument("--output", type=Path, required=True, help="HTML file to write")
    card.add_argument("--models-bucket", default=None, help=f"models bucket (default ${Env.MODELS_BUCKET})")
    card.add_argument("--table", default=None, help=f"registry table (default ${Env.REGISTRY_TABLE})")
    card.set_defaults(func=_card)


def _need(value: str | None, env: str, flag: str) -> str:
    value = value or os.environ.get(env)
    if not value:
        raise ConfigError(f"{flag} is required (or set {env})")
    return value


def _config(args: argparse.Namespace) -> Any:
    from scorewatch.core.config import load_config
    from scorewatch.io.fleet_config import FleetConfig
    from scorewatch.io.registry.configs import ConfigStore

    if args.config is not None:
        return load_config(args.config)
    return FleetConfig(ConfigStore(_need(args.table, Env.REGISTRY_TABLE, "--table")), ttl_seconds=0)


def _registry(args: argparse.Namespace) -> Any:
    from scorewatch.io.registry import Registry

    return Registry(
        table_name=_need(args.table, Env.REGISTRY_TABLE, "--table"),
        models_bucket=_need(args.models_bucket, Env.MODELS_BUCKET, "--models-bucket"),
    )


def _print(result: Any, args: argparse.Namespace, line: str) -> None:
    if args.json:
        print(json.dumps(result.model_dump(mode="json"), indent=2))
    else:
        print(line)


def _retrain(args: argparse.Namespace) -> int:
    from scorewatch.io.events import EventPublisher
    from scorewatch.lifecycle.retraining import PromoteResult, RetrainingSteps, RetrainRequest

    bus = args.event_bus or os.environ.get(Env.EVENT_BUS)
    steps = RetrainingSteps(
        data_bucket=_need(args.data_bucket, Env.DATA_BUCKET, "--data-bucket"),
        registry=_registry(args),
        config=_config(args),
        publisher=EventPublisher(bus) if bus else None,
    )
    execution_id = args.execution_id or f"local-{uuid.uuid4().hex[:12]}"
    result = steps.run(RetrainRequest(model_name=args.model, reason=args.reason), execution_id=execution_id)
    if isinstance(result, PromoteResult):
        line = (
            f"promoted {result.model_name} v{result.version} (previous champion: {result.previous_champion})"
        )
    else:
        line = f"rejected {result.model_name} v{result.version}: " + "; ".join(result.reasons)
    _print(result, args, line)
    return 0


def _labels_join(args: argparse.Namespace) -> int:
    from scorewatch.lifecycle.labels import LabelJoiner

    joiner = LabelJoiner(
        data_bucket=_need(args.data_bucket, Env.DATA_BUCKET, "--data-bucket"), registry=_registry(args)
    )
    result = joiner.run(_config(args).model(args.model), trigger="cli")
    value = "undefined" if result.value is None else f"{result.value:.4f}"
    est = "" if result.estimated_value is None else f" (estimated {result.estimated_value:.4f})"
    cov = "n/a" if result.coverage is None else f"{result.coverage:.1%}"
    line = (
        f"{result.model_name}: {result.metric} {value}{est} on {result.labeled_rows} labeled rows, "
        f"coverage {cov}, unknown ids {result.unknown_ids}" + (" -- BELOW FLOOR" if result.degraded else "")
    )
    _print(result, args, line)
    return 0


def _card(args: argparse.Namespace) -> int:
    from scorewatch.reports.card import render_card_html

    card = _registry(args).get(args.model, args.version)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render_card_html(card), encoding="utf-8")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0

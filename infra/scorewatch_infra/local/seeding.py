"""Seed a local cloud's config store from a models file, through ``models configure --all``'s code.

The template carries no model configuration: after deploying it, ``scorewatch local up`` and the
demo store every model of the models file in the registry table and apply its schedules in the
deployment's schedule group, exactly as ``scorewatch models configure --all models.json`` does
against AWS (``scorewatch.lifecycle.configure.configure_all``). The schedule wiring comes from the
template's outputs (contract.Env keys); a template without them is seeded without schedules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scorewatch.core.config import load_config
from scorewatch.core.contract import Env
from scorewatch.io.registry.configs import ConfigStore
from scorewatch.io.schedules import SchedulerTargets
from scorewatch.lifecycle.configure import Applied, Scheduler, configure_all

#: Output id of each schedule wiring value in the synthesized template (scorewatch_infra.fleet).
WIRING_OUTPUTS = {
    "group": "ScheduleGroup",
    "role_arn": "SchedulerRoleArn",
    "score_arn": "ScoreFunctionArn",
    "monitor_arn": "MonitorFunctionArn",
}


def wiring(cloud: Any) -> dict[str, str]:
    """The template's outputs resolved against what was deployed, by output id."""
    return {oid: str(value) for oid, value in cloud.report.outputs.items()}


def scheduler_of(cloud: Any) -> Scheduler | None:
    """The deployment's Scheduler wiring, or None when the template does not output it."""
    outputs = wiring(cloud)
    if not all(oid in outputs for oid in WIRING_OUTPUTS.values()):
        return None
    targets = SchedulerTargets.from_values({k: outputs[oid] for k, oid in WIRING_OUTPUTS.items()})
    return Scheduler(client=cloud.client("scheduler"), targets=targets)


def seed_models(cloud: Any, config_path: str | Path, *, actor: str = "scorewatch local") -> list[Applied]:
    """Store (and schedule) every model of ``config_path`` on the running local cloud."""
    config = load_config(config_path)
    store = ConfigStore(cloud.environment_value(Env.REGISTRY_TABLE), client=cloud.client("dynamodb"))
    return configure_all(store, config, actor=actor, scheduler=scheduler_of(cloud))

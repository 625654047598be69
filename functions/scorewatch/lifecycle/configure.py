"""Onboarding, retuning and retiring models at run time: store the config, apply its schedules.

``scorewatch models configure`` / ``configure --all`` / ``retire`` and the local cloud's seeding
all go through these functions, so a models file seeds a deployment exactly as the CLI does.
Validation happens before anything is written (the pydantic models name the field), so a bad
configuration never replaces a good one; applying schedules is idempotent, so re-running a
configure repairs a schedule deleted by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from scorewatch.core.config import ModelConfig, ScorewatchConfig
from scorewatch.io.registry.configs import ConfigStore, StoredConfig
from scorewatch.io.schedules import ScheduleChange, SchedulerTargets, remove_schedules, sync_schedules

Outcome = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class Scheduler:
    """An EventBridge Scheduler client and the deployment's targets."""

    client: Any
    targets: SchedulerTargets


@dataclass(frozen=True)
class Applied:
    """One model configured: what happened to its config and to its schedules."""

    name: str
    outcome: Outcome
    stored: StoredConfig
    schedules: tuple[ScheduleChange, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.name,
            "outcome": self.outcome,
            "version": self.stored.version,
            "schedules": {c.name: c.action for c in self.schedules},
        }


def configure(
    store: ConfigStore, cfg: ModelConfig, *, actor: str, scheduler: Scheduler | None = None
) -> Applied:
    """Store ``cfg`` (a new version unless identical) and apply its schedules.

    Parameters
    ----------
    store : ConfigStore
        The registry's configuration items.
    cfg : ModelConfig
        A validated configuration (:func:`scorewatch.io.registry.configs.parse_model_config`).
    actor : str
        Recorded as ``stored_by``.
    scheduler : Scheduler, optional
        Where schedules are applied; None stores the configuration only.
    """
    before = store.current(cfg.name)
    stored = store.put(cfg, actor=actor)
    if before is None:
        outcome: Outcome = "created"
    elif before.version == stored.version and before.status == stored.status:
        outcome = "unchanged"
    else:
        outcome = "updated"
    changes = sync_schedules(scheduler.client, scheduler.targets, stored.config) if scheduler else []
    return Applied(name=cfg.name, outcome=outcome, stored=stored, schedules=tuple(changes))


def configure_all(
    store: ConfigStore, config: ScorewatchConfig, *, actor: str, scheduler: Scheduler | None = None
) -> list[Applied]:
    """:func:`configure` every model of a models file, in its order (idempotent)."""
    return [configure(store, m, actor=actor, scheduler=scheduler) for m in config.models]


def retire(
    store: ConfigStore, name: str, *, actor: str, scheduler: Scheduler | None = None
) -> tuple[StoredConfig, list[ScheduleChange]]:
    """Stop ``name``'s schedules and mark it retired; its history, versions and artifacts stay.

    Raises
    ------
    ConfigError
        When ``name`` has no stored configuration.
    """
    stored = store.retire(name, actor=actor)
    changes = remove_schedules(scheduler.client, scheduler.targets, name) if scheduler else []
    return stored, changes

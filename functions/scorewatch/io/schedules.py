"""Per-model EventBridge Scheduler schedules, applied by ``scorewatch models configure``.

Each model's ``schedules.scoring`` and ``schedules.monitoring`` expressions become the schedules
``<model>-score`` and ``<model>-monitor`` in the deployment's schedule group
(contract.Env.SCHEDULE_GROUP), invoking the score / monitor function through the Scheduler
execution role with the Input ``{"scorewatch_schedule": {"kind": "score"|"monitor", "model": m}}``.
An unset expression deletes its schedule; retiring a model deletes both. Nothing here belongs to
the stack: the group and the role are the stack's, the schedules are data, so adding a model adds
no resource to the template.

Schedule names are at most 64 characters: a model name too long for ``<model>-monitor`` is cut
and made unique with 8 hex digits of its sha256 (``<cut>-<hash>-monitor``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from scorewatch.core.config import ModelConfig
from scorewatch.core.errors import ConfigError, ScorewatchError, TransientError
from scorewatch.core.schema import check_model_name
from scorewatch.io.transient import is_transient

Kind = Literal["score", "monitor"]
KINDS: tuple[Kind, ...] = ("score", "monitor")
#: Key of the schedule Input the handlers recognise (scorewatch.handlers.SCHEDULE_PAYLOAD).
PAYLOAD_KEY = "scorewatch_schedule"
NAME_LIMIT = 64


@dataclass(frozen=True)
class SchedulerTargets:
    """Where schedules go: the group, the role Scheduler assumes, the two functions' ARNs."""

    group: str
    role_arn: str
    score_arn: str
    monitor_arn: str

    def arn(self, kind: Kind) -> str:
        return self.score_arn if kind == "score" else self.monitor_arn

    @classmethod
    def from_values(cls, values: dict[str, str | None]) -> SchedulerTargets:
        """Build from ``{"group", "role_arn", "score_arn", "monitor_arn"}``, naming what is missing.

        Raises
        ------
        ConfigError
            Naming every missing value.
        """
        missing = [k for k in ("group", "role_arn", "score_arn", "monitor_arn") if not values.get(k)]
        if missing:
            raise ConfigError(f"schedule wiring incomplete: missing {', '.join(missing)}")
        return cls(**{k: str(values[k]) for k in ("group", "role_arn", "score_arn", "monitor_arn")})


def schedule_name(model: str, kind: Kind) -> str:
    """``<model>-<kind>``, or a cut, hashed form when that exceeds Scheduler's 64 characters.

    >>> schedule_name("churn", "monitor")
    'churn-monitor'
    >>> len(schedule_name("m" * 63, "monitor"))
    64
    """
    check_model_name(model)
    name = f"{model}-{kind}"
    if len(name) <= NAME_LIMIT:
        return name
    digest = hashlib.sha256(model.encode()).hexdigest()[:8]
    return f"{model[: NAME_LIMIT - len(kind) - len(digest) - 2]}-{digest}-{kind}"


def payload(model: str, kind: Kind) -> dict[str, Any]:
    """The Input a schedule sends its function."""
    return {PAYLOAD_KEY: {"kind": kind, "model": model}}


def _expression(cfg: ModelConfig, kind: Kind) -> str | None:
    return cfg.schedules.scoring if kind == "score" else cfg.schedules.monitoring


@dataclass(frozen=True)
class ScheduleChange:
    """What applying a config did to one schedule: created, updated, deleted or unchanged."""

    name: str
    kind: Kind
    action: Literal["created", "updated", "deleted", "unchanged", "absent"]
    expression: str | None = None


def _call(what: str, fn: Any, *, missing_ok: bool = False, **kwargs: Any) -> dict[str, Any] | None:
    """Call the Scheduler API; with ``missing_ok``, None when the schedule does not exist (a
    missing group is always an error: it names a wiring mistake); errors mapped."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        result: dict[str, Any] = fn(**kwargs)
        return result
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException" and missing_ok and "schedule group" not in str(exc).lower():
            return None
        if code == "ResourceNotFoundException":
            raise ConfigError(f"{what}: {exc} (is the schedule group right?)") from exc
        if is_transient(exc):
            raise TransientError(f"transient failure {what}: {code}: {exc}") from exc
        raise ScorewatchError(f"{what}: {code}: {exc}") from exc
    except BotoCoreError as exc:
        if is_transient(exc):
            raise TransientError(f"transient failure {what}: {exc}") from exc
        raise ScorewatchError(f"{what}: {exc}") from exc


def sync_schedules(client: Any, targets: SchedulerTargets, cfg: ModelConfig) -> list[ScheduleChange]:
    """Make ``cfg``'s two schedules exist as configured (create, update, or delete when unset).

    Idempotent: a schedule already as configured is left alone (``unchanged``).
    """
    changes = []
    for kind in KINDS:
        name = schedule_name(cfg.name, kind)
        expression = _expression(cfg, kind)
        existing = _call(
            f"reading schedule {name}",
            client.get_schedule,
            missing_ok=True,
            Name=name,
            GroupName=targets.group,
        )
        if expression is None:
            if existing is None:
                changes.append(ScheduleChange(name, kind, "absent"))
                continue
            _call(
                f"deleting schedule {name}",
                client.delete_schedule,
                missing_ok=True,
                Name=name,
                GroupName=targets.group,
            )
            changes.append(ScheduleChange(name, kind, "deleted"))
            continue
        target = {
            "Arn": targets.arn(kind),
            "RoleArn": targets.role_arn,
            "Input": json.dumps(payload(cfg.name, kind), separators=(",", ":")),
        }
        spec: dict[str, Any] = {
            "Name": name,
            "GroupName": targets.group,
            "ScheduleExpression": expression,
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": target,
            "State": "ENABLED",
            "Description": f"scorewatch {kind} schedule of {cfg.name}",
        }
        if existing is None:
            _call(f"creating schedule {name}", client.create_schedule, **spec)
            changes.append(ScheduleChange(name, kind, "created", expression))
            continue
        current_target = existing.get("Target") or {}
        same = (
            existing.get("ScheduleExpression") == expression
            and existing.get("State") == "ENABLED"
            and {k: current_target.get(k) for k in target} == target
        )
        if same:
            changes.append(ScheduleChange(name, kind, "unchanged", expression))
            continue
        _call(f"updating schedule {name}", client.update_schedule, **spec)
        changes.append(ScheduleChange(name, kind, "updated", expression))
    return changes


def remove_schedules(client: Any, targets: SchedulerTargets, name: str) -> list[ScheduleChange]:
    """Delete both schedules of model ``name`` (absent ones are fine)."""
    changes = []
    for kind in KINDS:
        sched = schedule_name(name, kind)
        existing = _call(
            f"reading schedule {sched}",
            client.get_schedule,
            missing_ok=True,
            Name=sched,
            GroupName=targets.group,
        )
        if existing is None:
            changes.append(ScheduleChange(sched, kind, "absent"))
            continue
        _call(
            f"deleting schedule {sched}",
            client.delete_schedule,
            missing_ok=True,
            Name=sched,
            GroupName=targets.group,
        )
        changes.append(ScheduleChange(sched, kind, "deleted"))
    return changes


def list_schedules(client: Any, targets: SchedulerTargets) -> dict[str, dict[str, Any]]:
    """Every schedule in the group by name (``State``, ``Arn`` of the target where listed)."""
    out: dict[str, dict[str, Any]] = {}
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"GroupName": targets.group}
        if token:
            kwargs["NextToken"] = token
        page = _call("listing schedules", client.list_schedules, **kwargs) or {}
        for s in page.get("Schedules", []):
            out[s["Name"]] = s
        token = page.get("NextToken")
        if not token:
            return out

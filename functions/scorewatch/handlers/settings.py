"""Typed settings of each Lambda function, read from its environment (keys in contract.Env).

Only handlers call :func:`load`; the core receives plain values. Settings are validated once per
cold start: :func:`load` caches by the values of the keys the model reads, so a container pays
the validation once, while tests that change the environment still get fresh settings. No model
configuration travels in the environment: every function reads the stored configurations from
the registry table (``registry_table``) through a reader cached for ``config_ttl_seconds``.

The infra test checks each function's environment against :data:`SETTINGS_BY_FUNCTION` and
:func:`required_env`:

>>> sorted(required_env(MonitorSettings))[:2]
['SCOREWATCH_DATA_BUCKET', 'SCOREWATCH_EVENT_BUS']
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scorewatch.core.contract import HANDLERS, Env
from scorewatch.core.errors import ConfigError

S = TypeVar("S", bound="HandlerSettings")


class HandlerSettings(BaseModel):
    """Fields shared by every function. Field aliases are the environment keys."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    data_bucket: str = Field(alias=Env.DATA_BUCKET, min_length=3)
    event_bus: str = Field(alias=Env.EVENT_BUS, min_length=1)
    # The stored model configurations live in the registry table (io.registry.configs).
    registry_table: str = Field(alias=Env.REGISTRY_TABLE, min_length=3)
    config_ttl_seconds: float = Field(alias=Env.CONFIG_TTL_SECONDS, default=60, ge=0, le=3600)


class RegistrySettings(HandlerSettings):
    models_bucket: str = Field(alias=Env.MODELS_BUCKET, min_length=3)
    allow_unsafe_pickle: bool = Field(alias=Env.ALLOW_UNSAFE_PICKLE, default=False)
    allow_version_mismatch: bool = Field(alias=Env.ALLOW_VERSION_MISMATCH, default=False)


class ScoreSettings(RegistrySettings):
    """The ``score`` function: S3 Object Created, schedule, direct payload (split parts)."""

    idempotency_table: str = Field(alias=Env.IDEMPOTENCY_TABLE, min_length=3)
    # Absent: inputs over the limits are reported as InputTooLargeError instead of split.
    large_file_state_machine_arn: str | None = Field(alias=Env.LARGE_FILE_STATE_MACHINE_ARN, default=None)
    # A Lambda container has its cores to itself: the reader thread fills their idle time.
    reader_priority: Literal["idle", "normal"] = Field(alias=Env.READER_PRIORITY, default="idle")


class MonitorSettings(RegistrySettings):
    """The ``monitor`` function: Batch Scored events and the window schedule."""


class SplitSettings(HandlerSettings):
    """The large-file workflow's Split step (plans parts, writes the manifest)."""


class FinalizeSettings(HandlerSettings):
    """The large-file workflow's Finalize step (merges part profiles, emits Batch Scored)."""


class LabelsSettings(RegistrySettings):
    """The ``labels`` function (delayed ground truth -> realized performance)."""


class SiteSettings(RegistrySettings):
    """The ``site`` function (one model's page and the index of the monitoring site)."""


class RetrainSettings(RegistrySettings):
    """Every step of the retraining workflow."""


SETTINGS_BY_FUNCTION: dict[str, type[HandlerSettings]] = {
    "score": ScoreSettings,
    "monitor": MonitorSettings,
    "labels": LabelsSettings,
    "split": SplitSettings,
    "finalize": FinalizeSettings,
    **{fid: RetrainSettings for fid in HANDLERS if fid.startswith("retrain_")},
    "site": SiteSettings,
}


def env_keys(cls: type[HandlerSettings]) -> frozenset[str]:
    """Every environment key ``cls`` reads (required or optional)."""
    return frozenset(f.alias for f in cls.model_fields.values() if f.alias)


def required_env(cls: type[HandlerSettings]) -> frozenset[str]:
    """The environment keys ``cls`` cannot start without."""
    return frozenset(f.alias for f in cls.model_fields.values() if f.alias and f.is_required())


def _parse(cls: type[S], items: tuple[tuple[str, str], ...]) -> S:
    try:
        return cls.model_validate(dict(items))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise ConfigError(f"invalid environment for {cls.__name__}: {problems}") from exc


_cached_parse = lru_cache(maxsize=32)(_parse)


def load(cls: type[S], environ: Mapping[str, str] | None = None) -> S:
    """Validate ``cls`` from ``environ`` (default ``os.environ``), cached per distinct values.

    Raises
    ------
    ConfigError
        Naming every missing or invalid environment key.
    """
    env = os.environ if environ is None else environ
    items = tuple(sorted((k, env[k]) for k in env_keys(cls) if k in env))
    return _cached_parse(cls, items)

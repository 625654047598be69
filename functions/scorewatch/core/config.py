"""Declarative model configuration.

One file (``examples/models.json`` by default, path in cdk.json context ``scorewatch:config``)
declares every model: schedules, drift thresholds, cooldown, retraining, decision policy and
alarm thresholds. Infra validates it at synth time (a bad entry fails ``cdk synth`` naming the
field) and passes the runtime part to the functions as JSON (contract.Env.MODELS_CONFIG).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from scorewatch.core.cards import Task
from scorewatch.core.errors import ConfigError
from scorewatch.core.schema import check_model_name

DriftTest = Literal[
    "ks", "chisquare", "z", "wasserstein", "psi", "jensenshannon", "hellinger", "unseen_share"
]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ColumnDrift(_Strict):
    test: DriftTest | None = None
    threshold: float | None = Field(default=None, gt=0)


class DriftSettings(_Strict):
    dataset_drift_share: float = Field(default=0.5, gt=0, le=1)
    columns: dict[str, ColumnDrift] = Field(default_factory=dict)
    prediction_test: DriftTest | None = None
    prediction_threshold: float | None = Field(default=None, gt=0)
    multivariate: bool = True
    multivariate_auc_threshold: float = Field(default=0.6, gt=0.5, le=1)
    cooldown_minutes: int = Field(default=360, ge=0)
    window_hours: int = Field(default=24, ge=1, le=24 * 31)


class Schedules(_Strict):
    """EventBridge schedule expressions, e.g. ``cron(0 6 * * ? *)`` or ``rate(1 day)``."""

    scoring: str | None = None
    scoring_prefix: str | None = None  # key prefix scored by the schedule, default incoming/<model>/
    monitoring: str | None = "rate(1 day)"

    @field_validator("scoring", "monitoring")
    @classmethod
    def _expr(cls, v: str | None) -> str | None:
        if v is not None and not (v.startswith(("cron(", "rate(")) and v.endswith(")")):
            raise ValueError(f"schedule {v!r} must be 'cron(...)' or 'rate(...)'")
        return v


class EstimatorSpec(_Strict):
    """A scikit-learn estimator from the training allowlist, or a user entry point."""

    estimator: str | None = "HistGradientBoostingClassifier"
    params: dict[str, Any] = Field(default_factory=dict)
    entry_point: str | None = None  # "package.module:function" returning a fitted estimator

    @model_validator(mode="after")
    def _one(self) -> EstimatorSpec:
        if self.entry_point and ":" not in self.entry_point:
            raise ValueError(f"entry_point {self.entry_point!r} must look like 'package.module:function'")
        return self


class RetrainingSettings(_Strict):
    enabled: bool = True
    spec: EstimatorSpec = Field(default_factory=EstimatorSpec)
    labeled_prefix: str | None = None  # s3 key prefix (data bucket) of a labeled training set
    use_scored_with_labels: bool = True
    window_days: int = Field(default=30, ge=1)
    holdout_fraction: float = Field(default=0.2, gt=0, lt=1)
    time_column: str | None = None
    metric: str | None = None  # default: roc_auc (binary), f1_macro (multiclass), rmse (regression)
    min_improvement: float = 0.0
    floor: float | None = None
    guards: dict[str, float] = Field(default_factory=dict)  # metric -> max allowed regression
    approval_required: bool = False  # a passing challenger waits for `scorewatch models approve`
    approval_timeout_hours: int = Field(default=72, ge=1, le=720)  # no decision by then -> Reject
    random_state: int = 0
    timeout_minutes: int = Field(default=15, ge=1, le=15)


class CostMatrix(_Strict):
    tp: float = 0.0
    fp: float = 0.0
    fn: float = 0.0
    tn: float = 0.0


class DecisionPolicy(_Strict):
    kind: Literal["fixed", "top_k", "expected_value"]
    threshold: float | None = Field(default=None, ge=0, le=1)
    k: int | None = Field(default=None, ge=1)
    budget_fraction: float | None = Field(default=None, gt=0, le=1)
    costs: CostMatrix | None = None
    positive_action: str = "act"
    negative_action: str = "none"

    @model_validator(mode="after")
    def _complete(self) -> DecisionPolicy:
        if self.kind == "fixed" and self.threshold is None:
            raise ValueError("decision.kind 'fixed' needs decision.threshold")
        if self.kind == "top_k" and self.k is None and self.budget_fraction is None:
            raise ValueError("decision.kind 'top_k' needs decision.k or decision.budget_fraction")
        if self.kind == "expected_value" and self.costs is None:
            raise ValueError("decision.kind 'expected_value' needs decision.costs")
        return self


class AlarmSettings(_Strict):
    drift_share: float = Field(default=0.5, gt=0, le=1)
    prediction_drift: float = Field(default=0.1, gt=0)
    rejected_row_rate: float = Field(default=0.05, ge=0, le=1)
    performance_floor: float | None = None


#: Rows per scoring chunk. 32,768 is what the scoring benchmark's memory target was met with
#: (docs/benchmarks.md, Scoring): at 65,536 the HGB scorer's peak RSS was 0.43 of the naive approach's.
DEFAULT_CHUNK_ROWS = 32_768


class ModelConfig(_Strict):
    name: str
    task: Task = "binary"
    target: str | None = None
    id_columns: tuple[str, ...] = ()
    positive_class: str | int | bool | None = None
    chunk_rows: int = Field(default=DEFAULT_CHUNK_ROWS, ge=100, le=5_000_000)
    max_reject_fraction: float = Field(default=0.05, ge=0, le=1)
    max_input_bytes: int = Field(default=2 * 1024**3, ge=1)
    drift: DriftSettings = Field(default_factory=DriftSettings)
    schedules: Schedules = Field(default_factory=Schedules)
    retraining: RetrainingSettings = Field(default_factory=RetrainingSettings)
    decision: DecisionPolicy | None = None
    alarms: AlarmSettings = Field(default_factory=AlarmSettings)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        try:
            return check_model_name(v)
        except Exception as exc:
            raise ValueError(str(exc)) from exc


class ScorewatchConfig(_Strict):
    ops_email: str | None = None
    architecture: Literal["arm64", "x86_64"] = "arm64"
    models: tuple[ModelConfig, ...] = ()

    @field_validator("models")
    @classmethod
    def _unique(cls, v: tuple[ModelConfig, ...]) -> tuple[ModelConfig, ...]:
        names = [m.name for m in v]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate model names: {dupes}")
        return v

    def model(self, name: str) -> ModelConfig:
        """Return the named model's config, or the defaults for a model not declared."""
        for m in self.models:
            if m.name == name:
                return m
        return ModelConfig(name=name)

    def to_env(self) -> str:
        """Compact JSON for contract.Env.MODELS_CONFIG."""
        return self.model_dump_json(exclude_defaults=True)


def _describe(exc: ValidationError, source: str) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        parts.append(f"{loc}: {err['msg']}")
    return f"invalid scorewatch config {source}: " + "; ".join(parts)


def parse_config(data: dict[str, Any] | str, *, source: str = "<inline>") -> ScorewatchConfig:
    """Validate a configuration document (dict or JSON text).

    Raises
    ------
    ConfigError
        Naming every offending field by its dotted path (``models.0.drift.cooldown_minutes``).
    """
    try:
        if isinstance(data, str):
            return ScorewatchConfig.model_validate_json(data)
        return ScorewatchConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from exc


def load_config(path: str | Path) -> ScorewatchConfig:
    """Read and validate a configuration file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read scorewatch config {p}: {exc}") from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"invalid JSON in scorewatch config {p}: {exc}") from exc
    return parse_config(doc, source=str(p))

"""Declarative model configuration.

Each model's configuration (:class:`ModelConfig`: schedules, drift thresholds, cooldown,
retraining, decision policy and alarm thresholds) is a versioned document in the registry table
(``scorewatch.io.registry.configs``), written by ``scorewatch models configure`` and read by the
functions at run time through a cached reader (``scorewatch.io.fleet_config.FleetConfig``). A
models file (:class:`ScorewatchConfig`, ``examples/models.json`` by default, path in cdk.json
context ``scorewatch:config``) seeds that store (``scorewatch models configure --all``) and holds
the deployment-wide settings (ops email, architecture). Consumers depend on :class:`ConfigSource`,
which both the file and the runtime reader satisfy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from scorewatch.core.cards import Task
from scorewatch.core.errors import ConfigError
from scorewatch.core.schema import FeatureSchema, check_model_name, schema_document

DriftTest = Literal[
    "ks", "chisquare", "z", "wasserstein", "psi", "jensenshannon", "hellinger", "unseen_share"
]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ColumnDrift(_Strict):
    """Drift test and threshold for one column, overriding the automatic choice."""

    test: DriftTest | None = Field(
        default=None,
        description="Drift test for this column; unset, the test is chosen from the column's kind, "
        "size and number of distinct values (Evidently's DataDriftPreset rule).",
    )
    threshold: float | None = Field(
        default=None,
        gt=0,
        description="Threshold of the test: the p-value at or below which a p-value test drifts, "
        "or the distance at or above which a distance test drifts; unset, the test's default.",
    )


class DriftSettings(_Strict):
    """How batches and windows are compared with the champion's baseline."""

    dataset_drift_share: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="Share of drifted features (among the tests that ran) at or above which the "
        "dataset as a whole has drifted.",
    )
    columns: dict[str, ColumnDrift] = Field(
        default_factory=dict,
        description="Per-column overrides of the drift test and threshold, keyed by column name.",
    )
    multiple_testing: Literal["holm", "bonferroni", "none"] = Field(
        default="holm",
        description="Family-wise error control of the p-value tests (ks, chisquare, z) of one "
        "comparison: the feature columns tested at their default threshold form one family, the "
        "prediction columns another; 'holm' (Holm-Bonferroni) or 'bonferroni' adjusts their "
        "p-values so that a same-distribution batch flags any column with probability at most "
        "the threshold; 'none' tests each column alone. Distance tests and explicit thresholds "
        "are not adjusted.",
    )
    prediction_test: DriftTest | None = Field(
        default=None,
        description="Drift test for the prediction and score columns; unset, chosen like a feature's.",
    )
    prediction_threshold: float | None = Field(
        default=None, gt=0, description="Threshold of the prediction drift test; unset, the test's default."
    )
    multivariate: bool = Field(
        default=True,
        description="Run the multivariate check: a domain classifier trained to tell reference-sample "
        "rows from batch rows.",
    )
    multivariate_auc_threshold: float = Field(
        default=0.6,
        gt=0.5,
        le=1,
        description="Out-of-fold ROC AUC of the domain classifier above which multivariate drift is "
        "reported (two samples of one distribution give about 0.5).",
    )
    cooldown_minutes: int = Field(
        default=360,
        ge=0,
        description="At most one Drift Detected event (and so one retraining start) per model within "
        "this many minutes.",
    )
    window_hours: int = Field(
        default=24,
        ge=1,
        le=24 * 31,
        description="Length of the window the scheduled monitoring run merges batch profiles over, "
        "ending at the schedule's event time.",
    )


class Schedules(_Strict):
    """EventBridge schedule expressions, e.g. ``cron(0 6 * * ? *)`` or ``rate(1 day)``."""

    scoring: str | None = Field(
        default=None,
        description="Schedule that scores every object under scoring_prefix; unset, the model is "
        "scored only when a file lands in its incoming prefix.",
    )
    scoring_prefix: str | None = Field(
        default=None,
        description="Data-bucket key prefix the scoring schedule scores; unset, incoming/<model>/.",
    )
    monitoring: str | None = Field(
        default="rate(1 day)",
        description="Schedule of the window drift run over the last drift.window_hours; null turns "
        "the scheduled run off (per-batch monitoring still runs).",
    )

    @field_validator("scoring", "monitoring")
    @classmethod
    def _expr(cls, v: str | None) -> str | None:
        if v is not None and not (v.startswith(("cron(", "rate(")) and v.endswith(")")):
            raise ValueError(f"schedule {v!r} must be 'cron(...)' or 'rate(...)'")
        return v


class EstimatorSpec(_Strict):
    """An estimator from the training allowlist, or a user entry point."""

    estimator: str | None = Field(
        default="HistGradientBoostingClassifier",
        description="Class name of an allowlisted estimator (scikit-learn, LightGBM, XGBoost or CatBoost; "
        "lifecycle.training.ALLOWED_ESTIMATORS) the challenger is built from.",
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="Keyword arguments of the estimator (unknown parameters are refused by name), or "
        "the params passed to entry_point.",
    )
    entry_point: str | None = Field(
        default=None,
        description="'package.module:function' called as function(X, y, *, task, feature_schema, "
        "params, random_state) and returning a fitted estimator; takes the place of estimator.",
    )

    @model_validator(mode="after")
    def _one(self) -> EstimatorSpec:
        if self.entry_point and ":" not in self.entry_point:
            raise ValueError(f"entry_point {self.entry_point!r} must look like 'package.module:function'")
        return self


class RetrainingSettings(_Strict):
    """The retraining workflow: training data, challenger, gate and approval."""

    enabled: bool = Field(
        default=True,
        description="false: Drift Detected never starts retraining for this model (the rule "
        "matches only enabled models) and a manual start ends Skipped at Assemble.",
    )
    spec: EstimatorSpec = Field(default_factory=EstimatorSpec, description="How the challenger is built.")
    labeled_prefix: str | None = Field(
        default=None,
        description="Data-bucket key prefix of a labeled training set (features, label and the "
        "optional time_column, in any supported format).",
    )
    use_scored_with_labels: bool = Field(
        default=True,
        description="Also train on the scored outputs of the last window_days joined with the "
        "labels under labels/<model>/.",
    )
    window_days: int = Field(
        default=30,
        ge=1,
        description="How many days of scored outputs are joined with labels, for training and for "
        "realized performance.",
    )
    holdout_fraction: float = Field(
        default=0.2,
        gt=0,
        lt=1,
        description="Share of the latest rows (by time_column, else scored_at) held out to compare "
        "challenger and champion.",
    )
    time_column: str | None = Field(
        default=None,
        description="Column of the labeled set that orders rows in time for the holdout split.",
    )
    metric: str | None = Field(
        default=None,
        description="Gate metric; unset, roc_auc (binary), f1_macro (multiclass) or rmse (regression).",
    )
    min_improvement: float = Field(
        default=0.0,
        description="Margin by which the challenger must beat the champion on metric (in the "
        "metric's direction: lower for error metrics).",
    )
    floor: float | None = Field(
        default=None,
        description="Value of metric the challenger must reach (a ceiling for error metrics).",
    )
    guards: dict[str, float] = Field(
        default_factory=dict,
        description="Metric name -> largest regression against the champion the challenger may "
        'show on it, e.g. {"brier": 0.02}.',
    )
    approval_required: bool = Field(
        default=False,
        description="A challenger that passes the gate waits for `scorewatch models approve` "
        "before it is promoted.",
    )
    approval_timeout_hours: int = Field(
        default=72,
        ge=1,
        le=720,
        description="Hours a challenger waits for approval; without a decision by then it is rejected.",
    )
    random_state: int = Field(
        default=0,
        description=(
            "Seed of training (estimator or entry point) and of the baseline profile's reference sample."
        ),
    )
    timeout_minutes: int = Field(
        default=15,
        ge=1,
        le=15,
        description="Expected upper bound of one workflow step, in minutes; sizes the retraining "
        "lock's lifetime.",
    )


class CostMatrix(_Strict):
    """Value of each outcome of a binary decision (negative for a cost)."""

    tp: float = Field(default=0.0, description="Value of acting on a positive row.")
    fp: float = Field(default=0.0, description="Value of acting on a negative row.")
    fn: float = Field(default=0.0, description="Value of not acting on a positive row.")
    tn: float = Field(default=0.0, description="Value of not acting on a negative row.")


class DecisionPolicy(_Strict):
    """Turns scores into a ``decision`` column of the scored output."""

    kind: Literal["fixed", "top_k", "expected_value"] = Field(
        description="fixed: act when the positive-class score reaches threshold; top_k: act on the "
        "highest-scored rows of each scoring chunk; expected_value: act when acting is worth more "
        "than not acting under costs (binary classifiers only)."
    )
    threshold: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Score at or above which the positive action is taken (needed by fixed); with "
        "expected_value it replaces the threshold derived from costs.",
    )
    k: int | None = Field(
        default=None,
        ge=1,
        description="Rows of each scored object (or part of a split large file) that get the "
        "positive action (top_k; with budget_fraction too, the smaller count applies).",
    )
    budget_fraction: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Share of each scored object's rows that get the positive action (top_k).",
    )
    costs: CostMatrix | None = Field(
        default=None,
        description="Outcome values (needed by expected_value); each retraining re-optimises the "
        "threshold on the holdout.",
    )
    positive_action: str = Field(default="act", description="Value of decision for rows acted on.")
    negative_action: str = Field(default="none", description="Value of decision for the other rows.")

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
    """Thresholds of the per-model CloudWatch alarms."""

    drift_share: float = Field(
        default=0.5, gt=0, le=1, description="Alarm when DriftShare (maximum) exceeds this share."
    )
    prediction_drift: float = Field(
        default=0.1,
        gt=0,
        description="Alarm when PredictionDrift (maximum), the largest Jensen-Shannon distance over "
        "the prediction columns, exceeds this.",
    )
    rejected_row_rate: float = Field(
        default=0.05, ge=0, le=1, description="Alarm when RejectedRowRate (maximum) exceeds this share."
    )
    performance_floor: float | None = Field(
        default=None,
        description="Alarm when RealizedPerformance (or EstimatedPerformance, the monitor's estimate "
        "without labels) breaches this in its metric's direction: below it (minimum) for a score such "
        "as roc_auc, above it (maximum) for an error such as rmse, mae or log_loss; unset, no "
        "performance alarm.",
    )
    performance_cooldown_minutes: int = Field(
        default=360,
        ge=0,
        description="At most one Performance Degraded event (and so one retraining start) per model "
        "within this many minutes, realized or estimated: label files arriving together raise one.",
    )


#: Rows per scoring chunk. 32,768 is what the scoring benchmark's memory target was met with
#: (docs/benchmarks.md, Scoring): at 65,536 the HGB scorer's peak RSS was 0.43 of the naive approach's.
DEFAULT_CHUNK_ROWS = 32_768


#: A schema in a configuration: the same documents a ``--schema`` file holds (a FeatureSchema, a
#: model card or ``scorewatch schema infer`` output), validated by the same model.
ConfiguredSchema = Annotated[FeatureSchema, BeforeValidator(schema_document)]


class ModelConfig(_Strict):
    """One model: its data, limits, monitoring, schedules, retraining, decisions and alarms."""

    # ``schema`` is the document key; the attribute is ``feature_schema`` (``schema`` is a
    # BaseModel attribute pydantic will not let a field shadow quietly).
    model_config = ConfigDict(
        frozen=True, extra="forbid", validate_by_alias=True, validate_by_name=True, serialize_by_alias=True
    )

    name: str = Field(
        description="Model name: the incoming/<name>/ drop zone, resource and alarm names, the "
        "registry key (no '/', no '..')."
    )
    task: Task = Field(default="binary", description="Kind of model.")
    target: str | None = Field(default=None, description="Label column; excluded from the features.")
    id_columns: tuple[str, ...] = Field(
        default=(), description="Columns passed through unchanged to the scored output."
    )
    positive_class: str | int | bool | None = Field(
        default=None,
        description="Positive class of a binary model; unset, the last class (scikit-learn's convention).",
    )
    chunk_rows: int = Field(
        default=DEFAULT_CHUNK_ROWS, ge=100, le=5_000_000, description="Rows per scoring chunk."
    )
    max_reject_fraction: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Share of rows failing validation above which the whole batch is rejected.",
    )
    max_input_bytes: int = Field(
        default=2 * 1024**3,
        ge=1,
        description="Estimated uncompressed size above which an input goes to the large-file "
        "workflow (or is rejected as input_too_large).",
    )
    drift: DriftSettings = Field(default_factory=DriftSettings, description="Drift monitoring.")
    schedules: Schedules = Field(default_factory=Schedules, description="Scoring and monitoring schedules.")
    retraining: RetrainingSettings = Field(
        default_factory=RetrainingSettings, description="The retraining workflow."
    )
    decision: DecisionPolicy | None = Field(
        default=None, description="Decision policy; unset, the scored output has no decision column."
    )
    alarms: AlarmSettings = Field(default_factory=AlarmSettings, description="Per-model alarm thresholds.")
    feature_schema: ConfiguredSchema | None = Field(
        default=None,
        alias="schema",
        description="Column types and roles (a feature schema, inline: what `scorewatch schema infer` "
        "prints, reviewed). Monitoring excludes its id_columns and every column it does not list as a "
        "feature from drift, quality and the domain classifier; retraining trains on its features with "
        "its types. Scoring keeps the registered version's schema (the fitted model's inputs); unset, "
        "the registered schema applies everywhere.",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        try:
            return check_model_name(v)
        except Exception as exc:
            raise ValueError(str(exc)) from exc

    @model_validator(mode="after")
    def _schema_roles(self) -> ModelConfig:
        s = self.feature_schema
        if s is None:
            return self
        if self.target is not None and self.target in s.names:
            raise ValueError(f"schema: the target {self.target!r} is listed as a feature")
        both = sorted(set(s.names) & set(s.id_columns))
        if both:
            raise ValueError(f"schema: {both} listed both as features and as id_columns")
        return self


class ScorewatchConfig(_Strict):
    """The models configuration file."""

    ops_email: str | None = Field(
        default=None, description="Email address subscribed to the ops SNS topic (alarms, failures)."
    )
    architecture: Literal["arm64", "x86_64"] = Field(
        default="arm64",
        description="Architecture of every function and the image (the scorewatch:architecture "
        "context key overrides it).",
    )
    models: tuple[ModelConfig, ...] = Field(default=(), description="Every model; names are unique.")

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

    def version(self, name: str) -> int | None:
        """Stored config version of ``name``: None, a file is not a versioned store."""
        return None

    def retired(self, name: str) -> bool:
        """Whether ``name`` is retired: never, for a file (retiring is a store operation)."""
        return False

    def to_env(self) -> str:
        """Compact JSON of the configuration (exclude defaults)."""
        return self.model_dump_json(exclude_defaults=True)


class ConfigSource(Protocol):
    """What the scoring, monitoring and lifecycle services read configuration through.

    Satisfied by :class:`ScorewatchConfig` (a models file, offline) and by
    ``scorewatch.io.fleet_config.FleetConfig`` (the stored configurations, at run time).
    """

    @property
    def models(self) -> tuple[ModelConfig, ...]:
        """Every active model's configuration."""
        ...

    def model(self, name: str) -> ModelConfig:
        """The named model's configuration, or the defaults for a model not configured."""
        ...

    def version(self, name: str) -> int | None:
        """The stored config version ``name`` runs under (None when not stored)."""
        ...

    def retired(self, name: str) -> bool:
        """True when ``name`` was retired (its drops are rejected, its schedules removed)."""
        ...


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

"""The model card: everything recorded about one model version.

Stored as ``<model>/<version>/card.json`` in the models bucket and mirrored (status, sha256,
pointers) in the registry table. ``scorewatch models show`` renders it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from scorewatch.core.schema import FeatureSchema

Status = Literal["candidate", "champion", "archived", "rejected"]
Task = Literal["binary", "multiclass", "regression"]
ArtifactFormat = Literal["skops", "joblib", "onnx"]


class ArtifactRef(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str  # key in the models bucket, e.g. churn/3/model.skops
    format: ArtifactFormat = "skops"
    sha256: str
    size_bytes: int
    trusted_types: tuple[str, ...] = ()  # skops types beyond the defaults needed to load it
    # S3 object version written at registration (versioned bucket): loads read exactly that version.
    version_id: str | None = None


class DataRef(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    uri: str | None = None
    sha256: str | None = None
    rows: int | None = None
    holdout_rows: int | None = None


class BaselineRef(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    profile_key: str | None = None  # <model>/<version>/baseline/profile.json
    sample_key: str | None = None  # <model>/<version>/baseline/sample.parquet
    rows: int | None = None
    # Pinned like the artifact: reads fetch exactly this S3 version and check the sha256 before
    # parsing. Cards written before baselines were pinned have None here (read unverified, warned).
    profile_sha256: str | None = None
    profile_version_id: str | None = None
    sample_sha256: str | None = None
    sample_version_id: str | None = None
    # DLE loss models of a regressor (<model>/<version>/baseline/loss_model.skops), pinned the same
    # way and loaded through the artifact allowlist; None when registered without labeled data.
    loss_model_key: str | None = None
    loss_model_sha256: str | None = None
    loss_model_version_id: str | None = None


class StatusChange(BaseModel):
    """One recorded status transition of a version (``status_history`` on the card)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    from_status: str
    to_status: Status
    at: datetime
    by: str | None = None
    reason: str | None = None
    forced: bool = False


class Comparison(BaseModel):
    """Challenger vs champion on the same holdout, as decided by the gate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: str
    challenger: float | None  # None when undefined on the holdout (the gate then fails)
    champion: float | None
    min_improvement: float
    floor: float | None = None
    guards: dict[str, dict[str, float | None]] = Field(default_factory=dict)
    passed: bool
    reasons: tuple[str, ...] = ()


class Conversion(BaseModel):
    """How a version was converted from another (``scorewatch models export``) and how well it agrees."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source_version: str
    source_sha256: str
    format: Literal["onnx"] = "onnx"
    # max |converted - native| over every score column on the verification sample; for regression
    # the tolerance is relative to max(1, max |native prediction|)
    max_abs_diff: float
    tolerance: float
    sample: str  # "baseline" or the URI of the stated sample
    sample_rows: int
    converter_versions: dict[str, str] = Field(default_factory=dict)


class ModelCard(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    model_name: str
    version: str  # zero-padded sequence "000001" so keys sort
    task: Task
    target: str | None = None
    feature_schema: FeatureSchema
    classes: tuple[str | int | bool, ...] | None = None
    artifact: ArtifactRef
    status: Status = "candidate"
    created_at: datetime
    metrics: dict[str, float] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)
    library_versions: dict[str, str] = Field(default_factory=dict)
    training_data: DataRef = Field(default_factory=DataRef)
    baseline: BaselineRef = Field(default_factory=BaselineRef)
    parent_version: str | None = None
    comparison: Comparison | None = None
    decision_policy: dict[str, Any] | None = None
    calibration: dict[str, float] | None = None
    # isotonic knots {"method": "isotonic", "x": [...], "y": [...]} applied before CBPE (estimation)
    calibrator: dict[str, Any] | None = None
    # How performance is estimated without labels ("cbpe" / "dle") and its check on the part of
    # the labeled reference the estimator was not fitted on: {metric: {estimated, realized}}.
    estimation: dict[str, Any] | None = None
    promoted_at: datetime | None = None
    promoted_by: str | None = None  # execution id / user
    # The champion this version replaced when promoted (rollback restores it).
    previous_champion: str | None = None
    archived_at: datetime | None = None
    approvals: tuple[str, ...] = ()
    description: str | None = None
    # Every status change after registration, oldest first (forced ones carry their reason).
    status_history: tuple[StatusChange, ...] = ()
    # Set on a version converted from another (its ONNX twin): source, agreement, tolerance.
    conversion: Conversion | None = None

"""Feature schema types: what a model version expects of its input.

Validation and coercion of batches against a schema live in ``validation``; this module only
declares the types so the registry, cards, profiles and handlers share one definition.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FeatureType = Literal["numeric", "categorical", "boolean", "datetime"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


def check_model_name(name: str) -> str:
    """Return ``name`` if it is a safe model name, else raise InvalidModelNameError.

    Model names become S3 key segments and DynamoDB keys, so only letters, digits, ``_``, ``.``
    and ``-`` are allowed, starting with a letter or digit, and never ``..``.

    >>> check_model_name("churn-v2")
    'churn-v2'
    """
    from scorewatch.core.errors import InvalidModelNameError

    if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
        raise InvalidModelNameError(
            f"invalid model name {name!r}: use 1-63 letters, digits, '_', '.', '-' "
            "starting with a letter or digit, without '..' or '/'"
        )
    return name


class FeatureSpec(BaseModel):
    """One input feature.

    ``categories`` (categorical) and ``min``/``max`` (numeric) are the allowed values seen in
    training; they drive data-quality checks, not rejection, unless ``strict`` is set.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, description="Column name in the input.")
    type: FeatureType = Field(
        description="How values are coerced and profiled: numeric, categorical, boolean or datetime."
    )
    nullable: bool = Field(default=True, description="Whether a missing value is allowed.")
    categories: tuple[str, ...] | None = Field(
        default=None, description="Allowed values of a categorical or boolean feature (seen in training)."
    )
    min: float | None = Field(default=None, description="Smallest value seen in training (numeric).")
    max: float | None = Field(default=None, description="Largest value seen in training (numeric).")
    strict: bool = Field(
        default=False, description="Reject rows outside categories or min/max instead of reporting them."
    )

    @model_validator(mode="after")
    def _check_bounds(self) -> FeatureSpec:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"feature {self.name!r}: min {self.min} > max {self.max}")
        if self.categories is not None and self.type not in ("categorical", "boolean"):
            raise ValueError(f"feature {self.name!r}: categories only apply to categorical features")
        return self


class FeatureSchema(BaseModel):
    """The ordered features a model consumes plus the id columns passed through to outputs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    features: tuple[FeatureSpec, ...] = Field(
        description="The features, in the order the model consumes them; every other column is not a "
        "feature (not profiled, not trained on)."
    )
    id_columns: tuple[str, ...] = Field(
        default=(),
        description="Identifier columns: passed through to outputs, never features, excluded from "
        "drift, quality and the domain classifier.",
    )

    @field_validator("features")
    @classmethod
    def _unique(cls, v: tuple[FeatureSpec, ...]) -> tuple[FeatureSpec, ...]:
        seen: set[str] = set()
        for f in v:
            if f.name in seen:
                raise ValueError(f"duplicate feature {f.name!r}")
            seen.add(f.name)
        if not v:
            raise ValueError("a schema needs at least one feature")
        return v

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    def feature(self, name: str) -> FeatureSpec:
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(name)

    def of_type(self, *types: FeatureType) -> list[str]:
        return [f.name for f in self.features if f.type in types]


def schema_document(doc: Any) -> Any:
    """The FeatureSchema part of a schema document: a bare schema, a model card or ``schema infer``
    output (both hold it under ``feature_schema``); anything else is returned for validation to refuse.

    >>> schema_document({"feature_schema": {"features": []}, "columns": []})
    {'features': []}
    """
    if isinstance(doc, dict) and "feature_schema" in doc and "features" not in doc:
        return doc["feature_schema"]
    return doc


def parse_schema_document(doc: Any) -> FeatureSchema:
    """Validate a schema document (see :func:`schema_document`): the one check behind ``--schema``
    files and the ``schema`` field of a model configuration.

    Raises
    ------
    pydantic.ValidationError
        Naming the offending field (``features.0.type``).
    """
    if isinstance(doc, FeatureSchema):
        return doc
    return FeatureSchema.model_validate(schema_document(doc))

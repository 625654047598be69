"""Feature schema types: what a model version expects of its input.

Validation and coercion of batches against a schema live in ``validation``; this module only
declares the types so the registry, cards, profiles and handlers share one definition.
"""

from __future__ import annotations

import re
from typing import Literal

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

    name: str = Field(min_length=1)
    type: FeatureType
    nullable: bool = True
    categories: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    strict: bool = False

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

    features: tuple[FeatureSpec, ...]
    id_columns: tuple[str, ...] = ()

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

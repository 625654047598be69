"""A model as the scorer gets it from the registry, without a registry: a card and an estimator."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from scorewatch.core.cards import ArtifactRef, ModelCard
from scorewatch.core.schema import FeatureSchema
from scorewatch.io.registry import LoadedModel


def loaded_model(
    estimator: Any,
    schema: FeatureSchema,
    *,
    model_name: str = "m",
    version: str = "000001",
    task: str = "binary",
    classes: tuple[Any, ...] | None = (0, 1),
    created_at: datetime = datetime(2026, 1, 1, tzinfo=UTC),
) -> LoadedModel:
    """``LoadedModel`` with a card for ``schema`` (the artifact reference is a placeholder)."""
    card = ModelCard(
        model_name=model_name,
        version=version,
        task=task,
        feature_schema=schema,
        classes=classes,
        artifact=ArtifactRef(key=f"{model_name}/{version}/model.skops", sha256="0" * 64, size_bytes=1),
        created_at=created_at,
    )
    return LoadedModel(card=card, estimator=estimator)

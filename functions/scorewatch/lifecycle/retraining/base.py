"""What every retraining step shares: the deployment (bucket, registry, config, publisher, clock)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from scorewatch.core.cards import ModelCard
from scorewatch.core.config import ConfigSource, ModelConfig
from scorewatch.core.errors import (
    ModelNotFoundError,
)
from scorewatch.core.schema import FeatureSchema
from scorewatch.io import storage
from scorewatch.lifecycle.labels import LABEL_COLUMN
from scorewatch.monitoring import performance

logger = logging.getLogger(__name__)


class StepsBase:
    """The deployment the steps run in; :class:`RetrainingSteps` documents the parameters."""

    def __init__(
        self,
        *,
        data_bucket: str,
        registry: Any,
        config: ConfigSource,
        publisher: Any | None = None,
        now: Callable[[], datetime] | None = None,
    ):
        self.data_bucket = data_bucket
        self.registry = registry
        self.config = config
        self.publisher = publisher
        self.now = now or (lambda: datetime.now(UTC))

    # ------------------------------------------------------------------ helpers
    def _mc(self, model: str) -> ModelConfig:
        return self.config.model(model)

    def _reference_card(self, model: str) -> tuple[ModelCard, str | None]:
        """The champion's card (schema, target, classes), else the latest version's."""
        champion = self.registry.champion_version(model)
        if champion is not None:
            return self.registry.get(model, champion), champion
        versions = self.registry.list_versions(model)
        if not versions:
            raise ModelNotFoundError(
                f"model {model!r} has no registered version: register an initial model so retraining "
                "knows its feature schema"
            )
        return versions[-1], None

    def _lock_ttl(self, mc: ModelConfig) -> int:
        # The whole workflow: five steps each bounded by the function timeout, plus slack, plus
        # the wait for a human when approval is required (the lock must outlive that wait).
        wait = mc.retraining.approval_timeout_hours * 3600 if mc.retraining.approval_required else 0
        return max(3600, 6 * mc.retraining.timeout_minutes * 60) + wait

    def _uri(self, key: str) -> str:
        return f"s3://{self.data_bucket}/{key}"

    @staticmethod
    def _training_schema(mc: ModelConfig, card: ModelCard) -> FeatureSchema:
        """The challenger's schema: the configuration's ``schema`` when set (its features and
        types; its id_columns never features), else the reference card's."""
        return mc.feature_schema or card.feature_schema

    @staticmethod
    def _assembly_schema(mc: ModelConfig, card: ModelCard) -> FeatureSchema:
        """What the assembled sets are validated with: the challenger's features plus the reference
        card's (the champion is scored on the same holdout), and both id lists."""
        train = mc.feature_schema
        if train is None:
            return card.feature_schema
        names = set(train.names)
        features = (*train.features, *(f for f in card.feature_schema.features if f.name not in names))
        names |= {f.name for f in features}
        ids = dict.fromkeys(c for c in (*card.feature_schema.id_columns, *train.id_columns) if c not in names)
        return FeatureSchema(features=features, id_columns=tuple(ids))

    def _validated(
        self, table: pa.Table, schema: FeatureSchema, *, source_uri: str
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Coerce features exactly as scoring does; returns (features, kept rows' other columns)."""
        from scorewatch.scoring.validation import validate_batch

        chunk = validate_batch(table, schema, row_offset=0, source_uri=source_uri)
        keep = np.ones(table.num_rows, dtype=bool)
        keep[[r.row - 1 for r in chunk.rejected]] = False
        if chunk.rejected:
            logger.warning(
                "rows failing validation left out", extra={"uri": source_uri, "rows": len(chunk.rejected)}
            )
        rest = table.to_pandas()[keep].reset_index(drop=True)
        return chunk.features.reset_index(drop=True), rest

    def _read_split(
        self, uri: str, card: ModelCard, schema: FeatureSchema | None = None
    ) -> tuple[pd.DataFrame, pd.Series]:
        """Features (``schema``'s, default the card's) and labels of an assembled set."""
        table = storage.read_table(uri)
        features, rest = self._validated(table, schema or card.feature_schema, source_uri=uri)
        y = rest[LABEL_COLUMN]
        if card.task == "regression":
            y = pd.to_numeric(y, errors="coerce").astype(float)
        elif card.classes:
            y = performance.align_labels(y, list(card.classes))
        return features, y.reset_index(drop=True)

"""The assemble step: take the lock, gather labeled rows, split by time, write the training run."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa

from scorewatch.core.cards import ModelCard
from scorewatch.core.config import ModelConfig
from scorewatch.core.contract import Prefix
from scorewatch.core.errors import (
    InputRejectedError,
    RetrainingDisabledError,
    RetrainingInProgressError,
    TrainingError,
)
from scorewatch.io import storage
from scorewatch.lifecycle.labels import (
    LABEL_COLUMN,
    LABELED_AT,
    canonical_ids,
    read_labels,
    read_scored,
    scored_uris,
)
from scorewatch.lifecycle.retraining.base import StepsBase
from scorewatch.lifecycle.retraining.dataset import (
    CHUNK_ROWS,
    EPOCH,
    MIN_ROWS,
    ROW_ORDER,
    TIME_COLUMN,
    parquet_bytes,
    time_split,
)
from scorewatch.lifecycle.retraining.payloads import LOCK_NAME, AssembleResult, RetrainRequest, run_id_for
from scorewatch.monitoring import performance

logger = logging.getLogger(__name__)


class AssembleStep(StepsBase):
    """``assemble``: labeled rows -> ``training/model=<m>/run=<id>/``."""

    # ------------------------------------------------------------------ assemble
    def assemble(self, request: RetrainRequest, *, execution_id: str) -> AssembleResult:
        """Take the lock, gather labeled rows, split by time, write the training run.

        Raises
        ------
        RetrainingInProgressError
            Another execution holds the model's retraining lock.
        RetrainingDisabledError
            The model's configuration sets ``retraining.enabled: false``.
        TrainingError
            Not enough labeled rows, or a classifier's training/holdout split lacks a class.
        ModelNotFoundError
            The model has no registered version.
        """
        model = request.model_name
        mc = self._mc(model)
        if not mc.retraining.enabled:
            raise RetrainingDisabledError(f"retraining of {model!r} is disabled (retraining.enabled: false)")
        now = self.now()
        if not self.registry.acquire_lock(
            model, LOCK_NAME, owner=execution_id, now=now, ttl_seconds=self._lock_ttl(mc)
        ):
            raise RetrainingInProgressError(
                f"retraining of {model!r} is already running; trigger {execution_id} skipped"
            )
        card, champion = self._reference_card(model)
        target = mc.target or card.target or LABEL_COLUMN
        id_columns = list(card.feature_schema.id_columns or mc.id_columns)
        frames = []
        if mc.retraining.labeled_prefix:
            frames.append(self._from_labeled_prefix(mc, card, target))
        if mc.retraining.use_scored_with_labels and id_columns:
            frames.append(self._from_scored_with_labels(mc, card, id_columns, now))
        frames = [f for f in frames if len(f)]
        if not frames:
            raise TrainingError(
                f"no labeled rows for {model!r}: set retraining.labeled_prefix or drop labels under "
                f"{Prefix.LABELS}{model}/ for scored ids"
            )
        data = pd.concat(frames, ignore_index=True)
        data[ROW_ORDER] = np.arange(len(data))
        if card.task != "regression" and card.classes:
            aligned = performance.align_labels(data[LABEL_COLUMN], list(card.classes))
            unknown = int((aligned.isna() & data[LABEL_COLUMN].notna()).sum())
            if unknown:
                logger.warning(
                    "labels outside the model's classes dropped", extra={"model": model, "rows": unknown}
                )
            data[LABEL_COLUMN] = aligned
        elif card.task == "regression":
            data[LABEL_COLUMN] = pd.to_numeric(data[LABEL_COLUMN], errors="coerce")
        data = data[data[LABEL_COLUMN].notna()]
        if id_columns and all(c in data.columns for c in id_columns):
            data = data.assign(_k=canonical_ids(data, id_columns)).sort_values(
                [TIME_COLUMN, ROW_ORDER], kind="stable"
            )
            data = data.drop_duplicates("_k", keep="last").drop(columns="_k")
        if len(data) < MIN_ROWS:
            raise TrainingError(
                f"only {len(data)} labeled rows for {model!r}; at least {MIN_ROWS} are needed"
            )
        train, holdout = time_split(data, holdout_fraction=mc.retraining.holdout_fraction)
        if card.task != "regression":
            for name, part in (("training", train), ("holdout", holdout)):
                if part[LABEL_COLUMN].nunique() < 2:
                    raise TrainingError(
                        f"the {name} split of {model!r} holds a single class "
                        f"({part[LABEL_COLUMN].iloc[0]!r}); "
                        "more labels are needed"
                    )
        run_id = run_id_for(execution_id)
        base = f"{Prefix.TRAINING}model={model}/run={run_id}"
        train_bytes = parquet_bytes(train.drop(columns=[ROW_ORDER]))
        hold_bytes = parquet_bytes(holdout.drop(columns=[ROW_ORDER]))
        train_sha = hashlib.sha256(train_bytes).hexdigest()
        hold_sha = hashlib.sha256(hold_bytes).hexdigest()
        data_sha = hashlib.sha256((train_sha + hold_sha).encode()).hexdigest()
        train_uri, holdout_uri, manifest_uri = (
            self._uri(f"{base}/{n}") for n in ("train.parquet", "holdout.parquet", "manifest.json")
        )
        storage.write_bytes(train_uri, train_bytes, content_type="application/vnd.apache.parquet")
        storage.write_bytes(holdout_uri, hold_bytes, content_type="application/vnd.apache.parquet")
        storage.write_json(
            manifest_uri,
            {
                "model_name": model,
                "run_id": run_id,
                "execution_id": execution_id,
                "reason": request.reason,
                "created_at": now.isoformat(),
                "target": target,
                "label_column": LABEL_COLUMN,
                "time_column": TIME_COLUMN,
                "train": {"uri": train_uri, "rows": len(train), "sha256": train_sha},
                "holdout": {"uri": holdout_uri, "rows": len(holdout), "sha256": hold_sha},
                "data_sha256": data_sha,
                "holdout_from": str(holdout[TIME_COLUMN].min()),
            },
        )
        logger.info(
            "training data assembled",
            extra={"model": model, "run_id": run_id, "rows": len(train), "holdout_rows": len(holdout)},
        )
        return AssembleResult(
            model_name=model,
            run_id=run_id,
            execution_id=execution_id,
            reason=request.reason,
            champion_version=champion,
            train_uri=train_uri,
            holdout_uri=holdout_uri,
            manifest_uri=manifest_uri,
            rows=len(train),
            holdout_rows=len(holdout),
            data_sha256=data_sha,
        )

    def _from_labeled_prefix(self, mc: ModelConfig, card: ModelCard, target: str) -> pd.DataFrame:
        prefix = self._uri(mc.retraining.labeled_prefix or "")
        frames = []
        for info in storage.list_uris(prefix):
            if info.uri.endswith("/"):
                continue
            table = pa.Table.from_batches(list(storage.open_batches(info.uri, chunk_rows=CHUNK_ROWS)))
            label_col = target if target in table.column_names else LABEL_COLUMN
            if label_col not in table.column_names:
                raise TrainingError(f"labeled data {info.uri} has no label column {target!r} (or 'label')")
            schema = self._assembly_schema(mc, card)
            features, rest = self._validated(table, schema, source_uri=info.uri)
            frame = features
            frame[LABEL_COLUMN] = rest[label_col].to_numpy()
            for c in schema.id_columns:
                frame[c] = rest[c].to_numpy()
            tcol = mc.retraining.time_column
            if tcol and tcol in rest.columns:
                frame[TIME_COLUMN] = pd.to_datetime(rest[tcol], errors="coerce", utc=True)
            else:
                # Without a time column a labeled set counts as older than any labeled scored row
                # (its upload time says nothing about when the rows happened), so the holdout is
                # the most recent production data when there is some, else the set's last rows.
                frame[TIME_COLUMN] = EPOCH
            frames.append(frame)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def _from_scored_with_labels(
        self, mc: ModelConfig, card: ModelCard, id_columns: list[str], now: datetime
    ) -> pd.DataFrame:
        model = mc.name
        label_infos = [
            i for i in storage.list_uris(self._uri(f"{Prefix.LABELS}{model}/")) if not i.uri.endswith("/")
        ]
        labels, _ = read_labels(label_infos, id_columns=id_columns, target=mc.target or card.target)
        if labels.empty:
            return pd.DataFrame()
        since = now - timedelta(days=mc.retraining.window_days)
        scored = read_scored(scored_uris(self.data_bucket, model, since=since), id_columns=id_columns)
        if scored.empty or "source_uri" not in scored.columns:
            return pd.DataFrame()
        labels = labels.assign(_k=canonical_ids(labels, id_columns)).drop_duplicates("_k", keep="last")
        scored = scored.assign(_k=canonical_ids(scored, id_columns))
        scored = scored[scored["_k"].isin(set(labels["_k"]))]
        frames = []
        tcol = mc.retraining.time_column
        for source_uri, rows in scored.groupby("source_uri", sort=True):
            try:
                table = self._rows_with_ids(str(source_uri), id_columns, set(rows["_k"]))
            except (FileNotFoundError, InputRejectedError) as exc:
                logger.warning(
                    "scored source unavailable; its labels are not used",
                    extra={"uri": source_uri, "problem": str(exc)},
                )
                continue
            if table is None:
                continue
            schema = self._assembly_schema(mc, card)
            features, rest = self._validated(table, schema, source_uri=str(source_uri))
            features = features.copy()
            for c in dict.fromkeys((*id_columns, *schema.id_columns)):
                features[c] = rest[c].to_numpy()
            features["_k"] = canonical_ids(features, id_columns)
            if tcol and tcol in rest.columns:
                features[TIME_COLUMN] = pd.to_datetime(rest[tcol], errors="coerce", utc=True).to_numpy()
            wanted = rows.drop_duplicates("_k", keep="last")[["_k", "scored_at"]]
            part = features.drop_duplicates("_k", keep="last").merge(wanted, on="_k", how="inner")
            if TIME_COLUMN not in part.columns:
                part[TIME_COLUMN] = pd.to_datetime(part["scored_at"], utc=True)
            part = part.drop(columns=["scored_at"])
            frames.append(part)
        if not frames:
            return pd.DataFrame()
        data = pd.concat(frames, ignore_index=True)
        data = data.merge(labels[["_k", LABEL_COLUMN, LABELED_AT]], on="_k", how="inner")
        return data.drop(columns=["_k", LABELED_AT])

    @staticmethod
    def _rows_with_ids(uri: str, id_columns: list[str], wanted: set[str]) -> pa.Table | None:
        """Stream ``uri`` and keep only rows whose canonical id is in ``wanted`` (bounded memory)."""
        parts = []
        for batch in storage.open_batches(uri, chunk_rows=CHUNK_ROWS):
            keys = canonical_ids(batch.select(id_columns).to_pandas(), id_columns)
            mask = keys.isin(wanted).to_numpy()
            if mask.any():
                parts.append(pa.Table.from_batches([batch]).filter(pa.array(mask)))
        return pa.concat_tables(parts) if parts else None

    # ------------------------------------------------------------------ train

"""The retraining workflow's steps (docs/WORKFLOWS.md): assemble -> train -> evaluate -> promote | reject.

Each step takes and returns a small pydantic model carrying S3 pointers and numbers, never data,
so Step Functions payloads stay far below 256 KB. The state machine (infra) and ``scorewatch
retrain`` (CLI, all steps in one process) call the same :class:`RetrainingSteps`.

- **assemble** takes the per-model ``retraining`` lock (``RetrainingInProgressError`` when another
  run holds it), gathers labeled rows from ``retraining.labeled_prefix`` and/or scored outputs of
  the last ``window_days`` joined with ``labels/<model>/`` (features re-read from each row's
  ``source_uri``), coerces features exactly as scoring does, dedupes by id (latest wins), splits a
  time-based holdout (latest ``holdout_fraction`` of rows) and writes
  ``training/model=<m>/run=<run_id>/{train,holdout}.parquet`` + ``manifest.json`` with row counts
  and sha256.
- **train** fits the challenger from ``retraining.spec`` (seeded), checks calibration on the
  holdout (isotonic calibrator on the card when ECE is high), re-optimises the decision policy on
  the holdout, and registers a ``candidate`` with card, baseline profile and reference sample.
- **evaluate** scores challenger and champion on the same holdout and applies the gate.
- **promote** / **reject** record the decision in the registry (conditional writes), publish
  ``Model Promoted`` / ``Model Rejected`` and release the lock; **notify_failure** publishes
  ``Retraining Failed`` and releases the lock.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict

from scorewatch.core.cards import Comparison, DataRef, ModelCard
from scorewatch.core.config import ModelConfig, ScorewatchConfig
from scorewatch.core.contract import ErrorName, Prefix
from scorewatch.core.errors import (
    InputRejectedError,
    ModelNotFoundError,
    RetrainingDisabledError,
    RetrainingInProgressError,
    TrainingError,
)
from scorewatch.io import storage
from scorewatch.lifecycle.gate import evaluate_gate
from scorewatch.lifecycle.labels import (
    LABEL_COLUMN,
    LABELED_AT,
    canonical_ids,
    read_labels,
    read_scored,
    scored_uris,
)
from scorewatch.monitoring import estimation, performance
from scorewatch.scoring.decisions import optimise_policy, policy_from_card

logger = logging.getLogger(__name__)

LOCK_NAME = "retraining"
IN_PROCESS_APPROVAL_REASON = "approval required: only the retraining workflow can wait for one"
MIN_ROWS = 20
TIME_COLUMN = "_time"
ROW_ORDER = "_order"
_CHUNK_ROWS = 65_536
_EPOCH = pd.Timestamp(0, tz="UTC")


# ---------------------------------------------------------------------------------- payloads
class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class RetrainRequest(_Payload):
    """Execution input: ``{"model_name", "reason"}`` or an EventBridge event whose detail has ``model``."""

    model_name: str
    reason: str = "manual"

    @classmethod
    def from_input(cls, payload: Mapping[str, Any]) -> RetrainRequest:
        """Accept the manual shape or a Drift Detected / Performance Degraded event.

        Raises
        ------
        InputRejectedError
            No model name can be found in the payload.
        """
        if "detail" in payload and isinstance(payload["detail"], Mapping):
            detail = payload["detail"]
            name = detail.get("model") or detail.get("model_name")
            if name:
                return cls(model_name=name, reason=str(payload.get("detail-type") or "event"))
        if payload.get("model_name"):
            return cls(model_name=payload["model_name"], reason=str(payload.get("reason") or "manual"))
        raise InputRejectedError(
            f"retraining input names no model (keys: {sorted(payload)}); "
            "expected {'model_name': ...} or an event whose detail has 'model'",
            reason="no_model",
        )


class AssembleResult(_Payload):
    model_name: str
    run_id: str
    execution_id: str
    reason: str = "manual"
    champion_version: str | None
    train_uri: str
    holdout_uri: str
    manifest_uri: str
    rows: int
    holdout_rows: int
    data_sha256: str


class TrainResult(AssembleResult):
    candidate_version: str


class Approval(_Payload):
    """What ``scorewatch models approve`` sends with SendTaskSuccess (the task's result)."""

    approved_by: str


class EvaluateResult(TrainResult):
    metric: str
    challenger_score: float | None
    champion_score: float | None
    passed: bool
    reasons: list[str]
    comparison: Comparison
    # From the model's config: the workflow's NeedsApproval choice reads it; the wait's timeout too.
    approval_required: bool = False
    approval_timeout_seconds: int = 72 * 3600
    # Set by the workflow: RequestApproval's result ($.approval) or its denial/timeout Catch
    # ($.approval_error, {"Error", "Cause"}).
    approval: Approval | None = None
    approval_error: dict[str, Any] | None = None


class ApprovalTask(EvaluateResult):
    """RequestApproval's input: the evaluated state plus the token that resumes the execution."""

    task_token: str


class ApprovalRequestResult(_Payload):
    model_name: str
    version: str
    execution_id: str
    expires_at: datetime


class PromoteResult(_Payload):
    model_name: str
    version: str
    previous_champion: str | None
    promoted_by: str


class RejectResult(_Payload):
    model_name: str
    version: str
    reasons: list[str]


class FailureResult(_Payload):
    model_name: str | None
    execution_id: str
    error: str
    cause: str | None = None
    lock_released: bool


def run_id_for(execution_id: str) -> str:
    """A key-safe run id from a Step Functions execution id/ARN (deterministic: replays overwrite).

    >>> run_id_for("arn:aws:states:us-east-1:1:execution:sw-retraining:manual-42")
    'manual-42'
    """
    tail = execution_id.rsplit(":", 1)[-1]
    safe = re.sub(r"[^A-Za-z0-9_.-]", "-", tail).strip("-.")[:64]
    return safe or hashlib.sha256(execution_id.encode()).hexdigest()[:16]


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buf)
    return buf.getvalue()


def time_split(frame: pd.DataFrame, *, holdout_fraction: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The latest ``holdout_fraction`` of rows (by ``_time``, then arrival order) is the holdout.

    >>> t = pd.to_datetime(["2026-01-03", "2026-01-01", "2026-01-02"])
    >>> f = pd.DataFrame({"_time": t, "x": [3, 1, 2]})
    >>> [s["x"].tolist() for s in time_split(f, holdout_fraction=0.34)]
    [[1, 2], [3]]
    """
    ordered = frame.sort_values(
        [TIME_COLUMN, ROW_ORDER] if ROW_ORDER in frame else [TIME_COLUMN], kind="stable"
    )
    n_hold = max(1, round(len(ordered) * holdout_fraction))
    n_hold = min(n_hold, len(ordered) - 1)
    return ordered.iloc[: len(ordered) - n_hold].reset_index(drop=True), ordered.iloc[
        len(ordered) - n_hold :
    ].reset_index(drop=True)


# ---------------------------------------------------------------------------------- steps
class RetrainingSteps:
    """The retraining steps for one deployment (data bucket, registry, event bus).

    Parameters
    ----------
    data_bucket
        Holds labels, scored outputs, inputs and training runs.
    registry
        ``scorewatch.io.registry.Registry``.
    config
        The validated model configuration.
    publisher
        ``scorewatch.io.events.EventPublisher`` (``None``: events are not published, e.g. dry runs).
    now
        Clock; a parameter so tests are deterministic.
    """

    def __init__(
        self,
        *,
        data_bucket: str,
        registry: Any,
        config: ScorewatchConfig,
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

    def _validated(
        self, table: pa.Table, card: ModelCard, *, source_uri: str
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Coerce features exactly as scoring does; returns (features, kept rows' other columns)."""
        from scorewatch.scoring.validation import validate_batch

        chunk = validate_batch(table, card.feature_schema, row_offset=0, source_uri=source_uri)
        keep = np.ones(table.num_rows, dtype=bool)
        keep[[r.row - 1 for r in chunk.rejected]] = False
        if chunk.rejected:
            logger.warning(
                "rows failing validation left out", extra={"uri": source_uri, "rows": len(chunk.rejected)}
            )
        rest = table.to_pandas()[keep].reset_index(drop=True)
        return chunk.features.reset_index(drop=True), rest

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
        train_bytes = _parquet_bytes(train.drop(columns=[ROW_ORDER]))
        hold_bytes = _parquet_bytes(holdout.drop(columns=[ROW_ORDER]))
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
            table = pa.Table.from_batches(list(storage.open_batches(info.uri, chunk_rows=_CHUNK_ROWS)))
            label_col = target if target in table.column_names else LABEL_COLUMN
            if label_col not in table.column_names:
                raise TrainingError(f"labeled data {info.uri} has no label column {target!r} (or 'label')")
            features, rest = self._validated(table, card, source_uri=info.uri)
            frame = features
            frame[LABEL_COLUMN] = rest[label_col].to_numpy()
            for c in card.feature_schema.id_columns:
                frame[c] = rest[c].to_numpy()
            tcol = mc.retraining.time_column
            if tcol and tcol in rest.columns:
                frame[TIME_COLUMN] = pd.to_datetime(rest[tcol], errors="coerce", utc=True)
            else:
                # Without a time column a labeled set counts as older than any labeled scored row
                # (its upload time says nothing about when the rows happened), so the holdout is
                # the most recent production data when there is some, else the set's last rows.
                frame[TIME_COLUMN] = _EPOCH
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
            features, rest = self._validated(table, card, source_uri=str(source_uri))
            features = features.copy()
            for c in id_columns:
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
        for batch in storage.open_batches(uri, chunk_rows=_CHUNK_ROWS):
            keys = canonical_ids(batch.select(id_columns).to_pandas(), id_columns)
            mask = keys.isin(wanted).to_numpy()
            if mask.any():
                parts.append(pa.Table.from_batches([batch]).filter(pa.array(mask)))
        return pa.concat_tables(parts) if parts else None

    # ------------------------------------------------------------------ train
    def _read_split(self, uri: str, card: ModelCard) -> tuple[pd.DataFrame, pd.Series]:
        table = storage.read_table(uri)
        features, rest = self._validated(table, card, source_uri=uri)
        y = rest[LABEL_COLUMN]
        if card.task == "regression":
            y = pd.to_numeric(y, errors="coerce").astype(float)
        elif card.classes:
            y = performance.align_labels(y, list(card.classes))
        return features, y.reset_index(drop=True)

    def train(self, assembled: AssembleResult) -> TrainResult:
        """Fit the challenger, check calibration, tune the decision policy, register a candidate.

        Raises
        ------
        TrainingError
            The spec is refused or fitting fails.
        """
        from scorewatch.lifecycle.training import train_model  # lazy: estimators load only in the train step
        from scorewatch.monitoring.profiles import ProfileBuilder
        from scorewatch.scoring.scorer import predict_frame

        model = assembled.model_name
        mc = self._mc(model)
        card, _ = self._reference_card(model)
        now = self.now()
        X, y = self._read_split(assembled.train_uri, card)
        Xh, yh = self._read_split(assembled.holdout_uri, card)
        trained = train_model(
            mc.retraining.spec,
            X,
            y,
            task=card.task,
            schema=card.feature_schema,
            random_state=mc.retraining.random_state,
            spec_explicit="spec" in mc.retraining.model_fields_set,
        )
        classes = card.classes
        if card.task != "regression":
            classes = tuple(performance_classes(trained.estimator, card))
        out_train = predict_frame(trained.estimator, X, task=card.task, classes=classes)
        out_hold = predict_frame(trained.estimator, Xh, task=card.task, classes=classes)
        holdout_perf = performance.realized_performance(
            card.task, yh, out_hold, classes=classes, positive_class=mc.positive_class
        )
        metrics = {k: v for k, v in holdout_perf.metrics.items() if v is not None}
        calibration, calibrator, policy = None, None, None
        if card.task == "binary":
            pos = classes[-1]
            if mc.positive_class is not None:
                pos = performance.align_labels([mc.positive_class], classes).iloc[0]
                if pos is None:
                    raise TrainingError(
                        f"positive_class {mc.positive_class!r} is not one of the classes {classes}"
                    )
            y_bin = (yh == pos).astype(int).to_numpy()
            p = out_hold[f"{performance.SCORE_PREFIX}{pos}"].to_numpy(dtype=float)
            check = estimation.check_calibration(y_bin, p)
            calibration, calibrator = check.card_fields()
            base_policy = mc.decision or policy_from_card(card.decision_policy)
            if base_policy is not None:
                policy, numbers = optimise_policy(base_policy, y_bin, p)
                metrics.update(numbers)
        builder = ProfileBuilder(
            card.feature_schema,
            score_columns=tuple(out_train.columns),
            random_state=mc.retraining.random_state,
        )
        builder.update(X, out_train)
        profile, sample = builder.finish()
        new = self.registry.register(
            model,
            trained.estimator,
            task=card.task,
            feature_schema=card.feature_schema,
            now=now,
            target=mc.target or card.target,
            classes=classes,
            metrics=metrics,
            params={
                **trained.params,
                "dropped_features": list(trained.dropped_features),
                "run_id": assembled.run_id,
            },
            training_data=DataRef(
                uri=assembled.train_uri,
                sha256=assembled.data_sha256,
                rows=assembled.rows,
                holdout_rows=assembled.holdout_rows,
            ),
            parent_version=assembled.champion_version,
            baseline_profile=profile.to_dict(),
            baseline_sample=pa.Table.from_pandas(sample, preserve_index=False) if len(sample) else None,
            calibration=calibration,
            decision_policy=policy,
            description=f"retrained by {assembled.execution_id} ({assembled.reason})",
        )
        if calibrator is not None:
            new = self.registry.update_card(new.model_copy(update={"calibrator": calibrator}))
        logger.info(
            "challenger registered", extra={"model": model, "version": new.version, "metrics": metrics}
        )
        return TrainResult(**assembled.model_dump(), candidate_version=new.version)

    # ------------------------------------------------------------------ evaluate
    def evaluate(self, trained: TrainResult) -> EvaluateResult:
        """Score challenger and champion on the same holdout and apply the gate."""
        from scorewatch.scoring.scorer import predict_frame

        model = trained.model_name
        mc = self._mc(model)
        challenger = self.registry.load(model, trained.candidate_version)
        card = challenger.card
        X, y = self._read_split(trained.holdout_uri, card)
        metric = mc.retraining.metric or performance.default_metric(card.task)

        def _metrics(loaded: Any) -> dict[str, float | None]:
            out = predict_frame(loaded.estimator, X, task=loaded.card.task, classes=loaded.card.classes)
            return performance.realized_performance(
                loaded.card.task, y, out, classes=loaded.card.classes, positive_class=mc.positive_class
            ).metrics

        chal = _metrics(challenger)
        champ = (
            _metrics(self.registry.load(model, trained.champion_version))
            if trained.champion_version
            else None
        )
        comparison = evaluate_gate(
            metric=metric,
            challenger=chal,
            champion=champ,
            min_improvement=mc.retraining.min_improvement,
            floor=mc.retraining.floor,
            guards=mc.retraining.guards,
        )
        logger.info(
            "challenger evaluated",
            extra={"model": model, "passed": comparison.passed, "reasons": list(comparison.reasons)},
        )
        return EvaluateResult(
            **trained.model_dump(),
            metric=metric,
            challenger_score=comparison.challenger,
            champion_score=comparison.champion,
            passed=comparison.passed,
            reasons=list(comparison.reasons),
            comparison=comparison,
            approval_required=mc.retraining.approval_required,
            approval_timeout_seconds=mc.retraining.approval_timeout_hours * 3600,
        )

    # ------------------------------------------------------------------ human approval
    def request_approval(self, task: ApprovalTask) -> ApprovalRequestResult:
        """Store the task token for ``scorewatch models approve`` and publish ``Approval Requested``.

        The execution then waits (``waitForTaskToken``) until SendTaskSuccess (-> Promote),
        SendTaskFailure ``ApprovalDenied`` or the task timeout (both -> Reject).
        """
        from scorewatch.io.events import ApprovalRequested

        model = task.model_name
        now = self.now()
        request = self.registry.put_approval_request(
            model,
            version=task.candidate_version,
            execution_id=task.execution_id,
            task_token=task.task_token,
            now=now,
            ttl_seconds=task.approval_timeout_seconds,
        )
        if self.publisher is not None:
            self.publisher.publish(
                ApprovalRequested(
                    model=model,
                    version=task.candidate_version,
                    champion_version=task.champion_version,
                    execution_id=task.execution_id,
                    metric=task.metric,
                    challenger_score=task.challenger_score,
                    champion_score=task.champion_score,
                    requested_at=now,
                    expires_at=request.expires_at,
                )
            )
        logger.info("approval requested", extra={"model": model, "version": task.candidate_version})
        return ApprovalRequestResult(
            model_name=model,
            version=task.candidate_version,
            execution_id=task.execution_id,
            expires_at=request.expires_at,
        )

    # ------------------------------------------------------------------ promote / reject / failure
    def promote(self, evaluated: EvaluateResult) -> PromoteResult:
        """Conditionally make the challenger champion (only if the champion is still the one compared).

        Raises
        ------
        PromotionConflictError
            The champion changed since assemble (the lock is kept for NotifyFailure to release).
        """
        from scorewatch.io.events import ModelPromoted

        model = evaluated.model_name
        now = self.now()
        if evaluated.approval is not None:
            # Recorded on the candidate before the conditional promote, so an approved challenger
            # is never champion without its approval; a retried step does not record it twice.
            candidate = self.registry.get(model, evaluated.candidate_version)
            approver = evaluated.approval.approved_by
            if approver not in candidate.approvals:
                self.registry.update_card(
                    candidate.model_copy(update={"approvals": (*candidate.approvals, approver)})
                )
        card = self.registry.promote(
            model,
            evaluated.candidate_version,
            now=now,
            promoted_by=evaluated.execution_id,
            comparison=evaluated.comparison,
            expected_champion=evaluated.champion_version,
        )
        if evaluated.approval_required:
            self.registry.clear_approval_request(model, execution_id=evaluated.execution_id)
        if self.publisher is not None:
            self.publisher.publish(
                ModelPromoted(
                    model=model,
                    version=card.version,
                    previous_champion=evaluated.champion_version,
                    promoted_by=evaluated.execution_id,
                    metric=evaluated.metric,
                    challenger_score=evaluated.challenger_score,
                    champion_score=evaluated.champion_score,
                    promoted_at=now,
                )
            )
        self.registry.release_lock(model, LOCK_NAME, owner=evaluated.execution_id)
        return PromoteResult(
            model_name=model,
            version=card.version,
            previous_champion=evaluated.champion_version,
            promoted_by=evaluated.execution_id,
        )

    def reject(self, evaluated: EvaluateResult) -> RejectResult:
        """Record the gate's comparison on the rejected candidate and release the lock."""
        from scorewatch.io.events import ModelRejected

        model = evaluated.model_name
        now = self.now()
        reasons = [*evaluated.reasons, *_approval_reasons(evaluated)]
        comparison = evaluated.comparison
        if len(reasons) > len(evaluated.reasons):
            comparison = comparison.model_copy(update={"reasons": (*comparison.reasons, *reasons[-1:])})
        self.registry.reject(model, evaluated.candidate_version, comparison=comparison, now=now)
        if evaluated.approval_required:
            self.registry.clear_approval_request(model, execution_id=evaluated.execution_id)
        if self.publisher is not None:
            self.publisher.publish(
                ModelRejected(
                    model=model,
                    version=evaluated.candidate_version,
                    champion_version=evaluated.champion_version,
                    metric=evaluated.metric,
                    challenger_score=evaluated.challenger_score,
                    champion_score=evaluated.champion_score,
                    reasons=tuple(reasons),
                    rejected_at=now,
                )
            )
        self.registry.release_lock(model, LOCK_NAME, owner=evaluated.execution_id)
        return RejectResult(model_name=model, version=evaluated.candidate_version, reasons=reasons)

    def notify_failure(self, payload: Mapping[str, Any], *, execution_id: str) -> FailureResult:
        """Publish ``Retraining Failed`` (error/cause from the Catch) and release the lock."""
        from scorewatch.io.events import RetrainingFailed

        error = payload.get("error") if isinstance(payload.get("error"), Mapping) else {}
        name = str(error.get("Error") or "UnknownError")
        cause = _cause_message(error.get("Cause"))
        model = payload.get("model_name")
        if not model:
            try:
                model = RetrainRequest.from_input(payload).model_name
            except InputRejectedError:
                model = None
        released = False
        if model:
            released = self.registry.release_lock(model, LOCK_NAME, owner=execution_id)
            self.registry.clear_approval_request(model, execution_id=execution_id)
            if self.publisher is not None:
                self.publisher.publish(
                    RetrainingFailed(
                        model=model,
                        execution_id=execution_id,
                        step=payload.get("step"),
                        error=name,
                        cause=cause,
                        failed_at=self.now(),
                    )
                )
        logger.error("retraining failed", extra={"model": model, "error": name, "cause": cause})
        return FailureResult(
            model_name=model, execution_id=execution_id, error=name, cause=cause, lock_released=released
        )

    # ------------------------------------------------------------------ all at once
    def run(self, request: RetrainRequest, *, execution_id: str) -> PromoteResult | RejectResult:
        """All steps in one process (CLI, tests); on failure the lock is released and the error re-raised."""
        assembled = None
        try:
            assembled = self.assemble(request, execution_id=execution_id)
            evaluated = self.evaluate(self.train(assembled))
            if evaluated.passed and evaluated.approval_required:
                # In one process nobody can approve: never promote without the approval asked for.
                evaluated = evaluated.model_copy(
                    update={"passed": False, "reasons": [*evaluated.reasons, IN_PROCESS_APPROVAL_REASON]}
                )
            return self.promote(evaluated) if evaluated.passed else self.reject(evaluated)
        except (RetrainingInProgressError, RetrainingDisabledError):
            raise  # nothing was started: no lock of ours to release, no failure to announce
        except Exception as exc:
            self.notify_failure(
                {"model_name": request.model_name, "error": {"Error": type(exc).__name__, "Cause": str(exc)}},
                execution_id=execution_id,
            )
            raise


def decide_approval(
    registry: Any, stepfunctions: Any, model_name: str, *, approve: bool, by: str, reason: str | None = None
) -> Any:
    """Resume the retraining run waiting on ``model_name``'s approval: Promote, or Reject if denied.

    Parameters
    ----------
    registry
        ``scorewatch.io.registry.Registry`` holding the pending approval (its task token).
    stepfunctions
        A boto3 Step Functions client (SendTaskSuccess / SendTaskFailure).
    model_name
        The model whose candidate waits.
    approve
        True: SendTaskSuccess with ``{"approved_by": by}`` (recorded in the card's approvals).
        False: SendTaskFailure with error ``ApprovalDenied`` and ``reason`` as the cause.
    by, reason
        Who decided; why (denials).

    Returns
    -------
    scorewatch.io.registry.ApprovalRequest
        The request that was decided.

    Raises
    ------
    ApprovalNotPendingError
        Nothing waits for approval, or the execution no longer waits (timed out, stopped).

    Examples
    --------
    >>> sfn = boto3.client("stepfunctions")  # doctest: +SKIP
    >>> decide_approval(reg, sfn, "churn", approve=True, by="alice")  # doctest: +SKIP
    """
    from botocore.exceptions import ClientError

    from scorewatch.core.errors import ApprovalNotPendingError

    request = registry.get_approval_request(model_name)
    if request is None:
        raise ApprovalNotPendingError(f"no retraining run of {model_name!r} is waiting for approval")
    try:
        if approve:
            stepfunctions.send_task_success(
                taskToken=request.task_token, output=Approval(approved_by=by).model_dump_json()
            )
        else:
            cause = f"{reason or 'no reason given'} (by {by})"
            stepfunctions.send_task_failure(
                taskToken=request.task_token, error=ErrorName.APPROVAL_DENIED, cause=cause[:32768]
            )
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken"):
            raise ApprovalNotPendingError(
                f"the approval of {model_name} v{request.version} (execution {request.execution_id}) "
                f"is no longer pending: {code}"
            ) from exc
        raise
    return request


def _approval_reasons(evaluated: EvaluateResult) -> list[str]:
    """The reason a passing candidate was rejected by its approval step (denied or timed out)."""
    error = evaluated.approval_error
    if not error:
        return []
    name = str(error.get("Error") or "")
    if name == ErrorName.APPROVAL_DENIED:
        cause = _cause_message(error.get("Cause"))
        return [f"approval denied: {cause}" if cause else "approval denied"]
    if name == "States.Timeout":
        return [f"approval timed out after {evaluated.approval_timeout_seconds // 3600} h"]
    return [f"approval failed: {name}"]


def performance_classes(estimator: Any, card: ModelCard) -> list[Any]:
    """The challenger's classes in its ``predict_proba`` column order, checked against the champion's."""
    classes = [
        c.item() if hasattr(c, "item") else c for c in getattr(estimator, "classes_", card.classes or [])
    ]
    if card.classes and set(map(str, classes)) - set(map(str, card.classes)):
        raise TrainingError(
            f"challenger classes {classes} differ from the model's classes {list(card.classes)}"
        )
    return classes


def _cause_message(cause: Any) -> str | None:
    """Step Functions' Cause is a JSON string from Lambda ({"errorMessage": ...}); keep the message."""
    if cause is None:
        return None
    text = str(cause)
    try:
        doc = json.loads(text)
    except ValueError:
        return text[:2000]
    if isinstance(doc, dict) and doc.get("errorMessage"):
        return str(doc["errorMessage"])[:2000]
    return text[:2000]

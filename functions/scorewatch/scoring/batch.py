"""Score orchestration: one input object (or one part of it) in, outputs + events + metrics out.

The score handler calls :meth:`BatchScorer.score` with a normalised :class:`ScoreRequest`; the
large-file workflow calls :meth:`BatchScorer.split` and :meth:`BatchScorer.finalize`
(docs/WORKFLOWS.md). The statistics and I/O live in the core modules (storage, scoring,
registry, profiles, decisions); this module decides what happens to an object:

* scored -> ``scored/``, per-batch profile + sample under ``monitoring/.../profiles/``,
  rejected rows under ``rejected/``, ``Batch Scored`` event, metrics;
* rejected as a whole (``InputRejectedError``) or too large without a split workflow ->
  JSON report under ``rejected/``, ``Batch Rejected`` event, metric, normal return;
* too large with a split workflow -> the large-file state machine is started (execution name =
  batch_id, so a duplicate start is a no-op);
* superseded (the object was replaced after the event) or gone -> skipped: the newer upload has
  its own event;
* transient infrastructure failure -> ``TransientError`` (retried by Lambda / Step Functions).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from scorewatch.core import layout
from scorewatch.core.config import ConfigSource, ModelConfig
from scorewatch.core.contract import Metric
from scorewatch.core.errors import (
    BaselineIntegrityError,
    InputRejectedError,
    InputTooLargeError,
)
from scorewatch.core.thresholds import breach
from scorewatch.io import ledger, storage
from scorewatch.io.events import BatchRejected, BatchScored, EventPublisher
from scorewatch.io.metrics import record
from scorewatch.io.transient import transient_errors

# Re-exported: the offline scorer shares the score function's batch boundary.
from scorewatch.scoring.rejections import ARROW_DATA_ERRORS, public_message, unreadable_input

if TYPE_CHECKING:
    import pandas as pd

#: ``failed``: only in a scheduled run's list, for an object whose scoring raised a non-transient
#: error (e.g. a corrupt model artifact); the other objects of the run are still scored.
Status = Literal["scored", "part_scored", "rejected", "split", "superseded", "missing", "ignored", "failed"]


class PartSpec(BaseModel):
    """One part of a large file: Parquet row groups or a CSV byte range aligned to lines."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    index: int = Field(ge=0)
    row_groups: list[int] | None = None
    byte_range: tuple[int, int] | None = None

    @model_validator(mode="after")
    def _one(self) -> PartSpec:
        if (self.row_groups is None) == (self.byte_range is None):
            raise ValueError(f"part {self.index}: give exactly one of row_groups or byte_range")
        return self


class ScoreRequest(BaseModel):
    """The normalised score payload (also the direct payload Step Functions sends).

    ``version_id``/``etag`` pin the upload; the idempotency key is (bucket, key, version_id or
    etag, part index).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    bucket: str = Field(min_length=3)
    key: str = Field(min_length=1)
    version_id: str | None = None
    etag: str | None = None
    model_name: str | None = None
    model_version: str | None = None
    batch_id: str | None = None
    part: PartSpec | None = None

    @property
    def uri(self) -> str:
        return layout.s3_uri(self.bucket, self.key)


class LargeFileInput(BaseModel):
    """Execution input of the large-file workflow."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    bucket: str
    key: str
    version_id: str | None = None
    etag: str | None = None
    model_name: str
    model_version: str
    batch_id: str
    config_version: int | None = None


class SplitResult(LargeFileInput):
    manifest_bucket: str
    manifest_key: str
    parts: int = Field(ge=1)


class ScoreOutcome(BaseModel):
    """What happened to one object (JSON-able: it is also the idempotency record)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: Status
    source_uri: str
    model: str | None = None
    version: str | None = None
    batch_id: str | None = None
    part: int | None = None
    rows_in: int = 0
    rows_scored: int = 0
    rows_rejected: int = 0
    output_uri: str | None = None
    rejected_uri: str | None = None
    profile_uri: str | None = None
    sample_uri: str | None = None
    report_uri: str | None = None
    execution_arn: str | None = None
    reason: str | None = None
    message: str | None = None
    # The stored config version the object was scored under (None: the model ran on defaults).
    config_version: int | None = None


@dataclass
class BatchScorer:
    """Everything one container needs to score objects; build once per cold start and reuse."""

    data_bucket: str
    config: ConfigSource
    registry: Any  # scorewatch.io.registry.Registry
    publisher: EventPublisher
    large_file_state_machine_arn: str | None = None
    reader_priority: Literal["idle", "normal"] = "normal"
    sfn_client: Any = None
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    # ------------------------------------------------------------------ score
    def score(self, req: ScoreRequest) -> ScoreOutcome:
        """Score one object or part; see the module docstring for the outcomes.

        Raises
        ------
        TransientError
            S3/DynamoDB/EventBridge throttling, 5xx or timeouts: nothing was published.
        ModelNotFoundError, ModelIntegrityError
            No champion / a corrupt artifact: the event fails and lands in the DLQ for replay.
        """
        with transient_errors(what=f"scoring {req.uri}"):
            return self._score(req)

    def _score(self, req: ScoreRequest) -> ScoreOutcome:
        started = time.monotonic()
        scored_at = self.now()
        if req.key.endswith("/"):
            # A "folder" placeholder (the S3 console creates these): nothing to score, nothing to report.
            return ScoreOutcome(status="ignored", source_uri=req.uri, message=f"{req.key} is a folder marker")
        try:
            model = req.model_name or layout.model_from_key(req.key)
        except InputRejectedError as exc:
            return self._reject_unrouted(req, exc, scored_at)

        info = self._current(req)
        if isinstance(info, ScoreOutcome):
            return info
        from scorewatch.scoring.scorer import batch_id_for

        if self.config.retired(model):
            return self._reject_retired(req, info, model=model, scored_at=scored_at)
        mc = self.config.model(model)
        config_version = self.config.version(model)
        card = self.registry.get(model, req.model_version or "champion")
        identity = storage.source_identity(info)

        batch_id = req.batch_id or batch_id_for(identity, card.version)
        d = layout.day(info.last_modified or scored_at)
        if req.part is None:
            # The ledger, not the idempotency record's TTL, decides whether this source version
            # was already handled (io.ledger): schedules and replays score only what is new.
            pinned = req.model_version not in (None, "champion")
            hit = ledger.lookup(self.data_bucket, model, identity, model_version=card.version, pinned=pinned)
            if hit is not None:
                return ScoreOutcome.model_validate(hit)
        try:
            if req.part is None:
                too_large = self._too_large(info, mc)
                if too_large is not None:
                    splittable = storage.detect_format(req.uri) in ("parquet", "csv")
                    if self.large_file_state_machine_arn and splittable:
                        return self._start_split(
                            req,
                            info=info,
                            model=model,
                            version=card.version,
                            batch_id=batch_id,
                            why=too_large,
                            config_version=config_version,
                        )
                    raise InputTooLargeError(too_large)
            return self._score_object(
                req,
                info=info,
                mc=mc,
                card=card,
                batch_id=batch_id,
                d=d,
                scored_at=scored_at,
                started=started,
                config_version=config_version,
            )
        except (InputRejectedError, InputTooLargeError) as exc:
            return self._reject(
                req,
                exc,
                model=model,
                version=card.version,
                batch_id=batch_id,
                d=d,
                at=scored_at,
                identity=identity,
            )
        except ARROW_DATA_ERRORS as exc:
            # Input values Arrow could not read or convert that no reader or validation check
            # named: retrying cannot help, so reject the file (the input is kept) instead of
            # failing into the DLQ.
            return self._reject(
                req,
                unreadable_input(req.uri, exc),
                model=model,
                version=card.version,
                batch_id=batch_id,
                d=d,
                at=scored_at,
                identity=identity,
            )

    def _current(self, req: ScoreRequest) -> storage.ObjectInfo | ScoreOutcome:
        """Stat the object; a replaced or deleted upload is skipped (its successor has an event)."""
        try:
            info = storage.stat(req.uri)
        except FileNotFoundError:
            return ScoreOutcome(status="missing", source_uri=req.uri, message=f"{req.uri} no longer exists")
        pinned = req.version_id or None
        if pinned and info.version_id and pinned != info.version_id:
            return ScoreOutcome(
                status="superseded",
                source_uri=req.uri,
                message=f"{req.uri} version {pinned} was replaced by {info.version_id}",
            )
        if not pinned and req.etag and info.etag and _strip(req.etag) != _strip(info.etag):
            return ScoreOutcome(
                status="superseded", source_uri=req.uri, message=f"{req.uri} etag {req.etag} was replaced"
            )
        return info

    @staticmethod
    def _replaced(req: ScoreRequest, before: storage.ObjectInfo) -> bool:
        try:
            after = storage.stat(req.uri)
        except FileNotFoundError:
            return True
        return (after.version_id, after.etag) != (before.version_id, before.etag)

    def _too_large(self, info: storage.ObjectInfo, mc: ModelConfig) -> str | None:
        """A message when the object exceeds one invocation's limits, else None.

        Decided from metadata only (size, Parquet footer, a gzip sample), before reading rows.
        """
        est = storage.estimate_work(info.uri, info)
        if est.uncompressed_bytes <= mc.max_input_bytes:
            return None
        return (
            f"{info.uri}: about {est.uncompressed_bytes:,} uncompressed bytes ({est.format}, "
            f"{est.rows if est.rows is not None else 'unknown'} rows) exceed max_input_bytes "
            f"{mc.max_input_bytes:,} for model {mc.name}"
        )

    def _baseline_edges(self, card) -> dict[str, Any] | None:
        """The baseline profile to bin on; None (own edges) when it fails its integrity check.

        A bad baseline must not stop scoring: the batch is scored and profiled on its own edges,
        the failure is counted, and monitoring reports it when it compares with the baseline.
        """
        try:
            return self.registry.read_baseline_profile(card)
        except BaselineIntegrityError as exc:
            logging.getLogger(__name__).error(
                "baseline failed its integrity check; scoring without its bin edges",
                extra={"model": card.model_name, "version": card.version, "error": str(exc)},
            )
            record(card.model_name, {Metric.BASELINE_INTEGRITY_FAILURES: 1})
            return None

    def _score_object(
        self, req, *, info, mc: ModelConfig, card, batch_id: str, d: str, scored_at, started, config_version
    ):
        from scorewatch.monitoring.profiles import Profile, ProfileBuilder
        from scorewatch.scoring.scorer import score_source, write_rejections

        loaded = self.registry.load(card.model_name, card.version)
        # Bin on the baseline's edges so batch profiles compare with it and merge with each other.
        baseline = self._baseline_edges(card) if card.baseline.profile_key else None
        edges = Profile.from_dict(baseline) if baseline else None
        builder = ProfileBuilder(card.feature_schema, edges_from=edges, score_columns=_score_columns(card))
        bucket = self.data_bucket
        part = req.part.index if req.part else None
        output_uri = layout.s3_uri(bucket, layout.scored_key(card.model_name, d, batch_id, part=part))
        result = score_source(
            req.uri,
            model=loaded,
            output_uri=output_uri,
            batch_id=batch_id,
            chunk_rows=mc.chunk_rows,
            max_reject_fraction=mc.max_reject_fraction,
            scored_at=scored_at,
            decide=_decider(mc, card),
            observers=(builder.update,),
            row_groups=req.part.row_groups if req.part else None,
            byte_range=tuple(req.part.byte_range) if req.part and req.part.byte_range else None,
            # the estimate was checked against max_input_bytes: inflating past it means it lied
            max_decompressed_bytes=mc.max_input_bytes,
            reader_priority=self.reader_priority,
        )
        if self._replaced(req, info):
            # The object was overwritten while it was read: the rows may be the new upload's, under
            # the old upload's batch_id. Drop the output; the new upload's own event scores it.
            _discard(output_uri)
            return ScoreOutcome(
                status="superseded",
                source_uri=req.uri,
                model=card.model_name,
                version=card.version,
                batch_id=batch_id,
                part=part,
                message=f"{req.uri} was replaced while it was being scored; output discarded",
            )
        profile, sample = builder.finish()
        if part is None:
            profile_uri = layout.s3_uri(bucket, layout.profile_key(card.model_name, d, batch_id))
            sample_uri = layout.s3_uri(bucket, layout.sample_key(card.model_name, d, batch_id))
        else:
            profile_uri = layout.s3_uri(bucket, layout.part_profile_key(card.model_name, batch_id, part))
            sample_uri = layout.s3_uri(bucket, layout.part_sample_key(card.model_name, batch_id, part))
        rejected_uri = None
        if result.rows_rejected:
            rejected_uri = layout.s3_uri(bucket, layout.rejected_key(card.model_name, d, batch_id, part=part))
            write_rejections(rejected_uri, req.uri, result.rejected, reason="invalid_rows")
        storage.write_table(sample_uri, pa.Table.from_pandas(sample, preserve_index=False))
        storage.write_json(profile_uri, profile.to_dict())
        outcome = ScoreOutcome(
            status="scored" if part is None else "part_scored",
            source_uri=req.uri,
            model=card.model_name,
            version=card.version,
            batch_id=batch_id,
            part=part,
            rows_in=result.rows_in,
            rows_scored=result.rows_scored,
            rows_rejected=result.rows_rejected,
            output_uri=output_uri,
            rejected_uri=rejected_uri,
            profile_uri=profile_uri,
            sample_uri=sample_uri,
            config_version=config_version,
        )
        if part is not None:
            # Finalize sums these; the event is emitted once for the whole file.
            key = layout.part_outcome_key(card.model_name, batch_id, part)
            storage.write_json(layout.s3_uri(bucket, key), outcome.model_dump(mode="json"))
            return outcome
        profile_etag = storage.stat(profile_uri).etag
        self.publisher.publish(
            BatchScored(
                model=card.model_name,
                version=card.version,
                batch_id=batch_id,
                source_uri=req.uri,
                source_etag=info.etag,
                source_version_id=info.version_id,
                rows_in=result.rows_in,
                rows_scored=result.rows_scored,
                rows_rejected=result.rows_rejected,
                output_uri=output_uri,
                rejected_uri=rejected_uri,
                profile_uri=profile_uri,
                sample_uri=sample_uri,
                profile_etag=profile_etag,
                seconds=round(time.monotonic() - started, 3),
                scored_at=scored_at,
                config_version=config_version,
            )
        )
        rate = result.rows_rejected / result.rows_in if result.rows_in else 0.0
        record(
            card.model_name,
            {
                Metric.ROWS_SCORED: result.rows_scored,
                Metric.ROWS_REJECTED: result.rows_rejected,
                Metric.REJECTED_ROW_RATE: rate,
                # Against the model's own limit: the fleet alarm's scale (scorewatch.core.thresholds).
                Metric.REJECTED_ROW_RATE_BREACH: breach(
                    rate, mc.alarms.rejected_row_rate, higher_is_worse=True
                ),
                Metric.BATCH_LATENCY: time.monotonic() - started,
            },
        )
        _record(bucket, card.model_name, storage.source_identity(info), card.version, outcome)
        return outcome

    # ------------------------------------------------------------- rejection
    def _reject(
        self,
        req: ScoreRequest,
        exc: Exception,
        *,
        model,
        version,
        batch_id,
        d,
        at,
        identity: str | None = None,
    ) -> ScoreOutcome:
        from scorewatch.scoring.scorer import write_rejections

        reason = getattr(exc, "reason", None) or "input_too_large"
        part = req.part.index if req.part else None
        if part is not None:
            # A part of an already accepted file: let the workflow's Catch handle it.
            raise exc
        uri = layout.s3_uri(self.data_bucket, layout.rejected_key(model, d, batch_id, report=True))
        # The report keeps the full detail (values included); the event, which the ops topic
        # forwards by email, carries the redacted message (row, column, reason; no values).
        write_rejections(
            uri,
            req.uri,
            getattr(exc, "rejected", []),
            reason=reason,
            message=str(exc),
            rows_in=getattr(exc, "rows_in", None),
            rows_rejected=getattr(exc, "rows_rejected", None),
            rejected_at=at,
        )
        self.publisher.publish(
            BatchRejected(
                model=model,
                version=version,
                batch_id=batch_id,
                source_uri=req.uri,
                reason=reason,
                message=public_message(exc),
                report_uri=uri,
                rejected_at=at,
            )
        )
        record(model, {Metric.BATCHES_REJECTED: 1})
        outcome = ScoreOutcome(
            status="rejected",
            source_uri=req.uri,
            model=model,
            version=version,
            batch_id=batch_id,
            report_uri=uri,
            reason=reason,
            message=str(exc),
        )
        if identity is not None:
            _record(self.data_bucket, model, identity, version, outcome)
        return outcome

    def _reject_retired(self, req: ScoreRequest, info, *, model: str, scored_at: datetime) -> ScoreOutcome:
        """A drop for a retired model: reported like any rejected file (the input is kept)."""
        from scorewatch.scoring.scorer import batch_id_for

        exc = InputRejectedError(
            f"{req.uri}: model {model!r} is retired (scorewatch models retire); its drops are not "
            "scored. Configure it again to resume scoring, then replay the file",
            source_uri=req.uri,
            reason="model_retired",
        )
        batch_id = req.batch_id or batch_id_for(storage.source_identity(info), "retired")
        d = layout.day(info.last_modified or scored_at)
        return self._reject(req, exc, model=model, version=None, batch_id=batch_id, d=d, at=scored_at)

    def _reject_unrouted(self, req: ScoreRequest, exc: InputRejectedError, at: datetime) -> ScoreOutcome:
        """A key outside ``incoming/<model>/``: report it; no model dimension to put a metric under."""
        import hashlib

        report_id = hashlib.sha256(
            f"{req.bucket}/{req.key}@{req.version_id or req.etag}".encode()
        ).hexdigest()[:32]
        uri = layout.s3_uri(self.data_bucket, layout.unrouted_rejected_key(layout.day(at), report_id))
        storage.write_json(
            uri,
            {"source_uri": req.uri, "reason": exc.reason, "message": str(exc), "rejected_at": at.isoformat()},
        )
        self.publisher.publish(
            BatchRejected(
                model="unrouted",
                source_uri=req.uri,
                reason=exc.reason,
                message=public_message(exc),
                report_uri=uri,
                rejected_at=at,
            )
        )
        return ScoreOutcome(
            status="rejected", source_uri=req.uri, report_uri=uri, reason=exc.reason, message=str(exc)
        )

    # ----------------------------------------------------------- large files
    def _start_split(
        self, req, *, info, model: str, version: str, batch_id: str, why: str, config_version: int | None
    ) -> ScoreOutcome:
        payload = LargeFileInput(
            bucket=req.bucket,
            key=req.key,
            version_id=info.version_id,
            etag=info.etag,
            model_name=model,
            model_version=version,
            batch_id=batch_id,
            config_version=config_version,
        )
        client = self.sfn_client or _client("stepfunctions")
        name = f"{model}-{batch_id}"[:80]
        try:
            arn = client.start_execution(
                stateMachineArn=self.large_file_state_machine_arn,
                name=name,
                input=payload.model_dump_json(),
            )["executionArn"]
        except client.exceptions.ExecutionAlreadyExists:
            # A replayed event for the same upload: the first execution already owns it.
            machine = str(self.large_file_state_machine_arn)
            arn = f"{machine.replace(':stateMachine:', ':execution:')}:{name}"
        return ScoreOutcome(
            status="split",
            source_uri=req.uri,
            model=model,
            version=version,
            batch_id=batch_id,
            execution_arn=arn,
            reason="input_too_large",
            message=why,
        )

    def split(self, inp: LargeFileInput) -> SplitResult:
        """Plan the parts of a large file and write the manifest the Distributed Map reads."""
        with transient_errors(what=f"splitting {inp.key}"):
            uri = layout.s3_uri(inp.bucket, inp.key)
            mc = self.config.model(inp.model_name)
            # Half the limit per part: a Parquet row group is never split, so parts overshoot.
            parts = storage.plan_parts(uri, target_bytes=max(1, mc.max_input_bytes // 2))
            items = [
                ScoreRequest(
                    bucket=inp.bucket,
                    key=inp.key,
                    version_id=inp.version_id,
                    etag=inp.etag,
                    model_name=inp.model_name,
                    model_version=inp.model_version,
                    batch_id=inp.batch_id,
                    part=PartSpec.model_validate(p.to_payload()),
                ).model_dump(mode="json", exclude_none=True)
                for p in parts
            ]
            key = layout.manifest_key(inp.model_name, inp.batch_id)
            storage.write_bytes(
                layout.s3_uri(self.data_bucket, key),
                json.dumps(items).encode(),
                content_type="application/json",
            )
        return SplitResult(
            **inp.model_dump(), manifest_bucket=self.data_bucket, manifest_key=key, parts=len(items)
        )

    def finalize(self, inp: SplitResult) -> ScoreOutcome:
        """Merge the part profiles and outcomes, write the batch profile, emit one Batch Scored."""
        with transient_errors(what=f"finalizing {inp.key}"):
            return self._finalize(inp)

    def _finalize(self, inp: SplitResult) -> ScoreOutcome:
        from scorewatch.monitoring.profiles import Profile, merge_profiles

        model, batch_id, bucket = inp.model_name, inp.batch_id, self.data_bucket
        outcomes = [
            ScoreOutcome.model_validate(
                storage.read_json(layout.s3_uri(bucket, layout.part_outcome_key(model, batch_id, i)))
            )
            for i in range(inp.parts)
        ]
        merged = None
        samples = []
        for o in outcomes:
            # every scored part wrote its profile and sample (a rejected part raised before this)
            assert o.profile_uri is not None and o.sample_uri is not None, o
            p = Profile.from_dict(storage.read_json(o.profile_uri))
            merged = p if merged is None else merge_profiles(merged, p)
            samples.append(storage.read_table(o.sample_uri).to_pandas())
        info = storage.stat(layout.s3_uri(inp.bucket, inp.key))
        now = self.now()
        d = layout.day(info.last_modified or now)
        profile_uri = layout.s3_uri(bucket, layout.profile_key(model, d, batch_id))
        sample_uri = layout.s3_uri(bucket, layout.sample_key(model, d, batch_id))
        sample = _subsample(samples, n=max(len(s) for s in samples) if samples else 0, random_state=0)
        storage.write_table(sample_uri, pa.Table.from_pandas(sample, preserve_index=False))
        if merged is None:
            raise ValueError(f"finalize of {inp.key}: no part outcomes to merge")
        storage.write_json(profile_uri, merged.to_dict())
        rows_in = sum(o.rows_in for o in outcomes)
        rows_scored = sum(o.rows_scored for o in outcomes)
        rows_rejected = sum(o.rows_rejected for o in outcomes)
        output_uri = layout.s3_uri(bucket, layout.scored_key(model, d, batch_id)).rsplit("/", 1)[0] + "/"
        detail = BatchScored(
            model=model,
            version=inp.model_version,
            batch_id=batch_id,
            source_uri=layout.s3_uri(inp.bucket, inp.key),
            source_etag=inp.etag,
            source_version_id=inp.version_id,
            rows_in=rows_in,
            rows_scored=rows_scored,
            rows_rejected=rows_rejected,
            output_uri=output_uri,
            profile_uri=profile_uri,
            sample_uri=sample_uri,
            profile_etag=storage.stat(profile_uri).etag,
            parts=inp.parts,
            scored_at=now,
            config_version=inp.config_version,
        )
        self.publisher.publish(detail)
        rate = rows_rejected / rows_in if rows_in else 0.0
        limit = self.config.model(model).alarms.rejected_row_rate
        record(
            model,
            {
                Metric.ROWS_SCORED: rows_scored,
                Metric.ROWS_REJECTED: rows_rejected,
                Metric.REJECTED_ROW_RATE: rate,
                Metric.REJECTED_ROW_RATE_BREACH: breach(rate, limit, higher_is_worse=True),
            },
        )
        outcome = ScoreOutcome(
            status="scored",
            source_uri=detail.source_uri,
            model=model,
            version=inp.model_version,
            batch_id=batch_id,
            rows_in=rows_in,
            rows_scored=rows_scored,
            rows_rejected=rows_rejected,
            output_uri=output_uri,
            profile_uri=profile_uri,
            sample_uri=sample_uri,
            config_version=inp.config_version,
        )
        pinned = storage.ObjectInfo(uri=detail.source_uri, size=0, etag=inp.etag, version_id=inp.version_id)
        _record(bucket, model, storage.source_identity(pinned), inp.model_version, outcome)
        return outcome


def _record(bucket: str, model: str, identity: str, version: str, outcome: ScoreOutcome) -> None:
    """Write the ledger entry once the event is out; a failure here must not fail the invocation.

    Raising would make the retry publish the event a second time. Not raising, the idempotency
    record still answers replays for 24 h; only a schedule after that (with the entry still
    missing) would score the object again, onto the same keys. Logged as an error so it is seen.
    """
    try:
        ledger.record(bucket, model, identity, version, outcome.model_dump(mode="json"))
    except Exception as exc:  # noqa: BLE001 - see the docstring
        logging.getLogger(__name__).error(
            "scoring ledger entry not written",
            extra={
                "model": model,
                "version": version,
                "source_uri": outcome.source_uri,
                "error": type(exc).__name__,
            },
        )


def _discard(uri: str) -> None:
    """Delete one of our own outputs (never an input)."""
    loc = storage.parse_uri(uri)
    if loc.scheme == "s3":
        storage.s3_client().delete_object(Bucket=loc.bucket, Key=loc.key)


def _strip(etag: str) -> str:
    return etag.strip('"')


def _score_columns(card) -> tuple[str, ...]:
    if card.task == "regression" or not card.classes:
        return ("prediction",)
    return ("prediction", *(f"score_{c}" for c in card.classes))


def _decider(mc: ModelConfig, card) -> Callable[[pd.DataFrame], pd.Series] | None:
    """The decision policy as a function of a chunk's outputs, or None when none is configured.

    The card's policy wins: retraining re-optimises its threshold on the holdout; the model
    config's policy applies to a card that has none (e.g. a hand-registered first version).
    """
    if card.task != "binary":
        return None
    from scorewatch.scoring.decisions import make_decider, policy_from_card

    policy = policy_from_card(card.decision_policy) or mc.decision
    if policy is None:
        return None
    return make_decider(policy, positive_class=mc.positive_class)


def _subsample(frames: list[pd.DataFrame], *, n: int, random_state: int) -> pd.DataFrame:
    import pandas as pd  # scoring needs it anyway; the split and finalize functions do not

    if not frames:
        return pd.DataFrame()
    df = pd.concat(frames, ignore_index=True)
    return df if len(df) <= n else df.sample(n=n, random_state=random_state).reset_index(drop=True)


def _client(name: str) -> Any:
    import boto3

    return boto3.client(name)

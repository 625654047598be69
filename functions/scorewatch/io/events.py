"""Typed details of the events scorewatch publishes on its EventBridge bus, and the publisher.

Every event has source ``contract.EVENT_SOURCE`` and one of ``contract.DetailType``; the detail
is one of the models below (``DETAIL_MODELS`` maps detail-type -> model). Consumers parse the
detail back with :func:`parse_detail`.

>>> d = BatchRejected(model="churn", source_uri="s3://b/incoming/churn/x.csv", batch_id="ab",
...                   reason="missing_columns", message="missing column 'age'",
...                   report_uri="s3://b/rejected/model=churn/date=2026-01-01/ab.json",
...                   rejected_at="2026-01-01T00:00:00Z")
>>> d.detail_type()
'Batch Rejected'
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from scorewatch.core.contract import EVENT_SOURCE, DetailType
from scorewatch.core.errors import TransientError
from scorewatch.io.transient import transient_errors


class Detail(BaseModel):
    """Base of every detail: frozen, extra keys rejected, JSON-safe dump."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    DETAIL_TYPE: ClassVar[str]

    schema_version: Literal[1] = 1

    @classmethod
    def detail_type(cls) -> str:
        return cls.DETAIL_TYPE

    def to_json(self) -> str:
        return self.model_dump_json()


class BatchScored(Detail):
    """One input object was scored (also emitted once per large file by the split workflow)."""

    DETAIL_TYPE: ClassVar[str] = DetailType.BATCH_SCORED

    model: str
    version: str
    batch_id: str
    source_uri: str
    source_etag: str | None = None
    source_version_id: str | None = None
    rows_in: int = Field(ge=0)
    rows_scored: int = Field(ge=0)
    rows_rejected: int = Field(ge=0)
    output_uri: str
    rejected_uri: str | None = None
    profile_uri: str
    sample_uri: str | None = None
    # ETag of the profile object this run wrote: monitor compares it with the current object to
    # detect a batch that was re-scored (replaced) after this event was sent.
    profile_etag: str | None = None
    parts: int = Field(default=1, ge=1)
    seconds: float | None = None
    scored_at: datetime
    # The stored config version (scorewatch models configure) the batch ran under; None: defaults.
    config_version: int | None = Field(default=None, ge=1)


class BatchRejected(Detail):
    """A whole input object was rejected (format, schema, too many bad rows, too large)."""

    DETAIL_TYPE: ClassVar[str] = DetailType.BATCH_REJECTED

    model: str
    version: str | None = None
    batch_id: str | None = None
    source_uri: str
    reason: str
    # Row, column and reason, raw input values replaced by errors.REDACTED: the ops topic
    # forwards this event by email. The report at ``report_uri`` has the full detail.
    message: str
    report_uri: str | None = None
    rows_in: int | None = None
    rows_rejected: int | None = None
    rejected_at: datetime


class DriftDetected(Detail):
    """Dataset or prediction drift against the champion's baseline (at most once per cooldown)."""

    DETAIL_TYPE: ClassVar[str] = DetailType.DRIFT_DETECTED

    model: str
    version: str
    scope: Literal["batch", "window"]
    batch_id: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    batches: int = Field(default=1, ge=0)
    rows: int | None = None
    dataset_drift: bool
    drift_share: float
    drifted_features: tuple[str, ...] = ()
    max_psi: float | None = None
    prediction_drift: bool
    prediction_drift_score: float | None = None
    multivariate_drift: bool | None = None
    report_uri: str
    html_uri: str | None = None
    detected_at: datetime


class PerformanceDegraded(Detail):
    """Realized (labels) or estimated (CBPE) performance fell below the configured floor."""

    DETAIL_TYPE: ClassVar[str] = DetailType.PERFORMANCE_DEGRADED

    model: str
    version: str
    kind: Literal["realized", "estimated"]
    metric: str
    value: float
    floor: float | None = None
    rows: int | None = None
    batch_id: str | None = None
    report_uri: str | None = None
    detected_at: datetime


class ModelPromoted(Detail):
    """A challenger became champion (retraining gate passed, or a manual promote/rollback)."""

    DETAIL_TYPE: ClassVar[str] = DetailType.MODEL_PROMOTED

    model: str
    version: str
    previous_champion: str | None = None
    promoted_by: str
    metric: str | None = None
    challenger_score: float | None = None
    champion_score: float | None = None
    promoted_at: datetime


class ModelRejected(Detail):
    """A challenger did not beat the champion; the reasons say which gate check failed."""

    DETAIL_TYPE: ClassVar[str] = DetailType.MODEL_REJECTED

    model: str
    version: str
    champion_version: str | None = None
    metric: str | None = None
    challenger_score: float | None = None
    champion_score: float | None = None
    reasons: tuple[str, ...] = ()
    rejected_at: datetime


class RetrainingFailed(Detail):
    """A retraining execution failed; error/cause come from the Step Functions Catch."""

    DETAIL_TYPE: ClassVar[str] = DetailType.RETRAINING_FAILED

    model: str
    execution_id: str | None = None
    step: str | None = None
    error: str
    cause: str | None = None
    failed_at: datetime


class ApprovalRequested(Detail):
    """A challenger passed the gate and waits for ``scorewatch models approve`` (or --deny)."""

    DETAIL_TYPE: ClassVar[str] = DetailType.APPROVAL_REQUESTED

    model: str
    version: str
    champion_version: str | None = None
    execution_id: str
    metric: str | None = None
    challenger_score: float | None = None
    champion_score: float | None = None
    requested_at: datetime
    expires_at: datetime


DETAIL_MODELS: dict[str, type[Detail]] = {
    m.DETAIL_TYPE: m
    for m in (
        BatchScored,
        BatchRejected,
        DriftDetected,
        PerformanceDegraded,
        ModelPromoted,
        ModelRejected,
        RetrainingFailed,
        ApprovalRequested,
    )
}


def parse_detail(detail_type: str, detail: dict[str, Any] | str) -> Detail:
    """Parse an event's detail into its typed model.

    Raises
    ------
    KeyError
        ``detail_type`` is not one scorewatch publishes.
    pydantic.ValidationError
        The detail does not match its schema.
    """
    model = DETAIL_MODELS[detail_type]
    if isinstance(detail, str):
        return model.model_validate_json(detail)
    return model.model_validate(detail)


class EventPublisher:
    """Publishes typed details on one bus (source ``contract.EVENT_SOURCE``).

    Parameters
    ----------
    bus_name : str
        Name or ARN of the custom event bus.
    client : botocore client, optional
        An ``events`` client; by default one is created (once per publisher, reuse the publisher).

    Raises
    ------
    TransientError
        From :meth:`publish` when EventBridge throttles, fails with 5xx, or reports failed entries.
    """

    def __init__(self, bus_name: str, *, client: Any = None):
        self.bus_name = bus_name
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("events")
        return self._client

    def publish(self, detail: Detail, *, resources: Sequence[str] = ()) -> str:
        """Publish one event and return its EventBridge id."""
        return self.publish_many([detail], resources=resources)[0]

    def publish_many(self, details: Sequence[Detail], *, resources: Sequence[str] = ()) -> list[str]:
        """Publish up to 10 events in one call; all succeed or TransientError is raised."""
        if len(details) > 10:
            return [eid for i in range(0, len(details), 10) for eid in self.publish_many(details[i : i + 10])]
        entries = [
            {
                "Source": EVENT_SOURCE,
                "DetailType": d.detail_type(),
                "Detail": d.to_json(),
                "EventBusName": self.bus_name,
                "Resources": list(resources),
            }
            for d in details
        ]
        with transient_errors(what=f"publishing to event bus {self.bus_name}"):
            resp = self.client.put_events(Entries=entries)
        if resp.get("FailedEntryCount", 0):
            failed = [
                f"{details[i].detail_type()}: {e.get('ErrorCode')} {e.get('ErrorMessage')}"
                for i, e in enumerate(resp.get("Entries", []))
                if e.get("ErrorCode")
            ]
            raise TransientError(
                f"event bus {self.bus_name} rejected {resp['FailedEntryCount']} of {len(entries)} "
                f"entries: {json.dumps(failed)}"
            )
        return [e.get("EventId", "") for e in resp.get("Entries", [])]

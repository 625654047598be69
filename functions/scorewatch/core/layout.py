"""Keys of everything the runtime writes in the data bucket (DESIGN.md, data layout).

One place builds them so the score, monitor, split and finalize paths (and the readers in the
CLI and local cloud) agree. All keys are deterministic in (model, date, batch_id[, part]) so a
replayed event overwrites rather than duplicates.

>>> scored_key("churn", "2026-01-02", "ab12")
'scored/model=churn/date=2026-01-02/ab12.parquet'
>>> scored_key("churn", "2026-01-02", "ab12", part=3)
'scored/model=churn/date=2026-01-02/ab12-part-00003.parquet'
>>> model_from_key("incoming/churn/2026/01/file name é.csv")
'churn'
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime

from scorewatch.core.contract import Prefix
from scorewatch.core.errors import InputRejectedError
from scorewatch.core.schema import check_model_name


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def day(when: date | datetime) -> str:
    """The ``date=`` partition value (UTC calendar day)."""
    return when.strftime("%Y-%m-%d")


def model_from_key(key: str) -> str:
    """The model a drop-zone key belongs to: ``incoming/<model>/...``.

    Raises
    ------
    InputRejectedError
        The key is not under ``incoming/<model>/`` or the model name is not a safe name.
    """
    parts = key.split("/")
    if len(parts) < 3 or parts[0] + "/" != Prefix.INCOMING or not parts[-1]:
        raise InputRejectedError(
            f"key {key!r} is not under {Prefix.INCOMING}<model>/: cannot tell which model scores it",
            source_uri=key,
            reason="unrouted_key",
        )
    try:
        model = check_model_name(parts[1])
    except Exception as exc:
        raise InputRejectedError(f"key {key!r}: {exc}", source_uri=key, reason="invalid_model_name") from exc
    if any(p in ("", ".", "..") for p in parts[2:-1]):
        # Valid in S3, but Arrow's S3 filesystem normalises such paths and cannot open the object:
        # report it instead of failing every retry with FileNotFoundError.
        raise InputRejectedError(
            f"key {key!r} has an empty, '.' or '..' path segment, which the S3 reader cannot open; "
            "rename the object",
            source_uri=key,
            reason="unsupported_key",
        )
    return model


def _part(part: int | None) -> str:
    return "" if part is None else f"-part-{part:05d}"


def scored_key(model: str, d: str, batch_id: str, *, part: int | None = None) -> str:
    return f"{Prefix.SCORED}model={model}/date={d}/{batch_id}{_part(part)}.parquet"


def rejected_key(model: str, d: str, batch_id: str, *, part: int | None = None, report: bool = False) -> str:
    ext = "json" if report else "parquet"
    return f"{Prefix.REJECTED}model={model}/date={d}/{batch_id}{_part(part)}.{ext}"


def unrouted_rejected_key(d: str, batch_id: str) -> str:
    """Where the report for a file whose model cannot be determined goes."""
    return f"{Prefix.REJECTED}unrouted/date={d}/{batch_id}.json"


def profiles_prefix(model: str) -> str:
    return f"{Prefix.MONITORING}model={model}/profiles/"


def profile_key(model: str, d: str, batch_id: str) -> str:
    return f"{profiles_prefix(model)}date={d}/{batch_id}.json"


def sample_key(model: str, d: str, batch_id: str) -> str:
    return f"{profiles_prefix(model)}date={d}/{batch_id}.parquet"


def part_profile_key(model: str, batch_id: str, part: int) -> str:
    return f"{Prefix.MONITORING}model={model}/parts/{batch_id}/part-{part:05d}.json"


def part_sample_key(model: str, batch_id: str, part: int) -> str:
    return f"{Prefix.MONITORING}model={model}/parts/{batch_id}/part-{part:05d}.parquet"


def parts_prefix(model: str, batch_id: str) -> str:
    return f"{Prefix.PARTS}model={model}/{batch_id}/"


def manifest_key(model: str, batch_id: str) -> str:
    return f"{parts_prefix(model, batch_id)}manifest.json"


def part_outcome_key(model: str, batch_id: str, part: int) -> str:
    return f"{parts_prefix(model, batch_id)}outcomes/part-{part:05d}.json"


def ledger_prefix(model: str, source_identity: str) -> str:
    """Where the ledger records what was scored for one source version (any model version)."""
    digest = hashlib.sha256(source_identity.encode()).hexdigest()[:32]
    return f"{Prefix.MONITORING}model={model}/ledger/{digest}/"


def ledger_key(model: str, source_identity: str, model_version: str) -> str:
    """The ledger entry of (source version, model version): the recorded outcome."""
    return f"{ledger_prefix(model, source_identity)}{model_version}.json"


def drift_key(model: str, d: str, report_id: str, ext: str = "json") -> str:
    return f"{Prefix.MONITORING}model={model}/drift/date={d}/{report_id}.{ext}"


def history_key(model: str, d: str, report_id: str) -> str:
    return f"{Prefix.MONITORING}model={model}/history/date={d}/{report_id}.parquet"


def performance_key(model: str, d: str, run_id: str) -> str:
    """A labels run's performance history rows (the Glue table ``performance_history`` reads these)."""
    return f"{Prefix.MONITORING}model={model}/performance/date={d}/{run_id}.parquet"


def performance_summary_key(model: str, d: str, run_id: str) -> str:
    """A labels run's JSON summary: beside, not inside, the Parquet partition, which Athena reads whole
    (an Athena table reads every object of a partition's folder, whatever its name)."""
    return f"{Prefix.MONITORING}model={model}/performance/summary/date={d}/{run_id}.json"

"""Incremental, bounded labels (issue 15, invariant 5): a ledger of label files and a scored scan.

* **Ledger.** Each label object (URI + ETag) is read once, when it is new: its rows become one
  small Parquet part under ``monitoring/model=<m>/labels/store/<ledger id>.parquet`` (canonical id
  key, label as text, ``labeled_at``, the file and its time). The part's existence is the ledger
  entry, so a replayed event, or the next label file, never re-reads an old file. A file that
  cannot be used gets ``<ledger id>.problem.json`` instead (reported on every run, read never
  again). The label objects themselves are never modified.
* **Scan.** The current scored outputs of the window (``scorewatch.io.scored``) are streamed one
  record batch at a time with only the id, lineage, score and decision columns; only the rows
  whose id has a label are kept, plus a systematic sample of at most :data:`ESTIMATE_ROWS` rows
  for the CBPE estimate and the expected decision value. Memory is bounded by the labels and the
  sample, not by the scored rows.

Labels that arrive before their batch stay in the store and are joined by the first run after
the batch is scored (the labels function also runs on ``Batch Scored`` for a model with labels).
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from scorewatch.core.contract import Prefix
from scorewatch.core.errors import InputRejectedError
from scorewatch.io import scored as scored_objects
from scorewatch.io import storage

logger = logging.getLogger(__name__)

#: Rows of the scored window kept for the CBPE estimate and expected decision value (a systematic
#: sample above it: every k-th row of every object).
ESTIMATE_ROWS = 200_000
KEY = "_id_key"
LABEL = "label"
LABELED_AT = "labeled_at"
LABEL_URI = "_label_uri"
LABEL_MODIFIED = "_label_modified"
_CHUNK_ROWS = 65_536
_LINEAGE = ("batch_id", "model_version", "source_uri", "scored_at", "prediction", "decision")
STORE_SCHEMA = pa.schema(
    [
        (KEY, pa.string()),
        (LABEL, pa.string()),
        (LABELED_AT, pa.timestamp("us", "UTC")),
        (LABEL_URI, pa.string()),
        (LABEL_MODIFIED, pa.timestamp("us", "UTC")),
    ]
)


def store_prefix(data_bucket: str, model: str) -> str:
    return f"s3://{data_bucket}/{Prefix.MONITORING}model={model}/labels/store/"


def ledger_id(info: storage.ObjectInfo) -> str:
    """One label object's ledger id: its URI and ETag (a re-upload is a new file)."""
    return hashlib.sha256(f"{info.uri}@{info.etag}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Ingested:
    """What the ledger holds after an update."""

    files: int
    new_files: list[str] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)


def ingest(
    data_bucket: str,
    model: str,
    label_infos: Sequence[storage.ObjectInfo],
    *,
    id_columns: Sequence[str],
    target: str | None,
    canon: Any,
) -> Ingested:
    """Read the label files that are not in the ledger yet; return the ledger's files and problems.

    ``canon`` is ``labels.canonical_ids`` (passed in so this module does not import its caller).
    """
    from scorewatch.lifecycle.labels import label_column_for

    prefix = store_prefix(data_bucket, model)
    done = {i.uri.rsplit("/", 1)[1].split(".", 1)[0] for i in storage.list_uris(prefix)}
    new: list[str] = []
    for info in sorted(
        label_infos, key=lambda i: (i.last_modified or datetime.min.replace(tzinfo=UTC), i.uri)
    ):
        lid = ledger_id(info)
        if lid in done:
            continue
        try:
            parts = []
            names = storage.read_schema(info.uri).names
            missing = [c for c in id_columns if c not in names]
            if missing:
                raise InputRejectedError(
                    f"label file lacks id column(s) {missing} (found {list(names)})", reason="missing_columns"
                )
            label_col = label_column_for(list(names), target)
            cols = [*id_columns, label_col] + (
                [LABELED_AT] if LABELED_AT in names and label_col != LABELED_AT else []
            )
            for batch in storage.open_batches(
                info.uri, chunk_rows=_CHUNK_ROWS, columns=list(dict.fromkeys(cols))
            ):
                parts.append(_store_rows(batch.to_pandas(), info, id_columns, label_col, canon))
        except (InputRejectedError, FileNotFoundError) as exc:
            logger.warning("label file skipped", extra={"uri": info.uri, "problem": str(exc)})
            storage.write_json(f"{prefix}{lid}.problem.json", {"uri": info.uri, "problem": str(exc)})
            continue
        table = pa.concat_tables(parts) if parts else STORE_SCHEMA.empty_table()
        storage.write_table(f"{prefix}{lid}.parquet", table)
        new.append(info.uri)
    problems: dict[str, str] = {}
    entries = storage.list_uris(prefix)
    for e in entries:
        if e.uri.endswith(".problem.json"):
            doc = storage.read_json(e.uri)
            problems[str(doc["uri"])] = str(doc["problem"])
    files = len({e.uri.rsplit("/", 1)[1].split(".", 1)[0] for e in entries})
    return Ingested(files=files, new_files=new, problems=problems)


def _store_rows(
    frame: pd.DataFrame, info: storage.ObjectInfo, id_columns: Sequence[str], label_col: str, canon: Any
) -> pa.Table:
    n = len(frame)
    if LABELED_AT in frame.columns and label_col != LABELED_AT:
        at = pd.to_datetime(frame[LABELED_AT], errors="coerce", utc=True)
    else:
        at = pd.Series(
            pd.to_datetime([info.last_modified] * n, utc=True) if info.last_modified else [pd.NaT] * n
        )
    modified = pd.Timestamp(info.last_modified or datetime.min.replace(tzinfo=UTC))
    return pa.table(
        {
            KEY: pa.array(canon(frame, list(id_columns)).tolist() if n else [], pa.string()),
            LABEL: pa.array([_text(v) for v in frame[label_col].tolist()], pa.string()),
            LABELED_AT: pa.array(pd.to_datetime(at, utc=True).tolist(), pa.timestamp("us", "UTC")),
            LABEL_URI: pa.array([info.uri] * n, pa.string()),
            LABEL_MODIFIED: pa.array([modified] * n, pa.timestamp("us", "UTC")),
        },
        schema=STORE_SCHEMA,
    )


def _text(v: Any) -> str | None:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    return str(v)


def read_store(data_bucket: str, model: str) -> tuple[pd.DataFrame, int]:
    """Every stored label, the latest file's value per id; and how many were overridden.

    Reads the ledger's small parts (five columns), not the label files.
    """
    parts = [
        storage.read_table(i.uri)
        for i in storage.list_uris(store_prefix(data_bucket, model))
        if i.uri.endswith(".parquet")
    ]
    if not parts:
        return STORE_SCHEMA.empty_table().to_pandas(), 0
    frame = pa.concat_tables(parts).to_pandas()
    frame = frame.sort_values([LABEL_MODIFIED, LABEL_URI], kind="stable")
    dup = frame.duplicated(KEY, keep="last")
    return frame[~dup].reset_index(drop=True), int(dup.sum())


@dataclass
class Scan:
    """The scored window as the join needs it (see the module docstring)."""

    matched: pd.DataFrame
    sample: pd.DataFrame
    rows: int = 0
    batch_rows: dict[str, int] = field(default_factory=dict)
    batch_version: dict[str, str | None] = field(default_factory=dict)


def scan_scored(
    data_bucket: str,
    model: str,
    *,
    since: datetime,
    id_columns: Sequence[str],
    keys: pd.Series,
    canon: Any,
) -> Scan:
    """Stream the current scored objects since ``since``; keep labeled rows and the sample."""
    infos = scored_objects.current_scored(data_bucket, model, since=since)
    sizes = {i.uri: storage.estimate_work(i.uri, i).rows or 0 for i in infos}
    stride = max(1, math.ceil(sum(sizes.values()) / ESTIMATE_ROWS))
    wanted = pa.array(pd.unique(keys.astype(str)).tolist() if len(keys) else [], pa.string())
    matched: list[pd.DataFrame] = []
    sample: list[pd.DataFrame] = []
    scan = Scan(matched=pd.DataFrame(), sample=pd.DataFrame())
    for info in infos:
        names = storage.read_schema(info.uri).names
        if any(c not in names for c in id_columns):
            logger.warning("scored output lacks id columns", extra={"uri": info.uri})
            continue
        cols = [c for c in (*id_columns, *_LINEAGE) if c in names] + [
            c for c in names if c.startswith("score_")
        ]
        cols = list(dict.fromkeys(cols))
        offset = 0
        for batch in storage.open_batches(info.uri, chunk_rows=_CHUNK_ROWS, columns=cols):
            n = batch.num_rows
            scan.rows += n
            ids = batch.select(list(id_columns)).to_pandas()
            key = pa.array(canon(ids, list(id_columns)).tolist(), pa.string())
            if "batch_id" in cols:
                for vc in pc.value_counts(batch.column("batch_id").cast(pa.string())).to_pylist():
                    b, count = str(vc["values"]), int(vc["counts"])
                    scan.batch_rows[b] = scan.batch_rows.get(b, 0) + count
                if "model_version" in cols and n:
                    first = batch.column("batch_id").cast(pa.string())[0].as_py()
                    scan.batch_version[first] = str(
                        batch.column("model_version").cast(pa.string())[0].as_py()
                    )
            table = pa.Table.from_batches([batch]).append_column(KEY, key)
            hit = pc.is_in(key, value_set=wanted)
            if pc.any(hit).as_py():
                matched.append(table.filter(hit).to_pandas())
            first_take = (-offset) % stride
            offset += n
            if first_take < n:
                sample.append(table.take(pa.array(np.arange(first_take, n, stride))).to_pandas())
    scan.matched = (
        pd.concat(matched, ignore_index=True)
        if matched
        else pd.DataFrame(columns=[KEY, *id_columns, *_LINEAGE])
    )
    scan.sample = pd.concat(sample, ignore_index=True) if sample else pd.DataFrame()
    return scan

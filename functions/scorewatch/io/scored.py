"""Which scored outputs are current: one result per source key (issue 15, invariant 2).

Every scored object stays where it was written (outputs are write-once, and the score role may not
delete); a later upload of the same key, or an explicit backfill by a new champion, *supersedes*
the earlier result. The rule every reader applies (the labels join, the retraining assembly, the
``scored_current`` Athena view, ``scorewatch site``):

    for each (model, ``source_uri``), the current result is the batch scored last
    (greatest ``scored_at`` of its rows, then ``batch_id``); every other batch is superseded,
    and so is that batch when a later upload of the source was rejected as a whole (its report
    written after the batch was scored).

Scoring order is upload order: an event for an upload that has since been replaced is skipped
(``superseded``) before it is read, and an upload replaced while it is read has its output
discarded, so an older upload's result never carries a later ``scored_at`` than its successor's.

The lineage columns are constant per object (and per part of a large file, whose parts share the
batch id), so this reads each object's Parquet footer (their statistics), never the rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow.compute as pc

from scorewatch.core.contract import Prefix
from scorewatch.io import storage

#: The lineage columns the rule reads (LINEAGE_COLUMNS of scorewatch.scoring.scorer).
CURRENT_COLUMNS = ("source_uri", "batch_id", "scored_at")


@dataclass(frozen=True)
class ScoredObject:
    """One scored output object and the lineage that decides whether it is current."""

    info: storage.ObjectInfo
    source_uri: str | None
    batch_id: str | None
    scored_at: datetime | None
    rows: int | None = None


def scored_prefix(data_bucket: str, model: str) -> str:
    return f"s3://{data_bucket}/{Prefix.SCORED}model={model}/"


def list_scored(data_bucket: str, model: str, *, since: datetime | None = None) -> list[storage.ObjectInfo]:
    """Every scored Parquet object of ``model`` (``date=`` partitions on or after ``since``'s day)."""
    first_day = since.strftime("%Y-%m-%d") if since is not None else ""
    out = []
    for info in storage.list_uris(scored_prefix(data_bucket, model)):
        if not info.uri.endswith(".parquet"):
            continue
        part = next((p for p in info.uri.split("/") if p.startswith("date=")), None)
        if part is None or part[len("date=") :] >= first_day:
            out.append(info)
    return out


def describe(info: storage.ObjectInfo) -> ScoredObject:
    """The object's source, batch and latest ``scored_at``, from the Parquet footer's statistics.

    One footer read per object (the lineage columns are constant, so their min/max statistics
    are their values); the three columns are read instead when a writer left no statistics.
    """
    import pyarrow.parquet as pq

    fs, path = storage.filesystem(info.uri)
    with fs.open_input_file(path) as f:
        md = pq.ParquetFile(f).metadata
    found = _from_statistics(md)
    if found is not None:
        source, batch, at = found
        return ScoredObject(info=info, source_uri=source, batch_id=batch, scored_at=at, rows=md.num_rows)
    return _from_columns(info)


def _from_statistics(md: Any) -> tuple[str | None, str | None, datetime | None] | None:
    if md.num_rows == 0:
        return (None, None, None)
    names = [md.schema.column(i).name for i in range(md.num_columns)]
    values: dict[str, list[tuple[Any, Any]]] = {c: [] for c in CURRENT_COLUMNS if c in names}
    for g in range(md.num_row_groups):
        rg = md.row_group(g)
        for c, seen in values.items():
            st = rg.column(names.index(c)).statistics
            if st is None or not st.has_min_max:
                return None
            seen.append((st.min, st.max))
    source = values.get("source_uri", [(None, None)])[0][0]
    batch = values.get("batch_id", [(None, None)])[0][0]
    at = max((hi for _, hi in values["scored_at"]), default=None) if "scored_at" in values else None
    return (
        None if source is None else str(source),
        None if batch is None else str(batch),
        at if isinstance(at, datetime) else None,
    )


def _from_columns(info: storage.ObjectInfo) -> ScoredObject:
    names = set(storage.read_schema(info.uri).names)
    cols = [c for c in CURRENT_COLUMNS if c in names]
    table = storage.read_table(info.uri, columns=cols)
    if table.num_rows == 0:
        return ScoredObject(info=info, source_uri=None, batch_id=None, scored_at=None, rows=0)

    def first(name: str) -> str | None:
        if name not in cols:
            return None
        value = table.column(name)[0].as_py()
        return None if value is None else str(value)

    scored_at = pc.max(table.column("scored_at")).as_py() if "scored_at" in cols else None
    return ScoredObject(
        info=info,
        source_uri=first("source_uri"),
        batch_id=first("batch_id"),
        scored_at=scored_at,
        rows=table.num_rows,
    )


def current(objects: Iterable[ScoredObject]) -> tuple[list[ScoredObject], list[ScoredObject]]:
    """Split ``objects`` into (current, superseded) by the module's rule; input order is kept.

    An object without lineage (an empty file, or one written by hand) is current: nothing
    supersedes it.
    """
    objects = list(objects)
    batch_at: dict[tuple[str, str], datetime] = {}
    for o in objects:
        if o.source_uri is None or o.batch_id is None or o.scored_at is None:
            continue
        k = (o.source_uri, o.batch_id)
        batch_at[k] = max(batch_at.get(k, o.scored_at), o.scored_at)
    winner: dict[str, tuple[datetime, str]] = {}
    for (source, batch), at in batch_at.items():
        if source not in winner or (at, batch) > winner[source]:
            winner[source] = (at, batch)
    keep, gone = [], []
    for o in objects:
        if o.source_uri is None or o.batch_id is None or o.source_uri not in winner:
            keep.append(o)
        elif winner[o.source_uri][1] == o.batch_id:
            keep.append(o)
        else:
            gone.append(o)
    return keep, gone


def rejected_sources(data_bucket: str, model: str, *, since: datetime | None = None) -> dict[str, datetime]:
    """Source URI -> when its latest whole-file rejection report was written (the window's)."""
    first_day = since.strftime("%Y-%m-%d") if since is not None else ""
    out: dict[str, datetime] = {}
    for info in storage.list_uris(f"s3://{data_bucket}/{Prefix.REJECTED}model={model}/"):
        part = next((p for p in info.uri.split("/") if p.startswith("date=")), "date=")
        if not info.uri.endswith(".json") or part[len("date=") :] < first_day or info.last_modified is None:
            continue
        try:
            doc = storage.read_json(info.uri)
        except FileNotFoundError:
            continue
        source = doc.get("source_uri")
        # the scorer's clock (as scored_at); S3's LastModified (whole seconds) for older reports
        at = datetime.fromisoformat(doc["rejected_at"]) if doc.get("rejected_at") else info.last_modified
        if isinstance(source, str) and (source not in out or at > out[source]):
            out[source] = at
    return out


def current_scored(
    data_bucket: str, model: str, *, since: datetime | None = None
) -> list[storage.ObjectInfo]:
    """The current scored objects of ``model`` (see the module docstring), sorted by URI.

    A source whose later upload was rejected as a whole has no current scored result: its
    earlier result is superseded by the rejection (the report's write time is after it).
    """
    keep, _ = current(describe(i) for i in list_scored(data_bucket, model, since=since))
    rejected = rejected_sources(data_bucket, model, since=since)
    return [
        o.info
        for o in keep
        if not (o.source_uri in rejected and o.scored_at is not None and o.scored_at < rejected[o.source_uri])
    ]


def current_of(infos: Sequence[storage.ObjectInfo]) -> list[storage.ObjectInfo]:
    """``infos`` less the superseded ones (for readers that list scored objects themselves)."""
    keep, _ = current(describe(i) for i in infos)
    return [o.info for o in keep]

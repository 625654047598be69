"""Read what the static site shows from the data bucket (or a local copy of it).

The reading half of ``scorewatch site``; the queries are pure functions in
:mod:`scorewatch.reports.site_data` and the rendering is :mod:`scorewatch.reports.site`.
Everything is found by listing the layout's prefixes (``scorewatch.core.layout``):

* ``monitoring/model=<m>/history/date=<d>/<id>.parquet`` — the history rows, concatenated;
* ``monitoring/model=<m>/drift/date=<d>/<id>.html`` — the drift report of each evaluation;
* ``monitoring/model=<m>/performance/date=<d>/<run>.parquet`` and ``performance/summary/...json``
  — each labels run's performance history rows and summary;
* ``scored/`` and ``rejected/model=<m>/...`` — one ``outputs`` row per object, its row count from
  the Parquet footer (one ranged read, no rows are read), a whole-file rejection report counting
  as a rejected file with 0 rows; a scored object superseded by a re-upload of its source is left
  out (:mod:`scorewatch.io.scored`);
* optionally the registry (:func:`read_versions`): every version's status, promotion time, the
  gate's comparison, approvers and status changes, and any approval that waits.

Keys whose model segment is not a valid model name are skipped, so nothing outside the layout
reaches a page or a path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from scorewatch.core.contract import Prefix
from scorewatch.core.errors import InputRejectedError, InvalidModelNameError
from scorewatch.core.schema import check_model_name
from scorewatch.io import scored, storage

_HISTORY = re.compile(r"model=([^/]+)/history/date=[^/]+/([^/]+)\.parquet$")
_REPORT = re.compile(r"model=([^/]+)/drift/date=[^/]+/([^/]+)\.html$")
# A labels run's rows (.parquet) and its summary (.json, under summary/; directly beside the rows
# before the Glue table read that folder).
_PERFORMANCE = re.compile(r"model=([^/]+)/performance/(?:summary/)?date=[^/]+/([^/]+)\.(parquet|json)$")
#: Keys of a labels run's JSON summary (``LabelJoinResult``) the site uses.
SUMMARY_KEYS = ("metric", "value", "estimated_value", "floor", "coverage", "degraded", "computed_at")
_EPOCH = datetime.fromtimestamp(0, tz=UTC)
_OUTPUT = re.compile(r"model=([^/]+)/date=[^/]+/([^/]+?)(-part-\d{5})?\.(parquet|json)$")


@dataclass(frozen=True)
class SiteInputs:
    """The tables :mod:`scorewatch.reports.site_data` queries, plus where each drift report is."""

    history: pd.DataFrame
    outputs: pd.DataFrame
    reports: dict[tuple[str, str], str]  # (model, report id) -> URI of the HTML drift report
    performance: pd.DataFrame | None = None  # the labels runs' history rows, every model
    summaries: dict[str, dict[str, Any]] | None = None  # model -> its latest labels summary


def _model(segment: str) -> str | None:
    try:
        return check_model_name(segment)
    except InvalidModelNameError:
        return None


def _num_rows(uri: str) -> int:
    fs, path = storage.filesystem(uri)
    with fs.open_input_file(path) as f:
        return int(pq.ParquetFile(f).metadata.num_rows)


@dataclass(frozen=True)
class MonitoringObjects:
    """The objects under ``monitoring/`` the site reads, sorted by URI."""

    history: list[storage.ObjectInfo]
    reports: dict[tuple[str, str], storage.ObjectInfo]  # (model, report id) -> the HTML report
    performance: list[storage.ObjectInfo]  # labels runs' history rows (.parquet)
    summaries: list[storage.ObjectInfo]  # labels runs' JSON summaries


def list_monitoring(prefix_uri: str) -> MonitoringObjects:
    """Classify every object under ``prefix_uri`` (``monitoring/`` or one model's part of it)."""
    history: list[storage.ObjectInfo] = []
    performance: list[storage.ObjectInfo] = []
    summaries: list[storage.ObjectInfo] = []
    reports: dict[tuple[str, str], storage.ObjectInfo] = {}
    for info in storage.list_uris(prefix_uri):
        m = _HISTORY.search(info.uri)
        if m and _model(m.group(1)):
            history.append(info)
            continue
        r = _REPORT.search(info.uri)
        if r and _model(r.group(1)):
            reports[(r.group(1), r.group(2))] = info
            continue
        p = _PERFORMANCE.search(info.uri)
        if p and _model(p.group(1)) and (p.group(3) == "json" or "/summary/" not in info.uri):
            (performance if p.group(3) == "parquet" else summaries).append(info)
    return MonitoringObjects(history, reports, performance, summaries)


def model_prefix(data_uri: str, prefix: str, model: str) -> str:
    """``<data>/<prefix>model=<model>/`` (the model's part of a Hive-partitioned prefix)."""
    return storage.join(data_uri, prefix, f"model={check_model_name(model)}/")


def read_tables(infos: list[storage.ObjectInfo], *, time_column: str) -> pd.DataFrame | None:
    """The rows of the Parquet objects ``infos``, concatenated, with ``_source`` (the URI); None if none."""
    tables = []
    for info in infos:
        t = storage.read_table(info.uri)
        if t.num_rows == 0 or time_column not in t.column_names:
            continue  # e.g. a labels run that had no labeled batch writes an empty table
        tables.append(t.append_column("_source", pa.array([info.uri] * t.num_rows, pa.string())))
    if not tables:
        return None
    # One chunk per column: a frame over thousands of small chunks (one per object) makes every
    # later groupby and filter several times slower.
    frame = pa.concat_tables(tables, promote_options="default").combine_chunks().to_pandas()
    frame[time_column] = pd.to_datetime(frame[time_column], utc=True)
    return frame


def empty_history() -> pd.DataFrame:
    return pd.DataFrame(columns=["model_name", "batch_id", "evaluated_at", "column", "role"])


def read_history(data_uri: str) -> tuple[pd.DataFrame, dict[tuple[str, str], str]]:
    """All history rows under ``data_uri`` and the HTML report of each evaluation."""
    objects = list_monitoring(storage.join(data_uri, Prefix.MONITORING))
    frame = read_tables(objects.history, time_column="evaluated_at")
    reports = {k: i.uri for k, i in objects.reports.items()}
    return (empty_history() if frame is None else frame.drop(columns="_source")), reports


def latest_summaries(infos: list[storage.ObjectInfo]) -> dict[str, dict[str, Any]]:
    """model -> the newest labels summary among ``infos`` (by its ``computed_at``), trimmed to the
    keys the site uses. A summary that cannot be read is skipped (the page shows no performance)."""
    by_model: dict[str, list[storage.ObjectInfo]] = {}
    for info in infos:
        m = _PERFORMANCE.search(info.uri)
        if m:
            by_model.setdefault(m.group(1), []).append(info)
    out: dict[str, dict[str, Any]] = {}
    for model, items in by_model.items():
        # Keys sort by date partition; within a day the object written last is the newest run.
        newest = max(items, key=lambda i: (i.uri.split("/date=")[1][:10], i.last_modified or _EPOCH, i.uri))
        try:
            summary = storage.read_json(newest.uri)
        except (InputRejectedError, FileNotFoundError):
            continue
        out[model] = {k: summary.get(k) for k in SUMMARY_KEYS}
    return out


def output_objects(data_uri: str, model: str | None = None) -> list[tuple[str, storage.ObjectInfo]]:
    """(kind, object) of every scored/rejected object (of ``model`` only, when given); kind is
    ``scored``, ``rejected_rows`` or ``rejected_file``."""
    out = []
    for prefix, kind in ((Prefix.SCORED, "scored"), (Prefix.REJECTED, "rejected")):
        where = model_prefix(data_uri, prefix, model) if model else storage.join(data_uri, prefix)
        infos = storage.list_uris(where)
        if kind == "scored":
            # a re-uploaded key counts once: its superseded results are left out (io.scored)
            keep, _ = scored.current(scored.describe(i) for i in infos if i.uri.endswith(".parquet"))
            infos = [o.info for o in keep]
        for info in infos:
            m = _OUTPUT.search(info.uri)
            if not m or not _model(m.group(1)):
                continue  # rejected/unrouted/ and anything outside the layout
            is_report = m.group(4) == "json"
            if kind == "scored" and is_report:
                continue
            out.append(
                ("scored" if kind == "scored" else ("rejected_file" if is_report else "rejected_rows"), info)
            )
    return out


def output_row(kind: str, info: storage.ObjectInfo) -> dict[str, Any]:
    """The ``outputs`` row of one object: its row count from the Parquet footer (0 for a report)."""
    m = _OUTPUT.search(info.uri)
    assert m is not None, info.uri  # only called on output_objects() results
    return {
        "model": m.group(1),
        "batch_id": m.group(2),
        "kind": kind,
        "rows": 0 if kind == "rejected_file" else _num_rows(info.uri),
        "at": info.last_modified or _EPOCH,
    }


def outputs_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["model", "batch_id", "kind", "rows", "at"])
    frame["rows"] = frame["rows"].astype("Int64")
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame


def read_outputs(data_uri: str) -> pd.DataFrame:
    """One row per scored/rejected object: model, batch_id, kind, rows, at (see the module docstring)."""
    return outputs_frame([output_row(kind, info) for kind, info in output_objects(data_uri)])


VERSION_COLUMNS = ["model", "version", "status", "created_at", "promoted_at", "archived_at", "parent_version"]
#: The lifecycle columns (``reports.site_events.LIFECYCLE_COLUMNS``): the gate's comparison, the
#: approvers, the status changes and, for the candidate that waits, when its approval was asked.
LIFECYCLE_COLUMNS = ["comparison", "approvals", "status_history", "approval_requested_at"]


def versions_frame(cards: list[tuple[str, Any]], pending: dict[str, Any] | None = None) -> pd.DataFrame:
    """The ``versions`` table of (model, card) pairs (cards: ``scorewatch.core.cards.ModelCard``).

    ``pending`` maps a model to its pending approval request (``io.registry.ApprovalRequest``).
    """
    rows = []
    for model, card in cards:
        request = (pending or {}).get(model)
        waits = request is not None and str(request.version) == str(card.version)
        rows.append(
            {
                "model": model,
                "version": card.version,
                "status": card.status,
                "created_at": card.created_at,
                "promoted_at": card.promoted_at,
                "archived_at": card.archived_at,
                "parent_version": card.parent_version,
                "comparison": card.comparison.model_dump() if card.comparison is not None else None,
                "approvals": tuple(card.approvals),
                "status_history": tuple(h.model_dump() for h in card.status_history),
                "approval_requested_at": request.requested_at if request is not None and waits else None,
            }
        )
    # object columns from the start: a str column with None would otherwise infer str dtype and NaN
    return pd.DataFrame(rows, columns=VERSION_COLUMNS + LIFECYCLE_COLUMNS, dtype=object)


def pending_approvals(registry: Any, models: list[str]) -> dict[str, Any]:
    """model -> its pending approval request, for the models that have one."""
    out = {}
    for model in models:
        request = registry.get_approval_request(model)
        if request is not None:
            out[model] = request
    return out


def read_versions(registry: Any) -> pd.DataFrame:
    """Every version of every registered model (``registry``: a ``scorewatch.io.registry.Registry``).

    Columns: ``VERSION_COLUMNS`` and ``LIFECYCLE_COLUMNS``.
    """
    models = list(registry.list_models())
    return versions_frame(
        [(card.model_name, card) for model in models for card in registry.list_versions(model)],
        pending_approvals(registry, models),
    )


def stale_thresholds(registry: Any, default: timedelta) -> dict[str, timedelta]:
    """Each configured model's stale threshold from its stored schedules (``core.cadence``).

    ``registry`` is a ``scorewatch.io.registry.Registry``; the configurations are read from its
    table (one Query of the current-configuration partition). Models without a stored
    configuration are left out, so the caller's ``default`` applies to them.
    """
    from scorewatch.core.cadence import stale_after
    from scorewatch.io.registry.configs import ConfigStore

    stored = ConfigStore(registry.table_name).all_current()
    return {c.name: stale_after(c.config, default) for c in stored}


def read_site_inputs(data_uri: str) -> SiteInputs:
    """Everything the site needs from ``data_uri`` (an ``s3://bucket[/prefix]`` URI or a folder)."""
    objects = list_monitoring(storage.join(data_uri, Prefix.MONITORING))
    frame = read_tables(objects.history, time_column="evaluated_at")
    perf = read_tables(objects.performance, time_column="computed_at")
    return SiteInputs(
        history=empty_history() if frame is None else frame.drop(columns="_source"),
        outputs=read_outputs(data_uri),
        reports={k: i.uri for k, i in objects.reports.items()},
        performance=None if perf is None else perf.drop(columns="_source"),
        summaries=latest_summaries(objects.summaries),
    )


def presigned_url(uri: str, *, expires_in: int) -> str:
    """A presigned HTTPS GET URL of the ``s3://`` object ``uri``, served as HTML."""
    loc = storage.parse_uri(uri)
    if loc.scheme != "s3":
        raise ValueError(f"{uri!r} is not an s3:// URI")
    from scorewatch.io.storage.s3 import presigning_client

    url: str = presigning_client().generate_presigned_url(
        "get_object",
        Params={"Bucket": loc.bucket, "Key": loc.key, "ResponseContentType": "text/html"},
        ExpiresIn=expires_in,
    )
    return url

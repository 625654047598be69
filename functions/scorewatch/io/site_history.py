"""Read what the static site shows from the data bucket (or a local copy of it).

The reading half of ``scorewatch site``; the queries are pure functions in
:mod:`scorewatch.reports.site_data` and the rendering is :mod:`scorewatch.reports.site`.
Everything is found by listing the layout's prefixes (``scorewatch.core.layout``):

* ``monitoring/model=<m>/history/date=<d>/<id>.parquet`` — the history rows, concatenated;
* ``monitoring/model=<m>/drift/date=<d>/<id>.html`` — the drift report of each evaluation;
* ``scored/`` and ``rejected/model=<m>/...`` — one ``outputs`` row per object, its row count from
  the Parquet footer (one ranged read, no rows are read), a whole-file rejection report counting
  as a rejected file with 0 rows; a scored object superseded by a re-upload of its source is left
  out (:mod:`scorewatch.io.scored`);
* optionally the registry (:func:`read_versions`): every version's status and promotion time.

Keys whose model segment is not a valid model name are skipped, so nothing outside the layout
reaches a page or a path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from scorewatch.core.contract import Prefix
from scorewatch.core.errors import InvalidModelNameError
from scorewatch.core.schema import check_model_name
from scorewatch.io import scored, storage

_HISTORY = re.compile(r"model=([^/]+)/history/date=[^/]+/([^/]+)\.parquet$")
_REPORT = re.compile(r"model=([^/]+)/drift/date=[^/]+/([^/]+)\.html$")
_OUTPUT = re.compile(r"model=([^/]+)/date=[^/]+/([^/]+?)(-part-\d{5})?\.(parquet|json)$")


@dataclass(frozen=True)
class SiteInputs:
    """The tables :mod:`scorewatch.reports.site_data` queries, plus where each drift report is."""

    history: pd.DataFrame
    outputs: pd.DataFrame
    reports: dict[tuple[str, str], str]  # (model, report id) -> URI of the HTML drift report


def _model(segment: str) -> str | None:
    try:
        return check_model_name(segment)
    except InvalidModelNameError:
        return None


def _num_rows(uri: str) -> int:
    fs, path = storage.filesystem(uri)
    with fs.open_input_file(path) as f:
        return int(pq.ParquetFile(f).metadata.num_rows)


def read_history(data_uri: str) -> tuple[pd.DataFrame, dict[tuple[str, str], str]]:
    """All history rows under ``data_uri`` and the HTML report of each evaluation."""
    tables: list[pa.Table] = []
    reports: dict[tuple[str, str], str] = {}
    for info in storage.list_uris(storage.join(data_uri, Prefix.MONITORING)):
        m = _HISTORY.search(info.uri)
        if m and _model(m.group(1)):
            tables.append(storage.read_table(info.uri))
            continue
        r = _REPORT.search(info.uri)
        if r and _model(r.group(1)):
            reports[(r.group(1), r.group(2))] = info.uri
    if not tables:
        return pd.DataFrame(columns=["model_name", "batch_id", "evaluated_at", "column", "role"]), reports
    table = pa.concat_tables(tables, promote_options="default")
    frame = table.to_pandas()
    frame["evaluated_at"] = pd.to_datetime(frame["evaluated_at"], utc=True)
    return frame, reports


def read_outputs(data_uri: str) -> pd.DataFrame:
    """One row per scored/rejected object: model, batch_id, kind, rows, at (see the module docstring)."""
    rows = []
    for prefix, kind in ((Prefix.SCORED, "scored"), (Prefix.REJECTED, "rejected")):
        infos = storage.list_uris(storage.join(data_uri, prefix))
        known: dict[str, int | None] = {}
        if kind == "scored":
            # a re-uploaded key counts once: its superseded results are left out (io.scored)
            keep, _ = scored.current(scored.describe(i) for i in infos if i.uri.endswith(".parquet"))
            infos = [o.info for o in keep]
            known = {o.info.uri: o.rows for o in keep}
        for info in infos:
            m = _OUTPUT.search(info.uri)
            if not m or not _model(m.group(1)):
                continue  # rejected/unrouted/ and anything outside the layout
            is_report = m.group(4) == "json"
            if kind == "scored" and is_report:
                continue
            k = "scored" if kind == "scored" else ("rejected_file" if is_report else "rejected_rows")
            rows.append(
                {
                    "model": m.group(1),
                    "batch_id": m.group(2),
                    "kind": k,
                    "rows": 0 if is_report else (known.get(info.uri) or _num_rows(info.uri)),
                    "at": info.last_modified or datetime.fromtimestamp(0, tz=UTC),
                }
            )
    frame = pd.DataFrame(rows, columns=["model", "batch_id", "kind", "rows", "at"])
    frame["rows"] = frame["rows"].astype("Int64")
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame


def read_versions(registry: Any) -> pd.DataFrame:
    """Every version of every registered model (``registry``: a ``scorewatch.io.registry.Registry``).

    Columns: model, version, status, created_at, promoted_at, archived_at, parent_version.
    """
    rows = [
        {
            "model": card.model_name,
            "version": card.version,
            "status": card.status,
            "created_at": card.created_at,
            "promoted_at": card.promoted_at,
            "archived_at": card.archived_at,
            "parent_version": card.parent_version,
        }
        for model in registry.list_models()
        for card in registry.list_versions(model)
    ]
    columns = ["model", "version", "status", "created_at", "promoted_at", "archived_at", "parent_version"]
    return pd.DataFrame(rows, columns=columns).astype(object)


def read_site_inputs(data_uri: str) -> SiteInputs:
    """Everything the site needs from ``data_uri`` (an ``s3://bucket[/prefix]`` URI or a folder)."""
    history, reports = read_history(data_uri)
    return SiteInputs(history=history, outputs=read_outputs(data_uri), reports=reports)

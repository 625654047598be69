"""Rebuild one model's page and the index of the monitoring site, incrementally.

The core of the ``site`` function: after a monitor or labels run writes a history object of a
model, only that model's page and ``index.html`` are rewritten. The work is bounded by the model,
not the fleet:

* only ``monitoring/model=<m>/``, ``scored/model=<m>/`` and ``rejected/model=<m>/`` are listed;
* the model's history and performance rows are cached under ``_state/models/<m>/`` of the site
  (Parquet, each row tagged with the object it came from, plus each object's ETag); an update
  reads only the objects that are new or changed since the last one, and drops the rows of
  objects that are gone;
* the scored/rejected row counts (one Parquet footer per object) are cached the same way;
* drift reports are copied once (again only when their ETag changes);
* the index is rendered from one small JSON summary per model (``_state/summaries/<m>.json``,
  the overview row), which each model's update (and the full build) writes; stale flags are
  recomputed for ``now``, so a model that stopped sending batches turns stale on the next update
  of any model.

Two updates of different models racing could each render the index before seeing the other's
summary; the function runs with a reserved concurrency of one so updates are serial.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from scorewatch.core.contract import Prefix
from scorewatch.core.schema import check_model_name
from scorewatch.io import site_history as sh
from scorewatch.io import storage
from scorewatch.monitoring.performance import higher_is_better

if TYPE_CHECKING:
    from scorewatch.reports.site_data import StaleRule

STATE = "_state"
SUMMARIES = f"{STATE}/summaries"


def summary_uri(output_uri: str, model: str) -> str:
    """Where the overview row of ``model`` is kept."""
    return storage.join(output_uri, SUMMARIES, f"{check_model_name(model)}.json")


def _state_uri(output_uri: str, model: str, name: str) -> str:
    return storage.join(output_uri, STATE, "models", check_model_name(model), name)


def identity(info: storage.ObjectInfo) -> str:
    """What changes when an object is rewritten: its ETag (S3), else its size and time (a folder)."""
    if info.etag:
        return info.etag
    return f"{info.size}:{info.last_modified.isoformat() if info.last_modified else ''}"


@dataclass(frozen=True)
class SiteUpdate:
    """What one incremental update read and wrote."""

    model: str
    page_uri: str
    index_uri: str
    objects_read: int  # history/performance objects and footers read (the rest came from the cache)
    reports_copied: int
    models_in_index: int


def _read_json(uri: str) -> dict[str, Any]:
    try:
        return storage.read_json(uri)
    except FileNotFoundError:
        return {}


def _cached_frame(uri: str) -> pd.DataFrame | None:
    try:
        return storage.read_table(uri).to_pandas()
    except FileNotFoundError:
        return None


def refresh(
    cached: pd.DataFrame | None,
    known: dict[str, str],
    infos: list[storage.ObjectInfo],
    read: Callable[[list[storage.ObjectInfo]], pd.DataFrame | None],
) -> tuple[pd.DataFrame | None, dict[str, str], int]:
    """The rows of ``infos``: cached rows of unchanged objects plus ``read`` of the new/changed ones.

    Rows carry ``_source`` (the object's URI); ``known`` maps URI -> :func:`identity` of the cached
    ones. Returns the rows, the new ``known`` and how many objects were read.
    """
    current = {i.uri: identity(i) for i in infos}
    keep = {u for u, ident in current.items() if known.get(u) == ident}
    fresh = [i for i in infos if i.uri not in keep]
    parts = []
    if cached is not None and len(cached) and keep:
        parts.append(cached[cached["_source"].isin(keep)])
    new = read(fresh) if fresh else None
    if new is not None and len(new):
        parts.append(new)
    if not parts:
        return None, current, len(fresh)
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
    return frame, current, len(fresh)


def _write_frame(uri: str, frame: pd.DataFrame | None) -> None:
    if frame is None:
        return
    storage.write_table(uri, pa.Table.from_pandas(frame, preserve_index=False))


def _versions(registry: Any, model: str) -> pd.DataFrame | None:
    if registry is None:
        return None
    cards = [(model, card) for card in registry.list_versions(model)]
    return sh.versions_frame(cards, sh.pending_approvals(registry, [model]))


def stale_rule_for(stale_after: timedelta | StaleRule, registry: Any) -> StaleRule:
    """``stale_after`` with each configured model's own threshold (its schedules) when there is a
    ``registry``; a rule that already has per-model thresholds is kept as it is."""
    from scorewatch.reports.site_data import StaleRule, stale_rule

    rule = stale_rule(stale_after)
    if registry is None or rule.per_model:
        return rule
    return StaleRule(rule.default, sh.stale_thresholds(registry, rule.default))


def update_model(
    data_uri: str,
    output_uri: str,
    model: str,
    *,
    now: datetime,
    stale_after: timedelta | StaleRule = timedelta(hours=24),
    copy_reports: bool = True,
    registry: Any = None,
) -> SiteUpdate:
    """Rewrite ``models/<model>/index.html`` and ``index.html`` under ``output_uri`` (module docstring).

    Parameters
    ----------
    data_uri
        The data bucket (``s3://bucket[/prefix]``) or a folder with its layout.
    output_uri
        The site's root (``s3://bucket/site/`` in AWS).
    model
        The model whose history changed.
    now
        The time the pages are built for (ages, stale flags, 24 h / 7 d volumes).
    registry
        A ``scorewatch.io.registry.Registry`` for the champion, versions and promotion markers.
    """
    from scorewatch.reports import site, site_data

    model = check_model_name(model)
    stale_after = stale_rule_for(stale_after, registry)
    objs = sh.list_monitoring(sh.model_prefix(data_uri, Prefix.MONITORING, model))
    known = _read_json(_state_uri(output_uri, model, "sources.json"))
    history, known_h, read_h = refresh(
        _cached_frame(_state_uri(output_uri, model, "history.parquet")),
        known.get("history", {}),
        objs.history,
        lambda infos: sh.read_tables(infos, time_column="evaluated_at"),
    )
    perf, known_p, read_p = refresh(
        _cached_frame(_state_uri(output_uri, model, "performance.parquet")),
        known.get("performance", {}),
        objs.performance,
        lambda infos: sh.read_tables(infos, time_column="computed_at"),
    )
    out_rows, known_o, read_o = _refresh_outputs(data_uri, model, known.get("outputs", {}))
    summaries = sh.latest_summaries(objs.summaries)
    versions = _versions(registry, model)

    h = sh.empty_history() if history is None else history.drop(columns="_source")
    h["evaluated_at"] = pd.to_datetime(h["evaluated_at"], utc=True)
    p = None if perf is None else perf.drop(columns="_source")
    outputs = sh.outputs_frame(out_rows)
    (status,) = [
        s
        for s in site.fleet_statuses(
            h,
            outputs,
            now=now,
            stale_after=stale_after,
            models=[model],
            versions=versions,
            summaries=summaries,
        )
        if s.model == model
    ]
    reports = {rid: info for (m, rid), info in objs.reports.items() if m == model} if copy_reports else {}
    page = site.model_page(
        status,
        h,
        outputs,
        now=now,
        reports={rid: site.report_href(model, rid) for rid in reports},
        versions=versions,
        performance=p,
        higher_is_better=higher_is_better(status.metric) if status.metric else True,
    )
    page_uri = storage.join(output_uri, page.path)
    storage.write_bytes(page_uri, page.html.encode(), content_type="text/html")
    copied_before = known.get("reports", {})
    copied: dict[str, str] = {}
    n_copied = 0
    page_dir = page.path.rsplit("/", 1)[0]
    for rid, info in sorted(reports.items()):
        ident = identity(info)
        if copied_before.get(info.uri) != ident:
            storage.write_bytes(
                storage.join(output_uri, page_dir, site.report_href(model, rid)),
                storage.read_bytes(info.uri),
                content_type="text/html",
            )
            n_copied += 1
        copied[info.uri] = ident
    _write_frame(_state_uri(output_uri, model, "history.parquet"), history)
    _write_frame(_state_uri(output_uri, model, "performance.parquet"), perf)
    storage.write_json(
        _state_uri(output_uri, model, "sources.json"),
        {"history": known_h, "performance": known_p, "outputs": known_o, "reports": copied},
    )
    storage.write_json(summary_uri(output_uri, model), site_data.status_to_dict(status))
    index_uri, n_models = write_index(output_uri, now=now, stale_after=stale_after, registry=registry)
    return SiteUpdate(model, page_uri, index_uri, read_h + read_p + read_o, n_copied, n_models)


def _refresh_outputs(
    data_uri: str, model: str, known: dict[str, dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]], int]:
    """The model's ``outputs`` rows; a footer is read only for objects new or changed since ``known``."""
    rows, now_known, read = [], {}, 0
    for kind, info in sh.output_objects(data_uri, model):
        ident = identity(info)
        hit = known.get(info.uri)
        if hit is not None and hit.get("id") == ident and hit.get("kind") == kind:
            row = dict(hit["row"])
        else:
            row = sh.output_row(kind, info)
            read += kind != "rejected_file"
        rows.append({**row, "at": pd.Timestamp(row["at"])})
        now_known[info.uri] = {
            "id": ident,
            "kind": kind,
            "row": {**row, "at": pd.Timestamp(row["at"]).isoformat()},
        }
    return rows, now_known, read


def read_summaries(output_uri: str, *, threads: int = 16) -> list[dict[str, Any]]:
    """Every kept overview row under ``_state/summaries/`` (read in parallel: one small GET each)."""
    infos = [
        i for i in storage.list_uris(storage.join(output_uri, SUMMARIES) + "/") if i.uri.endswith(".json")
    ]
    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(infos)))) as pool:
        return [json.loads(b) for b in pool.map(lambda i: storage.read_bytes(i.uri), infos)]


def write_summaries(output_uri: str, statuses: list[Any]) -> None:
    """Keep the overview row of every model (the full build calls this; updates then rebuild the index)."""
    from scorewatch.reports import site_data

    for s in statuses:
        storage.write_json(summary_uri(output_uri, s.model), site_data.status_to_dict(s))


def write_index(
    output_uri: str, *, now: datetime, stale_after: timedelta | StaleRule, registry: Any = None
) -> tuple[str, int]:
    """Render ``index.html`` from the kept summaries (plus registered models that have none)."""
    from scorewatch.reports import site, site_data

    statuses = [
        site_data.restale(site_data.status_from_dict(d), now=now, stale_after=stale_after)
        for d in read_summaries(output_uri)
    ]
    if registry is not None:
        seen = {s.model for s in statuses}
        empty = site_data.batch_table(sh.empty_history())
        for name in registry.list_models():
            if name not in seen:
                statuses.append(
                    site_data.model_status(
                        name,
                        empty,
                        site_data.volume_table(site_data.empty_outputs()),
                        now=now,
                        stale_after=stale_after,
                    )
                )
    statuses.sort(key=site_data.attention_key)
    uri = storage.join(output_uri, "index.html")
    html = site.render_index(statuses, now=now, stale_after=stale_after)
    storage.write_bytes(uri, html.encode(), content_type="text/html")
    return uri, len(statuses)

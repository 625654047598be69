"""Build the monitoring site: read the history (``io.site_history``), render (``reports.site``), write.

The one orchestration behind ``scorewatch site`` and the demo's ``demo-output/site/``; the ``site``
function rebuilds one model at a time (:mod:`scorewatch.monitoring.site_update`) from the
per-model summaries this build also keeps. Pages and copied drift reports are written with
``scorewatch.io.storage``, so ``output_uri`` is a folder or an ``s3://`` prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from scorewatch.io import storage
from scorewatch.io.site_history import read_site_inputs, read_versions

if TYPE_CHECKING:
    from scorewatch.reports.site_data import StaleRule


@dataclass(frozen=True)
class SiteBuild:
    """What one build wrote."""

    index_uri: str
    models: int
    page_bytes: int
    reports_copied: int


def build_site(
    data_uri: str,
    output_uri: str,
    *,
    now: datetime,
    stale_after: timedelta | StaleRule = timedelta(hours=24),
    copy_reports: bool = True,
    registry: Any = None,
) -> SiteBuild:
    """Write ``index.html``, ``models/<model>/index.html`` and the drift reports under ``output_uri``.

    ``registry`` (a ``scorewatch.io.registry.Registry``) adds the champions, the versions and the
    promotion markers; without it the markers are the changes of the scoring version.
    """
    from scorewatch.monitoring.performance import LOWER_IS_BETTER
    from scorewatch.monitoring.site_update import stale_rule_for, write_summaries
    from scorewatch.reports.site import build_pages, fleet_statuses, model_href, report_href

    stale_after = stale_rule_for(stale_after, registry)
    inputs = read_site_inputs(data_uri)
    reports = inputs.reports if copy_reports else {}
    versions = read_versions(registry) if registry is not None else None
    pages = build_pages(
        inputs.history,
        inputs.outputs,
        now=now,
        stale_after=stale_after,
        reports=reports,
        versions=versions,
        performance=inputs.performance,
        summaries=inputs.summaries,
        higher_is_better={m: False for m in LOWER_IS_BETTER},
    )
    total = 0
    for page in pages:
        data = page.html.encode()
        total += len(data)
        storage.write_bytes(storage.join(output_uri, page.path), data, content_type="text/html")
    for (model, report_id), uri in sorted(reports.items()):
        page_dir = model_href(model).rsplit("/", 1)[0]
        storage.write_bytes(
            storage.join(output_uri, page_dir, report_href(model, report_id)),
            storage.read_bytes(uri),
            content_type="text/html",
        )
    # The overview rows, so the site function's incremental updates can rebuild the index.
    write_summaries(
        output_uri,
        fleet_statuses(
            inputs.history,
            inputs.outputs,
            now=now,
            stale_after=stale_after,
            versions=versions,
            summaries=inputs.summaries,
        ),
    )
    return SiteBuild(
        index_uri=storage.join(output_uri, "index.html"),
        models=len(pages) - 1,
        page_bytes=total,
        reports_copied=len(reports),
    )

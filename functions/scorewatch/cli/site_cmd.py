"""``scorewatch site``: build the static monitoring site from the data bucket or a local copy.

Reads the monitoring history and the scored/rejected objects (``scorewatch.io.site_history``),
renders the fleet overview and one page per model (``scorewatch.reports.site``) and writes them
(``scorewatch.monitoring.site_build``) under ``--output`` (a folder or an ``s3://`` prefix), with
each evaluation's drift report copied next to its model page so every link stays inside the site.

``scorewatch site open [MODEL]`` prints a presigned URL of the index (or of the model's page)
that the ``site`` function keeps under ``site/`` of the data bucket.
"""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime, timedelta
from typing import Any

from scorewatch.core.contract import Env
from scorewatch.core.errors import ConfigError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "site",
        help="build the static monitoring site (fleet overview + one page per model)",
        description="Build a self-contained static site (no script, no external URL) from the monitoring "
        "history under --data (s3://bucket[/prefix] or a folder with the data bucket's layout).",
    )
    p.add_argument("--data", metavar="URI", help="the data bucket (s3://...) or a local copy (required)")
    p.add_argument("--output", metavar="URI", help="folder or s3:// prefix for the site (required)")
    p.add_argument(
        "--stale-hours",
        type=float,
        default=24.0,
        metavar="H",
        help="a model without a schedule is stale after H hours with no batch (default 24); a "
        "scheduled model after 1.5x the longest gap between its runs",
    )
    p.add_argument("--now", metavar="ISO", help="the time the site is built for (default: now, UTC)")
    p.add_argument(
        "--no-reports", action="store_true", help="do not copy the per-batch drift reports into the site"
    )
    p.add_argument(
        "--registry-table",
        help=f"registry table, for champions and promotions (default: ${Env.REGISTRY_TABLE})",
    )
    p.add_argument("--models-bucket", help=f"models bucket of the registry (default: ${Env.MODELS_BUCKET})")
    p.add_argument(
        "--no-registry", action="store_true", help="build without the registry even if one is configured"
    )
    p.set_defaults(func=_site_cmd)
    sub = p.add_subparsers(dest="site_command", required=False, metavar="open")
    o = sub.add_parser(
        "open",
        help="print a presigned URL of the site the site function keeps in the data bucket",
        description="Print a presigned HTTPS URL of site/index.html (or of MODEL's page) in the data bucket. "
        "The site is private: each page needs its own URL (its relative links are not signed).",
    )
    o.add_argument("model", nargs="?", metavar="MODEL", help="open this model's page instead of the index")
    o.add_argument(
        "--bucket", help=f"the data bucket (default: ${Env.DATA_BUCKET}); s3://bucket[/prefix] also accepted"
    )
    o.add_argument(
        "--expires",
        type=int,
        default=3600,
        metavar="SECONDS",
        help="how long the URL is valid (default 3600, at most 604800 = 7 days)",
    )
    o.set_defaults(func=_open_cmd)


MAX_PRESIGN_SECONDS = 7 * 24 * 3600


def _open_cmd(args: argparse.Namespace) -> int:
    from scorewatch.core.contract import Prefix
    from scorewatch.core.schema import check_model_name
    from scorewatch.io import storage
    from scorewatch.io.site_history import presigned_url

    if not 1 <= args.expires <= MAX_PRESIGN_SECONDS:
        raise ConfigError(f"--expires must be between 1 and {MAX_PRESIGN_SECONDS} seconds")
    bucket = args.bucket or os.environ.get(Env.DATA_BUCKET)
    if not bucket:
        raise ConfigError(f"name the data bucket: --bucket or ${Env.DATA_BUCKET}")
    root = bucket if bucket.startswith("s3://") else f"s3://{bucket}"
    page = f"models/{check_model_name(args.model)}/index.html" if args.model else "index.html"
    uri = storage.join(root, Prefix.SITE, page)
    if not storage.exists(uri):
        what = f"model {args.model!r} has no page" if args.model else "the site has no index"
        raise ConfigError(f"{what} at {uri}: the site function writes it after the first monitor run")
    print(presigned_url(uri, expires_in=args.expires))
    return 0


def _registry(args: argparse.Namespace) -> Any:
    """The registry when both its table and bucket are known (flags, else environment), else None."""
    if args.no_registry:
        return None
    table = args.registry_table or os.environ.get(Env.REGISTRY_TABLE)
    bucket = args.models_bucket or os.environ.get(Env.MODELS_BUCKET)
    if not table or not bucket:
        if args.registry_table or args.models_bucket:
            raise ConfigError("--registry-table and --models-bucket go together (or set both variables)")
        return None
    from scorewatch.io.registry import Registry

    return Registry(table_name=table, models_bucket=bucket)


def _now(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        t = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(f"--now {text!r} is not an ISO 8601 time") from exc
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _site_cmd(args: argparse.Namespace) -> int:
    from scorewatch.monitoring.site_build import build_site

    if not args.data or not args.output:
        raise ConfigError("scorewatch site needs --data and --output (or: scorewatch site open [MODEL])")
    if args.stale_hours <= 0:
        raise ConfigError("--stale-hours must be positive")
    built = build_site(
        args.data,
        args.output,
        now=_now(args.now),
        stale_after=timedelta(hours=args.stale_hours),
        copy_reports=not args.no_reports,
        registry=_registry(args),
    )
    print(
        f"site: {built.models} model pages + index ({built.page_bytes:,} bytes), "
        f"{built.reports_copied} drift reports copied"
    )
    print(built.index_uri)
    return 0

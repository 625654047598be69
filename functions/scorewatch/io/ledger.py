"""The scoring ledger (issue 15, invariant 4): what was scored, per (source version, model version).

One small JSON object per pair, ``monitoring/model=<m>/ledger/<sha(source identity)>/<version>.json``,
holding the recorded outcome (scored, or rejected as a whole). Written after the outcome's event
is published, never expires (unlike the 24 h idempotency record), and is what decides whether an
object is scored again:

* a request that names no model version (an upload event, a schedule, a backfill over a prefix)
  is not scored again once *any* version has an entry for that source version: its recorded
  outcome is returned, nothing is written or published;
* a request pinning ``model_version`` (an explicit backfill by a new champion) is scored unless
  that exact pair has an entry.

The source identity is ``storage.source_identity`` (URI + version id, else ETag), so a re-upload
of a key is a new source version with no entry.
"""

from __future__ import annotations

from typing import Any

from scorewatch.core import layout
from scorewatch.io import storage


def recorded(data_bucket: str, model: str, source_identity: str) -> dict[str, dict[str, Any]]:
    """Every entry for one source version: model version -> recorded outcome."""
    prefix = layout.s3_uri(data_bucket, layout.ledger_prefix(model, source_identity))
    out: dict[str, dict[str, Any]] = {}
    for info in storage.list_uris(prefix):
        if info.uri.endswith(".json"):
            version = info.uri.rsplit("/", 1)[1][: -len(".json")]
            try:
                out[version] = storage.read_json(info.uri)
            except FileNotFoundError:
                continue
    return out


def lookup(
    data_bucket: str, model: str, source_identity: str, *, model_version: str, pinned: bool
) -> dict[str, Any] | None:
    """The recorded outcome that answers a request, or None when it must be scored.

    ``pinned``: the request named ``model_version`` itself; otherwise ``model_version`` is the
    current champion, and any version's entry answers (the latest-numbered one).
    """
    entries = recorded(data_bucket, model, source_identity)
    if model_version in entries:
        return entries[model_version]
    if pinned or not entries:
        return None
    return entries[max(entries)]


def record(
    data_bucket: str, model: str, source_identity: str, model_version: str, outcome: dict[str, Any]
) -> None:
    """Write the entry for (source version, model version)."""
    storage.write_json(
        layout.s3_uri(data_bucket, layout.ledger_key(model, source_identity, model_version)), outcome
    )

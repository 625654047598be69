"""Metadata and whole-object reads: stat, identity, listing, bytes and JSON."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scorewatch.core.errors import with_library_detail
from scorewatch.io.storage import uri as _uri
from scorewatch.io.storage.s3 import s3_client
from scorewatch.io.storage.uri import ObjectInfo, _not_found, parse_uri


# ---------------------------------------------------------------------------------------- metadata
def stat(uri: str) -> ObjectInfo:
    """Size, ETag, version id and modification time of ``uri``.

    Raises
    ------
    FileNotFoundError
        When the object or file does not exist (message names it).
    """
    loc = parse_uri(uri)
    if loc.scheme == "s3":
        from botocore.exceptions import ClientError

        try:
            head = s3_client().head_object(Bucket=loc.bucket, Key=loc.key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                raise _not_found(uri, exc) from exc
            raise
        return ObjectInfo(
            uri=uri,
            size=int(head["ContentLength"]),
            etag=str(head.get("ETag", "")).strip('"') or None,
            version_id=head.get("VersionId") if head.get("VersionId") not in (None, "null") else None,
            last_modified=head.get("LastModified"),
        )
    try:
        st = os.stat(loc.path)
    except FileNotFoundError as exc:
        raise _not_found(uri, exc) from exc
    if not os.path.isfile(loc.path):
        raise _not_found(uri)
    return ObjectInfo(
        uri=uri, size=st.st_size, last_modified=datetime.fromtimestamp(st.st_mtime, tz=UTC), etag=None
    )


def source_identity(info: ObjectInfo) -> str:
    """What makes one upload unique: location plus version id, else ETag, else size and mtime.

    >>> source_identity(ObjectInfo(uri="s3://b/k.csv", size=3, etag="abc"))
    's3://b/k.csv#etag=abc'
    """
    if info.version_id:
        return f"{info.uri}#version={info.version_id}"
    if info.etag:
        return f"{info.uri}#etag={info.etag}"
    stamp = info.last_modified.isoformat() if info.last_modified else "unknown"
    return f"{info.uri}#size={info.size}&mtime={stamp}"


def exists(uri: str) -> bool:
    """True when ``uri`` names an existing file or object."""
    try:
        stat(uri)
    except FileNotFoundError:
        return False
    return True


def list_uris(prefix_uri: str) -> list[ObjectInfo]:
    """Every object/file under ``prefix_uri`` (S3 key prefix or local directory), sorted by URI."""
    loc = parse_uri(prefix_uri)
    out: list[ObjectInfo] = []
    if loc.scheme == "s3":
        paginator = s3_client().get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=loc.bucket, Prefix=loc.key or ""):
            for item in page.get("Contents", []):
                out.append(
                    ObjectInfo(
                        uri=f"s3://{loc.bucket}/{item['Key']}",
                        size=int(item["Size"]),
                        etag=str(item.get("ETag", "")).strip('"') or None,
                        last_modified=item.get("LastModified"),
                    )
                )
        return sorted(out, key=lambda i: i.uri)
    base = Path(loc.path)
    if base.is_dir():
        candidates: Iterable[Path] = (p for p in base.rglob("*") if p.is_file())
    else:
        candidates = (
            (p for p in base.parent.glob(base.name + "*") if p.is_file()) if base.parent.is_dir() else ()
        )
    for p in candidates:
        st = p.stat()
        out.append(
            ObjectInfo(uri=str(p), size=st.st_size, last_modified=datetime.fromtimestamp(st.st_mtime, tz=UTC))
        )
    return sorted(out, key=lambda i: i.uri)


# ------------------------------------------------------------------------------------------- bytes
def read_bytes(uri: str) -> bytes:
    """The whole content of ``uri`` (small objects only: cards, manifests, reports)."""
    fs, path = _uri.filesystem(uri)
    try:
        with fs.open_input_stream(path, compression=None) as f:
            data: bytes = f.read()
            return data
    except FileNotFoundError as exc:
        raise _not_found(uri, exc) from exc


def read_head(uri: str, nbytes: int) -> bytes:
    """The first ``nbytes`` bytes of ``uri`` (one ranged read on S3)."""
    return _read_range(uri, 0, nbytes)


def _read_range(uri: str, start: int, length: int) -> bytes:
    fs, path = _uri.filesystem(uri)
    try:
        with fs.open_input_file(path) as f:
            size = f.size()
            if start >= size:
                return b""
            data: bytes = f.read_at(min(length, size - start), start)
            return data
    except FileNotFoundError as exc:
        raise _not_found(uri, exc) from exc


def read_json(uri: str) -> dict[str, Any]:
    """Parse the JSON object stored at ``uri``."""
    try:
        obj: dict[str, Any] = json.loads(read_bytes(uri))
    except json.JSONDecodeError as exc:
        raise with_library_detail(
            f"{uri}: not valid JSON", exc, source_uri=uri, reason="invalid_json"
        ) from exc
    return obj

"""URIs: parsing local paths and ``s3://bucket/key``, joining, formats, and the pyarrow filesystem."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import pyarrow.fs as pafs

from scorewatch.core.errors import UnsupportedFormatError
from scorewatch.io.storage.s3 import _endpoint, _region, _s3fs

Format = Literal["csv", "csv.gz", "parquet", "jsonl", "jsonl.gz"]

#: Extensions read by :func:`open_batches`, longest first so ``.csv.gz`` wins over ``.gz``.
FORMATS: dict[str, Format] = {
    ".csv.gz": "csv.gz",
    ".jsonl.gz": "jsonl.gz",
    ".ndjson.gz": "jsonl.gz",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}


# --------------------------------------------------------------------------------------------- URIs
@dataclass(frozen=True)
class Location:
    """A parsed URI. ``path`` is what pyarrow.fs expects (``bucket/key`` for S3)."""

    uri: str
    scheme: Literal["s3", "file"]
    bucket: str | None
    key: str | None
    path: str

    @property
    def name(self) -> str:
        """The last path segment (file name)."""
        return self.path.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class ObjectInfo:
    """What :func:`stat` knows about one object or file."""

    uri: str
    size: int
    etag: str | None = None
    version_id: str | None = None
    last_modified: datetime | None = None


def parse_uri(uri: str) -> Location:
    """Split ``uri`` into scheme, bucket/key or local path.

    Parameters
    ----------
    uri : str
        ``s3://bucket/key``, ``file:///abs/path`` or a plain local path.

    Returns
    -------
    Location

    Raises
    ------
    ValueError
        For other schemes or an S3 URI without a bucket.

    Examples
    --------
    >>> parse_uri("s3://data/incoming/churn/a.csv").key
    'incoming/churn/a.csv'
    >>> parse_uri("s3://data/incoming/churn/Invoice #12?.csv").key
    'incoming/churn/Invoice #12?.csv'
    """
    # Split by hand, not with urllib: an S3 key is any UTF-8 string, and urlparse would cut a
    # key at ``#`` (fragment) or ``?`` (query) and silently name another object.
    if uri.startswith("s3://"):
        bucket, _, key = uri[len("s3://") :].partition("/")
        if not bucket:
            raise ValueError(f"S3 URI without a bucket: {uri!r}")
        return Location(uri=uri, scheme="s3", bucket=bucket, key=key, path=f"{bucket}/{key}")
    if uri.startswith("file://"):
        rest = uri[len("file://") :]
        path = rest if rest.startswith("/") else "/" + rest.partition("/")[2]  # file://host/path
    elif "://" in uri:
        raise ValueError(f"unsupported URI scheme in {uri!r}: use s3:// or a local path")
    else:
        path = uri
    return Location(uri=uri, scheme="file", bucket=None, key=None, path=os.path.abspath(path))


def join(uri: str, *parts: str) -> str:
    """Join key/path segments onto ``uri`` with single slashes.

    >>> join("s3://b/scored/", "model=m", "x.parquet")
    's3://b/scored/model=m/x.parquet'
    """
    out = uri
    for raw in parts:
        part = str(raw).strip("/")
        if not part:
            continue
        out = out if out.endswith("/") else out + "/"
        out += part
    return out


def detect_format(uri: str) -> Format:
    """The format implied by the file name, or UnsupportedFormatError naming the file."""
    name = parse_uri(uri).name.lower()
    for ext, fmt in FORMATS.items():
        if name.endswith(ext):
            return fmt
    raise UnsupportedFormatError(
        f"{uri}: unsupported file extension (supported: {', '.join(FORMATS)})",
        source_uri=uri,
        reason="unsupported_format",
    )


def filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    """The pyarrow filesystem and path for ``uri``."""
    loc = parse_uri(uri)
    if loc.scheme == "s3":
        return _s3fs(_endpoint(), _region()), loc.path
    return pafs.LocalFileSystem(), loc.path


def _not_found(uri: str, exc: BaseException | None = None) -> FileNotFoundError:
    err = FileNotFoundError(f"{uri}: no such file or object")
    if exc is not None:
        err.__cause__ = exc
    return err

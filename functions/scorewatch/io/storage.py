"""Read and write data by URI: local paths and ``s3://bucket/key``, through ``pyarrow.fs``.

Readers stream Arrow record batches (``.csv``, ``.csv.gz``, ``.parquet``, ``.jsonl``,
``.jsonl.gz``) and never hold the whole file. Writers are atomic: an output object appears only
when it is complete. Local writes go to a temporary file in the destination directory and are
renamed into place; S3 writes are spooled to a local temporary file and uploaded with boto3's
managed transfer, whose multipart upload is aborted on failure. (pyarrow's own S3 output stream
is not used for writing: it completes the multipart upload when an exception unwinds a ``with``
block, which leaves a partial object.)

The S3 endpoint and region are resolved the way the AWS SDKs do it (``AWS_ENDPOINT_URL_S3``, then
``AWS_ENDPOINT_URL``; ``AWS_REGION``, then ``AWS_DEFAULT_REGION``), so the same code talks to AWS
and to the local emulator. This is the one documented place below the handlers that reads the
environment; filesystems and clients are cached per (endpoint, region).
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import json
import logging
import os
import tempfile
import threading
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.fs as pafs
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from scorewatch.core.errors import (
    InputRejectedError,
    MissingColumnsError,
    UnsupportedFormatError,
)

logger = logging.getLogger(__name__)

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
#: Gzip input stops with an error once it has inflated to this many bytes (gzip bomb guard).
DEFAULT_MAX_DECOMPRESSED_BYTES = 8 * 1024**3
#: Assumed inflation of gzip CSV/JSONL when only the compressed size is known.
GZIP_RATIO_FALLBACK = 6.0
_PARQUET_MAGIC = b"PAR1"
_GZIP_MAGIC = b"\x1f\x8b"
_SNIFF_BYTES = 64 * 1024
# Arrow's streaming CSV/JSON readers read ahead a number of blocks: peak memory grows with the
# block size (4 MiB: ~170 MB Arrow memory, 1 MiB: ~45 MB, measured), so blocks stay small and
# _rechunk() assembles them into chunk_rows-sized batches.
_CSV_BLOCK = 1024 * 1024
_UPLOAD_CHUNK = 8 * 1024 * 1024


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
    """
    if uri.startswith("s3://"):
        parsed = urlparse(uri)
        bucket, key = parsed.netloc, parsed.path.lstrip("/")
        if not bucket:
            raise ValueError(f"S3 URI without a bucket: {uri!r}")
        return Location(uri=uri, scheme="s3", bucket=bucket, key=key, path=f"{bucket}/{key}")
    if uri.startswith("file://"):
        path = urlparse(uri).path
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


# ------------------------------------------------------------------------------ clients and filesystems
def _endpoint() -> str | None:
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


def _region() -> str | None:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None


@lru_cache(maxsize=8)
def _s3fs(endpoint: str | None, region: str | None) -> pafs.S3FileSystem:
    kwargs: dict[str, Any] = {"region": region or "us-east-1", "connect_timeout": 10, "request_timeout": 60}
    if endpoint:
        parsed = urlparse(endpoint)
        kwargs["scheme"] = parsed.scheme or "https"
        kwargs["endpoint_override"] = parsed.netloc or parsed.path
    return pafs.S3FileSystem(**kwargs)


_client_lock = threading.Lock()


@lru_cache(maxsize=8)
def _s3_client(endpoint: str | None, region: str | None) -> Any:
    import boto3
    from botocore.config import Config

    with _client_lock:  # boto3's default session is not thread-safe while creating clients
        return boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint,
            region_name=region or "us-east-1",
            config=Config(retries={"max_attempts": 5, "mode": "standard"}),
        )


def s3_client() -> Any:
    """The boto3 S3 client for the current endpoint/region (created once, reused)."""
    return _s3_client(_endpoint(), _region())


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
        candidates = (p for p in base.rglob("*") if p.is_file())
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
    fs, path = filesystem(uri)
    try:
        with fs.open_input_stream(path, compression=None) as f:
            return f.read()
    except FileNotFoundError as exc:
        raise _not_found(uri, exc) from exc


def read_head(uri: str, nbytes: int) -> bytes:
    """The first ``nbytes`` bytes of ``uri`` (one ranged read on S3)."""
    return _read_range(uri, 0, nbytes)


def _read_range(uri: str, start: int, length: int) -> bytes:
    fs, path = filesystem(uri)
    try:
        with fs.open_input_file(path) as f:
            size = f.size()
            if start >= size:
                return b""
            return f.read_at(min(length, size - start), start)
    except FileNotFoundError as exc:
        raise _not_found(uri, exc) from exc


def write_bytes(uri: str, data: bytes, content_type: str | None = None) -> None:
    """Write ``data`` to ``uri`` atomically (a single PUT on S3, rename locally)."""
    loc = parse_uri(uri)
    if loc.scheme == "s3":
        extra = {"ContentType": content_type} if content_type else {}
        s3_client().put_object(Bucket=loc.bucket, Key=loc.key, Body=data, **extra)
        return
    os.makedirs(os.path.dirname(loc.path) or ".", exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(loc.path) or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, loc.path)
    except BaseException:
        _unlink_quietly(tmp)
        raise


def read_json(uri: str) -> dict[str, Any]:
    """Parse the JSON object stored at ``uri``."""
    try:
        return json.loads(read_bytes(uri))
    except json.JSONDecodeError as exc:
        raise InputRejectedError(
            f"{uri}: not valid JSON ({exc})", source_uri=uri, reason="invalid_json"
        ) from exc


def write_json(uri: str, obj: Any) -> None:
    """Write ``obj`` as JSON (datetimes as ISO strings) atomically."""
    data = json.dumps(obj, indent=2, sort_keys=True, default=_json_default).encode("utf-8")
    write_bytes(uri, data, content_type="application/json")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


# ------------------------------------------------------------------------------------ parquet writes
class ParquetSink:
    """Append tables/batches to one Parquet output that becomes visible only on clean exit.

    Rows are spooled to a local temporary file (the destination directory for local output, the
    system temp dir — ``/tmp`` on Lambda — for S3). On clean exit the file is renamed into place
    or uploaded with boto3's managed transfer (multipart above 8 MiB, aborted on failure); on an
    exception nothing is published and the temp file is removed.

    Parameters
    ----------
    uri : str
        Destination (local path or ``s3://``).
    schema : pyarrow.Schema
        Schema of every written table; inputs are cast to it.

    Examples
    --------
    >>> import pyarrow as pa, tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "x.parquet")
    >>> with ParquetSink(out, pa.schema([("a", pa.int64())])) as sink:
    ...     sink.write(pa.table({"a": [1, 2]}))
    >>> read_table(out).num_rows
    2
    """

    def __init__(
        self,
        uri: str,
        schema: pa.Schema,
        *,
        compression: str = "zstd",
        store_schema: bool = True,
        row_group_rows: int = 131_072,
        background: bool = False,
        use_dictionary: bool | Sequence[str] = True,
    ):
        self.uri = uri
        # store_schema=False omits the Arrow schema from the footer: dictionary-encoded columns
        # then read back as plain strings (scoring writes its constant lineage columns that way).
        self._store_schema = store_schema
        # Dictionary encoding of a column of unique values (ids, scores) is tried and abandoned
        # in every row group; naming the columns that repeat skips that work.
        self._use_dictionary = use_dictionary if isinstance(use_dictionary, bool) else list(use_dictionary)
        self.schema = schema
        self.rows = 0
        self._loc = parse_uri(uri)
        self._compression = compression
        self._tmp: str | None = None
        self._writer: pq.ParquetWriter | None = None
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._row_group_rows = row_group_rows
        # background: row groups are encoded and written by one worker thread, at most one in
        # flight, so the caller's next chunk overlaps with compression; errors surface on the
        # next write or on exit.
        self._background = background
        self._executor: Any = None
        self._inflight: Any = None

    def __enter__(self) -> ParquetSink:
        if self._loc.scheme == "file":
            directory = os.path.dirname(self._loc.path) or "."
            os.makedirs(directory, exist_ok=True)
        else:
            directory = None
        fd, self._tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".parquet", dir=directory)
        os.close(fd)
        self._writer = pq.ParquetWriter(
            self._tmp,
            self.schema,
            compression=self._compression,
            store_schema=self._store_schema,
            use_dictionary=self._use_dictionary,
        )
        return self

    def write(self, data: pa.Table | pa.RecordBatch) -> None:
        """Append ``data`` (cast to the sink's schema; column order follows the schema)."""
        if self._writer is None:
            raise RuntimeError("ParquetSink.write outside its with-block")
        table = pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data
        if table.schema != self.schema:
            table = table.select(self.schema.names).cast(self.schema)
        self._pending.append(table)
        self._pending_rows += table.num_rows
        self.rows += table.num_rows
        if self._pending_rows >= self._row_group_rows:
            self._flush()

    def _flush(self) -> None:
        # Small chunks are buffered into row groups of ~row_group_rows: one row group per chunk
        # costs per-column overhead (2.5x the write time at 32k-row chunks, measured).
        if self._pending and self._writer is not None:
            table = pa.concat_tables(self._pending)
            if self._background:
                self._wait()  # one row group in flight at most (bounded memory, ordered writes)
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scorewatch-sink")
                self._inflight = self._executor.submit(self._writer.write_table, table)
            else:
                self._writer.write_table(table)
        self._pending, self._pending_rows = [], 0

    def _wait(self) -> None:
        inflight, self._inflight = self._inflight, None
        if inflight is not None:
            inflight.result()  # re-raises the worker's error here

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        failed = exc_type is not None
        try:
            if not failed:
                self._flush()
            try:
                self._wait()
            except Exception:
                if not failed:
                    raise
                # The caller's exception is the one that propagates (the output is discarded
                # either way); the write error is logged, not lost.
                logger.warning("background Parquet write failed too", extra={"uri": self.uri}, exc_info=True)
        except BaseException:
            failed = True
            raise
        finally:
            self._finish(failed)

    def _finish(self, failed: bool) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self._inflight = None
        tmp, writer = self._tmp, self._writer
        self._writer, self._pending = None, []
        try:
            if writer is not None:
                writer.close()
            if not failed and tmp is not None:
                _publish_file(tmp, self.uri, content_type="application/vnd.apache.parquet")
                tmp = None
        finally:
            if tmp is not None:
                _unlink_quietly(tmp)


def _publish_file(local_path: str, uri: str, *, content_type: str | None = None) -> None:
    """Move a finished local file to ``uri``: rename locally, abortable managed upload on S3."""
    loc = parse_uri(uri)
    if loc.scheme == "file":
        os.replace(local_path, loc.path)
        return
    from boto3.s3.transfer import TransferConfig

    config = TransferConfig(
        multipart_threshold=_UPLOAD_CHUNK, multipart_chunksize=_UPLOAD_CHUNK, use_threads=True
    )
    extra = {"ContentType": content_type} if content_type else None
    try:
        # s3transfer aborts the multipart upload when any part fails, so no object appears.
        s3_client().upload_file(local_path, loc.bucket, loc.key, ExtraArgs=extra, Config=config)
    finally:
        _unlink_quietly(local_path)


def write_table(uri: str, table: pa.Table) -> None:
    """Write ``table`` as one Parquet object/file, atomically."""
    with ParquetSink(uri, table.schema) as sink:
        sink.write(table)


def read_table(uri: str, columns: list[str] | None = None) -> pa.Table:
    """Read a whole (small) Parquet file: baselines, samples, history. Use open_batches for inputs."""
    fs, path = filesystem(uri)
    try:
        with fs.open_input_file(path) as f:
            return pq.read_table(f, columns=columns)
    except FileNotFoundError as exc:
        raise _not_found(uri, exc) from exc
    except pa.ArrowInvalid as exc:
        raise UnsupportedFormatError(f"{uri}: not a readable Parquet file ({exc})", source_uri=uri) from exc


# ------------------------------------------------------------------------------------ input checks
def _reject(uri: str, message: str, reason: str) -> InputRejectedError:
    return InputRejectedError(f"{uri}: {message}", source_uri=uri, reason=reason)


def _sniff(uri: str, fmt: Format, head: bytes) -> None:
    """Check that the content agrees with the extension (cheap magic-byte tests)."""
    if fmt == "parquet":
        if head[:4] != _PARQUET_MAGIC:
            raise UnsupportedFormatError(
                f"{uri}: named .parquet but is not a Parquet file (no PAR1 magic bytes)",
                source_uri=uri,
                reason="unsupported_format",
            )
    elif fmt.endswith(".gz"):
        if head[:2] != _GZIP_MAGIC:
            raise UnsupportedFormatError(
                f"{uri}: named .gz but is not gzip-compressed", source_uri=uri, reason="unsupported_format"
            )
    else:
        if head[:4] == _PARQUET_MAGIC:
            raise UnsupportedFormatError(
                f"{uri}: named .{fmt} but contains Parquet data; rename it to .parquet",
                source_uri=uri,
                reason="unsupported_format",
            )
        if head[:2] == _GZIP_MAGIC:
            raise UnsupportedFormatError(
                f"{uri}: named .{fmt} but is gzip-compressed; rename it to .{fmt}.gz",
                source_uri=uri,
                reason="unsupported_format",
            )


class _CappedReader(io.RawIOBase):
    """A file-like over a decompressing stream that stops at ``limit`` bytes and names the file."""

    def __init__(self, raw: Any, *, uri: str, limit: int):
        self._raw, self._uri, self._limit, self.count = raw, uri, limit, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._raw.read(size if size is not None and size >= 0 else -1)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise _reject(
                self._uri,
                f"truncated or corrupt gzip data after {self.count} decompressed bytes ({exc})",
                "truncated",
            ) from exc
        self.count += len(data)
        if self.count > self._limit:
            raise _reject(
                self._uri,
                f"decompressed size exceeds the limit of {self._limit} bytes (possible gzip bomb); "
                "split the file or raise max_decompressed_bytes",
                "decompressed_too_large",
            )
        return data

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


class _RangeReader(io.RawIOBase):
    """Reads bytes [start, end) of a random-access pyarrow file."""

    def __init__(self, f: Any, start: int, end: int):
        self._f, self._pos, self._end = f, start, end

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        remaining = self._end - self._pos
        if remaining <= 0:
            return b""
        n = remaining if size is None or size < 0 else min(size, remaining)
        data = self._f.read_at(n, self._pos)
        self._pos += len(data)
        return data

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


def _prefix_reader(prefix: bytes, rest: Any) -> Any:
    """A file-like yielding ``prefix`` then the rest of ``rest`` (used to re-attach a CSV header)."""

    class _Chain(io.RawIOBase):
        def __init__(self) -> None:
            self._prefix = prefix

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            if self._prefix:
                if size is None or size < 0:
                    out, self._prefix = self._prefix + rest.read(), b""
                    return out
                out, self._prefix = self._prefix[:size], self._prefix[size:]
                return out
            return rest.read(size)

        def readinto(self, b: Any) -> int:
            data = self.read(len(b))
            b[: len(data)] = data
            return len(data)

    return _Chain()


# ----------------------------------------------------------------------------------------- headers
@dataclass(frozen=True)
class CsvHeader:
    """The parsed first line of a CSV file."""

    names: list[str]
    line_bytes: int  # length of the header line including its newline
    has_data: bool  # a non-empty line follows the header


def _parse_header(uri: str, head: bytes) -> CsvHeader:
    if not head.strip():
        raise _reject(uri, "file is empty (no header line)", "empty_file")
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
        bom = 3
    else:
        bom = 0
    newline = head.find(b"\n")
    line = head if newline < 0 else head[:newline]
    if b"\x00" in line:
        # valid UTF-8 but NUL bytes: UTF-16/32 text, which would otherwise surface as "missing columns"
        raise _reject(
            uri,
            "header line contains NUL bytes: the file looks UTF-16/UTF-32 encoded; re-encode it as UTF-8",
            "encoding",
        )
    try:
        text = line.decode("utf-8").rstrip("\r")
    except UnicodeDecodeError as exc:
        raise _reject(
            uri,
            f"header line is not valid UTF-8 (byte {exc.start + bom}: {line[exc.start : exc.start + 4]!r})",
            "encoding",
        ) from exc
    names = next(csv.reader([text]))
    names = [n.strip() for n in names]
    if len(names) == 1:
        for sep, label in ((";", "';'"), ("\t", "tab"), ("|", "'|'")):
            if sep in text:
                raise _reject(
                    uri,
                    f"header has a single column {text[:80]!r} containing {label}: the file seems to be "
                    f"delimited by {label}; scorewatch reads comma-separated CSV",
                    "wrong_delimiter",
                )
    if any(not n for n in names):
        raise _reject(uri, f"header has an empty column name at position {names.index('') + 1}", "bad_header")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise _reject(uri, f"duplicate column names in header: {', '.join(dupes)}", "duplicate_columns")
    rest = b"" if newline < 0 else head[newline + 1 :]
    return CsvHeader(
        names=names,
        line_bytes=bom + (len(line) + 1 if newline >= 0 else len(line)),
        has_data=bool(rest.strip()),
    )


def _decompressed_head(uri: str, nbytes: int) -> bytes:
    """The first ``nbytes`` decompressed bytes of a gzip file (reads only as much as needed)."""
    fs, path = filesystem(uri)
    with fs.open_input_stream(path, compression=None) as raw:
        d = zlib.decompressobj(wbits=31)
        out = b""
        while len(out) < nbytes:
            chunk = raw.read(64 * 1024)
            if not chunk:
                break
            try:
                out += d.decompress(chunk, nbytes - len(out))
            except zlib.error as exc:
                raise _reject(uri, f"corrupt gzip data ({exc})", "truncated") from exc
            if d.eof:
                break
        return out


def read_schema(uri: str) -> pa.Schema:
    """The column names (and, for Parquet, types) of ``uri`` without reading its rows.

    CSV columns are reported as strings (they are read as strings; coercion happens in
    ``validation``). JSONL types are inferred from the first block.

    Raises
    ------
    UnsupportedFormatError, InputRejectedError
        Unsupported or mismatched format, empty file, header problems (named in the message).
    """
    fmt, info = _checked_format(uri)
    if fmt == "parquet":
        return _parquet_file(uri).schema_arrow
    if fmt in ("csv", "csv.gz"):
        header = _csv_header(uri, fmt, info)
        return pa.schema([(n, pa.string()) for n in header.names])
    for batch in _jsonl_batches(uri, fmt, chunk_rows=1024, columns=None, max_decompressed_bytes=None):
        return batch.schema
    raise _reject(uri, "no data rows", "no_rows")


def _checked_format(uri: str) -> tuple[Format, ObjectInfo]:
    fmt = detect_format(uri)
    info = stat(uri)
    if info.size == 0:
        raise _reject(uri, "file is empty (0 bytes)", "empty_file")
    _sniff(uri, fmt, read_head(uri, 8))
    return fmt, info


def _csv_header(uri: str, fmt: Format, info: ObjectInfo) -> CsvHeader:
    n = _SNIFF_BYTES
    while True:
        head = _decompressed_head(uri, n) if fmt == "csv.gz" else read_head(uri, n)
        if b"\n" in head or len(head) < n or n >= 16 * 1024 * 1024:
            break
        n *= 4  # a very wide header: read more until the first newline
    return _parse_header(uri, head)


# ---------------------------------------------------------------------------------------- parquet
def _parquet_file(uri: str) -> pq.ParquetFile:
    fs, path = filesystem(uri)
    try:
        # pre_buffer off: pre-buffering holds several row groups' column chunks at once, which
        # more than doubles peak memory (measured); one ranged read per column chunk instead.
        pf = pq.ParquetFile(fs.open_input_file(path), pre_buffer=False)
    except FileNotFoundError as exc:
        raise _not_found(uri, exc) from exc
    except (pa.ArrowInvalid, OSError) as exc:
        raise UnsupportedFormatError(
            f"{uri}: not a readable Parquet file ({exc})", source_uri=uri, reason="unsupported_format"
        ) from exc
    names = pf.schema_arrow.names
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise _reject(uri, f"duplicate column names: {', '.join(dupes)}", "duplicate_columns")
    return pf


# ------------------------------------------------------------------------------------------ reading
def open_batches(
    uri: str,
    *,
    chunk_rows: int,
    columns: list[str] | None = None,
    row_groups: list[int] | None = None,
    byte_range: tuple[int, int] | None = None,
    max_decompressed_bytes: int | None = DEFAULT_MAX_DECOMPRESSED_BYTES,
    numeric: Sequence[str] = (),
    categorical: Sequence[str] = (),
) -> Iterator[pa.RecordBatch]:
    """Stream ``uri`` as record batches of at most ``chunk_rows`` rows.

    Parameters
    ----------
    uri : str
        Local path or ``s3://`` URI ending in ``.csv``, ``.csv.gz``, ``.parquet``, ``.jsonl`` or
        ``.jsonl.gz``. The content must match the extension.
    chunk_rows : int
        Maximum rows per batch (Parquet and JSONL exactly; CSV batches are re-sliced to it).
    columns : list of str, optional
        Read only these columns (all must exist, else MissingColumnsError).
    row_groups : list of int, optional
        Parquet only: read just these row groups (a part from :func:`plan_parts`).
    byte_range : (int, int), optional
        CSV only: read the lines in bytes ``[start, end)`` (aligned to line starts by
        :func:`plan_parts`); the header is taken from the start of the file.
    max_decompressed_bytes : int, optional
        Stop gzip input with an error past this many inflated bytes (gzip bomb guard).
    numeric : sequence of str, optional
        CSV only: columns Arrow may parse straight to float64 while reading (the fast path; a
        blank or a common null spelling such as ``NA`` is null). If any value in them is not a
        finite number in plain decimal form, the rest of the file — from the first row not yet
        yielded — is read as text instead, so validation sees and reports the raw value. Either
        way the values that reach the model are the same.
    categorical : sequence of str, optional
        CSV only: columns read dictionary-encoded (``dictionary<int32, string>``), so UTF-8
        checks and text clean-up run once per distinct value rather than once per row.

    Yields
    ------
    pyarrow.RecordBatch
        CSV columns are ``string`` (coercion is ``validation``'s job) except ``numeric`` ones
        read on the fast path (``double``) and ``categorical`` ones (dictionary-encoded);
        Parquet and JSONL keep their types.

    Raises
    ------
    UnsupportedFormatError
        Unsupported extension, or content that does not match it.
    InputRejectedError
        0-byte file, header only / no rows, wrong delimiter, duplicate column names, invalid
        UTF-8 (names the data row), truncated gzip, decompressed size over the limit.
    MissingColumnsError
        A requested column is absent.

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "a.csv")
    >>> _ = open(p, "w").write("x,y\\n1,a\\n2,b\\n")
    >>> [b.num_rows for b in open_batches(p, chunk_rows=1)]
    [1, 1]
    """
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be >= 1")
    fmt, info = _checked_format(uri)
    if row_groups is not None and fmt != "parquet":
        raise ValueError(f"{uri}: row_groups only apply to Parquet input")
    if byte_range is not None and fmt != "csv":
        raise ValueError(f"{uri}: byte_range only applies to uncompressed CSV input")
    if fmt == "parquet":
        batches = _parquet_batches(uri, chunk_rows=chunk_rows, columns=columns, row_groups=row_groups)
    elif fmt in ("csv", "csv.gz"):
        batches = _csv_batches(
            uri,
            fmt,
            info,
            chunk_rows=chunk_rows,
            columns=columns,
            byte_range=byte_range,
            max_decompressed_bytes=max_decompressed_bytes,
            numeric=numeric,
            categorical=categorical,
        )
    else:
        batches = _jsonl_batches(
            uri, fmt, chunk_rows=chunk_rows, columns=columns, max_decompressed_bytes=max_decompressed_bytes
        )
    rows = 0
    for batch in _rechunk(batches, chunk_rows):
        rows += batch.num_rows
        yield batch
    partial = row_groups is not None or byte_range is not None
    if rows == 0 and not partial:
        raise _reject(uri, "no data rows (the file holds a header or schema only)", "no_rows")


def _rechunk(batches: Iterator[pa.RecordBatch], chunk_rows: int) -> Iterator[pa.RecordBatch]:
    """Re-slice a stream of batches into batches of exactly ``chunk_rows`` (the last may be shorter).

    Where the schema changes (a CSV read switching from typed to text columns) the rows pending
    under the old schema go out as one shorter batch first.
    """
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        if not batch.num_rows:
            continue
        if pending and batch.schema != pending[0].schema:
            yield pa.Table.from_batches(pending).combine_chunks().to_batches()[0]
            pending, count = [], 0
        pending.append(batch)
        count += batch.num_rows
        if count < chunk_rows:
            continue
        merged = pa.Table.from_batches(pending).combine_chunks()
        offset = 0
        while count - offset >= chunk_rows:
            yield merged.slice(offset, chunk_rows).to_batches()[0]
            offset += chunk_rows
        rest = merged.slice(offset)
        pending = rest.to_batches() if rest.num_rows else []
        count = rest.num_rows
    if count:
        merged = pa.Table.from_batches(pending).combine_chunks()
        yield merged.to_batches()[0]


def _missing(uri: str, wanted: list[str] | None, have: list[str]) -> None:
    if wanted is None:
        return
    missing = [c for c in wanted if c not in have]
    if missing:
        raise MissingColumnsError(
            f"{uri}: missing required column(s): {', '.join(missing)}",
            source_uri=uri,
            reason="missing_columns",
        )


def _parquet_batches(
    uri: str, *, chunk_rows: int, columns: list[str] | None, row_groups: list[int] | None
) -> Iterator[pa.RecordBatch]:
    pf = _parquet_file(uri)
    _missing(uri, columns, pf.schema_arrow.names)
    if row_groups is not None:
        bad = [g for g in row_groups if not 0 <= g < pf.num_row_groups]
        if bad:
            raise ValueError(f"{uri}: row groups {bad} out of range (file has {pf.num_row_groups})")
    try:
        yield from pf.iter_batches(batch_size=chunk_rows, columns=columns, row_groups=row_groups)
    except (pa.ArrowInvalid, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise _reject(uri, f"corrupt Parquet data ({exc})", "corrupt") from exc


def _csv_batches(
    uri: str,
    fmt: Format,
    info: ObjectInfo,
    *,
    chunk_rows: int,
    columns: list[str] | None,
    byte_range: tuple[int, int] | None,
    max_decompressed_bytes: int | None,
    numeric: Sequence[str] = (),
    categorical: Sequence[str] = (),
) -> Iterator[pa.RecordBatch]:
    header = _csv_header(uri, fmt, info)
    _missing(uri, columns, header.names)
    if byte_range is None and not header.has_data:
        raise _reject(uri, "header only: no data rows", "no_rows")
    wanted = columns if columns is not None else header.names
    typed = [n for n in wanted if n in set(numeric)]
    read = functools.partial(
        _csv_read,
        uri,
        fmt,
        header,
        wanted,
        encoded=[n for n in wanted if n in set(categorical) and n not in set(typed)],
        byte_range=byte_range,
        max_decompressed_bytes=max_decompressed_bytes,
    )
    done = 0
    if typed:
        try:
            for batch in read(typed=typed, skip=0):
                yield batch
                done += batch.num_rows
            return
        except _TypedParseFailed as failed:
            logger.info(
                "a numeric column holds a value the fast parser does not take; reading the rest as text",
                extra={"source_uri": uri, "data_rows_done": done, "detail": str(failed)[:200]},
            )
    yield from read(typed=(), skip=done)


class _TypedParseFailed(Exception):
    """The typed (float64) CSV read met a value it cannot take as a finite number."""


#: Cells the typed CSV read takes as missing: the common spellings of ``validation.NULL_TOKENS``
#: (any other spelling, or one with surrounding spaces, sends the file to the text read).
_CSV_NULLS = ("", "NA", "na", "N/A", "n/a", "NaN", "nan", "null", "NULL", "Null", "None", "none", "NONE")


def _csv_read(
    uri: str,
    fmt: Format,
    header: CsvHeader,
    wanted: list[str],
    *,
    typed: Sequence[str],
    encoded: Sequence[str],
    skip: int,
    byte_range: tuple[int, int] | None,
    max_decompressed_bytes: int | None,
) -> Iterator[pa.RecordBatch]:
    """One pass over the CSV: ``typed`` columns as float64, ``encoded`` ones dictionary-encoded,
    the rest as text; all text is UTF-8-checked.

    The first ``skip`` data rows are read and dropped (the text re-read after a typed read
    failed), so row numbers in errors still count from the start of the file (or part). In a
    typed pass every failure — a value that does not parse, NaN or infinity (the text pass
    reports those with their raw text), even a malformed line — raises _TypedParseFailed for the
    caller to re-read as text, which then names the row and value.
    """
    fs, path = filesystem(uri)
    # Binary, not string: UTF-8 is checked per batch below so an error can name the exact row.
    types = {n: pa.binary() for n in wanted}
    types.update({n: pa.dictionary(pa.int32(), pa.binary()) for n in encoded})
    types.update({n: pa.float64() for n in typed})
    convert = pa_csv.ConvertOptions(
        column_types=types,
        include_columns=wanted,
        strings_can_be_null=False,
        quoted_strings_can_be_null=bool(typed),
        null_values=list(_CSV_NULLS) if typed else [],
    )
    read_opts = pa_csv.ReadOptions(column_names=header.names, skip_rows=1, block_size=_CSV_BLOCK)
    with fs.open_input_file(path) if fmt == "csv" else fs.open_input_stream(path, compression=None) as raw:
        if fmt == "csv.gz":
            limit = max_decompressed_bytes if max_decompressed_bytes is not None else 2**63
            source: Any = _CappedReader(gzip.GzipFile(fileobj=raw, mode="rb"), uri=uri, limit=limit)
            first_row: int | None = 1
        elif byte_range is not None:
            start, end = byte_range
            start = max(start, header.line_bytes)
            first = _read_first_line(raw, start, end)
            if first.count(b'"') % 2:
                raise _reject(
                    uri,
                    f"the part starting at byte {start} begins inside a quoted field (odd number of quotes "
                    "on its first line): quoted fields containing newlines are not supported in split CSV "
                    "parts; re-export the file without embedded newlines or as Parquet",
                    "multiline_field_across_parts",
                )
            # re-attach the header so every part parses the same way as the whole file
            source = _prefix_reader(b"\n", _RangeReader(raw, start, end))
            first_row = None  # not known for a part; errors report byte offsets instead
        else:
            source = raw
            first_row = 1
        try:
            reader = pa_csv.open_csv(source, read_options=read_opts, convert_options=convert)
        except pa.ArrowInvalid as exc:
            if typed:
                raise _TypedParseFailed(str(exc)) from exc
            raise _csv_error(uri, exc, 0, byte_range) from exc
        row = 0
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as exc:
                if typed:
                    raise _TypedParseFailed(str(exc)) from exc
                raise _csv_error(uri, exc, row, byte_range) from exc
            before, row = row, row + batch.num_rows
            if row <= skip:
                continue
            if typed:
                _check_finite(batch, typed)
            batch = _binary_to_utf8(uri, batch, before, first_row, byte_range)
            yield batch.slice(skip - before) if before < skip else batch


def _check_finite(batch: pa.RecordBatch, typed: Sequence[str]) -> None:
    for name in typed:
        col = batch.column(batch.schema.get_field_index(name))
        if col.null_count < len(col) and not pc.all(pc.is_finite(col)).as_py():
            raise _TypedParseFailed(f"column {name!r} holds NaN or infinity")


def _read_first_line(raw: Any, start: int, end: int) -> bytes:
    data = raw.read_at(min(end - start, 1024 * 1024), start)
    nl = data.find(b"\n")
    return data if nl < 0 else data[:nl]


def _csv_error(
    uri: str, exc: Exception, rows_before: int, byte_range: tuple[int, int] | None
) -> InputRejectedError:
    where = f"part bytes {byte_range[0]}-{byte_range[1]}, " if byte_range else ""
    text = str(exc)
    reason = "malformed_csv"
    hint = ""
    if "Expected" in text and "columns" in text:
        reason = "wrong_column_count"
        if byte_range:
            hint = " (a quoted field containing a newline may straddle a part boundary: not supported)"
    return _reject(uri, f"malformed CSV {where}after data row {rows_before}: {text}{hint}", reason)


def _binary_to_utf8(
    uri: str,
    batch: pa.RecordBatch,
    rows_before: int,
    first_row: int | None,
    byte_range: tuple[int, int] | None,
) -> pa.RecordBatch:
    arrays = []
    for name, col in zip(batch.schema.names, batch.columns, strict=True):
        dictionary = pa.types.is_dictionary(col.type)
        if not (dictionary and pa.types.is_binary(col.type.value_type)) and not pa.types.is_binary(col.type):
            arrays.append(col)  # a typed (float64) column
            continue
        try:
            if dictionary:
                # each distinct value is checked once
                arrays.append(pa.DictionaryArray.from_arrays(col.indices, col.dictionary.cast(pa.string())))
            else:
                arrays.append(col.cast(pa.string()))
        except pa.ArrowInvalid as exc:
            bad = _first_invalid_utf8(col.dictionary.take(col.indices) if dictionary else col)
            value = col[bad].as_py()
            where = (
                f"data row {rows_before + bad + 1}"
                if first_row is not None
                else f"row {rows_before + bad + 1} of part bytes {byte_range[0]}-{byte_range[1]}"  # type: ignore[index]
            )
            raise _reject(
                uri,
                f"invalid UTF-8 in column {name!r} at {where}: {value[:40]!r}; re-encode the file as UTF-8",
                "encoding",
            ) from exc
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def _first_invalid_utf8(col: pa.Array) -> int:
    """Index of the first value that is not valid UTF-8 (binary search over slices)."""
    lo, hi = 0, len(col)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            col.slice(lo, mid - lo).cast(pa.string())
            lo = mid
        except pa.ArrowInvalid:
            hi = mid
    return lo


def _jsonl_batches(
    uri: str, fmt: Format, *, chunk_rows: int, columns: list[str] | None, max_decompressed_bytes: int | None
) -> Iterator[pa.RecordBatch]:
    fs, path = filesystem(uri)
    with fs.open_input_stream(path, compression=None) as raw:
        if fmt == "jsonl.gz":
            limit = max_decompressed_bytes if max_decompressed_bytes is not None else 2**63
            source: Any = _CappedReader(gzip.GzipFile(fileobj=raw, mode="rb"), uri=uri, limit=limit)
        else:
            source = raw
        try:
            reader = pa_json.open_json(source, read_options=pa_json.ReadOptions(block_size=_CSV_BLOCK))
        except pa.ArrowInvalid as exc:
            raise _reject(uri, f"malformed JSON lines ({exc})", "malformed_jsonl") from exc
        names = reader.schema.names
        _missing(uri, columns, names)
        rows = 0
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as exc:
                raise _reject(
                    uri,
                    f"malformed JSON lines after data row {rows} ({exc}); a column must keep one JSON type",
                    "malformed_jsonl",
                ) from exc
            if columns is not None:
                batch = batch.select(columns)
            yield batch
            rows += batch.num_rows


# ------------------------------------------------------------------------------ planning large files
@dataclass(frozen=True)
class WorkEstimate:
    """How much an input is expected to cost before reading it."""

    uri: str
    format: Format
    stored_bytes: int
    uncompressed_bytes: int
    rows: int | None  # exact for Parquet, estimated for CSV/JSONL
    rows_exact: bool


def estimate_work(uri: str, info: ObjectInfo | None = None) -> WorkEstimate:
    """Estimate rows and uncompressed bytes of ``uri`` from metadata and a small sample.

    Parquet: exact rows and uncompressed size from the footer. CSV/JSONL: file size, rows from the
    average line length of the first 64 KiB. Gzip: the inflation ratio of the first compressed
    64 KiB (``GZIP_RATIO_FALLBACK`` if the sample is inconclusive) times the size.

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "a.csv")
    >>> _ = open(p, "w").write("x\\n" + "1\\n" * 100)
    >>> estimate_work(p).rows
    100
    """
    fmt = detect_format(uri)
    info = info or stat(uri)
    if info.size == 0:
        return WorkEstimate(uri, fmt, 0, 0, 0, True)
    _sniff(uri, fmt, read_head(uri, 8))
    if fmt == "parquet":
        md = _parquet_file(uri).metadata
        raw = sum(md.row_group(i).total_byte_size for i in range(md.num_row_groups))
        return WorkEstimate(uri, fmt, info.size, raw, md.num_rows, True)
    if fmt.endswith(".gz"):
        compressed = read_head(uri, _SNIFF_BYTES)
        d = zlib.decompressobj(wbits=31)
        try:
            sample = d.decompress(compressed, 64 * 1024 * 1024)
        except zlib.error:
            sample = b""
        ratio = len(sample) / len(compressed) if sample and len(compressed) >= _SNIFF_BYTES else 0.0
        if not d.eof and ratio <= 0:
            ratio = GZIP_RATIO_FALLBACK
        # never below what the sample already inflated to (a small bomb stops the sample at its cap)
        total = len(sample) if d.eof else max(len(sample), int(info.size * (ratio or GZIP_RATIO_FALLBACK)))
    else:
        sample = read_head(uri, _SNIFF_BYTES)
        total = info.size
    lines = sample.count(b"\n")
    header = 1 if fmt.startswith("csv") else 0
    if lines <= header:
        rows = 0 if len(sample) >= total else None
    elif len(sample) >= total:
        rows = lines - header + (0 if sample.endswith(b"\n") else 1)
    else:
        rows = int(total / (len(sample) / lines)) - header
    return WorkEstimate(uri, fmt, info.size, total, rows, len(sample) >= total and not fmt.endswith(".gz"))


@dataclass(frozen=True)
class Part:
    """One independently scorable piece of a large input (see docs/WORKFLOWS.md, large file)."""

    index: int
    row_groups: tuple[int, ...] | None = None
    byte_range: tuple[int, int] | None = None
    rows: int | None = None

    def to_payload(self) -> dict[str, Any]:
        """The ``part`` object of a score payload."""
        if self.row_groups is not None:
            return {"index": self.index, "row_groups": list(self.row_groups)}
        assert self.byte_range is not None
        return {"index": self.index, "byte_range": list(self.byte_range)}


def plan_parts(
    uri: str, info: ObjectInfo | None = None, *, target_bytes: int, chunk_rows: int = 65_536
) -> list[Part]:
    """Split ``uri`` into parts of roughly ``target_bytes`` that can be scored independently.

    Parquet: consecutive row groups, grouped until their uncompressed size reaches
    ``target_bytes`` (a row group is never split). CSV: byte ranges aligned to line starts; each
    part is read with the file's header (see :func:`open_batches`). A quoted field that contains
    a newline and straddles a boundary is not supported: reading such a part raises
    InputRejectedError. Gzip and JSONL input cannot be split (InputRejectedError, reason
    ``not_splittable``).

    Parameters
    ----------
    uri : str
    info : ObjectInfo, optional
        From :func:`stat` (fetched when omitted).
    target_bytes : int
        Desired uncompressed bytes per part.
    chunk_rows : int
        Unused for planning; accepted so callers can pass one settings object.

    Returns
    -------
    list of Part
        Parts in file order; reading all of them yields every row exactly once.
    """
    del chunk_rows
    if target_bytes < 1:
        raise ValueError("target_bytes must be >= 1")
    fmt, info = _checked_format(uri) if info is None else (detect_format(uri), info)
    if fmt == "parquet":
        md = _parquet_file(uri).metadata
        parts: list[Part] = []
        group: list[int] = []
        size = rows = 0
        for i in range(md.num_row_groups):
            rg = md.row_group(i)
            group.append(i)
            size += rg.total_byte_size
            rows += rg.num_rows
            if size >= target_bytes:
                parts.append(Part(index=len(parts), row_groups=tuple(group), rows=rows))
                group, size, rows = [], 0, 0
        if group:
            parts.append(Part(index=len(parts), row_groups=tuple(group), rows=rows))
        return parts
    if fmt != "csv":
        raise _reject(
            uri,
            f"{fmt} input cannot be split into parts (only Parquet and uncompressed CSV can); "
            "re-export it as Parquet or uncompressed CSV, or raise the size limit",
            "not_splittable",
        )
    header = _csv_header(uri, fmt, info)
    fs, path = filesystem(uri)
    bounds = [header.line_bytes]
    with fs.open_input_file(path) as f:
        pos = header.line_bytes + target_bytes
        while pos < info.size:
            window = f.read_at(min(1024 * 1024, info.size - pos), pos - 1)
            nl = window.find(b"\n")
            while nl < 0 and pos + len(window) - 1 < info.size:
                pos += len(window) - 1
                window = f.read_at(min(1024 * 1024, info.size - pos + 1), pos - 1)
                nl = window.find(b"\n")
            if nl < 0:
                break
            boundary = pos - 1 + nl + 1  # first byte after the newline
            if boundary >= info.size:
                break
            bounds.append(boundary)
            pos = boundary + target_bytes
    bounds.append(info.size)
    return [Part(index=i, byte_range=(bounds[i], bounds[i + 1])) for i in range(len(bounds) - 1)]

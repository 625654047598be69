"""Atomic writers: bytes, JSON and Parquet (:class:`ParquetSink`).

An output object appears only when it is complete. Local writes go to a temporary file in the
destination directory and are renamed into place; S3 writes are spooled to a local temporary file
and uploaded with boto3's managed transfer, whose multipart upload is aborted on failure.
(pyarrow's own S3 output stream is not used for writing: it completes the multipart upload when
an exception unwinds a ``with`` block, which leaves a partial object.)
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from scorewatch.io.storage.s3 import s3_client
from scorewatch.io.storage.uri import parse_uri

logger = logging.getLogger(__name__)

_UPLOAD_CHUNK = 8 * 1024 * 1024


# ------------------------------------------------------------------------------------------- bytes
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
    >>> from scorewatch.io.storage import read_table
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

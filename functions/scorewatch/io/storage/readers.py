"""Streaming readers: :func:`open_batches` over CSV, gzip CSV, Parquet, JSONL and gzip JSONL.

Readers stream Arrow record batches and never hold the whole file; :func:`read_table` reads a
whole (small) Parquet file.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections import Counter
from collections.abc import Generator, Iterator, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from scorewatch.core.errors import UnsupportedFormatError, with_library_detail
from scorewatch.io.storage import uri as _uri
from scorewatch.io.storage.checks import _CappedReader, _checked_format, _missing, _reject
from scorewatch.io.storage.csv_reader import _CSV_BLOCK, _csv_batches, _csv_header
from scorewatch.io.storage.uri import Format, _not_found

logger = logging.getLogger(__name__)

#: Gzip input stops with an error once it has inflated to this many bytes (gzip bomb guard).
DEFAULT_MAX_DECOMPRESSED_BYTES = 8 * 1024**3


def read_table(uri: str, columns: list[str] | None = None) -> pa.Table:
    """Read a whole (small) Parquet file: baselines, samples, history. Use open_batches for inputs."""
    fs, path = _uri.filesystem(uri)
    try:
        with fs.open_input_file(path) as f:
            # ParquetFile, not pq.read_table: the same table without the dataset machinery, which
            # costs about 1 ms per file (the site reads one history object per evaluation).
            return pq.ParquetFile(f).read(columns=columns)
    except FileNotFoundError as exc:
        raise _not_found(uri, exc) from exc
    except pa.ArrowInvalid as exc:
        raise with_library_detail(
            f"{uri}: not a readable Parquet file",
            exc,
            source_uri=uri,
            reason="unsupported_format",
            cls=UnsupportedFormatError,
        ) from exc


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


# ---------------------------------------------------------------------------------------- parquet
def _parquet_file(uri: str) -> pq.ParquetFile:
    fs, path = _uri.filesystem(uri)
    try:
        # pre_buffer off: pre-buffering holds several row groups' column chunks at once, which
        # more than doubles peak memory (measured); one ranged read per column chunk instead.
        pf = pq.ParquetFile(fs.open_input_file(path), pre_buffer=False)
    except FileNotFoundError as exc:
        raise _not_found(uri, exc) from exc
    except (pa.ArrowInvalid, OSError) as exc:
        raise with_library_detail(
            f"{uri}: not a readable Parquet file",
            exc,
            source_uri=uri,
            reason="unsupported_format",
            cls=UnsupportedFormatError,
        ) from exc
    names = pf.schema_arrow.names
    dupes = sorted(n for n, k in Counter(names).items() if k > 1)
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
) -> Generator[pa.RecordBatch, None, None]:
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
        raise _reject(uri, "corrupt Parquet data", "corrupt", exc) from exc


def _jsonl_source(uri: str, fmt: Format, raw: Any, max_decompressed_bytes: int | None) -> Any:
    if fmt != "jsonl.gz":
        return raw
    limit = max_decompressed_bytes if max_decompressed_bytes is not None else 2**63
    return _CappedReader(gzip.GzipFile(fileobj=raw, mode="rb"), uri=uri, limit=limit)


class _JsonlFallback(Exception):
    """Arrow's streaming JSON reader cannot read the rest of the file as it started."""


def _jsonl_batches(
    uri: str, fmt: Format, *, chunk_rows: int, columns: list[str] | None, max_decompressed_bytes: int | None
) -> Iterator[pa.RecordBatch]:
    """Arrow's streaming reader, and the exact path from the first row it cannot take.

    Arrow infers each column's type from the first block and fails when a later block holds
    another JSON type (int then float, null then number), a key it has not seen, or a line longer
    than a block. The rest of the file, from the first row not yet yielded, is then read by
    :func:`_jsonl_exact`, which takes any line length and types each batch on its own rows. A
    requested column that a batch lacks is all null there (JSON lines omit keys); one that no line
    holds is a MissingColumnsError once the file is read.
    """
    done = 0
    seen: set[str] = set()
    try:
        for batch in _jsonl_arrow(uri, fmt, columns=columns, max_decompressed_bytes=max_decompressed_bytes):
            seen.update(batch.schema.names)
            yield _with_columns(batch, columns)
            done += batch.num_rows
    except _JsonlFallback as failed:
        logger.info(
            "JSON lines the streaming reader cannot take; reading the rest exactly",
            extra={"source_uri": uri, "data_rows_done": done, "detail": str(failed)[:200]},
        )
        for batch in _jsonl_exact(
            uri, fmt, chunk_rows=chunk_rows, skip=done, max_decompressed_bytes=max_decompressed_bytes
        ):
            seen.update(batch.schema.names)
            yield _with_columns(batch, columns)
            done += batch.num_rows
    if done:
        _missing(uri, columns, sorted(seen))


def _with_columns(batch: pa.RecordBatch, columns: list[str] | None) -> pa.RecordBatch:
    if columns is None:
        return batch
    names = batch.schema.names
    arrays = [batch.column(names.index(c)) if c in names else pa.nulls(batch.num_rows) for c in columns]
    return pa.RecordBatch.from_arrays(arrays, names=columns)


def _jsonl_arrow(
    uri: str, fmt: Format, *, columns: list[str] | None, max_decompressed_bytes: int | None
) -> Iterator[pa.RecordBatch]:
    fs, path = _uri.filesystem(uri)
    with fs.open_input_stream(path, compression=None) as raw:
        source = _jsonl_source(uri, fmt, raw, max_decompressed_bytes)
        try:
            reader = pa_json.open_json(source, read_options=pa_json.ReadOptions(block_size=_CSV_BLOCK))
        except pa.ArrowInvalid as exc:
            raise _JsonlFallback(str(exc)) from exc
        if columns is not None and not set(columns) <= set(reader.schema.names):
            raise _JsonlFallback("a requested column is not in the first block")
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as exc:
                raise _JsonlFallback(str(exc)) from exc
            yield batch


def _jsonl_exact(
    uri: str, fmt: Format, *, chunk_rows: int, skip: int, max_decompressed_bytes: int | None
) -> Iterator[pa.RecordBatch]:
    """JSON lines parsed one by one (any length); each batch typed from its own values."""
    fs, path = _uri.filesystem(uri)
    with fs.open_input_stream(path, compression=None) as raw:
        source = _jsonl_source(uri, fmt, raw, max_decompressed_bytes)
        rows: list[dict[str, Any]] = []
        row = 0
        for line in _lines(source):
            if not line.strip():
                continue
            row += 1
            if row <= skip:
                continue
            try:
                value = json.loads(line)
            except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
                raise _reject(uri, f"malformed JSON at data row {row}", "malformed_jsonl", exc) from exc
            if not isinstance(value, dict):
                raise _reject(uri, f"data row {row} is not a JSON object", "malformed_jsonl")
            rows.append(value)
            if len(rows) == chunk_rows:
                yield _rows_to_batch(rows)
                rows = []
        if rows:
            yield _rows_to_batch(rows)


def _lines(source: Any, size: int = 1024 * 1024) -> Iterator[bytes]:
    """The lines of a byte stream, of any length."""
    rest = b""
    while True:
        block = source.read(size)
        if not block:
            break
        lines = (rest + block).split(b"\n")
        rest = lines.pop()
        yield from lines
    if rest:
        yield rest


def _rows_to_batch(rows: list[dict[str, Any]]) -> pa.RecordBatch:
    names = list(dict.fromkeys(k for r in rows for k in r))
    arrays = []
    for name in names:
        values = [r.get(name) for r in rows]
        try:
            arrays.append(pa.array(values))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError):
            # mixed JSON types (or an integer beyond int64): the JSON text, coerced by validation
            arrays.append(
                pa.array(
                    [v if v is None or isinstance(v, str) else json.dumps(v) for v in values], pa.string()
                )
            )
    return pa.RecordBatch.from_arrays(arrays, names=names)

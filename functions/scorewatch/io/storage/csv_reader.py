"""CSV reading: header checks, byte-range parts, the typed (float64) fast path and UTF-8 checks."""

from __future__ import annotations

import csv
import functools
import gzip
import io
import logging
import re
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from scorewatch.core.errors import REDACTED, InputRejectedError
from scorewatch.io.storage import uri as _uri
from scorewatch.io.storage.checks import _SNIFF_BYTES, _CappedReader, _missing, _reject
from scorewatch.io.storage.objects import read_head
from scorewatch.io.storage.uri import Format, ObjectInfo

logger = logging.getLogger(__name__)
# pyarrow quotes the offending cell ("invalid value '4111...'"): logs get the column, not the value.
_QUOTED = re.compile(r"'[^']*'")

# Arrow's streaming CSV/JSON readers read ahead a number of blocks: peak memory grows with the
# block size (4 MiB: ~170 MB Arrow memory, 1 MiB: ~45 MB, measured), so blocks stay small and
# _rechunk() assembles them into chunk_rows-sized batches.
_CSV_BLOCK = 1024 * 1024
#: A line longer than the block is read again with blocks 4x larger, up to this size.
MAX_LINE_BYTES = 64 * 1024 * 1024


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
        data: bytes = self._f.read_at(n, self._pos)
        self._pos += len(data)
        return data

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def _prefix_reader(prefix: bytes, rest: _Readable) -> Any:
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
    dupes = sorted(n for n, k in Counter(names).items() if k > 1)
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
    fs, path = _uri.filesystem(uri)
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
                raise _reject(uri, "corrupt gzip data", "truncated", exc) from exc
            if d.eof:
                break
        return out


def _csv_header(uri: str, fmt: Format, info: ObjectInfo) -> CsvHeader:
    n = _SNIFF_BYTES
    while True:
        head = _decompressed_head(uri, n) if fmt == "csv.gz" else read_head(uri, n)
        if b"\n" in head or len(head) < n:
            break
        if n >= MAX_LINE_BYTES:
            # never parse a cut header: its last names would be wrong and columns reported missing
            raise _reject(
                uri,
                f"the header line is longer than {MAX_LINE_BYTES // 2**20} MiB, the longest CSV line "
                "scorewatch reads; write the file as Parquet",
                "line_too_long",
            )
        n *= 4  # a very wide header: read more until the first newline
    return _parse_header(uri, head)


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
    done, block = 0, _CSV_BLOCK
    while True:
        try:
            for batch in read(typed=typed, skip=done, block_size=block):
                yield batch
                done += batch.num_rows
            return
        except _TypedParseFailed as failed:
            logger.info(
                "a numeric column holds a value the fast parser does not take; reading the rest as text",
                extra={
                    "source_uri": uri,
                    "data_rows_done": done,
                    "detail": _QUOTED.sub(REDACTED, str(failed))[:200],
                },
            )
            typed = []
        except _BlockTooSmall:
            if block >= MAX_LINE_BYTES:
                raise _reject(
                    uri,
                    f"a line after data row {done} is longer than {MAX_LINE_BYTES // 2**20} MiB, the longest "
                    "CSV line scorewatch reads; shorten the long field or write the file as Parquet",
                    "line_too_long",
                ) from None
            block *= 4  # a field longer than a block: read again, from the first row not yet yielded


class _BlockTooSmall(Exception):
    """A CSV field or line longer than the read block."""


def _block_error(exc: Exception) -> bool:
    text = str(exc)
    return "straddl" in text or "larger than block size" in text


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
    block_size: int = _CSV_BLOCK,
) -> Iterator[pa.RecordBatch]:
    """One pass over the CSV: ``typed`` columns as float64, ``encoded`` ones dictionary-encoded,
    the rest as text; all text is UTF-8-checked.

    The first ``skip`` data rows are read and dropped (the text re-read after a typed read
    failed), so row numbers in errors still count from the start of the file (or part). In a
    typed pass every failure — a value that does not parse, NaN or infinity (the text pass
    reports those with their raw text), even a malformed line — raises _TypedParseFailed for the
    caller to re-read as text, which then names the row and value.
    """
    fs, path = _uri.filesystem(uri)
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
    read_opts = pa_csv.ReadOptions(column_names=header.names, skip_rows=1, block_size=block_size)
    with fs.open_input_file(path) if fmt == "csv" else fs.open_input_stream(path, compression=None) as raw:
        if fmt == "csv.gz":
            limit = max_decompressed_bytes if max_decompressed_bytes is not None else 2**63
            source: Any = _CappedReader(gzip.GzipFile(fileobj=raw, mode="rb"), uri=uri, limit=limit)
            first_row: int | None = 1
        elif byte_range is not None:
            start, end = byte_range
            start = max(start, header.line_bytes)
            # the planner ends parts only at newlines outside quoted fields (planning._csv_bounds)
            # re-attach the header so every part parses the same way as the whole file
            source = _prefix_reader(b"\n", _RangeReader(raw, start, end))
            first_row = None  # not known for a part; errors report byte offsets instead
        else:
            source = raw
            first_row = 1
        try:
            reader = pa_csv.open_csv(source, read_options=read_opts, convert_options=convert)
        except pa.ArrowInvalid as exc:
            if _block_error(exc):
                raise _BlockTooSmall(str(exc)) from exc
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
                if _block_error(exc):
                    raise _BlockTooSmall(str(exc)) from exc
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
    # Arrow's text quotes the offending row: it stays in the report (see checks._reject).
    return _reject(uri, f"malformed CSV {where}after data row {rows_before}{hint}", reason, exc)


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

"""Planning large inputs: work estimates before reading, and splitting into scorable parts."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

from scorewatch.io.storage import uri as _uri
from scorewatch.io.storage.checks import _SNIFF_BYTES, _checked_format, _reject, _sniff
from scorewatch.io.storage.csv_reader import _csv_header
from scorewatch.io.storage.objects import read_head, stat
from scorewatch.io.storage.readers import _parquet_file
from scorewatch.io.storage.uri import Format, ObjectInfo, detect_format

#: Assumed inflation of gzip CSV/JSONL when only the compressed size is known.
GZIP_RATIO_FALLBACK = 6.0


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
        sample, ended = _inflate_members(compressed, limit=64 * 1024 * 1024)
        whole = ended and len(compressed) >= info.size  # every member of the file is in the sample
        ratio = len(sample) / len(compressed) if sample and len(compressed) >= _SNIFF_BYTES else 0.0
        # never below what the sample already inflated to (a small bomb stops the sample at its cap)
        total = len(sample) if whole else max(len(sample), int(info.size * (ratio or GZIP_RATIO_FALLBACK)))
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


def _inflate_members(compressed: bytes, *, limit: int) -> tuple[bytes, bool]:
    """(inflated bytes, whether the last member ended) of the start of a gzip file.

    A gzip file may hold many members one after another (bgzip writes one per 64 KiB): each is
    inflated in turn, so the sample's inflation ratio is the file's, not the first member's.
    """
    out: list[bytes] = []
    size = 0
    data = compressed
    while data and size < limit:
        d = zlib.decompressobj(wbits=31)
        try:
            out.append(d.decompress(data, limit - size))
        except zlib.error:
            return b"".join(out), False
        size += len(out[-1])
        if not d.eof:
            return b"".join(out), False
        data = d.unused_data
    return b"".join(out), not data


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
    ``target_bytes`` (a row group is never split). CSV: byte ranges aligned to row starts; each
    part is read with the file's header (see :func:`open_batches`). A boundary is a newline
    outside quoted fields (an even number of quotes before it, RFC 4180), so a quoted field
    holding newlines is never cut; this reads the whole file once. A file where no such newline
    is found for ``MAX_PART_FACTOR`` times the target (unbalanced quotes) is refused
    (InputRejectedError, ``not_splittable``). Gzip and JSONL input cannot be split
    (InputRejectedError, reason ``not_splittable``).

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
    bounds = _csv_bounds(uri, info, start=header.line_bytes, target_bytes=target_bytes)
    return [Part(index=i, byte_range=(bounds[i], bounds[i + 1])) for i in range(len(bounds) - 1)]


#: A CSV part may grow to this many times the target while its end looks for a newline outside
#: quotes; beyond it the file's quotes are taken as unbalanced and the split is refused.
MAX_PART_FACTOR = 8
_WINDOW = 8 * 1024 * 1024


def _csv_bounds(uri: str, info: ObjectInfo, *, start: int, target_bytes: int) -> list[int]:
    """Part starts (and the end) of a CSV's data region: newlines with an even quote count before.

    Counting every quote gives the quoting state at any byte of an RFC 4180 file (an escaped
    quote is two quotes), so each boundary is the first newline at or after the target offset
    outside a quoted field. One sequential pass; ``bytes.count``/``find`` do the scanning.
    """
    fs, path = _uri.filesystem(uri)
    size = info.size
    bounds = [start]
    target = start + target_bytes
    parity = 0
    pos = start
    with fs.open_input_file(path) as f:
        while pos < size:
            data = f.read_at(min(_WINDOW, size - pos), pos)
            if not data:
                break
            i = 0
            while i < len(data):
                want = target - 1 - pos  # a newline at or after byte target-1 ends a part at target
                if want >= len(data):
                    parity ^= data.count(b'"', i) & 1
                    i = len(data)
                    break
                want = max(want, i)
                parity ^= data.count(b'"', i, want) & 1
                nl = data.find(b"\n", want)
                if nl < 0:
                    parity ^= data.count(b'"', want) & 1
                    i = len(data)
                    break
                parity ^= data.count(b'"', want, nl) & 1
                i = nl + 1
                if parity:
                    if pos + i - bounds[-1] > MAX_PART_FACTOR * target_bytes:
                        raise _unbalanced(uri, bounds[-1], MAX_PART_FACTOR * target_bytes)
                    continue  # a newline inside a quoted field
                boundary = pos + nl + 1
                if boundary >= size:
                    break
                bounds.append(boundary)
                target = boundary + target_bytes
            pos += len(data)
            if pos - bounds[-1] > MAX_PART_FACTOR * target_bytes:
                raise _unbalanced(uri, bounds[-1], MAX_PART_FACTOR * target_bytes)
    bounds.append(size)
    return bounds


def _unbalanced(uri: str, start: int, limit: int) -> Exception:
    return _reject(
        uri,
        f"no row boundary outside quoted fields within {limit:,} bytes after byte {start:,} "
        "(unbalanced quotes?): the file cannot be split safely; check its quoting, or write it as Parquet",
        "not_splittable",
    )

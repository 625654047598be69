"""Input checks shared by the readers: content against extension, gzip limits, columns."""

from __future__ import annotations

import gzip
import io
import zlib
from typing import Any

from scorewatch.core.errors import (
    InputRejectedError,
    MissingColumnsError,
    UnsupportedFormatError,
)
from scorewatch.io.storage.objects import read_head, stat
from scorewatch.io.storage.uri import Format, ObjectInfo, detect_format

_PARQUET_MAGIC = b"PAR1"
_GZIP_MAGIC = b"\x1f\x8b"
_SNIFF_BYTES = 64 * 1024


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
            data: bytes = self._raw.read(size if size is not None and size >= 0 else -1)
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


def _checked_format(uri: str) -> tuple[Format, ObjectInfo]:
    fmt = detect_format(uri)
    info = stat(uri)
    if info.size == 0:
        raise _reject(uri, "file is empty (0 bytes)", "empty_file")
    _sniff(uri, fmt, read_head(uri, 8))
    return fmt, info


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

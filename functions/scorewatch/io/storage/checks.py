"""Input checks shared by the readers: content against extension, gzip limits, columns."""

from __future__ import annotations

import gzip
import io
import unicodedata
import zlib
from collections.abc import Sequence
from typing import Any

from scorewatch.core.errors import (
    InputRejectedError,
    MissingColumnsError,
    UnsupportedFormatError,
    with_library_detail,
)
from scorewatch.io.storage.objects import read_head, stat
from scorewatch.io.storage.uri import Format, ObjectInfo, detect_format

_PARQUET_MAGIC = b"PAR1"
_GZIP_MAGIC = b"\x1f\x8b"
_SNIFF_BYTES = 64 * 1024


# ------------------------------------------------------------------------------------ input checks
def _reject(uri: str, message: str, reason: str, exc: BaseException | None = None) -> InputRejectedError:
    if exc is not None:
        return with_library_detail(f"{uri}: {message}", exc, source_uri=uri, reason=reason)
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
                f"truncated or corrupt gzip data after {self.count} decompressed bytes",
                "truncated",
                exc,
            ) from exc
        self.count += len(data)
        if self.count > self._limit:
            raise _reject(
                self._uri,
                f"decompressed size exceeds the limit of {self._limit:,} bytes (a gzip bomb, or a file "
                "larger than its size estimate); split the file, or raise the limit: the model's "
                "max_input_bytes setting for the score function, score_source(max_decompressed_bytes=...) "
                "in Python",
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
            f"{uri}: missing required column(s): {', '.join(missing)}{column_hints(missing, have)}",
            source_uri=uri,
            reason="missing_columns",
        )


def _visible(name: str) -> str:
    """``name`` without invisible characters (format characters such as U+200B, U+FEFF, U+00AD)
    and with other Unicode spaces as plain spaces, stripped and case-folded."""
    kept = "".join(" " if unicodedata.category(ch) == "Zs" else ch for ch in name)
    kept = "".join(ch for ch in kept if unicodedata.category(ch) not in ("Cf", "Cc"))
    return unicodedata.normalize("NFKC", kept).strip().casefold()


def column_hints(missing: Sequence[str], present: Sequence[str]) -> str:
    """A hint for each missing column that the file has under a name differing only by invisible
    characters, other spaces or case (``""`` when there is none).

    >>> print(column_hints(["age"], ["age\u200b", "name"]).strip())
    (the file has 'age\\u200b' for 'age': it contains U+200B ZERO WIDTH SPACE)
    """
    by_visible: dict[str, str] = {}
    for name in present:
        by_visible.setdefault(_visible(name), name)
    hints = []
    for name in missing:
        near = by_visible.get(_visible(name))
        if near is None or near == name:
            continue
        odd = sorted({ch for ch in near if ch not in name and not ch.isalnum()})
        what = ", ".join(f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed character')}" for ch in odd)
        detail = f": it contains {what}" if what else ": the letter case differs"
        hints.append(f"'{near.encode('unicode_escape').decode()}' for {name!r}{detail}")
    return f" (the file has {'; '.join(hints)})" if hints else ""

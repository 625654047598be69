"""Read and write data by URI: local paths and ``s3://bucket/key``, through ``pyarrow.fs`` and boto3.

This package owns every byte of data that moves between scorewatch and a file or an S3 object:
URI parsing and filesystem resolution (``uri``), the S3 endpoint, region and clients (``s3``, the
one documented place below the handlers that reads the environment), metadata and whole-object
reads (``objects``), input checks shared by the readers (``checks``), streaming readers that never
hold a whole file (``readers``, with CSV in ``csv_reader``), atomic writers and ``ParquetSink``
(``writers``), and work estimates and part plans for large inputs (``planning``). Its modules may
import ``scorewatch.core`` and third-party I/O libraries (pyarrow, boto3/botocore) only. The
public names are re-exported here, so ``from scorewatch.io import storage; storage.X`` is the way
to use it; patch a name in the module that defines it (e.g. ``storage.uri.filesystem``).
"""

from __future__ import annotations

from scorewatch.io.storage.csv_reader import CsvHeader
from scorewatch.io.storage.objects import (
    exists,
    list_uris,
    read_bytes,
    read_head,
    read_json,
    source_identity,
    stat,
)
from scorewatch.io.storage.planning import (
    GZIP_RATIO_FALLBACK,
    Part,
    WorkEstimate,
    estimate_work,
    plan_parts,
)
from scorewatch.io.storage.readers import (
    DEFAULT_MAX_DECOMPRESSED_BYTES,
    open_batches,
    read_schema,
    read_table,
)
from scorewatch.io.storage.s3 import s3_client
from scorewatch.io.storage.uri import (
    FORMATS,
    Format,
    Location,
    ObjectInfo,
    detect_format,
    filesystem,
    join,
    parse_uri,
)
from scorewatch.io.storage.writers import ParquetSink, write_bytes, write_json, write_table

__all__ = [
    "DEFAULT_MAX_DECOMPRESSED_BYTES",
    "FORMATS",
    "GZIP_RATIO_FALLBACK",
    "CsvHeader",
    "Format",
    "Location",
    "ObjectInfo",
    "ParquetSink",
    "Part",
    "WorkEstimate",
    "detect_format",
    "estimate_work",
    "exists",
    "filesystem",
    "join",
    "list_uris",
    "open_batches",
    "parse_uri",
    "plan_parts",
    "read_bytes",
    "read_head",
    "read_json",
    "read_schema",
    "read_table",
    "s3_client",
    "source_identity",
    "stat",
    "write_bytes",
    "write_json",
    "write_table",
]

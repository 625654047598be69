"""What was rejected, written down: every rejected row of a scored batch, or a whole-file report."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import pyarrow as pa

from scorewatch.core.errors import InputRejectedError
from scorewatch.io import storage

if TYPE_CHECKING:  # validation imports pandas: the split and finalize functions import this module
    from scorewatch.scoring.validation import RejectedRow

#: Rejected rows listed in a whole-file rejection *report* (JSON). A scored batch keeps and
#: writes every rejected row: the record of which rows were rejected is never capped.
REJECTED_SAMPLE = 1000


def write_rejections(
    uri: str,
    source_uri: str,
    rejected: Sequence[RejectedRow],
    *,
    reason: str,
    message: str | None = None,
    rows_in: int | None = None,
    rows_rejected: int | None = None,
    rejected_at: datetime | None = None,
) -> str:
    """Write what was rejected: a Parquet table of rows, or a JSON report for a whole file.

    Parameters
    ----------
    uri : str
        Ends in ``.parquet`` (one row per rejected row, all of them: ``row, column, value,
        reason, source_uri, batch_reason`` and the id columns) or ``.json`` (a report for a whole
        file: source, reason, message, counts, the first ``REJECTED_SAMPLE`` rows).
    source_uri : str
    rejected : sequence of RejectedRow
    reason : str
        Machine-readable reason (``InputRejectedError.reason``).
    message : str, optional
        The error text for whole-file rejections.
    rows_in, rows_rejected : int, optional
        Counts for the report (``rows_rejected`` defaults to ``len(rejected)``).

    Returns
    -------
    str
        ``uri``.
    """
    if uri.endswith(".json"):
        storage.write_json(
            uri,
            {
                "source_uri": source_uri,
                "reason": reason,
                "message": message,
                "rows_in": rows_in,
                "rows_rejected": rows_rejected if rows_rejected is not None else len(rejected),
                # orders the rejection against the source's scored results (io.scored)
                "rejected_at": rejected_at.isoformat() if rejected_at is not None else None,
                "rejected_sample": [
                    {
                        "row": r.row,
                        "column": r.column,
                        "value": r.value,
                        "reason": r.reason,
                        "ids": dict(r.ids),
                    }
                    for r in list(rejected)[:REJECTED_SAMPLE]
                ],
            },
        )
        return uri
    if not uri.endswith(".parquet"):
        raise ValueError(f"write_rejections: {uri!r} must end in .parquet or .json")
    cols = {
        "row": pa.array([r.row for r in rejected], pa.int64()),
        "column": pa.array([r.column for r in rejected], pa.string()),
        "value": pa.array([r.value for r in rejected], pa.string()),
        "reason": pa.array([r.reason for r in rejected], pa.string()),
        "source_uri": pa.array([source_uri] * len(rejected), pa.string()),
        "batch_reason": pa.array([reason] * len(rejected), pa.string()),
    }
    # The declared id columns, as read (text), under their own names (``id_<name>`` if one
    # collides with a column above).
    id_names = list(dict.fromkeys(name for r in rejected for name, _ in r.ids))
    for name in id_names:
        values = [dict(r.ids).get(name) for r in rejected]
        cols[name if name not in cols else f"id_{name}"] = pa.array(values, pa.string())
    table = pa.table(cols)
    storage.write_table(uri, table)
    return uri


def public_message(exc: Exception) -> str:
    """What an event may say about a rejection: no raw input values (``InputRejectedError``)."""
    return getattr(exc, "public_message", None) or str(exc)


#: Arrow's errors for values it cannot parse or convert (not its I/O errors: those are OSError).
ARROW_DATA_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError)


def unreadable_input(uri: str, exc: BaseException) -> InputRejectedError:
    """A whole-file rejection for an Arrow data error that reached the batch boundary.

    Arrow's text can quote an input value, so it goes to the log only as the error type and the
    place it was raised; the message names the file and what to do.
    """
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f"{tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}" if tb else "unknown"
    logging.getLogger(__name__).error(
        "input rejected: Arrow could not read its values",
        extra={"source_uri": uri, "error_type": type(exc).__name__, "raised_at": where},
    )
    return InputRejectedError(
        f"{uri}: the file holds values that cannot be read or converted ({type(exc).__name__}); "
        "check that each column holds one type, or write the file as CSV",
        source_uri=uri,
        reason="unreadable_input",
    )

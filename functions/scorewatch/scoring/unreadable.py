"""Input Arrow could not read, and what an event may say about a rejection.

Kept free of pandas so the split and finalize functions, which import the batch orchestration,
do not load it.
"""

from __future__ import annotations

import logging

import pyarrow as pa

from scorewatch.core.errors import InputRejectedError


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

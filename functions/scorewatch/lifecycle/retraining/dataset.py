"""Training-run files: Parquet bytes and the time-based holdout split."""

from __future__ import annotations

import io

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

MIN_ROWS = 20
TIME_COLUMN = "_time"
ROW_ORDER = "_order"
CHUNK_ROWS = 65_536
EPOCH = pd.Timestamp(0, tz="UTC")


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buf)
    return buf.getvalue()


def time_split(frame: pd.DataFrame, *, holdout_fraction: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The latest ``holdout_fraction`` of rows (by ``_time``, then arrival order) is the holdout.

    >>> t = pd.to_datetime(["2026-01-03", "2026-01-01", "2026-01-02"])
    >>> f = pd.DataFrame({"_time": t, "x": [3, 1, 2]})
    >>> [s["x"].tolist() for s in time_split(f, holdout_fraction=0.34)]
    [[1, 2], [3]]
    """
    ordered = frame.sort_values(
        [TIME_COLUMN, ROW_ORDER] if ROW_ORDER in frame else [TIME_COLUMN], kind="stable"
    )
    n_hold = max(1, round(len(ordered) * holdout_fraction))
    n_hold = min(n_hold, len(ordered) - 1)
    return ordered.iloc[: len(ordered) - n_hold].reset_index(drop=True), ordered.iloc[
        len(ordered) - n_hold :
    ].reset_index(drop=True)


# ---------------------------------------------------------------------------------- steps

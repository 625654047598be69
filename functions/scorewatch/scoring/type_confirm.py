"""The sampled schema inference confirmed on the full stream, in bounded memory.

:func:`scorewatch.scoring.schema_inference.infer_frame` types columns from the first chunk. A
:class:`TypeConfirmer` then sees every record batch of the file (the one it was inferred from
too) and counts, per column, what the chosen type and role rest on; :meth:`TypeConfirmer.finish`
applies the sample's rules to the counts over all rows, so the same file gets the same types
whatever the chunk size, and every reason counts the whole file
(``"numeric: 7032 of 7043 non-blank values parse, 11 blank"``).

The rules on a contradiction (the thresholds are :mod:`~scorewatch.scoring.schema_inference`'s):

* numeric (from text) stays numeric while at most ``UNPARSED_SHARE`` of the non-blank values
  over the file do not parse (those rows are invalid values, as in the sample); past that it is
  widened to categorical, the reason saying how many did not parse. The same rule narrows a
  column the sample called categorical to numeric when over the file its values do parse.
* datetime (from text) stays datetime while at most ``UNPARSED_SHARE`` of the non-blank values
  are not timestamps, else categorical.
* an identifier stays one while the file's distinct share holds (``UNIQUE_SHARE``, or
  ``NAMED_ID_SHARE`` for a column named like one) or its integers stay strictly monotone; else it
  becomes a feature. Free text stays text while its mean length and distinct share hold.

A column's type only moves between numeric, categorical and datetime (bool and datetime dtypes
are the file's). Distinct values are counted with a fixed bitmap of hashes (linear counting,
:data:`SKETCH_BITS` flags: 8 MiB per identifier or text column, within a fraction of a
percent up to tens of millions of values), so memory does not grow with the file. Values are
checked in Arrow (trimmed, blank tokens, a float cast, the timestamp pattern); only a batch
where some values do not parse falls back to the sample's pandas rule on its distinct values.

No I/O: frames in, a :class:`FrameInference` out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from scorewatch.core.schema import FeatureSchema, FeatureSpec
from scorewatch.monitoring.profiles import MISSING_TOKENS
from scorewatch.scoring import schema_inference as si

#: Bits of the distinct-value bitmap of an identifier or text column.
SKETCH_BITS = 1 << 23
_TOKENS = pa.array(sorted(MISSING_TOKENS))
#: The timestamp pattern of the sample's rule, for Arrow's regex engine.
_TIMESTAMP_RE2 = si._TIMESTAMP.pattern


@dataclass
class _Counts:
    """What one column's type and role rest on, counted over every row seen."""

    inferred: si.ColumnInference
    sketch: bool
    rows: int = 0
    blank: int = 0
    parse: int = 0
    stamps: int = 0
    length: int = 0
    text_batches: int = 0
    first_bad: str | None = None
    integral: bool = True
    up: bool = True
    down: bool = True
    last: float | None = None
    bits: np.ndarray | None = field(default=None, repr=False)

    @property
    def present(self) -> int:
        return self.rows - self.blank

    def distinct(self) -> int:
        """Linear-counting estimate of the distinct non-blank values seen."""
        if self.bits is None:
            return 0
        zeros = SKETCH_BITS - int(np.count_nonzero(self.bits))
        if zeros == 0:
            return self.present
        return min(self.present, round(-SKETCH_BITS * np.log(zeros / SKETCH_BITS)))

    def _hash(self, values: np.ndarray) -> None:
        if self.bits is None:
            self.bits = np.zeros(SKETCH_BITS, dtype=bool)
        if values.size:
            h = pd.util.hash_array(values, categorize=False)
            self.bits[(h & np.uint64(SKETCH_BITS - 1)).astype(np.int64)] = True

    def update(self, arr: pa.Array) -> None:
        """Count one batch of the column (an Arrow array: counted in C++ where it can be)."""
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        n = len(arr)
        self.rows += n
        t = arr.type
        if pa.types.is_boolean(t) or pa.types.is_temporal(t):
            self.blank += arr.null_count
            self.stamps += n - arr.null_count
            return
        if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
            values = pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
            keep = ~np.isnan(values)
            self.blank += n - int(keep.sum())
            self._numbers(values[keep])
            return
        if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
            arr = pc.cast(arr, pa.string())
        self._text(arr)

    def _text(self, arr: pa.Array) -> None:
        self.text_batches += 1
        trimmed = pc.utf8_trim_whitespace(arr)
        blank = pc.fill_null(pc.is_in(pc.utf8_lower(trimmed), value_set=_TOKENS), True)
        vals = pc.filter(trimmed, pc.invert(blank))
        present = len(vals)
        self.blank += len(arr) - present
        if not present:
            return
        c = self.inferred
        # Text identifiers, free text and timestamps are not numbers whatever share of them parses
        # (the sample typed them with more than UNPARSED_SHARE not parsing): only numeric columns
        # and categorical features are counted.
        counted = c.type == "numeric" or (c.role == "feature" and c.type == "categorical")
        numbers = _floats(vals) if counted else None
        if numbers is not None:
            self.parse += present
        elif counted:  # some do not parse: the sample's rule (pandas) on the distinct values
            vc = pc.value_counts(vals)  # in order of first appearance
            distinct = pd.Series(vc.field("values").to_numpy(zero_copy_only=False), dtype=object)
            counts = vc.field("counts").to_numpy(zero_copy_only=False)
            ok = pd.to_numeric(distinct, errors="coerce").notna().to_numpy()
            self.parse += int(counts[ok].sum())
            if self.first_bad is None and not ok.all():
                self.first_bad = str(distinct.iloc[int(np.argmin(ok))])[:20]
        if c.type == "datetime":
            self.stamps += int(pc.sum(pc.match_substring_regex(vals, _TIMESTAMP_RE2)).as_py() or 0)
        if c.role == "text":
            self.length += int(pc.sum(pc.utf8_length(vals)).as_py() or 0)
        if self.sketch:
            self._hash(vals.to_numpy(zero_copy_only=False))
        if c.role == "id" and c.type == "numeric":
            if numbers is None:
                numbers = pd.to_numeric(vals.to_pandas(), errors="coerce").to_numpy(dtype=float)
                numbers = numbers[~np.isnan(numbers)]
            self._monotone(numbers)

    def _numbers(self, values: np.ndarray) -> None:
        self.parse += int(values.size)
        if self.sketch:
            self._hash(values)
        self._monotone(values)

    def _monotone(self, values: np.ndarray) -> None:
        if not values.size or not (self.up or self.down):
            return
        self.integral = self.integral and bool(np.all(values == np.round(values)))
        chain = values if self.last is None else np.concatenate(([self.last], values))
        diffs = np.diff(chain)
        self.up = self.up and bool(np.all(diffs > 0))
        self.down = self.down and bool(np.all(diffs < 0))
        self.last = float(values[-1])


class TypeConfirmer:
    """Counts every batch of a file against a sampled :class:`~.schema_inference.FrameInference`.

    Examples
    --------
    >>> head = pd.DataFrame({"x": ["1", "2", "3"] * 10})
    >>> confirmer = TypeConfirmer(si.infer_frame(head))
    >>> confirmer.update(head)
    >>> confirmer.update(pd.DataFrame({"x": ["a", "b", "c"] * 10}))
    >>> print(confirmer.finish().columns[0].reason)  # doctest: +NORMALIZE_WHITESPACE
    categorical: numeric in the sample, but 30 of 60 non-blank values over the file do not parse
    (e.g. 'a'), more than 5%
    """

    def __init__(self, inferred: si.FrameInference):
        self.inferred = inferred
        self._cols = {
            c.name: _Counts(c, sketch=c.role in ("id", "text"))
            for c in inferred.columns
            if c.role in ("feature", "id", "text") or c.type == "datetime"
        }

    @property
    def columns(self) -> list[str]:
        """The columns being confirmed (features, identifiers, text, datetimes)."""
        return list(self._cols)

    def update(self, batch: pa.RecordBatch | pa.Table | pd.DataFrame) -> None:
        """Count one batch (the columns it lacks are counted as not seen)."""
        for name, counts in self._cols.items():
            if isinstance(batch, pd.DataFrame):
                if name in batch.columns:
                    counts.update(_arrow(batch[name]))
            elif name in batch.column_names:
                counts.update(batch.column(name))

    def finish(self) -> si.FrameInference:
        """The inference with every column's type, role and reason over all the rows seen."""
        columns = tuple(
            _confirmed(self._cols[c.name]) if c.name in self._cols else c for c in self.inferred.columns
        )
        features = tuple(FeatureSpec(name=c.name, type=c.type) for c in columns if c.role == "feature")
        if not features:
            return self.inferred
        ids = tuple(c.name for c in columns if c.role == "id")
        schema = FeatureSchema(features=features, id_columns=ids)
        return si.FrameInference(schema=schema, columns=columns)


def confirm(inferred: si.FrameInference, frames: Iterable[pd.DataFrame]) -> si.FrameInference:
    """:class:`TypeConfirmer` over ``frames`` (every batch of the file, the first one included)."""
    confirmer = TypeConfirmer(inferred)
    for frame in frames:
        confirmer.update(frame)
    return confirmer.finish()


def changed(before: si.FrameInference, after: si.FrameInference) -> bool:
    """Whether confirming changed a type or a role (and so what a profile holds)."""
    return [(c.name, c.type, c.role) for c in before.columns] != [
        (c.name, c.type, c.role) for c in after.columns
    ]


def _confirmed(n: _Counts) -> si.ColumnInference:
    c = n.inferred
    if n.rows == 0:
        return c
    if c.type == "boolean" or (c.type == "datetime" and not n.text_batches):
        return c  # typed by the file's dtype: nothing to contradict
    present = n.present
    if not present:
        return replace(
            c, type="categorical", role="feature", reason=f"categorical: all {n.rows} values are missing"
        )
    fails = present - n.parse
    numeric_ok = n.parse > 0 and fails <= si.UNPARSED_SHARE * present
    if c.type == "numeric" or (c.type == "categorical" and numeric_ok):
        if numeric_ok:
            return _numeric(n, fails)
        return _as_feature(
            n,
            "categorical",
            f"categorical: numeric in the sample, but {fails} of {present} non-blank values over the file "
            f"do not parse (e.g. {n.first_bad!r}), more than {si.UNPARSED_SHARE:.0%}",
        )
    if c.type == "datetime":
        off = present - n.stamps
        if off <= si.UNPARSED_SHARE * present:
            return replace(
                c,
                reason=f"datetime: {n.stamps} of {present} non-blank values are timestamps; a timestamp is "
                "not compared across batches (each batch covers a new period)",
            )
        return _as_feature(
            n,
            "categorical",
            f"categorical: timestamps in the sample, but {off} of {present} non-blank values over the "
            f"file are not, more than {si.UNPARSED_SHARE:.0%}",
        )
    return _categorical(n)


def _numeric(n: _Counts, fails: int) -> si.ColumnInference:
    c = n.inferred
    if n.text_batches:
        reason = f"numeric: {n.parse} of {n.present} non-blank values parse, {n.blank} blank"
        if fails:
            reason += f", {fails} do not parse (e.g. {n.first_bad!r})"
    else:
        reason = f"numeric: numeric dtype, {n.present} of {n.rows} values present"
    role: si.Role = "feature"
    why = None
    if c.role == "id" and c.type == "numeric":
        share = n.distinct() / n.present if n.sketch and n.present else 0.0
        if si.looks_like_id_name(c.name) and share >= si.NAMED_ID_SHARE:
            role, why = "id", f"identifier (named like one, {share:.0%} distinct)"
        elif n.integral and (n.up or n.down) and n.present >= si.MIN_ROWS_FOR_ROLE:
            role, why = "id", "identifier (strictly monotone integers)"
        else:
            why = f"not an identifier over the file ({share:.0%} distinct, not strictly monotone)"
    elif c.role == "id":  # a text id whose values are numbers: judged on its distinct share
        return _categorical(n)
    return replace(c, type="numeric", role=role, reason=f"{reason}; {why}" if why else reason)


def _categorical(n: _Counts) -> si.ColumnInference:
    c = n.inferred
    if c.role not in ("id", "text"):
        return replace(c, type="categorical", reason=c.reason if c.type == "categorical" else _cat_reason(n))
    distinct = n.distinct()
    share = distinct / n.present
    reason = f"categorical: about {distinct} distinct of {n.present} non-blank values over the file"
    if c.role == "text":
        mean_len = n.length / n.present
        if mean_len >= si.TEXT_MIN_LENGTH and share >= si.NAMED_ID_SHARE:
            return replace(
                c,
                reason=f"{reason}; free text (mean length {mean_len:.0f}, {share:.0%} distinct): "
                "not profiled",
            )
        return _as_feature(
            n, "categorical", f"{reason}; not free text over the file (mean length {mean_len:.0f})"
        )
    if share >= si.UNIQUE_SHARE:
        return replace(c, type="categorical", reason=f"{reason}; identifier ({share:.1%} distinct)")
    if si.looks_like_id_name(c.name) and share >= si.NAMED_ID_SHARE:
        return replace(
            c, type="categorical", reason=f"{reason}; identifier (named like one, {share:.0%} distinct)"
        )
    return _as_feature(n, "categorical", f"{reason}; not an identifier over the file ({share:.1%} distinct)")


def _cat_reason(n: _Counts) -> str:
    return f"categorical: {n.present - n.parse} of {n.present} non-blank values over the file do not parse"


def _as_feature(n: _Counts, type_: si.FeatureType, reason: str) -> si.ColumnInference:
    return replace(n.inferred, type=type_, role="feature", reason=reason)


def sampled_inference(sample: pd.DataFrame, names: Iterable[str]) -> si.FrameInference | None:
    """The frame inference of the features ``names`` typed from ``sample`` (all features: the
    estimator consumes them, so no id or text role), to confirm on the full input; None without any."""
    cols = [n for n in names if n in sample.columns]
    if not cols:
        return None
    return si.infer_frame(sample[cols], detect_ids=False)


def retyped(schema: FeatureSchema, confirmed: si.FrameInference) -> FeatureSchema:
    """``schema`` with the types ``confirmed`` gives its features (the others unchanged)."""
    types = {c.name: c.type for c in confirmed.columns}
    features = tuple(
        f if types.get(f.name, f.type) == f.type else FeatureSpec(name=f.name, type=types[f.name])
        for f in schema.features
    )
    return schema.model_copy(update={"features": features})


def _floats(vals: pa.Array) -> np.ndarray | None:
    """``vals`` as float64 when every one parses (in C++), else None. The first values are tried
    first: a failing cast of a whole batch of text costs far more than a successful one."""
    try:
        pc.cast(vals.slice(0, 64), pa.float64())
        return pc.cast(vals, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _arrow(series: pd.Series) -> pa.Array:
    """A pandas column as Arrow (mixed object columns as text, missing values null)."""
    try:
        return pa.array(series, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        text = [None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in series]
        return pa.array(text, type=pa.string())

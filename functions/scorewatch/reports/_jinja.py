"""The Jinja2 environment shared by the HTML reports: package templates, autoescape always on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).with_name("templates")


def fmt(value: Any, spec: str) -> str:
    """``format(value, spec)`` as a filter: ``{{ x|fmt(".1%") }}``."""
    return format(value, spec)


def environment(*, finalize: Callable[[Any], Any] | None = None, **filters: Any) -> Environment:
    """An environment on ``reports/templates`` with autoescape on for every template and string."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=finalize,
    )
    env.filters.update(fmt=fmt, **filters)
    return env

"""The local cloud: the synthesized stack on an embedded AWS emulator, handlers in-process.

The names below are resolved lazily, so importing a submodule (``scorewatch_infra.local.cli``,
which the ``scorewatch`` command loads to register ``demo`` and ``local``) does not import the
emulator (moto) until a command actually runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scorewatch_infra.local.cloud import ExecutionRecord, LocalCloud
    from scorewatch_infra.local.template import Template, TemplateError, UnsupportedResourceError

_EXPORTS = {
    "ExecutionRecord": "scorewatch_infra.local.cloud",
    "LocalCloud": "scorewatch_infra.local.cloud",
    "Template": "scorewatch_infra.local.template",
    "TemplateError": "scorewatch_infra.local.template",
    "UnsupportedResourceError": "scorewatch_infra.local.template",
}

__all__ = ["ExecutionRecord", "LocalCloud", "Template", "TemplateError", "UnsupportedResourceError"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""The local cloud: the synthesized stack on an embedded AWS emulator, handlers in-process."""

from scorewatch_infra.local.cloud import ExecutionRecord, LocalCloud
from scorewatch_infra.local.template import Template, TemplateError, UnsupportedResourceError

__all__ = ["ExecutionRecord", "LocalCloud", "Template", "TemplateError", "UnsupportedResourceError"]

"""mkdocs hook: generate the reference pages from the code on every build.

``on_files`` adds, as in-memory files, ``reference/configuration.md`` (+ the JSON Schemas of the
configuration and of a feature schema), ``reference/cli.md`` and ``reference/events-metrics.md``.
They are never written to docs/, so they cannot drift from the code: a build renders whatever the
code declares now, and a field without a description fails the (strict) build.
"""

from __future__ import annotations

import reference_cli
import reference_config
import reference_contract
from mkdocs.structure.files import File, Files

PAGES = {
    "reference/configuration.md": reference_config.render,
    f"reference/{reference_config.SCHEMA_FILE}": reference_config.json_schema,
    f"reference/{reference_config.FEATURE_SCHEMA_FILE}": reference_config.feature_schema_json_schema,
    "reference/cli.md": reference_cli.render,
    "reference/events-metrics.md": reference_contract.render,
}


def on_files(files: Files, config) -> Files:
    for uri, render in PAGES.items():
        existing = files.get_file_from_path(uri)
        if existing is not None:
            files.remove(existing)
        files.append(File.generated(config, uri, content=render()))
    return files

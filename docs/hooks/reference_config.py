"""The configuration reference page and JSON Schema, generated from ``scorewatch.core.config``.

Every section is one pydantic model, reached from ``ScorewatchConfig`` by its field path
(``models[].drift``); every row one field with its type, default, constraints and description.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Iterator

from pydantic import BaseModel
from reference_tables import anchor, code, constraints_text, default_text, prose, table, type_name

from scorewatch.core import config

SCHEMA_FILE = "scorewatch-config.schema.json"
#: The JSON Schema of a feature schema file (``--schema``; ``schema infer`` prints one).
FEATURE_SCHEMA_FILE = "scorewatch-feature-schema.schema.json"


def _fields(model: type[BaseModel]) -> Iterator[tuple[str, typing.Any]]:
    """(document key, field) of every field: the alias where there is one (``schema``)."""
    for name, field in model.model_fields.items():
        yield field.alias or name, field


def _models_in(annotation: object) -> Iterator[tuple[str, type[BaseModel]]]:
    """Nested models of an annotation with the path suffix that reaches them (``[]``, ``.<key>``)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield "", annotation
    elif origin is tuple and args:
        for suffix, model in _models_in(args[0]):
            yield "[]" + suffix, model
    elif origin is dict and args:
        for suffix, model in _models_in(args[1]):
            yield ".<key>" + suffix, model
    else:
        for arg in args:
            yield from _models_in(arg)


def sections(root: type[BaseModel] = config.ScorewatchConfig) -> list[tuple[str, type[BaseModel]]]:
    """(path, model) for the root and every nested model, depth first in field order."""
    found: list[tuple[str, type[BaseModel]]] = []

    def walk(path: str, model: type[BaseModel]) -> None:
        found.append((path, model))
        for name, field in _fields(model):
            for suffix, nested in _models_in(field.annotation):
                walk(f"{path}.{name}{suffix}" if path else f"{name}{suffix}", nested)

    walk("", root)
    return found


def field_paths(root: type[BaseModel] = config.ScorewatchConfig) -> list[str]:
    """Dotted path of every field, e.g. ``models[].drift.cooldown_minutes``."""
    return [f"{p}.{n}" if p else n for p, model in sections(root) for n, _ in _fields(model)]


def render(root: type[BaseModel] = config.ScorewatchConfig) -> str:
    """The Markdown page.

    Raises
    ------
    ValueError
        A field has no description (every field must say what it does).
    """
    found = sections(root)
    ids = {model: anchor(path or "top-level") for path, model in reversed(found)}
    missing = [
        f"{path}.{name}" if path else name
        for path, model in found
        for name, field in _fields(model)
        if not field.description
    ]
    if missing:
        raise ValueError(f"configuration fields without a description: {', '.join(missing)}")

    out = [
        "# Configuration reference\n",
        "Generated from the pydantic models in `scorewatch.core.config` when the site is built. "
        "What the sections are for, and how infra uses them, is in "
        "[Configuration](../configuration.md). Every section rejects unknown keys; "
        "`<key>` stands for a name you choose (a column, a metric).\n",
        f"The same models as JSON Schema (for editors and validators): [{SCHEMA_FILE}]({SCHEMA_FILE}).\n",
    ]
    for path, model in found:
        title = path or "Top level"
        out.append(f"## {code(path) if path else title} {{#{ids[model]}}}\n")
        doc = (model.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        if doc:
            out.append(doc.replace("``", "`") + "\n")
        rows = []
        for name, field in _fields(model):
            rows.append(
                (
                    code(name),
                    type_name(field.annotation, link=lambda m: f"#{ids[m]}" if m in ids else None),
                    default_text(field),
                    constraints_text(field),
                    prose(field.description),
                )
            )
        out.append(table(("field", "type", "default", "constraints", "description"), rows))
    return "\n".join(out)


def json_schema(root: type[BaseModel] = config.ScorewatchConfig) -> str:
    """The JSON Schema of the configuration file (validation mode), pretty-printed."""
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **root.model_json_schema(mode="validation"),
        "title": "scorewatch models configuration",
    }
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def feature_schema_json_schema() -> str:
    """The JSON Schema of a feature schema file (a bare ``FeatureSchema``), pretty-printed."""
    from scorewatch.core.schema import FeatureSchema

    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **FeatureSchema.model_json_schema(mode="validation"),
        "title": "scorewatch feature schema",
    }
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"

"""The generated reference pages (docs/hooks/reference_*.py) cover everything the code declares.

Each test walks the code on its own (pydantic fields, the argparse tree, the contract classes) and
checks that the page the mkdocs hook renders names every item, so a field, command, option,
event or metric left out of a page fails here, not silently on the site.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
import typing
from pathlib import Path

import jsonschema
import pytest
from pydantic import BaseModel, Field

from scorewatch.cli import build_parser
from scorewatch.core import config, contract
from scorewatch.io.events import DETAIL_MODELS
from scorewatch.io.metrics import UNITS

REPO = Path(__file__).resolve().parents[2]
HOOKS = REPO / "docs" / "hooks"


def _hook_module(name: str):
    if str(HOOKS) not in sys.path:
        sys.path.insert(0, str(HOOKS))
    return importlib.import_module(name)


reference_config = _hook_module("reference_config")
reference_cli = _hook_module("reference_cli")
reference_contract = _hook_module("reference_contract")
reference_pages = _hook_module("reference_pages")


def _sections(page: str, level: str = "## ") -> dict[str, str]:
    """Heading text (without the ``{#id}``) -> the Markdown up to the next heading of that level."""
    out = {}
    for chunk in page.split("\n" + level)[1:]:
        heading, _, body = chunk.partition("\n")
        out[heading.split(" {#")[0].strip("`")] = body
    return out


def _row_of(body: str, first_cell: str) -> str:
    rows = [line for line in body.splitlines() if line.startswith(f"| {first_cell} |")]
    assert rows, f"no table row for {first_cell} in:\n{body}"
    return rows[0]


def _argument_row(body: str, argument: str) -> str:
    """The table row whose first cell documents ``argument`` (``--model REF`` documents ``--model``)."""
    for line in body.splitlines():
        first = line.split(" | ")[0].removeprefix("| ")
        if argument in {span.split()[0] for span in re.findall(r"`([^`]+)`", first)}:
            return line
    raise AssertionError(f"no table row for {argument} in:\n{body}")


# -- configuration -------------------------------------------------------------------------------


def _config_sections() -> dict[str, type[BaseModel]]:
    """Every nested model of ScorewatchConfig by its path, found independently of the generator."""
    found: dict[str, type[BaseModel]] = {}

    def nested(annotation, suffix=""):
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield suffix, annotation
            return
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if origin is tuple:
            yield from nested(args[0], suffix + "[]")
        elif origin is dict:
            yield from nested(args[1], suffix + ".<key>")
        else:
            for arg in args:
                yield from nested(arg, suffix)

    def walk(path, model):
        found[path] = model
        for name, field in model.model_fields.items():
            key = field.alias or name  # the document's key (ModelConfig.feature_schema is "schema")
            for suffix, child in nested(field.annotation):
                walk(f"{path}.{key}{suffix}".lstrip("."), child)

    walk("", config.ScorewatchConfig)
    return found


def test_configuration_page_has_every_field_with_its_default_and_description() -> None:
    page = _sections(reference_config.render())
    expected = _config_sections()
    assert {
        "models[]",
        "models[].drift.columns.<key>",
        "models[].retraining.spec",
        "models[].decision.costs",
        "models[].schema.features[]",
    } <= set(expected)
    for path, model in expected.items():
        body = page[path or "Top level"]
        for name, field in model.model_fields.items():
            row = _row_of(body, f"`{field.alias or name}`")
            assert field.description and field.description.split()[0] in row, (path, name)
            if (
                not field.is_required()
                and field.default_factory is None
                and not isinstance(field.default, BaseModel)
            ):
                assert f"`{json.dumps(field.default)}`" in row, (path, name, row)
    assert _row_of(page["models[].drift"], "`window_hours`").count("≥ 1, ≤ 744") == 1
    assert "[DriftSettings](#models-drift)" in _row_of(page["models[]"], "`drift`")


def test_a_configuration_field_without_a_description_fails_the_page() -> None:
    class Section(BaseModel):
        described: int = Field(default=1, description="Has one.")
        bare: int = 2

    class Root(BaseModel):
        section: Section = Field(default_factory=Section, description="A section.")

    with pytest.raises(ValueError, match=r"section\.bare"):
        reference_config.render(Root)


def test_published_json_schema_accepts_the_example_configuration_and_refuses_unknown_keys() -> None:
    schema = json.loads(reference_config.json_schema())
    example = json.loads((REPO / "examples" / "models.json").read_text(encoding="utf-8"))
    jsonschema.validate(example, schema)
    bad = {"models": [{"name": "churn", "drift": {"cooldown_minuts": 5}}]}
    with pytest.raises(jsonschema.ValidationError, match="cooldown_minuts"):
        jsonschema.validate(bad, schema)


def test_published_feature_schema_json_schema_accepts_what_schema_infer_prints(tmp_path) -> None:
    import contextlib
    import io

    import pandas as pd

    from scorewatch.cli import main

    schema = json.loads(reference_config.feature_schema_json_schema())
    frame = pd.DataFrame(
        {
            "customer_id": range(40),
            "tenure": [" ", *[7, 3, 12, 3, 40] * 7, 1, 2, 5, 9],
            "plan": ["basic", "pro"] * 20,
        }
    )
    frame.to_csv(tmp_path / "ref.csv", index=False)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["schema", "infer", str(tmp_path / "ref.csv")]) == 0
    inferred = json.loads(out.getvalue())["feature_schema"]
    jsonschema.validate(inferred, schema)
    assert {f["name"] for f in inferred["features"]} == {"tenure", "plan"}
    bad = {"features": [{"name": "x", "type": "numeric", "nulable": False}]}
    with pytest.raises(jsonschema.ValidationError, match="nulable"):
        jsonschema.validate(bad, schema)


# -- CLI -----------------------------------------------------------------------------------------


def _cli_commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found = {parser.prog: parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found.update(_cli_commands(child))
    return found


def test_cli_page_has_every_command_and_option_including_entry_point_commands() -> None:
    commands = _cli_commands(build_parser())
    assert {
        "scorewatch models register",
        "scorewatch labels join",
        "scorewatch demo",
        "scorewatch local up",
    } <= set(commands)
    page = _sections(reference_cli.render())
    assert set(page) == set(commands)
    for prog, parser in commands.items():
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            for name in action.option_strings or [action.metavar or action.dest]:
                row = _argument_row(page[prog], name)
                if action.help:
                    assert action.help.split()[0] in row, (prog, name)


def test_cli_page_follows_the_parser_it_is_given() -> None:
    parser = argparse.ArgumentParser(prog="scorewatch")
    sub = parser.add_subparsers(dest="command")
    extra = sub.add_parser("audit", help="check the registry")
    extra.add_argument("--since", default="7d", help="how far back")
    page = _sections(reference_cli.render(parser))
    assert "| `--since SINCE` | `7d` | how far back |" in page["scorewatch audit"]
    assert "| [`scorewatch audit`](#scorewatch-audit) | check the registry |" in page["scorewatch"]


def test_cli_exit_codes_all_have_a_meaning() -> None:
    codes = reference_cli.exit_codes()
    assert [c for c, _, _ in codes] == [0, 1, 2, 3, 4, 5, 10]
    assert all(meaning for _, _, meaning in codes)


# -- events, metrics, errors ---------------------------------------------------------------------


def test_events_page_has_every_detail_type_with_every_detail_field() -> None:
    page = reference_contract.render()
    sections = _sections(page, "### ")
    detail_types = [v for k, v in vars(contract.DetailType).items() if k.isupper()]
    assert "Approval Requested" in detail_types
    for value in detail_types:
        body = sections[value].split("\n## ")[0]
        for name in DETAIL_MODELS[value].model_fields:
            _row_of(body, f"`{name}`")


def test_metrics_page_has_every_metric_with_its_unit_and_emitters() -> None:
    metrics = _sections(reference_contract.render())["Metrics"]
    for key, value in vars(contract.Metric).items():
        if not key.isupper():
            continue
        row = _row_of(metrics, f"`{value}`")
        assert f"| {UNITS[value].value} | `{contract.DIMENSION_MODEL}` |" in row
        assert all(f"`{fn}`" in row for fn in contract.METRIC_DOCS[value].emitted_by)
    errors = _sections(reference_contract.render())["Error names"]
    for key, value in vars(contract.ErrorName).items():
        if key.isupper():
            _row_of(errors, f"`{value}`")


def test_a_metric_without_a_catalogue_entry_fails_the_page(monkeypatch) -> None:
    docs = dict(contract.METRIC_DOCS)
    del docs[contract.Metric.LABEL_COVERAGE]
    monkeypatch.setattr(contract, "METRIC_DOCS", docs)
    with pytest.raises(ValueError, match="LabelCoverage"):
        reference_contract.render()


def test_catalogue_emitters_are_functions_of_the_stack(monkeypatch) -> None:
    docs = dict(contract.DETAIL_TYPE_DOCS)
    docs[contract.DetailType.BATCH_SCORED] = contract.Doc("x", ("scorer",))
    monkeypatch.setattr(contract, "DETAIL_TYPE_DOCS", docs)
    with pytest.raises(ValueError, match="scorer"):
        reference_contract.render()


# -- the mkdocs hook -----------------------------------------------------------------------------


def test_hook_adds_every_generated_page_to_the_site() -> None:
    from mkdocs.config import load_config
    from mkdocs.structure.files import Files

    cfg = load_config(str(REPO / "mkdocs.yml"))
    files = cfg.plugins.on_files(Files([]), config=cfg)  # as `mkdocs build` runs the hook
    uris = {f.src_uri for f in files}
    assert uris == set(reference_pages.PAGES)
    schema = files.get_file_from_path(f"reference/{reference_config.SCHEMA_FILE}")
    assert json.loads(schema.content_string)["title"] == "scorewatch models configuration"
    nav = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    assert all(uri in nav for uri in uris if uri.endswith(".md"))

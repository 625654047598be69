"""How ``scorewatch`` finds its commands: built-in modules plus the ``scorewatch.commands``
entry-point group, which is how ``scorewatch demo`` and ``scorewatch local`` (on the infra side,
``scorewatch_infra.local.cli``) reach the CLI without the runtime importing infra (docs/cli.md,
docs/concepts.md "Layers of the runtime package")."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from scorewatch import cli

ROOT = Path(__file__).resolve().parents[2]
LOCAL = importlib.metadata.EntryPoint(
    name="local", value="scorewatch_infra.local.cli", group=cli.ENTRY_POINT_GROUP
)


def _with_entry_points(monkeypatch: pytest.MonkeyPatch, *eps: importlib.metadata.EntryPoint) -> None:
    real = importlib.metadata.entry_points

    def fake(**params: str) -> importlib.metadata.EntryPoints:
        if params != {"group": cli.ENTRY_POINT_GROUP}:  # other lookups (pydantic's plugins) as they are
            return real(**params)
        return importlib.metadata.EntryPoints(eps)

    monkeypatch.setattr(importlib.metadata, "entry_points", fake)


def test_pyproject_declares_the_local_commands() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["entry-points"][cli.ENTRY_POINT_GROUP] == {"local": LOCAL.value}


def test_entry_point_commands_are_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    from scorewatch_infra.local import cli as local_cli

    _with_entry_points(monkeypatch, LOCAL)
    parser = cli.build_parser()
    demo = parser.parse_args(["demo", "--rows", "10", "--seed", "3"])
    assert (demo.func, demo.rows, demo.seed) == (local_cli._demo, 10, 3)
    up = parser.parse_args(["local", "up", "somewhere", "--clock"])
    assert up.func is local_cli._up and up.folder == Path("somewhere") and up.clock
    assert parser.parse_args(["local", "status"]).func is local_cli._status
    assert parser.parse_args(["local", "tick", "f"]).func is local_cli._tick


def test_demo_fleet_runs_the_fleet_scenario_and_fails_when_something_is_unaccounted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from scorewatch_infra.local import cli as local_cli
    from scorewatch_infra.local import fleet

    calls: list[dict] = []

    def fake_run_fleet(output: Path, **kw: object) -> fleet.FleetResult:
        calls.append(kw)
        return fleet.FleetResult(output=output, accounting={"all_accounted_for": len(calls) == 1})

    monkeypatch.setattr(fleet, "run_fleet", fake_run_fleet)
    _with_entry_points(monkeypatch, LOCAL)
    args = cli.build_parser().parse_args(["demo", "--fleet", "12", "--output", str(tmp_path)])
    assert local_cli._demo(args) == 0
    assert calls[0] == {"models": 12, "rows": 600, "seed": 7, "drift_fraction": 0.5}
    assert local_cli._demo(args) == 1  # the summary says not every batch or execution is accounted for
    assert cli.build_parser().parse_args(["demo"]).fleet is None  # the single-model scenario


def test_an_entry_point_may_name_the_register_callable(monkeypatch: pytest.MonkeyPatch) -> None:
    ep = importlib.metadata.EntryPoint(
        name="local", value="scorewatch_infra.local.cli:register", group=cli.ENTRY_POINT_GROUP
    )
    _with_entry_points(monkeypatch, ep)
    assert cli.build_parser().parse_args(["local", "status"]).local_command == "status"


def test_no_entry_points_leaves_the_built_in_commands(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _with_entry_points(monkeypatch)
    parser = cli.build_parser()
    assert parser.parse_args(["models", "list"]).command == "models"
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["demo"])
    assert exc.value.code == cli.EXIT_USAGE
    assert "invalid choice: 'demo'" in capsys.readouterr().err


def test_an_entry_point_to_an_absent_module_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    gone = importlib.metadata.EntryPoint(
        name="gone", value="scorewatch_no_such_package.cli", group=cli.ENTRY_POINT_GROUP
    )
    _with_entry_points(monkeypatch, gone, LOCAL)
    assert cli.build_parser().parse_args(["demo"]).command == "demo"


def test_a_missing_dependency_of_a_command_module_is_not_hidden(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "sw_broken_plugin.py").write_text("import sw_no_such_dependency\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    broken = importlib.metadata.EntryPoint(
        name="broken", value="sw_broken_plugin", group=cli.ENTRY_POINT_GROUP
    )
    _with_entry_points(monkeypatch, broken)
    with pytest.raises(ModuleNotFoundError, match="sw_no_such_dependency"):
        cli.build_parser()


def test_registering_the_local_commands_imports_neither_the_emulator_nor_cdk() -> None:
    # In a fresh interpreter: `scorewatch --help` must not pay for (or need) moto and aws-cdk-lib.
    code = (
        "import importlib.metadata as md, sys\n"
        "from scorewatch import cli\n"
        "real = md.entry_points\n"
        f"ours = md.EntryPoints([md.EntryPoint('local', {LOCAL.value!r}, {cli.ENTRY_POINT_GROUP!r})])\n"
        f"group = {cli.ENTRY_POINT_GROUP!r}\n"
        "md.entry_points = lambda **kw: ours if kw == {'group': group} else real(**kw)\n"
        "cli.build_parser().parse_args(['demo'])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in {'moto', 'aws_cdk', 'jsii'}"
        " or m == 'scorewatch_infra.local.cloud')\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=_env(), timeout=120)


def _env() -> dict[str, str]:
    import os

    paths = [str(ROOT / "functions"), str(ROOT / "infra"), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def test_every_cli_argument_says_what_it_is_for() -> None:
    import argparse

    from scorewatch.cli import build_parser

    missing = []

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{path} {name}")
            elif not isinstance(action, argparse._HelpAction) and not action.help:
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")

    walk(build_parser(), "scorewatch")
    assert missing == []

"""The architecture's import rules, checked on the source (STYLE.md 1 and 3)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "functions" / "scorewatch"
STATISTICS = (
    "monitoring/profiles",
    "monitoring/stattests",
    "monitoring/drift",
    "monitoring/multivariate",
    "monitoring/quality",
    "monitoring/performance",
    "monitoring/estimation",
    "scoring/decisions",
    "lifecycle/gate",
)
STATISTICS_ALLOWED = {
    "numpy",
    "pandas",
    "scipy",
    "sklearn",
    "scorewatch",
    "__future__",
    "math",
    "dataclasses",
    "typing",
    "collections",
    "functools",
    "itertools",
    "enum",
    "warnings",
    "statistics",
    "heapq",
    "bisect",
    "operator",
    "numbers",
    "datetime",
    "abc",
    "re",
    "json",
}
# Modules that are entry points (they may read the environment) or the I/O edge.
ENTRY_POINTS = {"handlers", "cli"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _core_modules() -> list[Path]:
    return [p for p in PKG.rglob("*.py") if p.relative_to(PKG).parts[0] not in ENTRY_POINTS | {"__pycache__"}]


@pytest.mark.parametrize("name", STATISTICS)
def test_statistics_modules_import_only_numeric_libraries(name: str) -> None:
    path = PKG / f"{name}.py"
    if not path.exists():
        pytest.skip(f"{name}.py not present")
    offending = {m for m in _imports(path) if m.split(".")[0] not in STATISTICS_ALLOWED}
    assert not offending, f"{name}.py imports {sorted(offending)}: statistics code does no I/O"
    io_modules = {
        m for m in _imports(path) if m.startswith(("scorewatch.io.storage", "scorewatch.io.registry"))
    }
    assert not io_modules, f"{name}.py imports I/O modules {sorted(io_modules)}"


def test_core_never_imports_handlers_infra_or_local() -> None:
    bad = []
    for path in _core_modules():
        for mod in _imports(path):
            if mod.startswith(("scorewatch.handlers", "scorewatch.cli", "scorewatch_infra")):
                bad.append(f"{path.relative_to(PKG)} imports {mod}")
    assert not bad, bad


def test_core_never_reads_the_environment() -> None:
    bad = []
    for path in _core_modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"}:
                if isinstance(node.value, ast.Name) and node.value.id == "os":
                    bad.append(f"{path.relative_to(PKG)}:{node.lineno}")
    # storage.s3 resolves the emulator endpoint the way the AWS SDKs do (AWS_ENDPOINT_URL*): the one
    # documented exception, shared with boto3's own behaviour.
    bad = [b for b in bad if not b.startswith("io/storage/s3.py:")]
    assert not bad, f"os.environ read below the handlers: {bad}"


def test_contract_module_has_no_third_party_imports() -> None:
    imports = _imports(PKG / "core" / "contract.py")
    assert imports <= {"__future__", "typing"}, imports

"""The architecture's rules that import-linter cannot express, checked on the source.

The import rules themselves (the layers, reports importing only core, no AWS SDK, Powertools or
pyarrow in the statistics modules, handlers and cli independent, no infra in the runtime) are
import-linter contracts in ``pyproject.toml`` (``[tool.importlinter]``, run by ``lint-imports``);
docs/concepts.md ("Layers of the runtime package") describes both. What is left here is what a
forbidden-import contract cannot say: an allow-list of imports, and reads of the environment.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "functions" / "scorewatch"
STATISTICS = (
    "monitoring/profiles/__init__",
    "monitoring/profiles/model",
    "monitoring/profiles/values",
    "monitoring/profiles/accumulators",
    "monitoring/profiles/builder",
    "monitoring/profiles/merge",
    "monitoring/stattests",
    "monitoring/drift",
    "monitoring/multivariate",
    "monitoring/quality",
    "monitoring/performance",
    "monitoring/estimation/__init__",
    "monitoring/estimation/calibration",
    "monitoring/estimation/cbpe",
    "monitoring/estimation/dle",
    "monitoring/estimation/reference",
    "monitoring/evaluation",
    "scoring/decisions",
    "lifecycle/gate",
)
# The numeric libraries and the pure parts of the standard library (no os, pathlib, io, socket...).
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
# Entry points: they parse input and may read the environment.
ENTRY_POINTS = {"handlers", "cli"}
# io.storage.s3 resolves the emulator endpoint and region the way the AWS SDKs do
# (AWS_ENDPOINT_URL*, AWS_REGION): the one exception docs/concepts.md names.
ENVIRONMENT_EXCEPTIONS = {Path("io/storage/s3.py")}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _library_modules() -> list[Path]:
    return [p for p in PKG.rglob("*.py") if p.relative_to(PKG).parts[0] not in ENTRY_POINTS | {"__pycache__"}]


@pytest.mark.parametrize("name", STATISTICS)
def test_statistics_modules_import_only_numeric_libraries(name: str) -> None:
    """docs/development.md: statistics modules import only numpy/pandas/scipy/scikit-learn and do
    no I/O. An allow-list (import-linter only forbids); the I/O libraries are also a contract."""
    path = PKG / f"{name}.py"
    assert path.exists(), f"{name}.py is gone: update STATISTICS here and in pyproject.toml"
    offending = {m for m in _imports(path) if m.split(".")[0] not in STATISTICS_ALLOWED}
    assert not offending, f"{name}.py imports {sorted(offending)}: statistics code does no I/O"


def test_nothing_below_the_entry_points_reads_the_environment() -> None:
    """docs/concepts.md: nothing below the handlers and the CLI reads the environment except
    io.storage (the AWS SDK's endpoint and region variables). Handlers pass settings down."""
    bad = []
    for path in _library_modules():
        rel = path.relative_to(PKG)
        if rel in ENVIRONMENT_EXCEPTIONS:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in {"environ", "environb", "getenv"}:
                if isinstance(node.value, ast.Name) and node.value.id == "os":
                    bad.append(f"{rel}:{node.lineno}")
            elif isinstance(node, ast.ImportFrom) and node.module == "os":
                if {a.name for a in node.names} & {"environ", "environb", "getenv"}:
                    bad.append(f"{rel}:{node.lineno}")
    assert not bad, f"os.environ read below the handlers: {bad}"


def test_contract_module_imports_only_the_standard_library() -> None:
    """docs/concepts.md: core/contract.py is the one source of env keys, metric names, event
    detail-types, error names and handler entry points shared with infra/; infra imports it at
    synth time, so it must import nothing but the standard library (and nothing of scorewatch)."""
    imports = _imports(PKG / "core" / "contract.py")
    outside = {m for m in imports if m.split(".")[0] not in sys.stdlib_module_names | {"__future__"}}
    assert not outside, f"core/contract.py imports {sorted(outside)}"

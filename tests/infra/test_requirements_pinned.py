"""One set of runtime versions: layers/requirements.txt == this venv == what the image installs."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
REQUIREMENTS = REPO / "layers" / "requirements.txt"
DOCKERFILE = REPO / "layers" / "Dockerfile"

pytestmark = pytest.mark.xdist_group("infra")

# Image pin -> (the distribution the dev venv holds instead, the requirements only that one has):
# the same version of the same module, built without GPU support for the image.
DEV_EQUIVALENT = {"xgboost-cpu": ("xgboost", {"nvidia-nccl-cu12"})}


def _installed_name(name: str) -> str:
    if name in DEV_EQUIVALENT:
        try:
            version(name)
        except PackageNotFoundError:
            return DEV_EQUIVALENT[name][0]
    return name


def pinned() -> dict[str, Requirement]:
    reqs = {}
    for raw in REQUIREMENTS.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            reqs[req.name.lower().replace("_", "-")] = req
    return reqs


def test_every_runtime_requirement_is_an_exact_pin():
    reqs = pinned()
    assert reqs
    for name, req in reqs.items():
        (spec,) = req.specifier
        assert spec.operator == "==", name


def test_pins_equal_the_versions_installed_in_the_dev_environment():
    mismatched = {}
    for name, req in pinned().items():
        (spec,) = req.specifier
        try:
            installed = version(_installed_name(name))
        except PackageNotFoundError:
            installed = None
        if installed != spec.version:
            mismatched[name] = (spec.version, installed)
    assert mismatched == {}


def test_pins_satisfy_the_ranges_declared_in_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    ranges = {Requirement(d).name.lower(): Requirement(d) for d in project["dependencies"]}
    for image, (dev, _) in DEV_EQUIVALENT.items():
        if dev in ranges:
            ranges[image] = ranges.pop(dev)
    for name, req in pinned().items():
        if name in ranges:
            (spec,) = req.specifier
            assert ranges[name].specifier.contains(spec.version), (name, spec.version, str(ranges[name]))
    assert set(ranges) <= set(pinned()), "every runtime dependency in pyproject is pinned for the image"


def test_the_image_installs_exactly_the_requirements_file():
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM public\.ecr\.aws/lambda/python:3\.1[23]\b", text, re.M)
    assert "COPY layers/requirements.txt" in text
    installs = [ln for ln in re.split(r"(?<!\\)\n", text) if "pip install" in ln]
    assert len(installs) == 1
    assert re.search(r"-r \S*requirements\.txt", installs[0]), installs[0]
    # Nothing besides the file: every token after `install` is an option or the -r argument.
    command = installs[0].replace("\\\n", " ").split("pip install", 1)[1].split("&&", 1)[0]
    tokens = command.split()
    args = [
        t for t in tokens if not t.startswith("-") and "requirements.txt" not in t and not t.startswith('"')
    ]
    assert args == [], args
    assert "compileall" in text, "the image compiles .pyc at build time"


def test_pins_cover_the_whole_runtime_dependency_closure():
    """Every dependency (for Python 3.12, with the pinned extras) of a pinned package is pinned."""
    from importlib.metadata import distribution

    from packaging.markers import default_environment

    env = {**default_environment(), "python_version": "3.12", "python_full_version": "3.12.1"}
    env.update({"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix"})
    pins = pinned()
    missing = set()
    for name, req in pins.items():
        extras = ["", *sorted(req.extras)]
        dropped = DEV_EQUIVALENT[name][1] if _installed_name(name) != name else set()
        for dep in distribution(_installed_name(name)).requires or []:
            d = Requirement(dep)
            if d.name.lower() in dropped:
                continue
            if d.marker is None or any(d.marker.evaluate({**env, "extra": e}) for e in extras):
                if d.name.lower().replace("_", "-") not in pins:
                    missing.add(f"{d.name} (needed by {name})")
    assert missing == set()


def test_image_sets_the_process_setting_the_scorer_is_benchmarked_with():
    """benchmarks/bench_scoring.py runs every approach with it; the functions must too."""
    text = DOCKERFILE.read_text()
    env_lines = " ".join(line.strip() for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert "OMP_WAIT_POLICY=PASSIVE" in env_lines
    bench = (REPO / "benchmarks" / "bench_scoring.py").read_text()
    assert '"OMP_WAIT_POLICY", "PASSIVE"' in bench

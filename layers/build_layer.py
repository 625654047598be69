"""Build the runtime dependency tree without Docker, trim it, print its size, smoke-import it.

The Lambda image (layers/Dockerfile) installs layers/requirements.txt on the AWS Lambda Python
3.12 base image. Docker is not available everywhere (nor here), so this script builds the same
tree with pip's cross-platform download mode:

    pip install --platform manylinux_2_28_<arch> --only-binary=:all: --python-version 3.12
                --implementation cp --target layers/build/<arch> -r layers/requirements.txt

``manylinux_2_28`` matches the Lambda base image's glibc (Amazon Linux 2023, glibc 2.34). Do not
use ``manylinux2014``: current pyarrow and scikit-learn publish only manylinux_2_28 wheels, so a
manylinux2014 request silently resolves to much older releases (pyarrow 20, scikit-learn 1.7).

It then trims what a function never imports (tests, C headers, Cython sources, caches, unused
pyarrow components), prints the unzipped size per architecture against Lambda's 250 MB limit for
a zip function plus its layers, and with ``--smoke`` imports every module the functions use
against the tree with a Python of the same minor version (``--functional`` also fits a small
HistGradientBoostingClassifier and round-trips a zstd Parquet file).

A tree for another architecture is smoke-tested under qemu user-mode emulation with
``--emulator-root DIR``: DIR is a root filesystem of that architecture holding a CPython, made
without emulation by (Debian: ``apt-get install qemu-user-static mmdebstrap``)

    mmdebstrap --arch=arm64 --variant=extract \
        --include=python3.11,libpython3.11-stdlib,libstdc++6,libgomp1,zlib1g \
        bookworm /tmp/arm64root http://deb.debian.org/debian

Debian 12 has CPython 3.11 only, so this tests a cp311 tree of the same pins (a proxy for the
image's 3.12), and emulation is slow (20-60 s for the smoke, a few seconds natively).

Usage: ``python layers/build_layer.py --arch x86_64 --smoke`` (``make layer`` runs both arches);
``python layers/build_layer.py --arch arm64 --smoke --emulator-root /tmp/arm64root``.
"""

from __future__ import annotations

import argparse
import ast
import glob
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "layers" / "requirements.txt"
BUILD = ROOT / "layers" / "build"
PACKAGE = ROOT / "functions" / "scorewatch"
ZIP_LIMIT_MB = 250.0
PLATFORMS = {"x86_64": "manylinux_2_28_x86_64", "arm64": "manylinux_2_28_aarch64"}
DEFAULT_PYTHON = "3.12"

# Directories no function imports at run time (matched by name anywhere in the tree).
TRIM_DIRS = {"tests", "test", "testing_data", "__pycache__", "include", "benchmarks"}
# Kept although named like tests: imported by the libraries themselves at run time.
KEEP_DIRS = {"pandas/_testing", "numpy/testing", "sklearn/utils/_testing", "scipy/_lib/_testing"}
TRIM_SUFFIXES = (".pyx", ".pxd", ".pxi", ".h", ".hpp", ".c", ".cc", ".cpp", ".cmake", ".a")
# pyarrow components scorewatch never loads: Flight RPC, Substrait, Gandiva, CUDA, the ORC and
# Java bridges and the bundled C++ sources. Parquet, datasets, compute and the S3 filesystem stay.
PYARROW_TRIM_GLOBS = (
    "pyarrow/libarrow_flight*",
    "pyarrow/_flight*",
    "pyarrow/flight.py",
    "pyarrow/_substrait*",
    "pyarrow/substrait.py",
    "pyarrow/libgandiva*",
    "pyarrow/gandiva*",
    "pyarrow/_cuda*",
    "pyarrow/cuda.py",
    "pyarrow/_orc*",
    "pyarrow/orc.py",
    "pyarrow/jvm.py",
    "pyarrow/src",
    "pyarrow/_pyarrow_cpp_tests*",
    "pyarrow/libarrow_python_flight*",
    "pyarrow/_gcsfs*",
    "pyarrow/_azurefs*",
    "pyarrow/_hdfs*",
)


def mib(n: int) -> float:
    return n / (1024 * 1024)


def tree_size(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            p = Path(dirpath) / name
            if not p.is_symlink():
                total += p.stat().st_size
    return total


def platform_args(arch: str) -> list[str]:
    """``--platform`` for manylinux_2_28 and every older glibc it runs.

    pip does not widen a ``--platform`` it is given: ``manylinux_2_28_x86_64`` alone rejects the
    (many) wheels tagged only ``manylinux_2_17``. Listing the older tags too keeps the newest
    compatible release of each package, while a request for ``manylinux2014`` ALONE would pin
    everything to releases that still published such wheels.
    """
    machine = PLATFORMS[arch].removeprefix("manylinux_2_28_")
    tags = [f"manylinux_2_{minor}_{machine}" for minor in range(28, 4, -1)]
    tags.append(f"manylinux2014_{machine}")
    if machine == "x86_64":
        tags += [f"manylinux2010_{machine}", f"manylinux1_{machine}"]
    return [arg for tag in tags for arg in ("--platform", tag)]


def install(arch: str, python_version: str, target: Path) -> None:
    """pip-install the pinned requirements for ``arch`` into ``target`` (a fresh directory)."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        *platform_args(arch),
        "--only-binary=:all:",
        "--python-version",
        python_version,
        "--implementation",
        "cp",
        "--target",
        str(target),
        "-r",
        str(REQUIREMENTS),
    ]
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)  # noqa: S603 - fixed argv built above, no shell


def _kept(rel: str) -> bool:
    return any(rel == k or rel.startswith(k + "/") for k in KEEP_DIRS)


def trim(target: Path) -> int:
    """Delete what no function imports; return the bytes removed."""
    before = tree_size(target)
    for dirpath, dirs, files in os.walk(target, topdown=True):
        rel_dir = Path(dirpath).relative_to(target).as_posix()
        for d in list(dirs):
            rel = f"{rel_dir}/{d}".lstrip("./") if rel_dir != "." else d
            if d in TRIM_DIRS and not _kept(rel):
                shutil.rmtree(Path(dirpath) / d)
                dirs.remove(d)
        for name in files:
            if name.endswith(TRIM_SUFFIXES):
                (Path(dirpath) / name).unlink()
    for pattern in PYARROW_TRIM_GLOBS:
        for hit in glob.glob(str(target / pattern)):
            p = Path(hit)
            shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
    _dedupe_sonames(target / "pyarrow")
    # The Lambda runtime ships its own pip/setuptools; a function never imports these.
    for name in ("bin",):
        if (target / name).is_dir():
            shutil.rmtree(target / name)
    return before - tree_size(target)


def _dedupe_sonames(directory: Path) -> None:
    """Keep only ``libX.so.N`` (the SONAME the loader asks for) of wheel-copied ``libX.so*``.

    Wheels cannot hold symlinks, so pyarrow ships libX.so, libX.so.N and libX.so.N.M.P as three
    full copies; only the SONAME copy is ever loaded.
    """
    if not directory.is_dir():
        return
    for soname in directory.glob("lib*.so.[0-9]*"):
        stem, _, version = soname.name.partition(".so.")
        if "." in version:
            continue  # this is a full-version copy, handled from its SONAME sibling
        for dup in [directory / f"{stem}.so", *directory.glob(f"{stem}.so.{version}.*")]:
            if dup.is_file() and dup.stat().st_size == soname.stat().st_size:
                dup.unlink()


STRIP_TOOLS = {"x86_64": ("x86_64-linux-gnu-strip", "strip"), "arm64": ("aarch64-linux-gnu-strip",)}


def strip_binaries(target: Path, arch: str) -> tuple[int, int]:
    """``strip --strip-unneeded`` every ELF shared object; return (stripped, failed).

    Measurement only (the image does not strip): shows how far a zip package could shrink.
    arm64 needs a cross ``strip`` (Debian: ``apt-get install binutils-aarch64-linux-gnu``).
    """
    strip = next((found for tool in STRIP_TOOLS[arch] if (found := shutil.which(tool))), None)
    if strip is None:
        return 0, 0
    done = failed = 0
    for path in target.rglob("*.so*"):
        if path.is_symlink() or not path.is_file():
            continue
        # auditwheel's vendored libraries (<pkg>.libs/) are patchelf-rewritten: strip corrupts
        # them (measured: numpy's OpenBLAS then fails with "ELF load command ... not page-aligned").
        if any(part.endswith(".libs") for part in path.relative_to(target).parts):
            continue
        with path.open("rb") as fh:
            if fh.read(4) != b"\x7fELF":
                continue
        proc = subprocess.run([strip, "--strip-unneeded", str(path)], capture_output=True, check=False)  # noqa: S603
        done, failed = (done + 1, failed) if proc.returncode == 0 else (done, failed + 1)
    return done, failed


def largest(target: Path, n: int = 8) -> list[tuple[str, int]]:
    sizes = [(p.name, tree_size(p) if p.is_dir() else p.stat().st_size) for p in target.iterdir()]
    return sorted(sizes, key=lambda kv: -kv[1])[:n]


# ---------------------------------------------------------------------------------------------
# Smoke import


def _stdlib_names() -> set[str]:
    return set(sys.stdlib_module_names) | set(sys.builtin_module_names)


def imported_modules(package_dir: Path) -> set[str]:
    """Absolute third-party modules imported by the functions' code (the package minus its CLI)."""
    stdlib = _stdlib_names()
    found: set[str] = set()
    for path in package_dir.rglob("*.py"):
        if "cli" in path.relative_to(package_dir).parts[:1]:
            continue  # the CLI (rich, the local cloud) is not part of the functions' image
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        optional = _optional_imports(tree)
        for node in ast.walk(tree):
            if node in optional:
                continue
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in stdlib and top not in {"scorewatch", "__future__"}:
                    found.add(name)
    return found


def _optional_imports(tree: ast.AST) -> set[ast.AST]:
    """Imports in the body of a ``try`` whose handler catches ModuleNotFoundError/ImportError: the
    code runs without them (e.g. ``onnx`` in scorewatch.io.onnx_model), so the image need not
    have them."""
    out: set[ast.AST] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        caught = set()
        for handler in node.handlers:
            kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
            caught |= {k.id for k in kinds if isinstance(k, ast.Name)}
        if caught & {"ModuleNotFoundError", "ImportError"}:
            for stmt in node.body:
                out |= {n for n in ast.walk(stmt) if isinstance(n, ast.Import | ast.ImportFrom)}
    return out


def scorewatch_modules(package_dir: Path) -> Iterator[str]:
    """Every module of the runtime package except the CLI (not part of the image's functions)."""
    for path in sorted(package_dir.rglob("*.py")):
        rel = path.relative_to(package_dir.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if len(parts) > 1 and parts[1] == "cli":
            continue
        yield ".".join(parts)


SMOKE_SCRIPT = r"""
import importlib, json, sys, traceback
paths, modules, functional = json.loads(sys.argv[1])
sys.path[:0] = paths
failed = []
for name in modules:
    try:
        importlib.import_module(name)
    except Exception:
        failed.append((name, traceback.format_exc(limit=3)))
if functional:
    try:
        exec(functional, {})
    except Exception:
        failed.append(("functional check", traceback.format_exc(limit=5)))
versions = {}
for dist in ("numpy", "pandas", "pyarrow", "sklearn", "scipy"):
    mod = sys.modules.get(dist)
    versions[dist] = getattr(mod, "__version__", "not imported")
print("python", sys.version.split()[0], versions)
for name, tb in failed:
    print("FAILED", name, tb, sep="\n")
print(f"imported {len(modules) - len(failed)}/{len(modules)} modules")
sys.exit(1 if failed else 0)
"""

# ``--functional``: exercise the compiled code the functions rely on, not only its import: fit and
# predict a small HistGradientBoostingClassifier (OpenMP), pickle it, round-trip zstd Parquet.
FUNCTIONAL_CHECK = r"""
import os, pickle, platform, tempfile
import numpy as np, pandas as pd, pyarrow.parquet as pq
from sklearn.ensemble import HistGradientBoostingClassifier
rng = np.random.default_rng(0)
X = rng.normal(size=(2000, 5))
y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
model = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(X[:1500], y[:1500])
accuracy = float((model.predict(X[1500:]) == y[1500:]).mean())
assert accuracy > 0.9, accuracy
proba = model.predict_proba(X)[:, 1]
assert np.array_equal(pickle.loads(pickle.dumps(model)).predict_proba(X)[:, 1], proba)
frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)]).assign(score=proba, label=y)
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "scores.parquet")
    frame.to_parquet(path, compression="zstd")
    back = pq.read_table(path).to_pandas()
pd.testing.assert_frame_equal(frame, back)
print(f"functional ({platform.machine()}): HistGradientBoostingClassifier accuracy {accuracy:.3f}, "
      f"pickle round trip ok, zstd Parquet round trip of {len(back)} rows ok")
"""


def find_python(version: str) -> str | None:
    """A CPython ``version`` interpreter: on PATH, or installed by pyenv."""
    candidates: list[str] = []
    which = shutil.which(f"python{version}")
    if which:
        candidates.append(which)
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    pattern = pyenv_root / "versions" / f"{version}.*" / "bin" / f"python{version}"
    candidates += sorted(glob.glob(str(pattern)))
    candidates += [f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]
    for c in candidates:
        try:
            probe = [c, "-c", "import sys;print('%d.%d' % sys.version_info[:2])"]
            out = subprocess.run(probe, capture_output=True, text=True, timeout=30, check=False)  # noqa: S603
        except OSError:
            continue
        if out.returncode == 0 and out.stdout.strip() == version:
            return c
    return None


QEMU = {"arm64": ("qemu-aarch64-static", "qemu-aarch64"), "x86_64": ("qemu-x86_64-static", "qemu-x86_64")}


def emulated_python(arch: str, root: Path, version: str) -> tuple[list[str], str] | None:
    """The argv prefix running ``root``'s CPython under qemu, and that CPython's version.

    Parameters
    ----------
    arch : str
        The tree's architecture (a key of ``PLATFORMS``), foreign to this machine.
    root : Path
        A root filesystem of ``arch`` (see the module docstring); qemu gets it as ``-L root`` so
        the interpreter finds its own dynamic loader, libc, libstdc++ and standard library.
    version : str
        The wanted ``major.minor``; if ``root`` has no such interpreter, its newest ``python3.X``
        is used instead (like the native fallback to the host's version).

    Returns
    -------
    tuple[list[str], str] or None
        ``([qemu, "-L", root, python], "3.X")``, or None without a qemu for ``arch`` on PATH or
        a ``python3.X`` in ``root``.
    """
    qemu = next((found for tool in QEMU[arch] if (found := shutil.which(tool))), None)
    found = {
        m.group(1): p
        for d in ("usr/bin", "usr/local/bin")
        for p in sorted((root / d).glob("python3.*"))
        if (m := re.fullmatch(r"python(3\.\d+)", p.name))
    }
    if qemu is None or not found:
        return None
    chosen = version if version in found else max(found, key=lambda v: int(v.split(".")[1]))
    return [qemu, "-L", str(root), str(found[chosen])], chosen


# Imported by name (skops, for an artifact holding their models; lifecycle.training, for a spec
# naming one), so the scan of the package's imports does not see them.
LOADED_BY_NAME = ("lightgbm", "xgboost", "catboost")


def smoke(python: list[str], tree: Path, extra_modules: Iterable[str] = (), functional: bool = False) -> int:
    """Import every module the functions use with ``python`` (an argv prefix) against ``tree`` + the package.

    With ``functional``, also run ``FUNCTIONAL_CHECK`` in the same interpreter.
    """
    modules = sorted(imported_modules(PACKAGE) | set(extra_modules)) + list(scorewatch_modules(PACKAGE))
    import json

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "QEMU_"))}
    env["POWERTOOLS_TRACE_DISABLED"] = "true"
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    # -S -s: no site-packages of the interpreter, only the built tree and the package.
    payload = json.dumps([[str(tree), str(PACKAGE.parent)], modules, FUNCTIONAL_CHECK if functional else ""])
    cmd = [*python, "-S", "-s", "-c", SMOKE_SCRIPT, payload]
    print(f"smoke: importing {len(modules)} modules with {' '.join(python)} against {tree}", flush=True)
    start = time.perf_counter()
    rc = subprocess.run(cmd, env=env, check=False).returncode  # noqa: S603 - no shell
    print(f"smoke: {'passed' if rc == 0 else 'FAILED'} in {time.perf_counter() - start:.1f} s", flush=True)
    return rc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=sorted(PLATFORMS), default="x86_64")
    parser.add_argument("--python-version", default=DEFAULT_PYTHON, help="default %(default)s (the image's)")
    parser.add_argument("--smoke", action="store_true", help="import every module the functions use")
    parser.add_argument(
        "--functional", action="store_true", help="with --smoke: also fit/predict a model, round-trip Parquet"
    )
    parser.add_argument(
        "--emulator-root",
        type=Path,
        metavar="DIR",
        help="root filesystem of --arch with a CPython: smoke a foreign-arch tree under qemu (see above)",
    )
    parser.add_argument("--skip-install", action="store_true", help="reuse an existing tree")
    parser.add_argument("--strip", action="store_true", help="also strip symbols (measurement only)")
    args = parser.parse_args(argv)

    python_version = args.python_version
    python: list[str] | None = None
    emulated = args.arch != _host_arch()
    if args.smoke and emulated and args.emulator_root:
        found = emulated_python(args.arch, args.emulator_root.resolve(), python_version)
        if found is None:
            qemus = " or ".join(QEMU[args.arch])
            print(f"no qemu for {args.arch} ({qemus}) on PATH, or no python3.X in {args.emulator_root}")
            return 2
        python, root_version = found
        if root_version != python_version:
            print(
                f"NOTE: no Python {python_version} in {args.emulator_root}; the emulated smoke import uses a "
                f"cp{root_version.replace('.', '')} tree for its python{root_version} instead of the image's "
                f"{python_version}.",
                flush=True,
            )
            python_version = root_version
    elif args.smoke:
        found_python = find_python(python_version)
        if found_python is None:
            host = f"{sys.version_info.major}.{sys.version_info.minor}"
            print(
                f"NOTE: no Python {python_version} interpreter here; the smoke import uses a "
                f"cp{host.replace('.', '')} tree built for this interpreter ({sys.executable}) instead of "
                f"the image's {python_version}.",
                flush=True,
            )
            python_version, found_python = host, sys.executable
        python = [found_python]

    target = BUILD / (args.arch if python_version == DEFAULT_PYTHON else f"{args.arch}-py{python_version}")
    if not args.skip_install:
        install(args.arch, python_version, target)
    raw = tree_size(target)
    removed = trim(target)
    size = tree_size(target)
    verdict = "over" if mib(size) > ZIP_LIMIT_MB else "under"
    print(
        f"[{args.arch}, cp{python_version.replace('.', '')}] installed {mib(raw):.0f} MiB, trimmed "
        f"{mib(removed):.0f} MiB -> {mib(size):.0f} MiB unzipped: {verdict} the {ZIP_LIMIT_MB:.0f} MB "
        "limit for a zip function plus its layers (the container image limit is 10 GB)"
    )
    if args.strip:
        done, failed = strip_binaries(target, args.arch)
        stripped = tree_size(target)
        print(
            f"[{args.arch}] stripped {done} shared objects ({failed} not strippable here) -> "
            f"{mib(stripped):.0f} MiB unzipped"
        )
    for name, n in largest(target):
        print(f"    {mib(n):7.1f} MiB  {name}")
    if args.smoke:
        if emulated and not args.emulator_root:
            print(
                f"smoke skipped: {args.arch} binaries cannot run on this {_host_arch()} machine "
                "without emulation (see --emulator-root)"
            )
            return 0
        assert python is not None
        return smoke(python, target, extra_modules=LOADED_BY_NAME, functional=args.functional)
    return 0


def _host_arch() -> str:
    machine = sysconfig.get_platform().rsplit("-", 1)[-1]
    return {"aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)


if __name__ == "__main__":
    sys.exit(main())

"""The ``scorewatch`` command.

Each sub-module registers its sub-commands (more come from the ``scorewatch.commands``
entry-point group); ``main`` maps domain errors to one clear line and a
stable exit code that scripts can rely on:

0 success / no drift · 1 drift detected (``drift``) · 2 usage error · 3 input rejected ·
4 model error (not found, integrity, incompatible) · 5 configuration error (including missing AWS
credentials) · 10 unexpected error. Every error is one line on stderr (``SCOREWATCH_TRACEBACK=1``
re-raises an unexpected one with its traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from scorewatch.core.errors import ConfigError, InputRejectedError, ModelError, ScorewatchError

EXIT_OK = 0
EXIT_DRIFT = 1
EXIT_USAGE = 2
EXIT_INPUT_REJECTED = 3
EXIT_MODEL_ERROR = 4
EXIT_CONFIG_ERROR = 5
EXIT_UNEXPECTED = 10

# Sub-command modules, each exposing ``register(subparsers)``; imported lazily so
# ``scorewatch --help`` stays fast.
_COMMAND_MODULES = (
    "scorewatch.cli.score_cmd",
    "scorewatch.cli.models_cmd",
    "scorewatch.cli.monitor_cmd",
    "scorewatch.cli.lifecycle_cmd",
    "scorewatch.cli.site_cmd",
    "scorewatch.cli.fleet_cmd",
)
# Further command modules are found through this entry-point group (pyproject.toml declares
# ``scorewatch_infra.local.cli``: ``scorewatch demo`` and ``scorewatch local``), so the runtime
# package never imports infra. Each entry point names a module exposing ``register(subparsers)``
# (or the ``register`` callable itself).
ENTRY_POINT_GROUP = "scorewatch.commands"


class UsageError(Exception):
    """A command line that cannot be run as given (exit 2, one line), found after parsing."""


def _plugin_registrars() -> list[Callable[[argparse._SubParsersAction], None]]:
    from importlib.metadata import entry_points

    registrars = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            target = ep.load()
        except ModuleNotFoundError as exc:
            missing = exc.name or ""
            if not (ep.module == missing or ep.module.startswith(missing + ".")):
                raise  # a real missing dependency of an installed command module
            continue  # the declared module is not installed (e.g. a stale entry point): no commands
        registrars.append(getattr(target, "register", target))
    return registrars


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(prog="scorewatch", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real missing dependency, not an absent command module
                raise
            continue
        module.register(sub)
    for register in _plugin_registrars():
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InputRejectedError as exc:
        print(f"scorewatch: input rejected: {exc}", file=sys.stderr)
        return EXIT_INPUT_REJECTED
    except ModelError as exc:
        print(f"scorewatch: model error: {exc}", file=sys.stderr)
        return EXIT_MODEL_ERROR
    except ConfigError as exc:
        print(f"scorewatch: {exc}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    except ScorewatchError as exc:
        print(f"scorewatch: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_UNEXPECTED
    except UsageError as exc:
        print(f"scorewatch: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        # Anything else is one line too (the traceback with SCOREWATCH_TRACEBACK=1).
        if os.environ.get("SCOREWATCH_TRACEBACK") == "1":
            raise
        if _is_no_credentials(exc):
            print(f"scorewatch: no AWS credentials found ({exc})", file=sys.stderr)
            return EXIT_CONFIG_ERROR
        print(f"scorewatch: unexpected error: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return EXIT_UNEXPECTED


def _is_no_credentials(exc: BaseException) -> bool:
    try:
        from botocore.exceptions import NoCredentialsError, PartialCredentialsError
    except ModuleNotFoundError:  # pragma: no cover - botocore is a runtime dependency
        return False
    seen: BaseException | None = exc
    while seen is not None:  # pyarrow / our wrappers may chain it
        if isinstance(seen, (NoCredentialsError, PartialCredentialsError)):
            return True
        seen = seen.__cause__ or seen.__context__
    return "no credentials" in str(exc).lower() or "unable to locate credentials" in str(exc).lower()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:500]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

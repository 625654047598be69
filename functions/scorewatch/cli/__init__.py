"""The ``scorewatch`` command.

Each sub-module registers its sub-commands; ``main`` maps domain errors to one clear line and a
stable exit code that scripts can rely on:

0 success / no drift · 1 drift detected (``drift``) · 2 usage error · 3 input rejected ·
4 model error (not found, integrity, incompatible) · 5 configuration error · 10 unexpected error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

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
    "scorewatch.cli.local_cmd",
)


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
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

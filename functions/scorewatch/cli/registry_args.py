"""Registry location and model references for CLI commands (shared by ``score`` and ``models``)."""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from scorewatch.core.contract import Env
from scorewatch.core.errors import ConfigError
from scorewatch.scoring.offline import MODEL_FILE_SUFFIXES

_TRUE = {"1", "true", "yes", "on"}


def add_registry_args(parser: argparse.ArgumentParser) -> None:
    """``--registry-table``, ``--models-bucket`` and the two loading overrides."""
    group = parser.add_argument_group("registry")
    group.add_argument("--registry-table", help=f"DynamoDB registry table (default: ${Env.REGISTRY_TABLE})")
    group.add_argument("--models-bucket", help=f"models bucket (default: ${Env.MODELS_BUCKET})")
    group.add_argument(
        "--allow-unsafe-pickle",
        action="store_true",
        help="accept .joblib/.pkl artifacts (they can run code when loaded; still hash-checked)",
    )
    group.add_argument(
        "--model-sha256",
        type=_sha256,
        help="expected sha256 of a local model file, checked before it is loaded (required for "
        ".joblib/.pkl files)",
    )
    group.add_argument(
        "--allow-version-mismatch",
        action="store_true",
        help="load artifacts trained under another scikit-learn minor version (logged loudly)",
    )


def _sha256(text: str) -> str:
    value = text.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", value):
        raise argparse.ArgumentTypeError(f"not a sha256 hex digest: {text!r}")
    return value


def model_sha256(args: argparse.Namespace) -> str | None:
    return getattr(args, "model_sha256", None)


def _flag(args: argparse.Namespace, name: str, env: str) -> bool:
    return bool(getattr(args, name, False)) or os.environ.get(env, "").strip().lower() in _TRUE


def unsafe_pickle(args: argparse.Namespace) -> bool:
    return _flag(args, "allow_unsafe_pickle", Env.ALLOW_UNSAFE_PICKLE)


def version_mismatch(args: argparse.Namespace) -> bool:
    return _flag(args, "allow_version_mismatch", Env.ALLOW_VERSION_MISMATCH)


def registry_from_args(args: argparse.Namespace):
    """A Registry from flags, else the environment (the CLI is an entry point: env is read here).

    Raises
    ------
    ConfigError
        Neither a flag nor the environment names the table / bucket.
    """
    from scorewatch.io.registry import Registry

    table = args.registry_table or os.environ.get(Env.REGISTRY_TABLE)
    bucket = args.models_bucket or os.environ.get(Env.MODELS_BUCKET)
    if not table or not bucket:
        missing = [
            f"--registry-table or ${Env.REGISTRY_TABLE}" if not table else None,
            f"--models-bucket or ${Env.MODELS_BUCKET}" if not bucket else None,
        ]
        raise ConfigError("no model registry configured: set " + " and ".join(m for m in missing if m))
    return Registry(
        table_name=table,
        models_bucket=bucket,
        allow_unsafe_pickle=unsafe_pickle(args),
        allow_version_mismatch=version_mismatch(args),
    )


@dataclass(frozen=True)
class ModelRef:
    """``name@champion`` / ``name@000003`` (registry) or a model file path/URI (local)."""

    name: str | None = None
    ref: str | None = None
    path: str | None = None

    @property
    def is_file(self) -> bool:
        return self.path is not None


def parse_model_ref(text: str) -> ModelRef:
    """Parse ``--model``.

    >>> parse_model_ref("churn@champion")
    ModelRef(name='churn', ref='champion', path=None)
    >>> parse_model_ref("./models/churn.skops").path
    './models/churn.skops'

    Raises
    ------
    ConfigError
        Neither a model file nor ``name@ref``.
    """
    lowered = text.lower()
    if lowered.endswith(MODEL_FILE_SUFFIXES) or os.path.isfile(text):
        return ModelRef(path=text)
    name, sep, ref = text.rpartition("@")
    if not sep or not name or not ref:
        raise ConfigError(
            f"--model {text!r}: use name@champion, name@<version> or a path to a .skops model file"
        )
    return ModelRef(name=name, ref=ref)


def utcnow() -> datetime:
    """The CLI's clock (the core takes time as a parameter)."""
    return datetime.now(UTC)

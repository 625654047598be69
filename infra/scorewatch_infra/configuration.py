"""Synth-time configuration: the models file and the cdk.json context keys."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scorewatch.core.config import ScorewatchConfig, load_config
from scorewatch.core.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTEXT_CONFIG = "scorewatch:config"
CONTEXT_PREFIX = "scorewatch:prefix"
CONTEXT_ARCHITECTURE = "scorewatch:architecture"
DEFAULT_CONFIG = "examples/models.json"
DEFAULT_PREFIX = "scorewatch"


@dataclass(frozen=True)
class InfraSettings:
    """Everything the stack is parameterised by."""

    prefix: str
    architecture: str
    config: ScorewatchConfig
    config_path: Path


def resolve_settings(
    *, config_path: str | None, prefix: str | None, architecture: str | None
) -> InfraSettings:
    """Validate the models file and context values; a bad value raises ConfigError naming it.

    ``architecture`` from context overrides the file's ``architecture`` field.
    """
    path = Path(config_path or DEFAULT_CONFIG)
    if not path.is_absolute():
        path = REPO_ROOT / path
    config = load_config(path)
    prefix = prefix or DEFAULT_PREFIX
    if not (
        prefix.replace("-", "").isalnum() and prefix[0].isalpha() and prefix.islower() and len(prefix) <= 20
    ):
        raise ConfigError(
            f"context {CONTEXT_PREFIX}={prefix!r}: use 1-20 lowercase letters, digits or '-', "
            "starting with a letter"
        )
    arch = architecture or config.architecture
    if arch not in ("arm64", "x86_64"):
        raise ConfigError(f"context {CONTEXT_ARCHITECTURE}={arch!r}: must be 'arm64' or 'x86_64'")
    return InfraSettings(prefix=prefix, architecture=arch, config=config, config_path=path)

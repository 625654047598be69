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
CONTEXT_SCORE_CONCURRENCY = "scorewatch:score_reserved_concurrency"
DEFAULT_CONFIG = "examples/models.json"
DEFAULT_PREFIX = "scorewatch"
# Reserved concurrency of the score function: a burst of drops cannot take more of the account's
# concurrency than this. It covers a large file's parts (large_file.PART_CONCURRENCY, 20) plus a
# backfill (10) plus drops; "none" leaves the function unreserved (accounts whose limit is too low
# to reserve any: AWS keeps 100 unreserved).
DEFAULT_SCORE_CONCURRENCY = 50
MIN_SCORE_CONCURRENCY = 20  # large_file.PART_CONCURRENCY: fewer would throttle every large file


@dataclass(frozen=True)
class InfraSettings:
    """Everything the stack is parameterised by."""

    prefix: str
    architecture: str
    config: ScorewatchConfig
    config_path: Path
    # None: no reserved concurrency (context value "none")
    score_reserved_concurrency: int | None = DEFAULT_SCORE_CONCURRENCY


def _score_concurrency(value: object) -> int | None:
    if value is None:
        return DEFAULT_SCORE_CONCURRENCY
    if isinstance(value, str) and value.strip().lower() == "none":
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        number = -1
    if number < MIN_SCORE_CONCURRENCY:
        raise ConfigError(
            f"context {CONTEXT_SCORE_CONCURRENCY}={value!r}: use an integer >= {MIN_SCORE_CONCURRENCY} "
            "(a large file scores up to 20 parts at once) or 'none' for no reservation"
        )
    return number


def resolve_settings(
    *,
    config_path: str | None,
    prefix: str | None,
    architecture: str | None,
    score_reserved_concurrency: object = None,
) -> InfraSettings:
    """Validate the models file and context values; a bad value raises ConfigError naming it.

    ``architecture`` from context overrides the file's ``architecture`` field.
    """
    score_concurrency = _score_concurrency(score_reserved_concurrency)
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
    return InfraSettings(
        prefix=prefix,
        architecture=arch,
        config=config,
        config_path=path,
        score_reserved_concurrency=score_concurrency,
    )

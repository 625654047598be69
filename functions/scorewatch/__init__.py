"""scorewatch: serverless batch scoring and model monitoring on AWS.

The stable Python API (everything the quickstarts use) is importable from here::

    from scorewatch import compare, profile, score_file, DriftSettings, FeatureSchema

Names are resolved on first use, so ``import scorewatch`` (which every Lambda handler does)
imports neither pandas nor scikit-learn.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "compare": "scorewatch.api",
    "profile": "scorewatch.api",
    "score_file": "scorewatch.api",
    "infer_schema": "scorewatch.api",
    "DriftSettings": "scorewatch.core.config",
    "FeatureSchema": "scorewatch.core.schema",
    "FeatureSpec": "scorewatch.core.schema",
    "MonitoringReport": "scorewatch.monitoring.evaluation",
    "Profile": "scorewatch.monitoring.profiles",
    "ScoreResult": "scorewatch.scoring.scorer",
    "ScorewatchError": "scorewatch.core.errors",
}
__all__ = [
    "DriftSettings",
    "FeatureSchema",
    "FeatureSpec",
    "MonitoringReport",
    "Profile",
    "ScoreResult",
    "ScorewatchError",
    "compare",
    "infer_schema",
    "profile",
    "score_file",
]

if TYPE_CHECKING:
    from scorewatch.api import compare, infer_schema, profile, score_file
    from scorewatch.core.config import DriftSettings
    from scorewatch.core.errors import ScorewatchError
    from scorewatch.core.schema import FeatureSchema, FeatureSpec
    from scorewatch.monitoring.evaluation import MonitoringReport
    from scorewatch.monitoring.profiles import Profile
    from scorewatch.scoring.scorer import ScoreResult


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'scorewatch' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])

"""Which profiled columns a model's configuration takes out of monitoring.

A model version's baseline profiles the features of its registered schema. A ``schema`` in the
model's configuration (``ModelConfig.feature_schema``) can say that some of them are not features
to monitor: an identifier (its ``id_columns``), or a column it does not list as a feature. Those
columns are dropped from both profiles and both samples before the evaluation, so drift, data
quality and the domain classifier never see them, and each is listed with the reason. The
profiles keep them: removing the schema (or the column from ``id_columns``) monitors them again
from the next evaluation, with no re-registration.

Types are not changed here: a profile cannot be retyped without the raw rows, so a configured type
that differs from the baseline's takes effect on the next baseline (retraining, registration).

No I/O: profiles and frames in, profiles, frames and plain dicts out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pandas as pd

from scorewatch.core.schema import FeatureSchema
from scorewatch.monitoring.profiles import Profile


def excluded_by_schema(reference: Profile, schema: FeatureSchema | None) -> list[dict[str, str]]:
    """The reference's feature columns that ``schema`` does not monitor, each with role and reason.

    >>> from scorewatch.core.schema import FeatureSpec
    >>> from scorewatch.monitoring.profiles import build_profile
    >>> num = [FeatureSpec(name=n, type="numeric") for n in ("id", "x")]
    >>> both = FeatureSchema(features=tuple(num))
    >>> ref = build_profile(pd.DataFrame({"id": [1.0, 2.0], "x": [0.5, 0.7]}), both)
    >>> configured = FeatureSchema(features=(FeatureSpec(name="x", type="numeric"),), id_columns=("id",))
    >>> excluded_by_schema(ref, configured)
    [{'name': 'id', 'role': 'id', 'reason': "identifier: id_columns of the model configuration's schema"}]
    """
    if schema is None:
        return []
    features, ids = set(schema.names), set(schema.id_columns)
    out = []
    for col in reference.features:
        if col.name in ids:
            out.append(
                {
                    "name": col.name,
                    "role": "id",
                    "reason": "identifier: id_columns of the model configuration's schema",
                }
            )
        elif col.name not in features:
            out.append(
                {
                    "name": col.name,
                    "role": "excluded",
                    "reason": "not a feature of the model configuration's schema",
                }
            )
    return out


def without(profile: Profile, names: Sequence[str]) -> Profile:
    """``profile`` without the columns ``names`` (also from its absent list)."""
    drop = set(names)
    if not drop:
        return profile
    return replace(
        profile,
        columns=tuple(c for c in profile.columns if c.name not in drop),
        absent=tuple(a for a in profile.absent if a not in drop),
    )


def frame_without(frame: pd.DataFrame | None, names: Sequence[str]) -> pd.DataFrame | None:
    """``frame`` (a sample) without the columns ``names`` it holds."""
    if frame is None:
        return None
    cols = [c for c in names if c in frame.columns]
    return frame.drop(columns=cols) if cols else frame

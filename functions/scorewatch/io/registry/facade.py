"""The public ``Registry``: one class composed of the registry's parts (see the package docstring)."""

from __future__ import annotations

from scorewatch.io.registry.champion import Champion
from scorewatch.io.registry.control import Control


class Registry(Champion, Control):
    """Model versions, champion pointer, locks and cooldowns for one table and models bucket.

    Composed of mixins sharing one set of clients (``base.RegistryBase``): ``versions.Versions``
    (registration, cards, listings), ``artifact_store.ArtifactStore`` (artifacts, baselines, card
    mirrors), ``champion.Champion`` (promote, rollback, repair_champion, reject, archive) and
    ``control.Control``
    (locks, cooldowns, pending approvals).

    Parameters
    ----------
    table_name : str
        DynamoDB table keyed by contract.Table.REGISTRY_PK / REGISTRY_SK.
    models_bucket : str
        Versioned S3 bucket holding artifacts, cards and baselines.
    allow_unsafe_pickle : bool
        Load joblib/pickle artifacts (still hash-checked). Off by default.
    allow_version_mismatch : bool
        Load artifacts written under another scikit-learn minor version (logged loudly).

    Examples
    --------
    >>> reg = Registry(table_name="sw-registry", models_bucket="sw-models")  # doctest: +SKIP
    >>> card = reg.register("churn", pipe, task="binary", feature_schema=schema, now=now)  # doctest: +SKIP
    >>> reg.promote("churn", card.version, now=now, promoted_by="me")  # doctest: +SKIP
    >>> reg.load("churn").estimator.predict_proba(X)  # doctest: +SKIP
    """

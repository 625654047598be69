"""Version items: registration (counter, reservation, upload), reads of cards, listings, card updates.

Table layout (partition ``model_name``, sort ``version``; see contract.Table): ``000001``,
``000002`` ... one item per version, holding the card as JSON plus its mutable fields (``status``,
``promoted_at``, ``promoted_by``, ``comparison``, ``previous_champion``, ``archived_at``,
``status_history``) as attributes, which are the source of truth for those fields; ``#counter`` is
the version counter (atomic ``ADD``) and also marks that the model exists. Who is champion is read
from the pointer in partition ``champion#<model>`` (see champion.py), which also pins the champion's
card: for the champion, the pinned copy is what every read returns.

Version content is write-once: the card is written once, over the version's own reservation
(``attribute_not_exists(card)``); ``update_card`` may afterwards change only annotations
(``ANNOTATIONS``: metrics, calibration, approvals...) of a version that is not the champion, never
its artifact, baseline, schema or classes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from scorewatch.core.cards import ArtifactRef, Conversion, DataRef, ModelCard, Task
from scorewatch.core.config import DecisionPolicy
from scorewatch.core.errors import (
    ModelIntegrityError,
    ModelNotFoundError,
    PromotionConflictError,
    TransientError,
    UnsafeModelFormatError,
)
from scorewatch.core.schema import FeatureSchema, check_model_name
from scorewatch.io import artifacts
from scorewatch.io.registry.artifact_store import ArtifactStore, LoadedModel
from scorewatch.io.registry.base import format_version, is_conditional_failure, logger
from scorewatch.io.registry.marshalling import (
    CHAMPION,
    PK,
    SK,
    card_from_item,
    card_item,
    key,
    marshal,
    pointer_champion,
    pointer_partition,
    unmarshal,
)

COUNTER = "#counter"
# Set on a pointer read from the model's own partition (releases before the pointer had its own).
LEGACY = "_legacy_pointer"
# Card fields update_card may change after registration (everything else is write-once).
ANNOTATIONS = frozenset(
    {"metrics", "calibration", "calibrator", "decision_policy", "approvals", "description"}
)
_ALLOCATE_ATTEMPTS = 20
_RESERVED = "registering"


def _plain(value: Any) -> Any:
    """numpy scalars -> Python scalars (cards are JSON)."""
    return value.item() if hasattr(value, "item") else value


class Versions(ArtifactStore):
    """Registering versions and reading their cards."""

    # ------------------------------------------------------------------ register

    def _allocate_version(self, model_name: str, now: datetime) -> str:
        """Take the next version number and reserve its item before anything is uploaded.

        The counter is an atomic ADD; the reservation is a conditional put, so even if two callers
        ever saw the same number (moto's server does not serialize ADD), only one owns the version
        and no artifact can be overwritten by another registration.
        """
        for _ in range(_ALLOCATE_ATTEMPTS):
            with self._aws(f"allocating a version of {model_name}"):
                resp = self._ddb.update_item(
                    TableName=self.table_name,
                    Key=key(model_name, COUNTER),
                    UpdateExpression="ADD next_version :one SET updated_at = :now",
                    ExpressionAttributeValues=marshal({":one": 1, ":now": now.isoformat()}),
                    ReturnValues="UPDATED_NEW",
                )
            version = format_version(int(unmarshal(resp["Attributes"])["next_version"]))
            reserved = self._conditional_put(
                {PK: model_name, SK: version, "status": _RESERVED, "created_at": now.isoformat()},
                "attribute_not_exists(#sk)",
                {},
                {"#sk": SK},
                what=f"reserving {model_name}@{version}",
            )
            if reserved:
                return version
        raise TransientError(
            f"could not allocate a version of {model_name} after {_ALLOCATE_ATTEMPTS} attempts"
        )

    def _drop_reservation(self, model_name: str, version: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._ddb.delete_item(
                TableName=self.table_name,
                Key=key(model_name, version),
                ConditionExpression="#st = :reserved",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues=marshal({":reserved": _RESERVED}),
            )
        except (ClientError, BotoCoreError):
            logger.warning("could not drop reservation", extra={"model": model_name, "version": version})

    def register(
        self,
        model_name: str,
        estimator: Any,
        *,
        task: Task,
        feature_schema: FeatureSchema,
        now: datetime,
        target: str | None = None,
        classes: tuple[Any, ...] | list[Any] | None = None,
        metrics: dict[str, float] | None = None,
        params: dict[str, Any] | None = None,
        training_data: DataRef | None = None,
        parent_version: str | None = None,
        baseline_profile: dict[str, Any] | None = None,
        baseline_sample: Any | None = None,
        calibration: dict[str, float] | None = None,
        decision_policy: DecisionPolicy | dict[str, Any] | None = None,
        description: str | None = None,
        fmt: artifacts.ArtifactFormat = "skops",
        calibrator: dict[str, Any] | None = None,
        estimation: dict[str, Any] | None = None,
        loss_models: Any | None = None,
        conversion: Conversion | None = None,
    ) -> ModelCard:
        """Store a fitted estimator as a new candidate version.

        Parameters
        ----------
        model_name : str
            Checked with schema.check_model_name before any I/O.
        estimator : object
            Fitted scikit-learn estimator/Pipeline (only TRUSTED_TYPES; see artifacts), or an
            already serialized ``artifacts.DumpedArtifact`` (an ONNX twin; ``fmt`` is then its own).
        task, feature_schema, now, target, classes, metrics, params, training_data, parent_version,
        calibration, decision_policy, description
            Recorded on the card. ``classes`` defaults to ``estimator.classes_`` for classifiers.
        baseline_profile : dict, optional
            Written to ``baseline/profile.json`` (a Profile.to_dict()).
        baseline_sample : pyarrow.Table, optional
            Written to ``baseline/sample.parquet``.
        fmt : {"skops", "joblib"}
        calibrator, estimation : dict, optional
            CBPE's calibration maps and the estimator's held-out check (monitoring.estimation
            ``ReferenceFit.card_fields``), recorded on the card.
        loss_models : dict, optional
            A regressor's DLE loss-model state, written as ``baseline/loss_model.skops`` (the
            artifact allowlist applies) and pinned on the card like the baseline.
        conversion : Conversion, optional
            Recorded on the card of a converted version (``scorewatch models export``).

        Returns
        -------
        ModelCard
            Status ``candidate``, with a version no concurrent registration can also get.

        Raises
        ------
        InvalidModelNameError, ModelIntegrityError (untrusted types), TransientError
        """
        check_model_name(model_name)
        if fmt == "joblib" and not self.allow_unsafe_pickle:
            raise UnsafeModelFormatError(
                f"{model_name}: registering a joblib/pickle artifact needs allow_unsafe_pickle"
            )
        if isinstance(estimator, artifacts.DumpedArtifact):
            # Only a graph is stored as given: skops and pickle bytes go through dump_artifact's checks.
            if estimator.format != "onnx":
                raise UnsafeModelFormatError(
                    f"{model_name}: only an ONNX artifact is registered already serialized, "
                    f"not {estimator.format!r}"
                )
            artifacts.verify_sha256(estimator.data, estimator.sha256, what=model_name)
            art, fmt = estimator, estimator.format
        else:
            art = artifacts.dump_artifact(estimator, fmt=fmt)
        if classes is None and task != "regression" and hasattr(estimator, "classes_"):
            classes = tuple(_plain(c) for c in estimator.classes_)
        if isinstance(decision_policy, DecisionPolicy):
            decision_policy = decision_policy.model_dump(mode="json")

        version = self._allocate_version(model_name, now)
        try:
            prefix = f"{model_name}/{version}"
            artifact_key = f"{prefix}/model.{fmt}"
            artifact_version = self._put_object(artifact_key, art.data, "application/octet-stream")
            baseline = self._write_baseline(prefix, baseline_profile, baseline_sample, loss_models)
            card = ModelCard(
                model_name=model_name,
                version=version,
                task=task,
                target=target,
                feature_schema=feature_schema,
                classes=tuple(_plain(c) for c in classes) if classes is not None else None,
                artifact=ArtifactRef(
                    key=artifact_key,
                    format=art.format,
                    sha256=art.sha256,
                    size_bytes=art.size_bytes,
                    trusted_types=art.trusted_types,
                    version_id=artifact_version,
                ),
                status="candidate",
                created_at=now,
                metrics={k: float(v) for k, v in (metrics or {}).items()},
                params=params or {},
                library_versions=art.library_versions,
                training_data=training_data or DataRef(),
                baseline=baseline,
                parent_version=format_version(parent_version) if parent_version else None,
                calibration=calibration,
                calibrator=calibrator,
                estimation=estimation,
                decision_policy=decision_policy,
                description=description,
                conversion=conversion,
            )
            self._mirror_card(card)
            with self._aws(f"recording {model_name}@{version}"):
                self._ddb.put_item(
                    TableName=self.table_name,
                    Item=marshal(card_item(card)),
                    # Write-once: only over this registration's own reservation, never over a card.
                    ConditionExpression="#st = :reserved AND attribute_not_exists(card)",
                    ExpressionAttributeNames={"#st": "status"},
                    ExpressionAttributeValues=marshal({":reserved": _RESERVED}),
                )
        except BaseException:
            # Free the reserved number's item so the failed registration leaves no placeholder row
            # (uploaded objects under the prefix are orphans a retry never reuses).
            self._drop_reservation(model_name, version)
            raise
        logger.info(
            "registered model version",
            extra={"model": model_name, "version": version, "sha256": art.sha256, "format": fmt},
        )
        return card

    # ------------------------------------------------------------------ read

    def _champion_pointer(self, model_name: str) -> dict[str, Any] | None:
        """The unmarshalled champion pointer, or None.

        Read from ``champion#<model>``; a deployment upgraded from a release that kept the pointer
        in the model's own partition falls back to that item (marked ``LEGACY``) until the next
        promotion or ``repair_champion`` writes the new one.
        """
        pointer = self._get_item(pointer_partition(model_name), CHAMPION)
        if pointer is not None:
            return pointer
        legacy = self._get_item(model_name, CHAMPION)
        if legacy is not None and pointer_champion(legacy):
            logger.warning(
                "legacy champion pointer in use: run `scorewatch models repair-champion` once",
                extra={"model": model_name, "version": pointer_champion(legacy)},
            )
            return {**legacy, LEGACY: True}
        return None

    def _version_card(
        self, model_name: str, version: str, item: dict[str, Any] | None, pointer: dict[str, Any] | None
    ) -> ModelCard:
        """The card of ``version`` from its item; for the champion, the content the pointer pinned."""
        champion = pointer_champion(pointer)
        pinned = pointer.get("card") if pointer and champion == version else None
        if isinstance(pinned, str):
            if item is None or item.get("card") != pinned:
                # Only a role outside the promote path could have changed it: scoring keeps the
                # promoted content, and the discrepancy is an integrity finding.
                logger.error(
                    "champion version item differs from the content pinned at promotion; "
                    "the pinned content is used",
                    extra={"model": model_name, "version": version, "integrity": "champion_item"},
                )
            item = {**(item or {PK: model_name, SK: version}), "card": pinned}
        if item is None or "card" not in item:
            raise ModelNotFoundError(f"model {model_name!r} has no version {version}")
        return card_from_item(item, champion)

    def champion_version(self, model_name: str) -> str | None:
        """The champion's version, or None when the model has none."""
        check_model_name(model_name)
        return pointer_champion(self._champion_pointer(model_name))

    def resolve(self, model_name: str, ref: str | int = "champion") -> str:
        """``"champion"`` or a version number -> a zero-padded version (existence not checked)."""
        check_model_name(model_name)
        if str(ref) == "champion":
            version = self.champion_version(model_name)
            if version is None:
                raise ModelNotFoundError(f"model {model_name!r} has no champion")
            return version
        return format_version(ref)

    def get(self, model_name: str, ref: str | int = "champion") -> ModelCard:
        """The card of ``model_name@ref`` (``ref`` = ``"champion"`` or a version).

        Raises
        ------
        ModelNotFoundError
            No such model, version or champion.
        """
        check_model_name(model_name)
        pointer = self._champion_pointer(model_name)
        champion = pointer_champion(pointer)
        if str(ref) == "champion":
            if champion is None:
                raise ModelNotFoundError(f"model {model_name!r} has no champion")
            version = champion
        else:
            version = format_version(ref)
        return self._version_card(model_name, version, self._get_item(model_name, version), pointer)

    def load(self, model_name: str, ref: str | int = "champion") -> LoadedModel:
        """Fetch, verify (sha256 before parsing) and deserialize ``model_name@ref``.

        Cached per container by (name, version, sha256).

        Raises
        ------
        ModelNotFoundError
            No such version, or its artifact is missing from the bucket.
        ModelIntegrityError, IncompatibleModelError, UnsafeModelFormatError
            See artifacts.load_artifact.
        """
        card = self.get(model_name, ref)
        return LoadedModel(card=card, estimator=self._load_estimator(card))

    def list_models(self) -> list[str]:
        """Names of every registered model, sorted."""
        names: list[str] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "FilterExpression": "#sk = :counter",
            "ProjectionExpression": "#pk",
            "ExpressionAttributeNames": {"#sk": SK, "#pk": PK},
            "ExpressionAttributeValues": marshal({":counter": COUNTER}),
        }
        while True:
            with self._aws(f"listing models in {self.table_name}"):
                resp = self._ddb.scan(**kwargs)
            names.extend(unmarshal(item)[PK] for item in resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                return sorted(names)
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def list_versions(self, model_name: str) -> list[ModelCard]:
        """Every version's card, oldest first."""
        check_model_name(model_name)
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "#pk = :m",
            "ExpressionAttributeNames": {"#pk": PK},
            "ExpressionAttributeValues": marshal({":m": model_name}),
            "ConsistentRead": True,
        }
        while True:
            with self._aws(f"listing versions of {model_name}"):
                resp = self._ddb.query(**kwargs)
            items.extend(unmarshal(item) for item in resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        pointer = self._champion_pointer(model_name)
        champion = pointer_champion(pointer)
        by_version: dict[str, dict[str, Any] | None] = {
            i[SK]: i for i in items if i[SK] not in (CHAMPION, COUNTER)
        }
        if champion is not None:
            by_version.setdefault(champion, None)  # its item is gone: the pinned card remains
        # Items without a card are reservations of registrations in progress (or that failed).
        cards = [
            self._version_card(model_name, v, i, pointer)
            for v, i in by_version.items()
            if (i is not None and "card" in i) or v == champion
        ]
        return sorted(cards, key=lambda c: c.version)

    # ------------------------------------------------------------------ update

    def update_card(self, card: ModelCard) -> ModelCard:
        """Rewrite a candidate's annotations (``ANNOTATIONS``: metrics, calibration, approvals...).

        The rest of a card is write-once, and the champion's card is pinned by its pointer: status
        changes go through promote/reject/archive/rollback, content changes through a new version.

        Raises
        ------
        PromotionConflictError
            The stored status is not ``card.status``, the version is the champion, or the stored
            card changed since it was read.
        ModelIntegrityError
            ``card`` differs from the stored one outside ``ANNOTATIONS`` (artifact, baseline...).
        """
        check_model_name(card.model_name)
        what = f"{card.model_name}@{card.version}"
        item = self._get_item(card.model_name, card.version)
        pointer = self._champion_pointer(card.model_name)
        stored = self._version_card(card.model_name, card.version, item, pointer)
        stored_item: dict[str, Any] = item or {}
        if stored.status != card.status or stored.status == "champion":
            raise PromotionConflictError(
                f"cannot update {what}: its status is {stored.status!r} (the champion's card is pinned; "
                "status changes go through promote/reject/archive/rollback)"
            )
        content = sorted(
            name
            for name in type(card).model_fields
            if name not in ANNOTATIONS and getattr(card, name) != getattr(stored, name)
        )
        if content:
            raise ModelIntegrityError(
                f"cannot update {what}: {', '.join(content)} are write-once (register a new version)"
            )
        from botocore.exceptions import ClientError

        with self._aws(f"updating {what}"):
            try:
                self._ddb.put_item(
                    TableName=self.table_name,
                    Item=marshal(card_item(card)),
                    ConditionExpression="card = :old AND sha256 = :sha AND #st = :st",
                    ExpressionAttributeNames={"#st": "status"},
                    ExpressionAttributeValues=marshal(
                        {
                            ":old": stored_item["card"],
                            ":sha": card.artifact.sha256,
                            ":st": stored_item["status"],
                        }
                    ),
                )
            except ClientError as exc:
                if is_conditional_failure(exc):
                    raise PromotionConflictError(
                        f"cannot update {what}: it changed while updating; retry"
                    ) from exc
                raise
        self._mirror_card(card)
        return card

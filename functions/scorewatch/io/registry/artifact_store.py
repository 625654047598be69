"""Objects in the models bucket: artifacts (verified, cached loads), baselines and card mirrors.

Bucket layout: ``<model>/<version>/model.skops``, ``card.json`` (a readable mirror of the card),
``baseline/profile.json``, ``baseline/sample.parquet``.

Baselines are pinned like artifacts: registration records each object's S3 version id and sha256
on the card, and every read fetches that version and checks the hash before parsing, raising
BaselineIntegrityError on a mismatch. Cards written before baselines were pinned carry no hash:
their baselines are read unverified, with a warning.
"""

from __future__ import annotations

import io
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from scorewatch.core.cards import BaselineRef, ModelCard
from scorewatch.core.errors import (
    BaselineIntegrityError,
    ModelError,
    ModelNotFoundError,
    UnsafeModelFormatError,
)
from scorewatch.io import artifacts
from scorewatch.io.registry.base import RegistryBase, logger

_CACHE_MAX = 8


@dataclass(frozen=True)
class LoadedModel:
    """A verified, deserialized estimator with the card it was loaded from."""

    card: ModelCard
    estimator: Any


# Per-container cache of deserialized estimators keyed by (name, version, sha256): a warm Lambda
# does not re-download or re-parse the champion, and a changed artifact hash is a cache miss.
_LOADED: OrderedDict[tuple[str, str, str], Any] = OrderedDict()
_LOADED_LOCK = threading.Lock()


def clear_cache() -> None:
    """Forget cached estimators (tests, or to force a re-download)."""
    with _LOADED_LOCK:
        _LOADED.clear()


class ArtifactStore(RegistryBase):
    """Writes and reads of the models bucket for registered versions."""

    def _mirror_card(self, card: ModelCard) -> None:
        """Rewrite card.json (the table is authoritative; the bucket copy is for people and tools)."""
        key = f"{card.model_name}/{card.version}/card.json"
        self._put_object(key, card.model_dump_json(indent=2).encode(), "application/json")

    def _write_baseline(
        self,
        prefix: str,
        baseline_profile: dict[str, Any] | None,
        baseline_sample: Any | None,
        loss_models: Any | None = None,
    ) -> BaselineRef:
        """Upload the baseline profile, sample and loss models under ``prefix``; the pinned reference."""
        pins: dict[str, Any] = {}
        if loss_models is not None:
            # The same allowlist as model artifacts: a type outside it is refused before upload.
            art = artifacts.dump_artifact(loss_models)
            loss_key = f"{prefix}/baseline/loss_model.skops"
            pins["loss_model_key"] = loss_key
            pins["loss_model_version_id"] = self._put_object(loss_key, art.data, "application/octet-stream")
            pins["loss_model_sha256"] = art.sha256
        if baseline_profile is not None:
            profile_key = f"{prefix}/baseline/profile.json"
            data = json.dumps(baseline_profile).encode()
            pins["profile_key"] = profile_key
            pins["profile_version_id"] = self._put_object(profile_key, data, "application/json")
            pins["profile_sha256"] = artifacts.sha256_hex(data)
            rows = baseline_profile.get("rows") if isinstance(baseline_profile, dict) else None
            if isinstance(rows, int):
                pins["rows"] = rows
        if baseline_sample is not None:
            import pyarrow.parquet as pq

            buf = io.BytesIO()
            pq.write_table(baseline_sample, buf)
            sample_key = f"{prefix}/baseline/sample.parquet"
            data = buf.getvalue()
            pins["sample_key"] = sample_key
            pins["sample_version_id"] = self._put_object(sample_key, data, "application/vnd.apache.parquet")
            pins["sample_sha256"] = artifacts.sha256_hex(data)
            pins.setdefault("rows", baseline_sample.num_rows)
        return BaselineRef(**pins)

    def _read_baseline_object(
        self, card: ModelCard, key: str, sha256: str | None, version_id: str | None, part: str
    ) -> bytes:
        """The pinned bytes of one baseline object, hash-checked before anything parses them."""
        what = f"baseline {part} of {card.model_name}@{card.version}"
        try:
            data = self._get_object(key, what=what, version_id=version_id)
        except ModelNotFoundError as exc:
            if sha256 is None:
                raise
            # A pinned object that is gone was deleted or replaced behind the registry's back.
            raise BaselineIntegrityError(f"{what}: {exc}") from exc
        if sha256 is None:
            logger.warning(
                "baseline read unverified: the card records no sha256 (registered before baselines "
                "were pinned)",
                extra={"model": card.model_name, "version": card.version, "key": key},
            )
            return data
        actual = artifacts.sha256_hex(data)
        if actual != sha256:
            raise BaselineIntegrityError(
                f"{what}: s3://{self.models_bucket}/{key} sha256 mismatch (expected {sha256}, "
                f"actual {actual}); refusing to use it"
            )
        return data

    def verify_baseline(self, card: ModelCard) -> None:
        """Check ``card``'s baseline objects against their pins (BaselineIntegrityError if not)."""
        if card.baseline.profile_key:
            self.read_baseline_profile(card)
        self.read_baseline_sample(card)

    def read_loss_models(self, card: ModelCard) -> Any | None:
        """The DLE loss-model state of a regressor (a dict; see monitoring.estimation.LossModels).

        Fetched at its pinned S3 version, hash-checked before parsing (BaselineIntegrityError on a
        mismatch or a missing pin), and deserialized through the artifact allowlist (skops, never
        pickle). ``None`` when the version has no loss models. Cached like estimators.

        Raises
        ------
        BaselineIntegrityError, ModelIntegrityError, IncompatibleModelError
        """
        ref = card.baseline
        if not ref.loss_model_key:
            return None
        what = f"loss models of {card.model_name}@{card.version}"
        if not ref.loss_model_sha256:
            raise BaselineIntegrityError(f"{what}: no sha256 recorded; refusing to deserialize")
        cache_key = (card.model_name, card.version, ref.loss_model_sha256)
        with _LOADED_LOCK:
            if cache_key in _LOADED:
                _LOADED.move_to_end(cache_key)
                return _LOADED[cache_key]
        data = self._read_baseline_object(
            card, ref.loss_model_key, ref.loss_model_sha256, ref.loss_model_version_id, "loss model"
        )
        state = artifacts.load_artifact(
            data,
            fmt="skops",
            expected_sha256=ref.loss_model_sha256,
            what=what,
            library_versions_recorded=card.library_versions,
            allow_version_mismatch=self.allow_version_mismatch,
        )
        with _LOADED_LOCK:
            _LOADED[cache_key] = state
            while len(_LOADED) > _CACHE_MAX:
                _LOADED.popitem(last=False)
        return state

    def _load_estimator(self, card: ModelCard) -> Any:
        """Fetch, verify (sha256 before parsing) and deserialize ``card``'s artifact (cached)."""
        what = f"{card.model_name}@{card.version}"
        # Policy checks come before the cache: an estimator cached by a registry that allows
        # pickle or version mismatches must not reach one that does not.
        if card.artifact.format == "joblib" and not self.allow_unsafe_pickle:
            raise UnsafeModelFormatError(
                f"{what}: joblib/pickle artifacts can execute code when loaded; refused "
                "(enable allow_unsafe_pickle only for artifacts you produced yourself)"
            )
        artifacts.check_library_versions(
            card.library_versions, what=what, allow_version_mismatch=self.allow_version_mismatch
        )
        cache_key = (card.model_name, card.version, card.artifact.sha256)
        with _LOADED_LOCK:
            if cache_key in _LOADED:
                _LOADED.move_to_end(cache_key)
                return _LOADED[cache_key]
        # The pinned version: overwriting the key later cannot change what this version loads.
        data = self._get_object(card.artifact.key, what=what, version_id=card.artifact.version_id)
        estimator = artifacts.load_artifact(
            data,
            fmt=card.artifact.format,
            expected_sha256=card.artifact.sha256,
            what=what,
            library_versions_recorded=None,  # checked above
            allow_unsafe_pickle=self.allow_unsafe_pickle,
            allow_version_mismatch=self.allow_version_mismatch,
        )
        with _LOADED_LOCK:
            _LOADED[cache_key] = estimator
            while len(_LOADED) > _CACHE_MAX:
                _LOADED.popitem(last=False)
        logger.info("loaded model", extra={"model": card.model_name, "version": card.version})
        return estimator

    def read_baseline_profile(self, card: ModelCard) -> dict[str, Any]:
        """The baseline profile recorded at registration (a Profile.to_dict()), hash-checked.

        Raises
        ------
        ModelNotFoundError
            The version has no baseline profile, or its (unpinned) object is missing.
        BaselineIntegrityError
            The object does not match the S3 version and sha256 pinned on the card.
        """
        what = f"{card.model_name}@{card.version}"
        ref = card.baseline
        if not ref.profile_key:
            raise ModelNotFoundError(f"{what} has no baseline profile")
        data = self._read_baseline_object(
            card, ref.profile_key, ref.profile_sha256, ref.profile_version_id, "profile"
        )
        try:
            profile: dict[str, Any] = json.loads(data)
        except ValueError as exc:
            raise ModelError(f"baseline profile of {what} is not valid JSON: {exc}") from exc
        return profile

    def read_baseline_sample(self, card: ModelCard) -> Any | None:
        """The baseline sample as a pyarrow Table (hash-checked), or None when none was recorded."""
        ref = card.baseline
        if not ref.sample_key:
            return None
        import pyarrow as pa
        import pyarrow.parquet as pq

        what = f"{card.model_name}@{card.version}"
        data = self._read_baseline_object(
            card, ref.sample_key, ref.sample_sha256, ref.sample_version_id, "sample"
        )
        try:
            return pq.read_table(pa.BufferReader(data))
        except (pa.ArrowInvalid, OSError) as exc:
            raise ModelError(f"baseline sample of {what} is not valid Parquet: {exc}") from exc

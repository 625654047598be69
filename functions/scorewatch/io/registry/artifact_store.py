"""Objects in the models bucket: artifacts (verified, cached loads), baselines and card mirrors.

Bucket layout: ``<model>/<version>/model.skops``, ``card.json`` (a readable mirror of the card),
``baseline/profile.json``, ``baseline/sample.parquet``.
"""

from __future__ import annotations

import io
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from scorewatch.core.cards import BaselineRef, ModelCard
from scorewatch.core.errors import ModelError, ModelNotFoundError, UnsafeModelFormatError
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
        self, prefix: str, baseline_profile: dict[str, Any] | None, baseline_sample: Any | None
    ) -> BaselineRef:
        """Upload the baseline profile and sample under ``prefix``; the reference the card records."""
        baseline = BaselineRef()
        if baseline_profile is not None:
            profile_key = f"{prefix}/baseline/profile.json"
            self._put_object(profile_key, json.dumps(baseline_profile).encode(), "application/json")
            baseline = baseline.model_copy(update={"profile_key": profile_key})
            rows = baseline_profile.get("rows") if isinstance(baseline_profile, dict) else None
            if isinstance(rows, int):
                baseline = baseline.model_copy(update={"rows": rows})
        if baseline_sample is not None:
            import pyarrow.parquet as pq

            buf = io.BytesIO()
            pq.write_table(baseline_sample, buf)
            sample_key = f"{prefix}/baseline/sample.parquet"
            self._put_object(sample_key, buf.getvalue(), "application/vnd.apache.parquet")
            baseline = baseline.model_copy(update={"sample_key": sample_key})
            if baseline.rows is None:
                baseline = baseline.model_copy(update={"rows": baseline_sample.num_rows})
        return baseline

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
        """The baseline profile recorded at registration (a Profile.to_dict()).

        Raises
        ------
        ModelNotFoundError
            The version has no baseline profile, or its object is missing.
        """
        what = f"{card.model_name}@{card.version}"
        if not card.baseline.profile_key:
            raise ModelNotFoundError(f"{what} has no baseline profile")
        data = self._get_object(card.baseline.profile_key, what=f"baseline profile of {what}")
        try:
            profile: dict[str, Any] = json.loads(data)
        except ValueError as exc:
            raise ModelError(f"baseline profile of {what} is not valid JSON: {exc}") from exc
        return profile

    def read_baseline_sample(self, card: ModelCard) -> Any | None:
        """The baseline sample as a pyarrow Table, or None when none was recorded."""
        if not card.baseline.sample_key:
            return None
        import pyarrow as pa
        import pyarrow.parquet as pq

        what = f"{card.model_name}@{card.version}"
        data = self._get_object(card.baseline.sample_key, what=f"baseline sample of {what}")
        try:
            return pq.read_table(pa.BufferReader(data))
        except (pa.ArrowInvalid, OSError) as exc:
            raise ModelError(f"baseline sample of {what} is not valid Parquet: {exc}") from exc

"""The functions' view of the stored model configurations: a reader cached for a short TTL.

:class:`FleetConfig` satisfies :class:`scorewatch.core.config.ConfigSource`, so the scoring,
monitoring and lifecycle services read it exactly as they read a models file. It holds one
snapshot of every model's current configuration (one paginated Query of the registry's
``config#@current`` partition) and re-reads it when the snapshot is older than ``ttl_seconds``
(contract.Env.CONFIG_TTL_SECONDS, default 60): a ``scorewatch models configure`` is live in every
warm container within the TTL, with no deploy. A model asked for by name that the snapshot does
not hold is looked up on its own (a model onboarded a moment ago is not scored on defaults for
a minute), and runs on the defaults only when nothing is stored for it, as before.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from scorewatch.core.config import ModelConfig
from scorewatch.io.registry.configs import ConfigStore, StoredConfig

DEFAULT_TTL_SECONDS = 60


@dataclass(frozen=True)
class _Snapshot:
    read_at: float
    by_name: dict[str, StoredConfig]


class FleetConfig:
    """Cached reader of the stored configurations (see the module docstring).

    Parameters
    ----------
    store : ConfigStore
        The registry table's configuration items.
    ttl_seconds : float
        Age after which the snapshot (and a per-model lookup) is read again; 0 reads every time.
    clock : callable
        Monotonic seconds (a parameter so tests control time).

    Examples
    --------
    >>> config = FleetConfig(ConfigStore("sw-registry"), ttl_seconds=60)  # doctest: +SKIP
    >>> config.model("churn").decision  # doctest: +SKIP
    >>> config.version("churn")  # doctest: +SKIP
    3
    """

    def __init__(
        self,
        store: ConfigStore,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.store = store
        self.ttl_seconds = float(ttl_seconds)
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        self._looked_up: dict[str, tuple[float, StoredConfig | None]] = {}

    def _fresh(self, read_at: float) -> bool:
        return self._clock() - read_at < self.ttl_seconds

    def _all(self) -> dict[str, StoredConfig]:
        with self._lock:
            snap = self._snapshot
            if snap is None or not self._fresh(snap.read_at):
                read_at = self._clock()
                stored = self.store.all_current(include_retired=True)
                snap = _Snapshot(read_at=read_at, by_name={s.name: s for s in stored})
                self._snapshot = snap
                self._looked_up.clear()
            return snap.by_name

    def stored(self, name: str) -> StoredConfig | None:
        """The current stored configuration of ``name`` (active or retired), or None."""
        hit = self._all().get(name)
        if hit is not None:
            return hit
        with self._lock:
            cached = self._looked_up.get(name)
            if cached is not None and self._fresh(cached[0]):
                return cached[1]
        read_at = self._clock()
        found = self.store.current(name)
        with self._lock:
            self._looked_up[name] = (read_at, found)
        return found

    @property
    def models(self) -> tuple[ModelConfig, ...]:
        """Every active model's configuration, sorted by name."""
        stored = sorted(self._all().values(), key=lambda s: s.name)
        return tuple(s.config for s in stored if s.status == "active")

    def model(self, name: str) -> ModelConfig:
        """The stored configuration of ``name``, or the defaults when nothing is stored."""
        found = self.stored(name)
        return found.config if found is not None else ModelConfig(name=name)

    def version(self, name: str) -> int | None:
        """The config version ``name`` runs under (None when running on the defaults)."""
        found = self.stored(name)
        return found.version if found is not None else None

    def retired(self, name: str) -> bool:
        """True when ``name``'s stored configuration is retired."""
        found = self.stored(name)
        return found is not None and found.status == "retired"

"""The scorewatch stack: composes one construct per capability and wires them together."""

from __future__ import annotations

from aws_cdk import Aspects, Stack
from constructs import Construct

from scorewatch.core.contract import Env
from scorewatch_infra.actions import ExplicitActions
from scorewatch_infra.alarms import Observability
from scorewatch_infra.analytics import Analytics
from scorewatch_infra.backfill import Backfill
from scorewatch_infra.configuration import InfraSettings
from scorewatch_infra.data import DataStorage
from scorewatch_infra.events import EventRouting
from scorewatch_infra.fleet import FleetScheduling
from scorewatch_infra.functions import FunctionFactory
from scorewatch_infra.large_file import LargeFile
from scorewatch_infra.monitoring import Monitoring
from scorewatch_infra.nag import acknowledge_grant_wildcards
from scorewatch_infra.registry import RegistryTables
from scorewatch_infra.retraining import Retraining
from scorewatch_infra.scoring import Scoring
from scorewatch_infra.site import MonitoringSite


class ScorewatchStack(Stack):
    """Batch scoring, monitoring and retraining for any number of models (resources do not grow with them)."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: InfraSettings, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        prefix, config = settings.prefix, settings.config
        self.storage = DataStorage(self, "data", prefix=prefix)
        self.tables = RegistryTables(self, "registry", prefix=prefix, key=self.storage.key)
        self.routing = EventRouting(self, "events", prefix=prefix)
        self.factory = FunctionFactory(
            self,
            "functions",
            prefix=prefix,
            architecture=settings.architecture,
            # Function logs are encrypted with the project's key (data, registry, logs).
            log_key=self.storage.key,
            environment={
                Env.DATA_BUCKET: self.storage.data.bucket_name,
                Env.MODELS_BUCKET: self.storage.models.bucket_name,
                Env.REGISTRY_TABLE: self.tables.registry.table_name,
                Env.IDEMPOTENCY_TABLE: self.tables.idempotency.table_name,
                Env.EVENT_BUS: self.routing.bus.event_bus_name,
            },
        )
        common = {
            "data_bucket": self.storage.data,
            "routing": self.routing,
        }
        self.scoring = Scoring(
            self,
            "scoring",
            factory=self.factory,
            models_bucket=self.storage.models,
            registry=self.tables.registry,
            idempotency=self.tables.idempotency,
            key=self.storage.key,
            reserved_concurrency=settings.score_reserved_concurrency,
            **common,
        )
        self.monitoring = Monitoring(
            self,
            "monitoring",
            factory=self.factory,
            models_bucket=self.storage.models,
            registry=self.tables.registry,
            key=self.storage.key,
            **common,
        )
        self.large_file = LargeFile(
            self,
            "large-file",
            factory=self.factory,
            score=self.scoring.score,
            key=self.storage.key,
            registry=self.tables.registry,
            **common,
        )
        self.backfill = Backfill(
            self,
            "backfill",
            factory=self.factory,
            score=self.scoring.score,
            data_bucket=self.storage.data,
            key=self.storage.key,
        )
        self.retraining = Retraining(
            self,
            "retraining",
            factory=self.factory,
            models_bucket=self.storage.models,
            registry=self.tables.registry,
            key=self.storage.key,
            **common,
        )
        # Model schedules are created at run time (`scorewatch models configure`) in this group.
        self.fleet = FleetScheduling(
            self,
            "fleet",
            prefix=prefix,
            score=self.scoring.score.function,
            monitor=self.monitoring.monitor.function,
        )
        self.site = MonitoringSite(
            self,
            "site",
            factory=self.factory,
            data_bucket=self.storage.data,
            registry=self.tables.registry,
            routing=self.routing,
            key=self.storage.key,
        )
        functions = list(self.factory.functions.values())
        self.observability = Observability(
            self,
            "observability",
            prefix=prefix,
            config=config,
            functions=functions,
            queues=[self.routing.target_dlq, *(f.dlq for f in functions if f.dlq is not None)],
            state_machines=[
                self.retraining.state_machine,
                self.large_file.state_machine,
                self.backfill.state_machine,
            ],
            routing=self.routing,
        )
        self.analytics = Analytics(
            self, "analytics", prefix=prefix, data_bucket=self.storage.data, key=self.storage.key
        )
        # CDK's grant action families become explicit actions when the app is synthesized.
        self.explicit_actions = ExplicitActions()
        Aspects.of(self).add(self.explicit_actions)
        # Last: every grant exists now, so each policy's (resource) wildcards can be matched to a reason.
        self.nag_acknowledgements = acknowledge_grant_wildcards(
            self, buckets={"data": self.storage.data, "models": self.storage.models}
        )

"""Analytics: a Glue database, partition-projected tables and the site's views as named Athena queries.

The ``model`` partition is projected as ``injected``: Athena takes the model from the query's
``WHERE model = '...'`` (or ``IN (...)``), so a model configured after the deploy is queryable at
once and the table definition does not grow with the fleet. The price: every query names its
model(s); a query without a ``model`` predicate is refused by Athena. ``date`` stays a date range.

The stack's Athena workgroup writes results under ``athena-results/`` of the data bucket,
encrypted with the data key, and holds one named query per view of the static site
(:mod:`scorewatch_infra.analytics_queries`), so the fleet overview, a model's drift share, its
drift heatmap and its performance with label coverage are one click away in the Athena console.
"""

from __future__ import annotations

import base64
import json

from aws_cdk import Aws
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from scorewatch.core.contract import Prefix
from scorewatch_infra.analytics_queries import NAMED_QUERIES

PARQUET = {
    "input_format": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "output_format": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "serde": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
}
# Lineage columns every scored file carries (DESIGN.md). Feature, id and score columns differ per
# model; Athena reads Parquet by column name, so analysts can add them with ALTER TABLE.
SCORED_COLUMNS = (
    ("model_name", "string"),
    ("model_version", "string"),
    ("batch_id", "string"),
    ("source_uri", "string"),
    ("scored_at", "timestamp"),
    ("decision", "string"),
)
# The current result per source key (issue 15, invariant 2; scorewatch.io.scored): a re-upload or a
# backfill supersedes the earlier batch of the same source_uri, which stays in `scored` (outputs are
# write-once). The batch scored last wins; ties go to the greater batch_id, as in the runtime rule.
CURRENT_VIEW = "scored_current"
# A literal (the column list is checked against SCORED_COLUMNS by tests/infra).
SCORED_CURRENT_SQL = (
    'SELECT model_name, model_version, batch_id, source_uri, scored_at, decision, model, "date" FROM ('
    "SELECT b.*, rank() OVER (PARTITION BY model, source_uri ORDER BY batch_scored_at DESC, batch_id DESC)"
    " AS current_rank FROM ("
    "SELECT s.*, max(scored_at) OVER (PARTITION BY model, source_uri, batch_id) AS batch_scored_at"
    " FROM {table} s) b) r WHERE current_rank = 1 OR source_uri IS NULL"
)
_PRESTO_TYPES = {"string": "varchar", "timestamp": "timestamp"}

# One row per evaluated column per batch: MonitoringReport.history_rows (scorewatch.monitoring.evaluation);
# tests/infra checks this list against that schema.
_STRINGS = ("batch_id", "model_name", "model_version")
_DOUBLES = ("statistic", "pvalue", "distance", "threshold", "severity", "psi", "jensenshannon")
_RATES = ("reference_missing_rate", "current_missing_rate", "reference_mean", "current_mean", "current_std")
HISTORY_COLUMNS = (
    *((c, "string") for c in _STRINGS),
    ("evaluated_at", "timestamp"),
    ("column", "string"),
    ("role", "string"),
    ("kind", "string"),
    ("test", "string"),
    *((c, "double") for c in _DOUBLES),
    ("drifted", "boolean"),
    ("reference_count", "bigint"),
    ("current_count", "bigint"),
    *((c, "double") for c in _RATES),
    ("current_min", "double"),
    ("current_max", "double"),
    ("quality_violations", "bigint"),
    ("dataset_drift", "boolean"),
    ("drift_share", "double"),
)

# One row per (scope, batch, metric) of each labels run: scorewatch.lifecycle.labels.history_rows;
# tests/infra checks this list against the rows that function writes.
PERFORMANCE_COLUMNS = (
    ("model_name", "string"),
    ("model_version", "string"),
    ("scope", "string"),
    ("batch_id", "string"),
    ("metric", "string"),
    ("realized", "double"),
    ("estimated", "double"),
    ("scored_rows", "bigint"),
    ("labeled_rows", "bigint"),
    ("coverage", "double"),
    ("headline", "boolean"),
    ("floor", "double"),
    ("run_id", "string"),
    ("computed_at", "timestamp"),
)


class Analytics(Construct):
    """Glue database + tables over scored/, the monitoring and performance history (no crawler:
    partition projection), an Athena workgroup and the site's views as its named queries."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        data_bucket: s3.IBucket,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.database_name = prefix.replace("-", "_")
        self.database = glue.CfnDatabase(
            self,
            "database",
            catalog_id=Aws.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=self.database_name, description="scorewatch scored outputs and monitoring history"
            ),
        )
        root = f"s3://{data_bucket.bucket_name}/"
        self.scored = self._table(
            "scored",
            columns=SCORED_COLUMNS,
            template=f"{root}{Prefix.SCORED}model=${{model}}/date=${{date}}/",
            location=f"{root}{Prefix.SCORED}",
        )
        self.history = self._table(
            "monitoring_history",
            columns=HISTORY_COLUMNS,
            template=f"{root}{Prefix.MONITORING}model=${{model}}/history/date=${{date}}/",
            location=f"{root}{Prefix.MONITORING}",
        )
        # The labels runs' performance history (realized beside estimated, label coverage).
        self.performance = self._table(
            "performance_history",
            columns=PERFORMANCE_COLUMNS,
            template=f"{root}{Prefix.MONITORING}model=${{model}}/performance/date=${{date}}/",
            location=f"{root}{Prefix.MONITORING}",
        )
        self.scored_current = self._current_view()
        self.workgroup = athena.CfnWorkGroup(
            self,
            "workgroup",
            name=prefix,
            description="scorewatch: the site's views over the monitoring and performance history",
            state="ENABLED",
            recursive_delete_option=True,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"{root}{Prefix.ATHENA}",
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=key.key_arn
                    ),
                ),
            ),
        )
        self.named_queries = [self._named_query(name, *spec) for name, spec in NAMED_QUERIES.items()]

    def _named_query(self, name: str, description: str, sql: str) -> athena.CfnNamedQuery:
        query = athena.CfnNamedQuery(
            self,
            f"query-{name}",
            name=f"{self.database_name}-{name}",
            description=description,
            database=self.database_name,
            query_string=sql,
            work_group=self.workgroup.ref,
        )
        query.add_dependency(self.workgroup)
        query.add_dependency(self.database)
        return query

    def _current_view(self) -> glue.CfnTable:
        """``scored_current``: the ``scored`` rows of each source's current batch (an Athena view)."""
        columns = (*SCORED_COLUMNS, ("model", "string"), ("date", "string"))
        sql = SCORED_CURRENT_SQL.replace("{table}", f'"{self.database_name}"."scored"')
        presto = {
            "originalSql": sql,
            "catalog": "awsdatacatalog",
            "schema": self.database_name,
            "columns": [{"name": c, "type": _PRESTO_TYPES[t]} for c, t in columns],
        }
        encoded = base64.b64encode(json.dumps(presto).encode()).decode()
        view = glue.CfnTable(
            self,
            CURRENT_VIEW,
            catalog_id=Aws.ACCOUNT_ID,
            database_name=self.database_name,
            table_input=glue.CfnTable.TableInputProperty(
                name=CURRENT_VIEW,
                table_type="VIRTUAL_VIEW",
                parameters={"presto_view": "true", "comment": "Presto View"},
                view_original_text=f"/* Presto View: {encoded} */",
                view_expanded_text="/* Presto View */",
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    columns=[glue.CfnTable.ColumnProperty(name=c, type=t) for c, t in columns],
                ),
            ),
        )
        view.add_dependency(self.scored)
        return view

    def _table(
        self, name: str, *, columns: tuple[tuple[str, str], ...], template: str, location: str
    ) -> glue.CfnTable:
        table = glue.CfnTable(
            self,
            name,
            catalog_id=Aws.ACCOUNT_ID,
            database_name=self.database_name,
            table_input=glue.CfnTable.TableInputProperty(
                name=name,
                table_type="EXTERNAL_TABLE",
                parameters={
                    "classification": "parquet",
                    "projection.enabled": "true",
                    # Any model, named by the query (see the module docstring).
                    "projection.model.type": "injected",
                    "projection.date.type": "date",
                    "projection.date.format": "yyyy-MM-dd",
                    "projection.date.range": "2024-01-01,NOW",
                    "projection.date.interval": "1",
                    "projection.date.interval.unit": "DAYS",
                    "storage.location.template": template,
                },
                partition_keys=[
                    glue.CfnTable.ColumnProperty(name="model", type="string"),
                    glue.CfnTable.ColumnProperty(name="date", type="string"),
                ],
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    location=location,
                    input_format=PARQUET["input_format"],
                    output_format=PARQUET["output_format"],
                    serde_info=glue.CfnTable.SerdeInfoProperty(serialization_library=PARQUET["serde"]),
                    columns=[glue.CfnTable.ColumnProperty(name=c, type=t) for c, t in columns],
                ),
            ),
        )
        table.add_resource_dependency(self.database)
        return table

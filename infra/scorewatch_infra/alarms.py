"""Alarms and dashboard: every alarm notifies one KMS-encrypted SNS ops topic.

Model alarms do not grow with the fleet: one CloudWatch Metrics Insights alarm per concern over
the *Breach metric the functions publish (a model's value against its own limit,
``scorewatch.core.thresholds``), ``GROUP BY Model`` so every model is a contributor with its own
state; threshold 1 (above it, that model's limit is crossed). A model configured after the
deploy joins each alarm with its first datapoint. The dashboard's model widgets are Metrics
Insights queries grouped by model, likewise fixed in size.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from scorewatch.core.config import ScorewatchConfig
from scorewatch.core.contract import DIMENSION_MODEL, EVENT_SOURCE, METRIC_NAMESPACE, DetailType, Metric
from scorewatch_infra.events import EventRouting
from scorewatch_infra.functions import ScorewatchFunction

PERIOD = Duration.minutes(5)
# p99 duration alarm fires when the slowest invocations come this close to the timeout.
DURATION_TIMEOUT_FRACTION = 0.9
# Events worth a human's attention, forwarded from the bus to the ops topic.
NOTIFY_DETAIL_TYPES = (
    DetailType.RETRAINING_FAILED,
    DetailType.PERFORMANCE_DEGRADED,
    DetailType.BATCH_REJECTED,
    DetailType.APPROVAL_REQUESTED,
)
# Fleet alarms: (alarm name suffix, metric, aggregate, threshold). Breach metrics cross 1 at the
# model's own limit; a baseline failing its pinned hash is an integrity event (any occurrence).
FLEET_ALARMS = (
    ("drift-share", Metric.DRIFT_SHARE_BREACH, "MAX", 1.0),
    ("prediction-drift", Metric.PREDICTION_DRIFT_BREACH, "MAX", 1.0),
    ("rejected-row-rate", Metric.REJECTED_ROW_RATE_BREACH, "MAX", 1.0),
    ("realized-performance", Metric.REALIZED_PERFORMANCE_BREACH, "MAX", 1.0),
    ("estimated-performance", Metric.ESTIMATED_PERFORMANCE_BREACH, "MAX", 1.0),
    ("baseline-integrity", Metric.BASELINE_INTEGRITY_FAILURES, "SUM", 0.0),
)
# Dashboard graphs, one Metrics Insights query each: (title, metric, aggregate).
FLEET_GRAPHS = (
    ("rows scored", Metric.ROWS_SCORED, "SUM"),
    ("rows rejected", Metric.ROWS_REJECTED, "SUM"),
    ("drift share", Metric.DRIFT_SHARE, "MAX"),
    ("prediction drift", Metric.PREDICTION_DRIFT, "MAX"),
    ("realized performance", Metric.REALIZED_PERFORMANCE, "AVG"),
    ("estimated performance", Metric.ESTIMATED_PERFORMANCE, "AVG"),
)
# Graphs show the models that stand out; alarms see every model (up to 500 per query).
GRAPH_TOP = 20


def insights_query(metric: str, aggregate: str, *, order_limit: int | None = None) -> str:
    """``SELECT <AGG>(<metric>) FROM SCHEMA("Scorewatch", Model) GROUP BY Model`` (+ ORDER BY/LIMIT).

    >>> insights_query("DriftShareBreach", "MAX")
    'SELECT MAX(DriftShareBreach) FROM SCHEMA("Scorewatch", Model) GROUP BY Model'
    """
    # Built from contract constants only (no user input): a CloudWatch query, not SQL.
    schema = f'SCHEMA("{METRIC_NAMESPACE}", {DIMENSION_MODEL})'
    query = f"SELECT {aggregate}({metric}) FROM {schema} GROUP BY {DIMENSION_MODEL}"  # noqa: S608
    if order_limit is not None:
        query += f" ORDER BY {aggregate}() DESC LIMIT {order_limit}"
    return query


class Observability(Construct):
    """The ops topic, fleet-wide model alarms, per-function/queue/workflow alarms, one dashboard."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        config: ScorewatchConfig,
        functions: Iterable[ScorewatchFunction],
        queues: Sequence[sqs.IQueue],
        state_machines: Sequence[sfn.IStateMachine],
        routing: EventRouting,
    ) -> None:
        super().__init__(scope, construct_id)
        functions = list(functions)
        # Own key: CloudWatch and EventBridge must be allowed to use it to publish.
        self.key = kms.Key(
            self,
            "topic-key",
            alias=f"alias/{prefix}-ops-topic",
            description="Encrypts the scorewatch ops SNS topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        for service in ("cloudwatch.amazonaws.com", "events.amazonaws.com"):
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    principals=[iam.ServicePrincipal(service)],
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=["*"],  # in a key policy, "*" means this key
                )
            )
        self.topic = sns.Topic(
            self, "ops-topic", topic_name=f"{prefix}-ops", master_key=self.key, enforce_ssl=True
        )
        if config.ops_email:
            self.topic.add_subscription(
                subs.EmailSubscription(config.ops_email, dead_letter_queue=routing.target_dlq)
            )
        self.topic.grant_publish(iam.ServicePrincipal("cloudwatch.amazonaws.com"))
        self.action = cw_actions.SnsAction(self.topic)
        self.alarms: list[cw.Alarm] = []

        self.notify_rule = events.Rule(
            self,
            "notify",
            rule_name=f"{prefix}-events-to-ops",
            description="Retraining Failed, Performance Degraded, Batch Rejected, Approval Requested -> ops",
            event_bus=routing.bus,
            event_pattern=events.EventPattern(source=[EVENT_SOURCE], detail_type=list(NOTIFY_DETAIL_TYPES)),
            targets=[targets.SnsTopic(self.topic, **routing.target_options())],
        )

        self.fleet_alarms: dict[str, cw.Alarm] = {}
        model_widgets = self._fleet_alarms(prefix) + self._fleet_graphs()
        function_widgets = [w for f in functions for w in self._function_alarms(f)]
        queue_widgets = [self._queue_alarm(q) for q in queues]
        workflow_widgets = [self._workflow_alarm(s) for s in state_machines]

        self.dashboard = cw.Dashboard(self, "dashboard", dashboard_name=f"{prefix}-overview")
        self.dashboard.add_widgets(
            cw.TextWidget(
                markdown=f"# scorewatch ({prefix}): models (every model, grouped by Model), functions, "
                "queues, workflows",
                width=24,
            )
        )
        self.dashboard.add_widgets(cw.AlarmStatusWidget(alarms=self.alarms, title="Alarms", width=24))
        for group in (model_widgets, function_widgets, queue_widgets, workflow_widgets):
            for start in range(0, len(group), 4):
                self.dashboard.add_widgets(*group[start : start + 4])

    def _alarm(self, construct_id: str, **kwargs) -> cw.Alarm:
        alarm = cw.Alarm(self, construct_id, treat_missing_data=cw.TreatMissingData.NOT_BREACHING, **kwargs)
        alarm.add_alarm_action(self.action)
        self.alarms.append(alarm)
        return alarm

    def _fleet_alarms(self, prefix: str) -> list[cw.IWidget]:
        """One Metrics Insights alarm per concern, every model a contributor (GROUP BY Model)."""
        widgets: list[cw.IWidget] = []
        for suffix, metric, aggregate, threshold in FLEET_ALARMS:
            query = cw.MathExpression(
                expression=insights_query(metric, aggregate), period=PERIOD, label=f"{metric} by model"
            )
            alarm = self._alarm(
                f"fleet-{suffix}",
                alarm_name=f"{prefix}-{suffix}",
                alarm_description=f"A model's {metric} is over {threshold:g} (each model a contributor)",
                metric=query,
                threshold=threshold,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
            )
            self.fleet_alarms[suffix] = alarm
            widgets.append(cw.AlarmWidget(alarm=alarm, title=f"{metric} by model", width=6))
        return widgets

    def _fleet_graphs(self) -> list[cw.IWidget]:
        return [
            cw.GraphWidget(
                title=f"{title} by model (top {GRAPH_TOP})",
                left=[
                    cw.MathExpression(
                        expression=insights_query(metric, aggregate, order_limit=GRAPH_TOP),
                        period=PERIOD,
                        label=metric,
                    )
                ],
                width=6,
            )
            for title, metric, aggregate in FLEET_GRAPHS
        ]

    def _function_alarms(self, f: ScorewatchFunction) -> list[cw.IWidget]:
        fn, fid = f.function, f.function_id
        errors = self._alarm(
            f"{fid}-errors",
            alarm_description=f"{fn.function_name}: invocation errors",
            metric=fn.metric_errors(period=PERIOD, statistic="Sum"),
            threshold=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
        )
        throttles = self._alarm(
            f"{fid}-throttles",
            alarm_description=f"{fn.function_name}: throttled invocations",
            metric=fn.metric_throttles(period=PERIOD, statistic="Sum"),
            threshold=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
        )
        limit_ms = f.spec.timeout.to_milliseconds() * DURATION_TIMEOUT_FRACTION
        duration = self._alarm(
            f"{fid}-duration",
            alarm_description=f"{fid}: p99 duration over {DURATION_TIMEOUT_FRACTION:.0%} of its timeout",
            metric=fn.metric_duration(period=PERIOD, statistic="p99"),
            threshold=limit_ms,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
        )
        return [
            cw.GraphWidget(
                title=f"{fid} errors / throttles",
                left=[errors.metric, throttles.metric],
                width=6,
            ),
            cw.GraphWidget(title=f"{fid} p99 duration (ms)", left=[duration.metric], width=6),
        ]

    def _queue_alarm(self, queue: sqs.IQueue) -> cw.IWidget:
        return self._any_alarm(
            f"{queue.node.path.replace('/', '-')}-depth",
            description=f"{queue.queue_name}: messages in a dead-letter queue",
            metric=queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum"),
            title=f"DLQ {queue.node.id}",
        )

    def _workflow_alarm(self, machine: sfn.IStateMachine) -> cw.IWidget:
        name = machine.node.scope.node.id
        return self._any_alarm(
            f"{machine.node.path.replace('/', '-')}-failed",
            description=f"{name}: failed, timed-out or aborted executions",
            metric=machine.metric_failed(period=PERIOD, statistic="Sum"),
            title=f"{name} failed executions",
        )

    def _any_alarm(self, alarm_id: str, *, description: str, metric: cw.IMetric, title: str) -> cw.IWidget:
        """An alarm on any occurrence (>= 1 in one period) and its dashboard widget."""
        alarm = self._alarm(
            alarm_id,
            alarm_description=description,
            metric=metric,
            threshold=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
        )
        return cw.AlarmWidget(alarm=alarm, title=title, width=6)

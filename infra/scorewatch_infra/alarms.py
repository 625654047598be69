"""Alarms and dashboard: every alarm notifies one KMS-encrypted SNS ops topic."""

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

from scorewatch.core.config import ModelConfig, ScorewatchConfig
from scorewatch.core.contract import DIMENSION_MODEL, EVENT_SOURCE, METRIC_NAMESPACE, DetailType, Metric
from scorewatch.monitoring.performance import default_metric, higher_is_better
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


def performance_comparison(mc: ModelConfig) -> cw.ComparisonOperator:
    """How RealizedPerformance breaches its floor: below it for a score (roc_auc, f1...), above it
    for an error or loss (rmse, mae, log_loss...), the metric being the one the labels join
    publishes (``retraining.metric``, else the task's default)."""
    metric = mc.retraining.metric or default_metric(mc.task)
    if higher_is_better(metric):
        return cw.ComparisonOperator.LESS_THAN_THRESHOLD
    return cw.ComparisonOperator.GREATER_THAN_THRESHOLD


def model_metric(name: str, model: str, statistic: str = "Maximum") -> cw.Metric:
    return cw.Metric(
        namespace=METRIC_NAMESPACE,
        metric_name=name,
        dimensions_map={DIMENSION_MODEL: model},
        statistic=statistic,
        period=PERIOD,
    )


class Observability(Construct):
    """The ops topic, per-model / per-function / per-queue / per-workflow alarms, one dashboard."""

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

        model_widgets = [w for m in config.models for w in self._model_alarms(m)]
        function_widgets = [w for f in functions for w in self._function_alarms(f)]
        queue_widgets = [self._queue_alarm(q) for q in queues]
        workflow_widgets = [self._workflow_alarm(s) for s in state_machines]

        self.dashboard = cw.Dashboard(self, "dashboard", dashboard_name=f"{prefix}-overview")
        self.dashboard.add_widgets(
            cw.TextWidget(markdown=f"# scorewatch ({prefix}): models, functions, queues, workflows", width=24)
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

    def _model_alarms(self, model: ModelConfig) -> list[cw.IWidget]:
        m, t = model.name, model.alarms
        specs = [
            ("drift-share", Metric.DRIFT_SHARE, t.drift_share, cw.ComparisonOperator.GREATER_THAN_THRESHOLD),
            (
                "prediction-drift",
                Metric.PREDICTION_DRIFT,
                t.prediction_drift,
                cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            ),
            (
                "rejected-row-rate",
                Metric.REJECTED_ROW_RATE,
                t.rejected_row_rate,
                cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            ),
        ]
        # A baseline failing its pinned hash is an integrity event: any occurrence alarms.
        specs.append(
            (
                "baseline-integrity",
                Metric.BASELINE_INTEGRITY_FAILURES,
                0,
                cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            )
        )
        if t.performance_floor is not None:
            specs.append(
                (
                    "realized-performance",
                    Metric.REALIZED_PERFORMANCE,
                    t.performance_floor,
                    performance_comparison(model),
                )
            )
        widgets: list[cw.IWidget] = []
        for suffix, metric_name, threshold, op in specs:
            metric = model_metric(metric_name, m, "Minimum" if op.name.startswith("LESS") else "Maximum")
            alarm = self._alarm(
                f"{m}-{suffix}",
                alarm_description=f"{m}: {metric_name} breached {threshold}",
                metric=metric,
                threshold=threshold,
                comparison_operator=op,
                evaluation_periods=1,
            )
            widgets.append(cw.AlarmWidget(alarm=alarm, title=f"{m} {metric_name}", width=6))
        widgets.append(
            cw.GraphWidget(
                title=f"{m} rows scored / rejected",
                left=[
                    model_metric(Metric.ROWS_SCORED, m, "Sum"),
                    model_metric(Metric.ROWS_REJECTED, m, "Sum"),
                ],
                width=6,
            )
        )
        widgets.append(
            cw.GraphWidget(
                title=f"{m} performance (realized / estimated)",
                left=[
                    model_metric(Metric.REALIZED_PERFORMANCE, m, "Average"),
                    model_metric(Metric.ESTIMATED_PERFORMANCE, m, "Average"),
                ],
                width=6,
            )
        )
        return widgets

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

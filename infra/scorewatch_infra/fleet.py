"""Fleet scheduling: the schedule group and the role EventBridge Scheduler invokes functions with.

The stack holds no schedule of its own. ``scorewatch models configure`` creates one EventBridge
Scheduler schedule per model and kind (``<model>-score``, ``<model>-monitor``) in the group
``<prefix>-models`` (``scorewatch.io.schedules``), each invoking the score or monitor function
with the model in its input, as the role ``<prefix>-scheduler``. One schedule per model rather
than one dispatcher: each model keeps its own cron or rate expression and time zone, a schedule
fires on its own (no dispatcher run walking the fleet), and CloudWatch's per-schedule metrics
name the model. The group and role are fixed: the template does not grow with the fleet.

The stack outputs the four values the CLI host needs (contract.Env keys); :data:`CLI_HOST_ACTIONS`
is what that host's identity must be allowed on them (docs/iam.md).
"""

from __future__ import annotations

from aws_cdk import Aws, CfnOutput
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from scorewatch.core.contract import Env

SCHEDULE_GROUP = "{prefix}-models"
SCHEDULER_ROLE = "{prefix}-scheduler"
# What `scorewatch models configure|retire` calls on the group's schedules, and PassRole.
CLI_HOST_ACTIONS = (
    "scheduler:CreateSchedule",
    "scheduler:UpdateSchedule",
    "scheduler:DeleteSchedule",
    "scheduler:GetSchedule",
)
# CloudFormation output id of each wiring value.
OUTPUTS = {
    Env.SCHEDULE_GROUP: "ScheduleGroup",
    Env.SCHEDULER_ROLE_ARN: "SchedulerRoleArn",
    Env.SCORE_FUNCTION_ARN: "ScoreFunctionArn",
    Env.MONITOR_FUNCTION_ARN: "MonitorFunctionArn",
}


class FleetScheduling(Construct):
    """Schedule group ``<prefix>-models``, role ``<prefix>-scheduler``, the four wiring outputs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        prefix: str,
        score: lambda_.IFunction,
        monitor: lambda_.IFunction,
    ) -> None:
        super().__init__(scope, construct_id)
        self.group = scheduler.CfnScheduleGroup(self, "group", name=SCHEDULE_GROUP.format(prefix=prefix))
        self.group_name = SCHEDULE_GROUP.format(prefix=prefix)
        # Assumable by EventBridge Scheduler for this account's schedules in this group only
        # (confused-deputy guard), allowed to invoke the two scheduled functions and nothing else.
        self.role = iam.Role(
            self,
            "role",
            role_name=SCHEDULER_ROLE.format(prefix=prefix),
            description="EventBridge Scheduler: invokes the score and monitor functions for model schedules",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {"aws:SourceArn": self.schedule_arn_pattern()},
                },
            ),
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"], resources=[score.function_arn, monitor.function_arn]
            )
        )
        values = {
            Env.SCHEDULE_GROUP: self.group_name,
            Env.SCHEDULER_ROLE_ARN: self.role.role_arn,
            Env.SCORE_FUNCTION_ARN: score.function_arn,
            Env.MONITOR_FUNCTION_ARN: monitor.function_arn,
        }
        self.outputs = {
            key: CfnOutput(
                scope,
                OUTPUTS[key],
                value=value,
                description=f"{key} for `scorewatch models configure` (the CLI host's environment)",
            )
            for key, value in values.items()
        }

    def schedule_arn_pattern(self) -> str:
        """Every schedule of the group (what the CLI host may create, update, delete, read)."""
        return f"arn:{Aws.PARTITION}:scheduler:{Aws.REGION}:{Aws.ACCOUNT_ID}:schedule/{self.group_name}/*"

"""Retraining: the seven step functions, the workflow (docs/WORKFLOWS.md) and its Drift Detected rule."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from scorewatch.core.config import RetrainingSettings
from scorewatch.core.contract import EVENT_SOURCE, DetailType, ErrorName, Prefix
from scorewatch_infra.events import EventRouting
from scorewatch_infra.functions import FunctionFactory, ScorewatchFunction
from scorewatch_infra.permissions import (
    grant_data_writes,
    grant_registry_control,
    grant_registry_status,
    grant_registry_versions,
)
from scorewatch_infra.workflows import TRANSIENT_ERRORS, lambda_task, workflow_logs

STEPS = (
    "retrain_assemble",
    "retrain_train",
    "retrain_evaluate",
    "retrain_promote",
    "retrain_reject",
    "retrain_notify_failure",
)
APPROVAL_STEP = "retrain_request_approval"
# Every step is invoked with the whole state and the execution id (docs/WORKFLOWS.md).
STEP_PAYLOAD = {"input": sfn.JsonPath.entire_payload, "execution_id": sfn.JsonPath.execution_id}
# RequestApproval also gets the token that resumes the execution (scorewatch models approve).
APPROVAL_PAYLOAD = {**STEP_PAYLOAD, "task_token": sfn.JsonPath.task_token}
# The steps themselves; the wait for a human comes on top: the longest approval_timeout_hours
# the configuration accepts, so a model configured after the deploy (configuration is data)
# never waits longer than its workflow may run. Each execution's own wait is its model's
# approval_timeout_hours ($.approval_timeout_seconds on RequestApproval).
WORKFLOW_TIMEOUT = Duration.hours(2)
MAX_APPROVAL_HOURS = next(
    m.le for m in RetrainingSettings.model_fields["approval_timeout_hours"].metadata if hasattr(m, "le")
)
# Slack over the function's own timeout so the function's timeout, not the task's, fires first.
TASK_TIMEOUT_MARGIN = Duration.seconds(60)


class Retraining(Construct):
    """assemble -> train -> evaluate -> gate -> [approval] -> promote | reject; failure -> notify -> fail."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        factory: FunctionFactory,
        data_bucket: s3.IBucket,
        models_bucket: s3.IBucket,
        registry: dynamodb.ITable,
        routing: EventRouting,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.steps: dict[str, ScorewatchFunction] = {
            fid: factory.create(fid) for fid in (*STEPS, APPROVAL_STEP)
        }
        fns = {fid: s.function for fid, s in self.steps.items()}
        for fn in (fns[fid] for fid in STEPS):
            data_bucket.grant_read(fn)
            models_bucket.grant_read(fn)
            routing.bus.grant_put_events_to(fn)
        grant_data_writes(fns["retrain_assemble"], data_bucket, Prefix.TRAINING)
        grant_data_writes(fns["retrain_evaluate"], data_bucket, Prefix.TRAINING)
        # Only training registers artifacts; only promotion moves the champion.
        models_bucket.grant_put(fns["retrain_train"])
        models_bucket.grant_put(fns["retrain_promote"])
        grant_registry_control(fns["retrain_assemble"], registry, key)
        grant_registry_control(fns["retrain_notify_failure"], registry, key)
        # RequestApproval only records the pending approval (a control item) and announces it.
        grant_registry_control(fns[APPROVAL_STEP], registry, key)
        routing.bus.grant_put_events_to(fns[APPROVAL_STEP])
        # Train registers versions; evaluate only reads; reject records a status (and releases the
        # lock / approval, control items) and refreshes the card's readable mirror.
        grant_registry_versions(fns["retrain_train"], registry, key)
        registry.grant_read_data(fns["retrain_evaluate"])
        grant_registry_status(fns["retrain_reject"], registry, key)
        grant_registry_control(fns["retrain_reject"], registry, key)
        models_bucket.grant_put(fns["retrain_reject"], "*/card.json")
        # The promote path is the only writer of the champion pointer (partition champion#*).
        registry.grant_read_write_data(fns["retrain_promote"])

        def step(state: str, fid: str, **kw) -> sfn.TaskStateBase:
            timeout = self.steps[fid].spec.timeout.plus(TASK_TIMEOUT_MARGIN)
            return lambda_task(
                self, state, fns[fid], payload=sfn.TaskInput.from_object(STEP_PAYLOAD), timeout=timeout, **kw
            )

        failed = sfn.Fail(self, "Failed", error="RetrainingFailed", cause="a retraining step failed")
        notify = step("NotifyFailure", "retrain_notify_failure").next(failed)
        skipped = sfn.Succeed(
            self,
            "Skipped",
            comment="Another retraining run of this model holds the lock, or its retraining is disabled",
        )
        assemble = step("Assemble", "retrain_assemble")
        assemble.add_catch(
            skipped,
            errors=[ErrorName.RETRAINING_IN_PROGRESS, ErrorName.RETRAINING_DISABLED],
            result_path="$.error",
        )
        train = step("Train", "retrain_train")
        evaluate = step("Evaluate", "retrain_evaluate")
        promote = step("Promote", "retrain_promote")
        reject = step("Reject", "retrain_reject")
        request_approval = tasks.LambdaInvoke(
            self,
            "RequestApproval",
            lambda_function=fns[APPROVAL_STEP],
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            payload=sfn.TaskInput.from_object(APPROVAL_PAYLOAD),
            # SendTaskSuccess's output ({"approved_by"}) joins the state for Promote to record.
            result_path="$.approval",
            retry_on_service_exceptions=False,
            task_timeout=sfn.Timeout.at("$.approval_timeout_seconds"),
        )
        request_approval.add_retry(
            errors=list(TRANSIENT_ERRORS),
            interval=Duration.seconds(2),
            max_attempts=3,
            backoff_rate=2,
            jitter_strategy=sfn.JitterType.FULL,
        )
        # A denial or no decision in time rejects the candidate (Reject records why); Catches
        # are tried in order, so this one precedes States.ALL -> NotifyFailure.
        request_approval.add_catch(
            reject, errors=[ErrorName.APPROVAL_DENIED, "States.Timeout"], result_path="$.approval_error"
        )
        for task in (assemble, train, evaluate, request_approval, promote, reject):
            task.add_catch(notify, errors=["States.ALL"], result_path="$.error")
        promoted = promote.next(sfn.Succeed(self, "Promoted"))
        needs_approval = (
            sfn.Choice(self, "NeedsApproval")
            .when(sfn.Condition.boolean_equals("$.approval_required", True), request_approval.next(promoted))
            .otherwise(promoted)
        )
        gate = (
            sfn.Choice(self, "Gate")
            .when(sfn.Condition.boolean_equals("$.passed", True), needs_approval)
            .otherwise(reject.next(sfn.Succeed(self, "Rejected")))
        )
        self.approval_timeout = Duration.hours(MAX_APPROVAL_HOURS)
        name = f"{factory.prefix}-retraining"
        self.state_machine = sfn.StateMachine(
            self,
            "state-machine",
            state_machine_name=name,
            definition_body=sfn.DefinitionBody.from_chainable(assemble.next(train).next(evaluate).next(gate)),
            timeout=WORKFLOW_TIMEOUT.plus(self.approval_timeout),
            tracing_enabled=True,
            # RequestApproval's parameters carry the task token: log transitions, never their data.
            logs=workflow_logs(self, "logs", name, key=key, include_execution_data=False),
        )
        # Every model's Drift Detected: a model with retraining.enabled false ends Skipped at
        # Assemble (RetrainingDisabledError), so the pattern need not enumerate the fleet.
        self.drift_rule = events.Rule(
            self,
            "drift-detected",
            rule_name=f"{factory.prefix}-drift-detected-to-retraining",
            description="Drift Detected -> retraining workflow",
            event_bus=routing.bus,
            event_pattern=events.EventPattern(source=[EVENT_SOURCE], detail_type=[DetailType.DRIFT_DETECTED]),
            targets=[targets.SfnStateMachine(self.state_machine, **routing.target_options())],
        )

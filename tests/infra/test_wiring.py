"""The synthesized template's wiring: rules, schedules, workflows, functions, storage, analytics."""

from __future__ import annotations

import json
from typing import Any

import pytest
from infra_helpers import Synthesized, as_list, fn_id, statements_of_role

from scorewatch.core.contract import EVENT_SOURCE, HANDLERS, DetailType, ErrorName, Prefix, Table

pytestmark = pytest.mark.xdist_group("infra")

TRANSIENT = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    ErrorName.TRANSIENT,
}


def rule_by_name(synth: Synthesized, name: str) -> dict[str, Any]:
    for rule in synth.of_type("AWS::Events::Rule").values():
        if rule["Properties"].get("Name") == name:
            return rule["Properties"]
    raise AssertionError(f"no rule named {name}")


def target_arn_ref(target: dict[str, Any]) -> str:
    arn = target["Arn"]
    return arn["Fn::GetAtt"][0] if "Fn::GetAtt" in arn else arn["Ref"]


def definition(synth: Synthesized, machine: Any) -> dict[str, Any]:
    """A state machine's ASL with CloudFormation references replaced by placeholders."""
    body = synth.props(synth.logical_id(machine))["DefinitionString"]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    # References sit inside JSON string literals: a bare placeholder keeps the document valid.
    return json.loads("".join(p if isinstance(p, str) else "REF" for p in parts))


def test_incoming_object_created_rule_targets_score_on_default_bus(synth):
    rule = rule_by_name(synth, "scorewatch-incoming-to-score")
    pattern = rule["EventPattern"]
    assert "EventBusName" not in rule  # S3 delivers to the default bus
    assert pattern["source"] == ["aws.s3"] and pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["object"]["key"] == [{"prefix": Prefix.INCOMING}]
    assert pattern["detail"]["bucket"]["name"] == [{"Ref": synth.logical_id(synth.stack.storage.data)}]
    assert [target_arn_ref(t) for t in rule["Targets"]] == [fn_id(synth, "score")]


def test_labels_rule_sends_labels_prefix_to_labels_function(synth):
    rule = rule_by_name(synth, "scorewatch-labels-to-labels")
    assert rule["EventPattern"]["detail"]["object"]["key"] == [{"prefix": Prefix.LABELS}]
    assert [target_arn_ref(t) for t in rule["Targets"]] == [fn_id(synth, "labels")]


def test_batch_scored_on_scorewatch_bus_triggers_monitor(synth):
    rule = rule_by_name(synth, "scorewatch-batch-scored-to-monitor")
    assert rule["EventBusName"] == {"Ref": synth.logical_id(synth.stack.routing.bus)}
    assert rule["EventPattern"] == {"source": [EVENT_SOURCE], "detail-type": [DetailType.BATCH_SCORED]}
    assert [target_arn_ref(t) for t in rule["Targets"]] == [fn_id(synth, "monitor")]


def test_drift_detected_starts_the_retraining_state_machine(synth):
    rule = rule_by_name(synth, "scorewatch-drift-detected-to-retraining")
    assert rule["EventPattern"]["detail-type"] == [DetailType.DRIFT_DETECTED]
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Ref": synth.logical_id(synth.stack.retraining.state_machine)}
    assert "RoleArn" in target


def test_every_rule_target_has_a_dead_letter_queue_and_retry_policy(synth):
    dlq = synth.logical_id(synth.stack.routing.target_dlq)
    targets = [t for r in synth.of_type("AWS::Events::Rule").values() for t in r["Properties"]["Targets"]]
    assert len(targets) >= 5
    for t in targets:
        assert t["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": [dlq, "Arn"]}, t["Id"]
        assert t["RetryPolicy"]["MaximumRetryAttempts"] > 0
        assert t["RetryPolicy"]["MaximumEventAgeInSeconds"] > 0


def test_no_schedule_rule_per_model_only_the_fleet_schedule_group(synth):
    """Model schedules are EventBridge Scheduler schedules created at run time, not template rules."""
    rules = [r["Properties"] for r in synth.of_type("AWS::Events::Rule").values()]
    assert [r for r in rules if "ScheduleExpression" in r] == []
    assert synth.of_type("AWS::Scheduler::Schedule") == {}
    (group,) = synth.of_type("AWS::Scheduler::ScheduleGroup").values()
    assert group["Properties"]["Name"] == "scorewatch-models"


def test_scheduler_role_may_invoke_only_the_score_and_monitor_functions(synth):
    role = synth.stack.fleet.role
    props = synth.props(synth.logical_id(role))
    assert props["RoleName"] == "scorewatch-scheduler"
    (trust,) = props["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert "aws:SourceAccount" in trust["Condition"]["StringEquals"]
    assert "schedule/scorewatch-models/*" in json.dumps(trust["Condition"]["ArnLike"]["aws:SourceArn"])
    (statement,) = statements_of_role(synth, synth.logical_id(role))
    assert statement["Action"] == "lambda:InvokeFunction"
    assert sorted(json.dumps(r) for r in statement["Resource"]) == sorted(
        json.dumps({"Fn::GetAtt": [fn_id(synth, fid), "Arn"]}) for fid in ("score", "monitor")
    )


def test_stack_outputs_the_four_fleet_wiring_values(synth):
    from scorewatch.core.contract import Env
    from scorewatch_infra.fleet import OUTPUTS

    outputs = synth.template["Outputs"]
    assert outputs[OUTPUTS[Env.SCHEDULE_GROUP]]["Value"] == "scorewatch-models"
    assert outputs[OUTPUTS[Env.SCHEDULER_ROLE_ARN]]["Value"] == {
        "Fn::GetAtt": [synth.logical_id(synth.stack.fleet.role), "Arn"]
    }
    assert outputs[OUTPUTS[Env.SCORE_FUNCTION_ARN]]["Value"] == {"Fn::GetAtt": [fn_id(synth, "score"), "Arn"]}
    assert outputs[OUTPUTS[Env.MONITOR_FUNCTION_ARN]]["Value"] == {
        "Fn::GetAtt": [fn_id(synth, "monitor"), "Arn"]
    }
    assert all(key in outputs[OUTPUTS[key]]["Description"] for key in OUTPUTS)


def test_retraining_workflow_shape_retries_timeouts_and_catches(synth):
    asl = definition(synth, synth.stack.retraining.state_machine)
    states = asl["States"]
    assert asl["StartAt"] == "Assemble"
    assert {"Assemble", "Train", "Evaluate", "Gate", "Promote", "Reject", "NotifyFailure", "Skipped"} <= set(
        states
    )
    for name in ("Assemble", "Train", "Evaluate", "Promote", "Reject", "NotifyFailure"):
        state = states[name]
        assert state["Type"] == "Task" and state["Resource"].endswith(":lambda:invoke"), name
        assert state["TimeoutSeconds"] > 0, name
        assert state["OutputPath"] == "$.Payload", name
        assert state["Parameters"]["Payload"] == {"input.$": "$", "execution_id.$": "$$.Execution.Id"}
        (retry,) = state["Retry"]
        assert (
            set(retry["ErrorEquals"]) == TRANSIENT and retry["MaxAttempts"] == 3 and retry["BackoffRate"] == 2
        )
        if name != "NotifyFailure":
            catch_all = state["Catch"][-1]
            assert catch_all == {
                "ErrorEquals": ["States.ALL"],
                "ResultPath": "$.error",
                "Next": "NotifyFailure",
            }
    assert states["Assemble"]["Catch"][0]["ErrorEquals"] == [
        ErrorName.RETRAINING_IN_PROGRESS,
        ErrorName.RETRAINING_DISABLED,
    ]
    assert states["Assemble"]["Catch"][0]["Next"] == "Skipped" and states["Skipped"]["Type"] == "Succeed"
    gate = states["Gate"]
    assert gate["Type"] == "Choice"
    assert gate["Choices"] == [{"Variable": "$.passed", "BooleanEquals": True, "Next": "NeedsApproval"}]
    assert gate["Default"] == "Reject"
    assert states["NotifyFailure"]["Next"] == "Failed" and states["Failed"]["Type"] == "Fail"


def test_a_passing_candidate_waits_for_approval_only_when_its_model_requires_it(synth):
    states = definition(synth, synth.stack.retraining.state_machine)["States"]
    choice = states["NeedsApproval"]
    assert choice["Type"] == "Choice"
    assert choice["Choices"] == [
        {"Variable": "$.approval_required", "BooleanEquals": True, "Next": "RequestApproval"}
    ]
    assert choice["Default"] == "Promote"
    assert states["RequestApproval"]["Next"] == "Promote"


def test_request_approval_waits_for_the_task_token_and_routes_denial_and_timeout_to_reject(synth):
    states = definition(synth, synth.stack.retraining.state_machine)["States"]
    task = states["RequestApproval"]
    assert task["Type"] == "Task"
    assert task["Resource"].endswith(":lambda:invoke.waitForTaskToken")
    assert task["Parameters"]["Payload"] == {
        "input.$": "$",
        "execution_id.$": "$$.Execution.Id",
        "task_token.$": "$$.Task.Token",
    }
    assert task["TimeoutSecondsPath"] == "$.approval_timeout_seconds"
    assert task["ResultPath"] == "$.approval" and "OutputPath" not in task
    (retry,) = task["Retry"]
    assert set(retry["ErrorEquals"]) == TRANSIENT
    denied, catch_all = task["Catch"]
    assert denied == {
        "ErrorEquals": [ErrorName.APPROVAL_DENIED, "States.Timeout"],
        "ResultPath": "$.approval_error",
        "Next": "Reject",
    }
    assert catch_all == {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "NotifyFailure"}


def test_retraining_outlives_the_longest_approval_wait_any_config_may_ask_for(synth):
    from scorewatch.core.config import RetrainingSettings

    asl = definition(synth, synth.stack.retraining.state_machine)
    with pytest.raises(ValueError, match="approval_timeout_hours"):
        RetrainingSettings(approval_timeout_hours=721)
    longest = RetrainingSettings(approval_timeout_hours=720).approval_timeout_hours
    assert asl["TimeoutSeconds"] == (2 + longest) * 3600


def test_approval_requests_reach_the_ops_topic(synth):
    rule = synth.props(synth.logical_id(synth.stack.observability.notify_rule))
    assert DetailType.APPROVAL_REQUESTED in rule["EventPattern"]["detail-type"]
    topic = synth.logical_id(synth.stack.observability.topic)
    assert [t["Arn"] for t in rule["Targets"]] == [{"Ref": topic}]


def test_large_file_workflow_fans_out_parts_with_a_distributed_map(synth):
    asl = definition(synth, synth.stack.large_file.state_machine)
    states = asl["States"]
    assert asl["StartAt"] == "Split" and states["Split"]["Next"] == "ScoreParts"
    fan = states["ScoreParts"]
    assert fan["Type"] == "Map" and fan["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert fan["ItemReader"]["Resource"].endswith(":s3:getObject")
    assert fan["ItemReader"]["ReaderConfig"]["InputType"] == "JSON"
    assert fan["ItemReader"]["Parameters"]["Key.$"] == "$.manifest_key"
    # Absent means 0 (the ASL default): one failed part fails the file.
    assert fan["MaxConcurrency"] > 0 and fan.get("ToleratedFailurePercentage", 0) == 0
    assert fan["ResultWriter"]["Parameters"]["Prefix"].startswith(Prefix.PARTS)
    assert fan["ResultPath"] == "$.map_result" and fan["Next"] == "Finalize"
    part = fan["ItemProcessor"]["States"]["ScorePart"]
    assert set(part["Retry"][0]["ErrorEquals"]) == TRANSIENT and part["TimeoutSeconds"] > 0
    assert states["Finalize"]["End"] is True


def test_score_function_knows_and_may_start_the_large_file_workflow(synth):
    score = synth.props(fn_id(synth, "score"))
    arn = json.dumps(score["Environment"]["Variables"]["SCOREWATCH_LARGE_FILE_STATE_MACHINE_ARN"])
    assert "stateMachine:scorewatch-large-file" in arn
    role = synth.stack.factory.functions["score"].function.role
    statements = statements_of_role(synth, synth.logical_id(role))
    starts = [s for s in statements if "states:StartExecution" in as_list(s["Action"])]
    assert starts and all("stateMachine:scorewatch-large-file" in json.dumps(s["Resource"]) for s in starts)
    assert synth.props(synth.logical_id(synth.stack.large_file.state_machine))["StateMachineName"] == (
        "scorewatch-large-file"
    )


def test_backfill_workflow_lists_a_prefix_and_scores_each_object(synth):
    asl = definition(synth, synth.stack.backfill.state_machine)
    defaults = asl["States"][asl["StartAt"]]  # model_version defaults to null (issue 15)
    assert defaults["Type"] == "Pass" and "States.JsonMerge" in defaults["Parameters"]["merged.$"]
    fan = asl["States"][defaults["Next"]]
    assert fan["ItemSelector"]["model_version.$"] == "$.model_version"
    assert fan["ItemReader"]["Resource"].endswith(":s3:listObjectsV2")
    assert fan["ItemReader"]["Parameters"]["Prefix.$"] == "$.prefix"
    assert fan["ItemSelector"]["key.$"] == "$$.Map.Item.Value.Key"
    assert 0 < fan["ToleratedFailurePercentage"] < 100 and fan["MaxConcurrency"] > 0
    assert fan["ResultWriter"]["Parameters"]["Prefix"].startswith(Prefix.BACKFILL)


def test_state_machines_trace_and_log(synth):
    machines = synth.of_type("AWS::StepFunctions::StateMachine")
    assert len(machines) == 3
    for m in machines.values():
        assert m["Properties"]["TracingConfiguration"] == {"Enabled": True}
        assert m["Properties"]["LoggingConfiguration"]["Level"] == "ALL"


def test_one_function_per_handler_from_one_image_with_the_defaults(synth):
    functions = synth.of_type("AWS::Lambda::Function")
    assert len(functions) == len(HANDLERS)
    images = set()
    for fid, handler in HANDLERS.items():
        props = synth.props(fn_id(synth, fid))
        assert props["PackageType"] == "Image"
        assert props["ImageConfig"]["Command"] == [handler]
        assert props["Architectures"] == ["arm64"]
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["LoggingConfig"]["LogFormat"] == "JSON"
        assert props["MemorySize"] >= 512 and props["Timeout"] <= 900
        images.add(json.dumps(props["Code"]["ImageUri"]))
        log_group = synth.props(synth.logical_id(synth.stack.factory.functions[fid].log_group))
        assert log_group["RetentionInDays"] > 0
    assert len(images) == 1, "every function runs the same image"


def test_async_functions_retry_and_dead_letter_to_an_sqs_destination(synth):
    configs = {
        json.dumps(c["Properties"]["FunctionName"]): c["Properties"]
        for c in synth.of_type("AWS::Lambda::EventInvokeConfig").values()
    }
    for fid in ("score", "monitor", "labels", "site"):
        created = synth.stack.factory.functions[fid]
        cfg = configs[json.dumps({"Ref": fn_id(synth, fid)})]
        assert cfg["MaximumRetryAttempts"] == 2 and cfg["MaximumEventAgeInSeconds"] > 0
        dest = cfg["DestinationConfig"]["OnFailure"]["Destination"]
        assert dest == {"Fn::GetAtt": [synth.logical_id(created.dlq), "Arn"]}
    assert len(configs) == 4, "only the asynchronously invoked functions get an invoke config"


def test_buckets_are_kms_encrypted_versioned_tls_only_and_logged(synth):
    key = synth.logical_id(synth.stack.storage.key)
    for bucket in (synth.stack.storage.data, synth.stack.storage.models):
        logical = synth.logical_id(bucket)
        props = synth.props(logical)
        rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
        assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == {"Fn::GetAtt": [key, "Arn"]}
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        assert props["LoggingConfiguration"]["DestinationBucketName"] == {
            "Ref": synth.logical_id(synth.stack.storage.access_logs)
        }
        assert props["LifecycleConfiguration"]["Rules"]
        assert all(props["PublicAccessBlockConfiguration"].values())
        policies = [
            p["Properties"]["PolicyDocument"]
            for p in synth.of_type("AWS::S3::BucketPolicy").values()
            if p["Properties"]["Bucket"] == {"Ref": logical}
        ]
        denies = [s for p in policies for s in p["Statement"] if s["Effect"] == "Deny"]
        assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)
    data = synth.props(synth.logical_id(synth.stack.storage.data))
    assert data["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}


def test_tables_use_contract_keys_pitr_encryption_and_ttl(synth):
    registry = synth.props(synth.logical_id(synth.stack.tables.registry))
    assert registry["KeySchema"] == [
        {"AttributeName": Table.REGISTRY_PK, "KeyType": "HASH"},
        {"AttributeName": Table.REGISTRY_SK, "KeyType": "RANGE"},
    ]
    idem = synth.props(synth.logical_id(synth.stack.tables.idempotency))
    assert idem["KeySchema"] == [{"AttributeName": Table.IDEMPOTENCY_PK, "KeyType": "HASH"}]
    assert idem["TimeToLiveSpecification"] == {"AttributeName": Table.IDEMPOTENCY_TTL, "Enabled": True}
    for props in (registry, idem):
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert props["SSESpecification"]["SSEEnabled"] is True


def test_glue_tables_project_model_and_date_partitions(synth):
    tables = {
        t["Properties"]["TableInput"]["Name"]: t["Properties"]
        for t in synth.of_type("AWS::Glue::Table").values()
        if t["Properties"]["TableInput"]["TableType"] != "VIRTUAL_VIEW"  # scored_current
    }
    assert set(tables) == {"scored", "monitoring_history", "performance_history"}
    for name, props in tables.items():
        params = props["TableInput"]["Parameters"]
        assert params["projection.enabled"] == "true"
        # Any model, named by the query: the table does not list the fleet.
        assert params["projection.model.type"] == "injected"
        assert "projection.model.values" not in params
        assert not any(m.name in json.dumps(params) for m in synth.config.models)
        assert params["projection.date.format"] == "yyyy-MM-dd"
        assert "model=${model}" in json.dumps(params["storage.location.template"]), name
        keys = [k["Name"] for k in props["TableInput"]["PartitionKeys"]]
        assert keys == ["model", "date"]


def test_template_has_no_custom_resources(synth):
    """The local cloud deploys the template on moto: only plain CloudFormation types."""
    custom = [
        k
        for k, v in synth.resources.items()
        if v["Type"].startswith(("Custom::", "AWS::CloudFormation::Custom"))
    ]
    assert custom == []


def test_history_table_columns_match_the_monitoring_history_schema():
    from scorewatch.monitoring import evaluation as monitoring
    from scorewatch_infra.analytics import HISTORY_COLUMNS

    glue_types = {"string": "string", "Float64": "double", "Int64": "bigint", "boolean": "boolean"}
    expected = {name: glue_types[t] for name, t in monitoring._HISTORY_TYPES.items()}
    expected["evaluated_at"] = "timestamp"
    assert dict(HISTORY_COLUMNS) == expected


def test_scored_table_declares_the_lineage_columns_of_scored_files():
    from scorewatch.scoring.scorer import LINEAGE_COLUMNS
    from scorewatch_infra.analytics import SCORED_COLUMNS

    assert set(LINEAGE_COLUMNS) <= {name for name, _ in SCORED_COLUMNS}
    assert dict(SCORED_COLUMNS)["scored_at"] == "timestamp"


def test_drift_rule_does_not_enumerate_models(synth):
    """A model with retraining disabled ends Skipped at Assemble (RetrainingDisabledError)."""
    rule = rule_by_name(synth, "scorewatch-drift-detected-to-retraining")
    assert rule["EventPattern"] == {"source": [EVENT_SOURCE], "detail-type": [DetailType.DRIFT_DETECTED]}
    assert rule["State"] == "ENABLED"

"""Least privilege, alarms, environment contracts, cdk-nag and cfn-lint on the synthesized app."""

from __future__ import annotations

import json
from typing import Any

import pytest
from infra_helpers import Synthesized, as_list, fn_id, statements_of_role

from scorewatch.core.contract import HANDLERS, Env, Metric

pytestmark = pytest.mark.xdist_group("infra")

S3_WRITES = (
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:PutObjectTagging",
    "s3:PutObjectVersionTagging",
    "s3:AbortMultipartUpload",
)
DDB_WRITES = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem")
POWERTOOLS_KEYS = {Env.POWERTOOLS_SERVICE_NAME, Env.POWERTOOLS_METRICS_NAMESPACE, Env.LOG_LEVEL}


def role_statements(synth: Synthesized, function_id: str) -> list[dict[str, Any]]:
    role = synth.stack.factory.functions[function_id].function.role
    return statements_of_role(synth, synth.logical_id(role))


def touches(statement: dict[str, Any], construct_logical_id: str) -> bool:
    return construct_logical_id in json.dumps(statement["Resource"])


def test_scoring_roles_cannot_write_the_models_bucket_or_the_registry(synth):
    models = synth.logical_id(synth.stack.storage.models)
    registry = synth.logical_id(synth.stack.tables.registry)
    for fid in ("score", "split", "finalize"):
        statements = role_statements(synth, fid)
        assert statements, fid
        for s in statements:
            actions = as_list(s["Action"])
            if touches(s, models):
                assert not set(actions) & set(S3_WRITES), (fid, actions)
            if touches(s, registry):
                assert not set(actions) & set(DDB_WRITES), (fid, actions)
    # ... and the check itself can fail: the promote step does write both.
    promote = role_statements(synth, "retrain_promote")
    assert any(touches(s, models) and "s3:PutObject" in as_list(s["Action"]) for s in promote)
    assert any(touches(s, registry) and "dynamodb:UpdateItem" in as_list(s["Action"]) for s in promote)


def test_only_the_promote_step_may_write_champion_attributes(synth):
    registry = synth.logical_id(synth.stack.tables.registry)
    for fid in HANDLERS:
        for s in role_statements(synth, fid):
            writes = set(as_list(s["Action"])) & set(DDB_WRITES)
            if not (writes and touches(s, registry)):
                continue
            if fid == "retrain_promote":
                continue
            cond = s.get("Condition", {})
            allowed = cond.get("ForAllValues:StringEquals", {}).get("dynamodb:Attributes")
            denied = cond.get("ForAllValues:StringNotEquals", {}).get("dynamodb:Attributes")
            assert allowed or denied, (fid, s)
            if allowed:
                # status fields are allowed to the reject step; card content and the pointer never
                assert not {"champion", "history", "rev", "card", "sha256", "artifact_key"} & set(allowed), (
                    fid
                )
            if denied:
                assert {"champion", "history", "rev"} <= set(denied), fid


def test_no_policy_grants_all_actions_or_a_whole_service(synth):
    for logical, policy in synth.of_type("AWS::IAM::Policy").items():
        for s in policy["Properties"]["PolicyDocument"]["Statement"]:
            for action in as_list(s["Action"]):
                assert action != "*", logical
                assert not action.endswith(":*"), (logical, action)
    for logical, role in synth.of_type("AWS::IAM::Role").items():
        assert "ManagedPolicyArns" not in role["Properties"], logical


def test_every_function_environment_matches_its_settings_model(synth):
    from scorewatch.handlers.settings import SETTINGS_BY_FUNCTION, env_keys, required_env

    assert set(SETTINGS_BY_FUNCTION) == set(HANDLERS)
    for fid, settings_cls in SETTINGS_BY_FUNCTION.items():
        env = synth.props(fn_id(synth, fid))["Environment"]["Variables"]
        keys = set(env) - POWERTOOLS_KEYS
        assert required_env(settings_cls) <= keys, (fid, required_env(settings_cls) - keys)
        assert keys <= env_keys(settings_cls), (fid, keys - env_keys(settings_cls))
        assert Env.MODELS_CONFIG not in env  # configuration is data (the registry), not environment
        assert env[Env.POWERTOOLS_METRICS_NAMESPACE] == "Scorewatch"


def test_every_alarm_notifies_the_ops_topic(synth):
    topic = synth.logical_id(synth.stack.observability.topic)
    alarms = synth.of_type("AWS::CloudWatch::Alarm")
    assert alarms
    for logical, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic}], logical
    topic_props = synth.props(topic)
    assert "KmsMasterKeyId" in topic_props
    subs = [s["Properties"] for s in synth.of_type("AWS::SNS::Subscription").values()]
    assert [s["Endpoint"] for s in subs if s["Protocol"] == "email"] == [synth.config.ops_email]


def test_model_alarms_are_one_metrics_insights_alarm_per_concern_grouped_by_model(synth):
    """Each model's own limit lives in its breach metric; the alarm's threshold is the same 1 for all."""
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in synth.of_type("AWS::CloudWatch::Alarm").values()
        if "Metrics" in a["Properties"]
    }
    expected = {
        "scorewatch-drift-share": (f"MAX({Metric.DRIFT_SHARE_BREACH})", 1),
        "scorewatch-prediction-drift": (f"MAX({Metric.PREDICTION_DRIFT_BREACH})", 1),
        "scorewatch-rejected-row-rate": (f"MAX({Metric.REJECTED_ROW_RATE_BREACH})", 1),
        "scorewatch-realized-performance": (f"MAX({Metric.REALIZED_PERFORMANCE_BREACH})", 1),
        "scorewatch-estimated-performance": (f"MAX({Metric.ESTIMATED_PERFORMANCE_BREACH})", 1),
        "scorewatch-baseline-integrity": (f"SUM({Metric.BASELINE_INTEGRITY_FAILURES})", 0),
    }
    assert set(alarms) == set(expected)
    for name, (select, threshold) in expected.items():
        props = alarms[name]
        (query,) = props["Metrics"]
        assert query["Expression"] == f'SELECT {select} FROM SCHEMA("Scorewatch", Model) GROUP BY Model', name
        assert query["ReturnData"] is True and query["Period"] == 300
        assert props["Threshold"] == threshold and props["ComparisonOperator"] == "GreaterThanThreshold"
        assert props["TreatMissingData"] == "notBreaching"
    # No alarm addresses one model.
    for a in synth.of_type("AWS::CloudWatch::Alarm").values():
        assert {"Name": "Model"} not in [{"Name": d["Name"]} for d in a["Properties"].get("Dimensions", [])]


def test_every_function_has_error_throttle_and_duration_alarms(synth):
    alarms = [a["Properties"] for a in synth.of_type("AWS::CloudWatch::Alarm").values()]
    for fid, created in synth.stack.factory.functions.items():
        ref = {"Ref": fn_id(synth, fid)}
        mine = {
            a["MetricName"]: a
            for a in alarms
            if a.get("Namespace") == "AWS/Lambda"
            and {"Name": "FunctionName", "Value": ref} in a["Dimensions"]
        }
        assert {"Errors", "Throttles", "Duration"} <= set(mine), fid
        assert mine["Duration"]["ExtendedStatistic"] == "p99"
        assert 0 < mine["Duration"]["Threshold"] < created.spec.timeout.to_milliseconds()


def test_every_dead_letter_queue_and_workflow_has_an_alarm(synth):
    alarms = [a["Properties"] for a in synth.of_type("AWS::CloudWatch::Alarm").values()]
    queues = synth.of_type("AWS::SQS::Queue")
    assert len(queues) == 5  # the target DLQ + score, monitor, labels, site
    for logical in queues:
        watched = [
            a
            for a in alarms
            if a.get("Namespace") == "AWS/SQS"
            and {"Name": "QueueName", "Value": {"Fn::GetAtt": [logical, "QueueName"]}} in a["Dimensions"]
        ]
        assert watched and watched[0]["MetricName"] == "ApproximateNumberOfMessagesVisible", logical
    for logical in synth.of_type("AWS::StepFunctions::StateMachine"):
        assert any(
            a.get("MetricName") == "ExecutionsFailed" and logical in json.dumps(a["Dimensions"])
            for a in alarms
        ), logical


def test_dashboard_model_widgets_are_metrics_insights_queries_grouped_by_model(synth):
    (dashboard,) = synth.of_type("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert body.count("GROUP BY Model") >= 6
    assert not any(m.name in body for m in synth.config.models)


def test_cdk_nag_reports_no_unacknowledged_errors(synth):
    errors = [
        (v["ruleName"], c["constructPath"])
        for plugin in synth.report.get("pluginReports", [])
        for v in plugin.get("violations", [])
        if v.get("severity") == "error"
        for c in v["violatingConstructs"]
    ]
    assert errors == []
    assert synth.synth_error is None
    # Acknowledgements are specific: every IAM5 one names a finding and gives a reason.
    assert synth.stack.nag_acknowledgements
    assert all(f and r for _path, f, r in synth.stack.nag_acknowledgements)


def test_cdk_nag_findings_are_collected_when_present(tmp_path):
    """Control for the test above: an unacknowledged violation does show up in the report."""
    from aws_cdk import App, Stack, Validations
    from aws_cdk import aws_sqs as sqs
    from cdk_nag import AwsSolutionsChecks, ServerlessChecks

    app = App(outdir=str(tmp_path))
    sqs.Queue(Stack(app, "control"), "plain")
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"] for p in report["pluginReports"] for v in p["violations"]}
    assert {"AwsSolutions-SQS3", "AwsSolutions-SQS4"} <= rules


def test_cfn_lint_finds_no_errors(synth):
    from cfnlint.api import lint_file

    matches = lint_file(synth.template_path)
    errors = [f"{m.rule.id} {m.message} ({m.path})" for m in matches if m.rule.severity.lower() == "error"]
    assert errors == []


def test_workflows_reading_or_writing_the_data_bucket_may_use_its_key(synth):
    key = synth.logical_id(synth.stack.storage.key)
    for machine in (synth.stack.large_file.state_machine, synth.stack.backfill.state_machine):
        statements = statements_of_role(synth, synth.logical_id(machine.role))
        kms = [s for s in statements if key in json.dumps(s["Resource"])]
        actions = {a for s in kms for a in as_list(s["Action"])}
        assert {"kms:Decrypt", "kms:GenerateDataKey"} <= actions, machine.node.path

"""The local cloud's deployer, intrinsic resolution, router and runtime on a hand-written template."""

from __future__ import annotations

import json

import pytest
from local_template import template

from scorewatch_infra.local.alarms import (
    Datapoint,
    MetricStore,
    UnsupportedQueryError,
    evaluate_alarm,
    parse_insights_query,
)
from scorewatch_infra.local.cloud import LocalCloud, rate_seconds
from scorewatch_infra.local.resources import NO_LOCAL_EFFECT, Deployer
from scorewatch_infra.local.router import Target, matches, transform_input
from scorewatch_infra.local.template import Template, TemplateError, UnsupportedResourceError

pytestmark = pytest.mark.xdist_group("local-cloud")

S3_EVENT = {
    "version": "0",
    "id": "e1",
    "detail-type": "Object Created",
    "source": "aws.s3",
    "account": "123456789012",
    "time": "2026-01-01T00:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:s3:::data"],
    "detail": {"bucket": {"name": "data"}, "object": {"key": "incoming/churn/a.csv", "size": 120}},
}


def _lookup(logical_id, attribute):
    return f"{logical_id}.{attribute}" if attribute else f"ref:{logical_id}"


def _t(body):
    return Template(body, stack_name="st", region="eu-west-1", account_id="111122223333")


# -- intrinsic functions ------------------------------------------------------------------------


def test_sub_resolves_pseudo_parameters_refs_and_attributes():
    t = _t({"Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}}})
    value = {
        "Fn::Sub": "${AWS::StackName}/${AWS::Region}/${AWS::AccountId}/${Bucket}/${Bucket.Arn}/${!Literal}"
    }
    assert t.resolve(value, _lookup) == "st/eu-west-1/111122223333/ref:Bucket/Bucket.Arn/${Literal}"


def test_sub_with_local_variables_and_join_select_split():
    t = _t({"Resources": {}})
    assert t.resolve({"Fn::Sub": ["a-${x}", {"x": {"Fn::Join": ["+", ["1", "2"]]}}]}, _lookup) == "a-1+2"
    assert t.resolve({"Fn::Select": [2, {"Fn::Split": ["/", "a/b/c"]}]}, _lookup) == "c"


def test_conditions_if_and_no_value_remove_keys():
    body = {
        "Parameters": {"Env": {"Type": "String", "Default": "dev"}},
        "Conditions": {
            "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
            "NotProd": {"Fn::Not": [{"Condition": "IsProd"}]},
            "Both": {"Fn::And": [{"Condition": "NotProd"}, {"Fn::Or": [{"Condition": "IsProd"}, True]}]},
        },
        "Resources": {},
    }
    t = _t(body)
    value = {"a": {"Fn::If": ["IsProd", "p", "d"]}, "b": {"Fn::If": ["IsProd", "x", {"Ref": "AWS::NoValue"}]}}
    assert t.resolve(value, _lookup) == {"a": "d"}
    assert t.condition("Both", _lookup) is True
    t.parameter_overrides["Env"] = "prod"
    assert t.resolve(value, _lookup) == {"a": "p", "b": "x"}


def test_get_att_find_in_map_and_unknown_names_raise():
    body = {
        "Mappings": {"M": {"eu-west-1": {"Size": 3}}},
        "Resources": {"Fn": {"Type": "AWS::Lambda::Function"}},
    }
    t = _t(body)
    assert t.resolve({"Fn::GetAtt": ["Fn", "Arn"]}, _lookup) == "Fn.Arn"
    assert t.resolve({"Fn::GetAtt": "Fn.Arn"}, _lookup) == "Fn.Arn"
    assert t.resolve({"Fn::FindInMap": ["M", {"Ref": "AWS::Region"}, "Size"]}, _lookup) == 3
    with pytest.raises(TemplateError, match="Missing"):
        t.resolve({"Ref": "Missing"}, _lookup)
    with pytest.raises(TemplateError, match="Fn::ImportValue"):
        t.resolve({"Fn::ImportValue": "x"}, _lookup)
    with pytest.raises(TemplateError, match="Fn::Cidr"):
        t.resolve({"Fn::Cidr": ["10.0.0.0/16", 2, 8]}, _lookup)


def test_deployment_order_follows_references_and_detects_cycles():
    body = {
        "Resources": {
            "C": {"Type": "X", "Properties": {"A": {"Fn::Sub": "${B.Arn}"}}},
            "B": {"Type": "X", "Properties": {"A": {"Ref": "A"}}},
            "A": {"Type": "X", "DependsOn": []},
        }
    }
    assert _t(body).deployment_order() == ["A", "B", "C"]
    body["Resources"]["A"]["DependsOn"] = ["C"]
    with pytest.raises(TemplateError, match="circular"):
        _t(body).deployment_order()


def test_unsupported_resource_type_is_named_before_anything_is_created():
    body = template(extra_resources={"Box": {"Type": "AWS::EC2::Instance", "Properties": {}}})
    created = []

    def clients(service):
        created.append(service)
        raise AssertionError("nothing may be created")

    with pytest.raises(UnsupportedResourceError, match=r"'Box' has type 'AWS::EC2::Instance'"):
        Deployer(Template(body, stack_name="st"), clients).deploy()
    assert created == []


def test_every_no_local_effect_entry_has_a_reason():
    assert all(isinstance(r, str) and len(r) > 10 for r in NO_LOCAL_EFFECT.values())


# -- router ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"source": ["aws.s3"], "detail": {"object": {"key": [{"prefix": "incoming/"}]}}}, True),
        ({"source": ["aws.s3"], "detail": {"object": {"key": [{"prefix": "labels/"}]}}}, False),
        ({"detail": {"object": {"key": [{"suffix": ".csv"}]}}}, True),
        ({"detail-type": [{"anything-but": ["Object Deleted"]}]}, True),
        ({"detail": {"object": {"size": [{"numeric": [">", 100, "<=", 120]}]}}}, True),
        ({"detail": {"object": {"size": [{"numeric": [">", 120]}]}}}, False),
        ({"detail": {"object": {"version-id": [{"exists": False}]}}}, True),
        ({"detail": {"bucket": {"name": ["other"]}}}, False),
    ],
)
def test_pattern_matching_follows_the_eventbridge_spec(pattern, expected):
    assert matches(pattern, S3_EVENT) is expected


def test_input_transformer_input_path_and_constant_input():
    transformer = {
        "InputPathsMap": {"key": "$.detail.object.key", "size": "$.detail.object.size"},
        "InputTemplate": '{"k": <key>, "s": <size>, "text": "file <key>"}',
    }
    assert transform_input(Target("t", "arn", input_transformer=transformer), S3_EVENT) == {
        "k": "incoming/churn/a.csv",
        "s": 120,
        "text": "file incoming/churn/a.csv",
    }
    assert transform_input(Target("t", "arn", input_path="$.detail.bucket"), S3_EVENT) == {"name": "data"}
    assert transform_input(Target("t", "arn", input='{"a": 1}'), S3_EVENT) == {"a": 1}


def test_rate_expressions_and_alarm_evaluation_without_data():
    assert rate_seconds("rate(5 minutes)") == 300
    assert rate_seconds("cron(0 6 * * ? *)") is None
    props = {"Namespace": "N", "MetricName": "M", "Statistic": "Sum", "Threshold": 1, "EvaluationPeriods": 1}
    props["ComparisonOperator"] = "GreaterThanThreshold"
    assert evaluate_alarm("a", props, MetricStore(), now=0).state == "INSUFFICIENT_DATA"
    assert (
        evaluate_alarm("a", {**props, "TreatMissingData": "breaching"}, MetricStore(), now=0).state == "ALARM"
    )


def _insights_alarm(expression: str, threshold: float = 1.0) -> dict:
    return {
        "Metrics": [{"Id": "q", "Expression": expression, "Period": 300, "ReturnData": True}],
        "EvaluationPeriods": 1,
        "Threshold": threshold,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
    }


def test_metrics_insights_alarm_is_evaluated_per_contributor():
    store = MetricStore()
    for model, value in (("churn", 1.4), ("churn", 0.2), ("fraud", 0.7), ("ads", 2.0)):
        store.add(Datapoint("Scorewatch", "DriftShareBreach", (("Model", model),), value, 100.0))
    # Same metric with another dimension set: not in SCHEMA("Scorewatch", Model).
    store.add(Datapoint("Scorewatch", "DriftShareBreach", (("Model", "x"), ("Other", "y")), 9.0, 100.0))
    # Outside the evaluation period: does not count.
    store.add(Datapoint("Scorewatch", "DriftShareBreach", (("Model", "fraud"),), 5.0, -1000.0))
    query = 'SELECT MAX(DriftShareBreach) FROM SCHEMA("Scorewatch", Model) GROUP BY Model'
    state = evaluate_alarm("fleet", _insights_alarm(query), store, now=200.0)
    assert state.state == "ALARM" and state.breaching == ("ads", "churn") and state.contributors == 3
    assert "2 of 3 contributors" in state.reason
    avg = evaluate_alarm("fleet", _insights_alarm(query.replace("MAX", "AVG")), store, now=200.0)
    assert avg.breaching == ("ads",)  # churn's average is 0.8
    where = query.replace(" GROUP BY", " WHERE Model != 'ads' AND Model != 'churn' GROUP BY")
    assert evaluate_alarm("fleet", _insights_alarm(where), store, now=200.0).state == "OK"
    assert evaluate_alarm("fleet", _insights_alarm(query), MetricStore(), now=200.0).state == (
        "INSUFFICIENT_DATA"
    )


@pytest.mark.parametrize(
    "expression",
    [
        "SUM(METRICS())",
        'SELECT MAX(A) FROM SCHEMA("N", Model, Other) GROUP BY Model',
        'SELECT MAX(A) FROM SCHEMA("N", Model) GROUP BY Other',
        'SELECT STDDEV(A) FROM SCHEMA("N", Model) GROUP BY Model',
        "SELECT MAX(A) FROM SCHEMA(\"N\", Model) WHERE Model LIKE 'c%' GROUP BY Model",
        'SELECT MAX(A) FROM "N" GROUP BY Model',
    ],
)
def test_other_query_shapes_are_refused_by_name(expression):
    with pytest.raises(UnsupportedQueryError, match="expression"):
        parse_insights_query(expression)
    state = evaluate_alarm("x", _insights_alarm(expression), MetricStore(), now=0)
    assert state.state == "INSUFFICIENT_DATA" and "not evaluated locally" in state.reason


def test_parsed_query_keeps_order_and_limit():
    q = parse_insights_query(
        'SELECT SUM(RowsScored) FROM SCHEMA("Scorewatch", Model) GROUP BY Model ORDER BY SUM() ASC LIMIT 20'
    )
    assert (q.statistic, q.limit, q.descending) == ("Sum", 20, False)


# -- the template running on the embedded emulator ----------------------------------------------


@pytest.fixture(scope="module")
def cloud():
    with LocalCloud(template(), stack_name="lc-test") as c:
        yield c


@pytest.mark.slow
def test_deployment_report_lists_every_resource_once(cloud):
    r = cloud.report
    accounted = set(r.deployed) | set(r.skipped_by_condition)
    assert accounted == set(template()["Resources"])
    assert r.skipped_by_condition == ["ProdOnlyQueue"]
    assert "HandlerRole" in r.no_local_effect
    assert r.functions["NotificationsHandler"].handler_id is None  # custom-resource provider
    assert r.functions["IncrementFn"].handler_id == "local_handlers.increment"
    assert r.functions["IncrementFn"].environment == {"LIMIT": "3"}
    assert r.functions["RecordFn"].environment["MARK"] == "dev-mark"
    assert "UNUSED" not in r.functions["RecordFn"].environment
    assert r.deployed["OutBucket"].ref == "lc-test-out-us-east-1"


@pytest.mark.slow
def test_upload_routes_s3_event_to_lambda_then_custom_bus_event_to_state_machine(cloud):
    s3 = cloud.client("s3")
    data = cloud.report.deployed["DataBucket"].ref
    out = cloud.report.deployed["OutBucket"].ref
    put = s3.put_object(Bucket=data, Key="incoming/churn/a.csv", Body=b"a,b\n1,2\n")
    s3.put_object(Bucket=data, Key="scored/ignored.csv", Body=b"x")
    cloud.drain(timeout=120)
    assert cloud.router.errors == []

    received = [
        json.loads(s3.get_object(Bucket=out, Key=o["Key"])["Body"].read())
        for o in s3.list_objects_v2(Bucket=out, Prefix="received/").get("Contents", [])
    ]
    assert len(received) == 1  # scored/ does not match the rule's prefix
    detail = received[0]["detail"]
    assert received[0]["source"] == "aws.s3" and received[0]["detail-type"] == "Object Created"
    assert detail["object"]["key"] == "incoming/churn/a.csv"
    assert detail["object"]["etag"] == put["ETag"].strip('"')
    assert detail["object"]["version-id"] == put["VersionId"]
    assert detail["reason"] == "PutObject" and detail["bucket"]["name"] == data

    (execution,) = cloud.executions()
    assert execution.status == "SUCCEEDED"
    assert execution.states == ("Start", "Increment", "Check", "Increment", "Check", "Increment", "TooLarge")
    assert execution.output["error"]["Error"] == "ValueTooLargeError"
    assert execution.input["detail"]["mark"] == "dev-mark"

    alarms = {a.name: a for a in cloud.alarm_states()}
    assert alarms["lc-test-recorded"].state == "ALARM"  # 7 recorded > 5 via EMF
    errors_alarm = next(a for a in alarms.values() if a.metric == "AWS/Lambda/Errors")
    assert errors_alarm.state == "ALARM"  # the increment function raised once


@pytest.mark.slow
def test_tick_fires_schedules_with_their_constant_input(cloud):
    before = len(cloud.runtime.invocations)
    assert len(cloud.tick()) == 1
    cloud.drain(timeout=120)
    new = cloud.runtime.invocations[before:]
    assert any(inv.source.startswith("rule:") and inv.function.startswith("lc-test-recordfn") for inv in new)
    assert cloud.client("s3").head_object(
        Bucket=cloud.report.deployed["OutBucket"].ref, Key="received/scheduled.json"
    )


@pytest.mark.slow
def test_scheduler_schedules_created_at_run_time_fire_with_their_input(cloud):
    """Schedules that exist in the emulator (as `scorewatch models configure` creates them) fire on
    tick: the target function is invoked with the schedule's Input; a disabled one does not fire."""
    assert cloud.report.outputs["ScheduleGroup"] == "lc-models"
    record_arn = cloud.report.outputs["RecordFunctionArn"]
    scheduler = cloud.client("scheduler")
    for name, state in (("churn-score", "ENABLED"), ("fraud-score", "DISABLED")):
        scheduler.create_schedule(
            Name=name,
            GroupName="lc-models",
            ScheduleExpression="cron(15 2 * * ? *)",
            FlexibleTimeWindow={"Mode": "OFF"},
            State=state,
            Target={
                "Arn": record_arn,
                "RoleArn": "arn:aws:iam::123456789012:role/lc-scheduler",
                "Input": json.dumps({"id": f"from-{name}"}),
            },
        )
    try:
        before = len(cloud.runtime.invocations)
        fired = cloud.tick()
        cloud.drain(timeout=120)
        assert "lc-models/churn-score" in fired and "lc-models/fraud-score" not in fired
        new = [i for i in cloud.runtime.invocations[before:] if i.source.startswith("schedule:")]
        assert [i.source for i in new] == ["schedule:lc-models/churn-score"]
        body = cloud.client("s3").get_object(
            Bucket=cloud.report.deployed["OutBucket"].ref, Key="received/from-churn-score.json"
        )["Body"]
        assert json.loads(body.read()) == {"id": "from-churn-score"}  # the Input, not a Scheduled Event
        # The fleet alarm sees churn (Recorded 7 > 5) as its one breaching contributor.
        alarm = next(a for a in cloud.alarm_states() if a.name == "lc-test-recorded-by-model")
        assert alarm.state == "ALARM" and alarm.breaching == ("churn",)
    finally:
        for name in ("churn-score", "fraud-score"):
            scheduler.delete_schedule(Name=name, GroupName="lc-models")
    assert not any(r.name.startswith("lc-models/") for r in cloud.scheduler_schedules())


@pytest.mark.slow
def test_direct_invoke_runs_in_process_with_template_environment(cloud):
    spec = cloud.report.functions["RecordFn"]
    result = cloud.invoke("local_handlers.record", {"id": "direct-call"})
    assert result == {"key": "received/direct-call.json", "mark": "dev-mark", "function": spec.name}
    with pytest.raises(TemplateError, match="not invocable locally"):
        cloud.runtime.invoke(cloud.report.functions["NotificationsHandler"].name, {}, source="test")

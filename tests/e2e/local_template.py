"""A small hand-written CloudFormation template (CDK-shaped) for the local-cloud tests."""

from __future__ import annotations

import json


def _sm_definition() -> dict:
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {
            "FunctionName": "FN_ARN",
            "Payload": {"input.$": "$", "execution_id.$": "$$.Execution.Id"},
        },
        "OutputPath": "$.Payload",
        "Catch": [{"ErrorEquals": ["ValueTooLargeError"], "Next": "TooLarge", "ResultPath": "$.error"}],
        "Next": "Check",
    }
    return {
        "StartAt": "Start",
        "States": {
            "Start": {"Type": "Pass", "Result": {"value": 1}, "Next": "Increment"},
            "Increment": task,
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.value", "NumericGreaterThanEquals": 10, "Next": "Done"}],
                "Default": "Increment",
            },
            "Done": {"Type": "Succeed"},
            "TooLarge": {"Type": "Succeed"},
        },
    }


def _definition_string() -> dict:
    # CDK renders definitions as Fn::Join around the tokens (here the function ARN).
    head, tail = json.dumps(_sm_definition()).split('"FN_ARN"')
    return {"Fn::Join": ["", [head + '"', {"Fn::GetAtt": ["IncrementFn", "Arn"]}, '"' + tail]]}


_OUT_ARN = {"Fn::GetAtt": ["OutBucket", "Arn"]}


def template(*, extra_resources: dict | None = None) -> dict:
    resources = {
        "DataBucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {"VersioningConfiguration": {"Status": "Enabled"}},
        },
        "DataBucketNotifications": {
            "Type": "Custom::S3BucketNotifications",
            "Properties": {
                "ServiceToken": {"Fn::GetAtt": ["NotificationsHandler", "Arn"]},
                "BucketName": {"Ref": "DataBucket"},
                "NotificationConfiguration": {"EventBridgeConfiguration": {}},
                "Managed": True,
            },
        },
        "NotificationsHandler": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Handler": "index.handler",
                "Role": {"Fn::GetAtt": ["HandlerRole", "Arn"]},
                "Code": {"ZipFile": "def handler(event, context): pass"},
                "Runtime": "python3.11",
                "Timeout": 300,
            },
        },
        "OutBucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {"BucketName": {"Fn::Sub": "${AWS::StackName}-out-${AWS::Region}"}},
        },
        "Bus": {
            "Type": "AWS::Events::EventBus",
            "Properties": {"Name": {"Fn::Sub": "${AWS::StackName}-bus"}},
        },
        "HandlerRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {},
                # What RecordFn does (the local cloud judges every call against this).
                "Policies": [
                    {
                        "PolicyName": "record",
                        "PolicyDocument": {
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": "s3:PutObject",
                                    "Resource": {"Fn::Join": ["", [_OUT_ARN, "/received/*"]]},
                                },
                                {
                                    "Effect": "Allow",
                                    "Action": "events:PutEvents",
                                    "Resource": {"Fn::GetAtt": ["Bus", "Arn"]},
                                },
                            ]
                        },
                    }
                ],
            },
        },
        "RecordFn": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Handler": "local_handlers.record",
                "Role": {"Fn::GetAtt": ["HandlerRole", "Arn"]},
                "Code": {"ZipFile": "unused"},
                "Runtime": "python3.12",
                "Timeout": 60,
                "Environment": {
                    "Variables": {
                        "OUT_BUCKET": {"Ref": "OutBucket"},
                        "BUS": {"Ref": "Bus"},
                        "MARK": {"Fn::If": ["IsProd", "prod", {"Fn::Join": ["-", [{"Ref": "Env"}, "mark"]]}]},
                        "UNUSED": {"Fn::If": ["IsProd", "x", {"Ref": "AWS::NoValue"}]},
                    }
                },
            },
        },
        "IncrementFn": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "PackageType": "Image",
                "Code": {
                    "ImageUri": {"Fn::Sub": "${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com/x:latest"}
                },
                "ImageConfig": {"Command": ["local_handlers.increment"]},
                "Role": {"Fn::GetAtt": ["HandlerRole", "Arn"]},
                "Environment": {
                    "Variables": {"LIMIT": {"Fn::Select": [1, {"Fn::Split": [",", {"Ref": "Limits"}]}]}}
                },
            },
        },
        "DropRule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "EventPattern": {
                    "source": ["aws.s3"],
                    "detail-type": ["Object Created"],
                    "detail": {
                        "bucket": {"name": [{"Ref": "DataBucket"}]},
                        "object": {"key": [{"prefix": "incoming/"}]},
                    },
                },
                "State": "ENABLED",
                "Targets": [{"Id": "Target0", "Arn": {"Fn::GetAtt": ["RecordFn", "Arn"]}}],
            },
        },
        "Workflow": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "RoleArn": {"Fn::GetAtt": ["HandlerRole", "Arn"]},
                "DefinitionString": _definition_string(),
            },
            "DependsOn": ["HandlerRole"],
        },
        "RecordedRule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "EventBusName": {"Ref": "Bus"},
                "EventPattern": {"source": ["local.test"], "detail-type": ["Thing Recorded"]},
                "State": "ENABLED",
                "Targets": [
                    {
                        "Id": "Target0",
                        "Arn": {"Ref": "Workflow"},
                        "RoleArn": {"Fn::GetAtt": ["HandlerRole", "Arn"]},
                    }
                ],
            },
        },
        "Hourly": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "ScheduleExpression": "rate(1 hour)",
                "State": "ENABLED",
                "Targets": [
                    {
                        "Id": "Target0",
                        "Arn": {"Fn::GetAtt": ["RecordFn", "Arn"]},
                        "Input": '{"id": "scheduled"}',
                    }
                ],
            },
        },
        "RecordedAlarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": {"Fn::Sub": "${AWS::StackName}-recorded"},
                "Namespace": "LocalTest",
                "MetricName": "Recorded",
                "Dimensions": [{"Name": "Model", "Value": "churn"}],
                "Statistic": "Sum",
                "Period": 300,
                "EvaluationPeriods": 1,
                "Threshold": 5,
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
            },
        },
        "ErrorsAlarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "Namespace": "AWS/Lambda",
                "MetricName": "Errors",
                "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": "IncrementFn"}}],
                "Statistic": "Sum",
                "Period": 300,
                "EvaluationPeriods": 1,
                "Threshold": 0,
                "ComparisonOperator": "GreaterThanThreshold",
            },
        },
        # Fleet shape: schedules created at run time in a group; one alarm, every model a contributor.
        "Models": {"Type": "AWS::Scheduler::ScheduleGroup", "Properties": {"Name": "lc-models"}},
        "RecordedByModelAlarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": {"Fn::Sub": "${AWS::StackName}-recorded-by-model"},
                "Metrics": [
                    {
                        "Id": "expr_1",
                        "Expression": 'SELECT MAX(Recorded) FROM SCHEMA("LocalTest", Model) GROUP BY Model',
                        "Period": 300,
                        "ReturnData": True,
                    }
                ],
                "EvaluationPeriods": 1,
                "Threshold": 5,
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
            },
        },
        "ProdOnlyQueue": {"Type": "AWS::SQS::Queue", "Condition": "IsProd"},
        "CDKMetadata": {"Type": "AWS::CDK::Metadata", "Properties": {"Analytics": "v2:deflate64:x"}},
    }
    resources.update(extra_resources or {})
    return {
        "Parameters": {
            "Env": {"Type": "String", "Default": "dev"},
            "Limits": {"Type": "String", "Default": "1,3,5"},
        },
        "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}},
        "Resources": resources,
        "Outputs": {
            "RecordFunctionArn": {"Value": {"Fn::GetAtt": ["RecordFn", "Arn"]}},
            "ScheduleGroup": {"Value": {"Ref": "Models"}},
        },
    }


def distributed_map_template(*, tolerated_failure_percentage: int | None = None) -> dict:
    """A Distributed Map over a JSON manifest in S3 (ItemReader + ResultWriter), as in the large-file flow."""
    state = {
        "Type": "Map",
        "End": True,
        "ResultPath": "$.r",
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSON"},
            "Parameters": {"Bucket": "BUCKET", "Key.$": "$.key"},
        },
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "End": True,
                    "OutputPath": "$.Payload",
                    "Parameters": {
                        "FunctionName": "FN",
                        "Payload": {"input.$": "$", "execution_id.$": "$$.Execution.Id"},
                    },
                }
            },
        },
        "MaxConcurrency": 2,
        "ResultWriter": {
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": "BUCKET", "Prefix": "results/"},
        },
    }
    if tolerated_failure_percentage is not None:
        state["ToleratedFailurePercentage"] = tolerated_failure_percentage
    text = json.dumps({"StartAt": "M", "States": {"M": state}})
    head, rest = text.split('"BUCKET"', 1)
    mid, rest = rest.split('"FN"', 1)
    mid2, tail = rest.split('"BUCKET"', 1)
    bucket = {"Fn::Sub": '"${Bucket}"'}
    parts = [head, bucket, mid, {"Fn::Sub": '"${Fn.Arn}"'}, mid2, bucket, tail]
    return {
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "dmap-data"}},
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Handler": "local_handlers.increment",
                    "Environment": {"Variables": {"LIMIT": "100"}},
                },
            },
            "Parts": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"DefinitionString": {"Fn::Join": ["", parts]}},
            },
        }
    }

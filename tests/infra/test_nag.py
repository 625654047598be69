"""The IAM5 acknowledgement helper: cdk-nag's finding ids, and only explained wildcards."""

from __future__ import annotations

import pytest

from scorewatch_infra.nag import _reason_for, flatten_cfn_reference, wildcard_findings

pytestmark = pytest.mark.xdist_group("infra")


def test_flatten_matches_cdk_nag_for_each_intrinsic():
    assert flatten_cfn_reference({"Fn::GetAtt": ["dataA0A3A214", "Arn"]}) == "<dataA0A3A214.Arn>"
    assert flatten_cfn_reference({"Ref": "AWS::Partition"}) == "<AWS::Partition>"
    joined = {"Fn::Join": ["", [{"Fn::GetAtt": ["b", "Arn"]}, "/scored/*"]]}
    assert flatten_cfn_reference(joined) == "<b.Arn>/scored/*"
    assert (
        flatten_cfn_reference({"Fn::Sub": "arn:${AWS::Partition}:s3:::x/*"})
        == "arn:<AWS::Partition>:s3:::x/*"
    )
    select = {"Fn::Select": [6, {"Fn::Split": [":", {"Ref": "sm"}]}]}
    assert flatten_cfn_reference(select) == '{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"sm"}]}]}'


def test_findings_list_wildcard_actions_and_resources_of_allow_statements_only():
    doc = {
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject*", "s3:PutObject"], "Resource": "arn:aws:s3:::b/*"},
            {"Effect": "Deny", "Action": "s3:*", "Resource": "*"},
        ]
    }
    assert [f for f, _ in wildcard_findings(doc)] == ["Action::s3:GetObject*", "Resource::arn:aws:s3:::b/*"]


def test_unexplained_wildcards_get_no_reason():
    assert _reason_for("Action::s3:*", ["s3:*"], []) is None
    assert _reason_for("Action::dynamodb:*", ["dynamodb:*"], []) is None
    # Resource "*" only for services without resource-level permissions, never mixed with others.
    assert _reason_for("Resource::*", ["xray:PutTraceSegments"], []) is not None
    assert _reason_for("Resource::*", ["xray:PutTraceSegments", "s3:GetObject"], []) is None
    assert _reason_for("Resource::arn:aws:s3:::someone-elses-bucket/*", ["s3:GetObject"], []) is None

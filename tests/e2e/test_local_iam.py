"""The local cloud judges every AWS call a function makes against that function's role.

The emulator does not enforce IAM; scorewatch_infra.local.iam does it for the calls functions
make while they run locally. These tests show it denies what the template does not grant
(including the KMS permissions S3 needs implicitly), and how requests map to IAM actions.
"""

from __future__ import annotations

import copy

import pytest
from local_template import template

from scorewatch_infra.local.cloud import LocalCloud
from scorewatch_infra.local.iam import Call, Resources, UnjudgedCall, api_calls, is_allowed

pytestmark = pytest.mark.xdist_group("local-cloud")

RES = Resources(
    region="us-east-1",
    account="123456789012",
    table_keys={"registry": "pk"},
    bucket_keys={"data": "arn:aws:kms:us-east-1:123456789012:key/k1"},
)


def test_sse_kms_reads_and_writes_need_the_bucket_key():
    get = api_calls("s3", "GetObject", {"Bucket": "data", "Key": "a/b.csv"}, RES)
    assert [c.action for c in get] == ["s3:GetObject", "kms:Decrypt"]
    assert get[0].resource == "arn:aws:s3:::data/a/b.csv" and get[1].resource.endswith("key/k1")
    put = api_calls("s3", "PutObject", {"Bucket": "data", "Key": "scored/x"}, RES)
    assert [c.action for c in put] == ["s3:PutObject", "kms:GenerateDataKey"]
    done = api_calls("s3", "CompleteMultipartUpload", {"Bucket": "data", "Key": "scored/x"}, RES)
    assert [c.action for c in done] == ["s3:PutObject", "kms:Decrypt"]
    # a bucket without a key needs no KMS permission; HEAD decrypts nothing
    assert [c.action for c in api_calls("s3", "GetObject", {"Bucket": "other", "Key": "k"}, RES)] == [
        "s3:GetObject"
    ]
    assert [c.action for c in api_calls("s3", "HeadObject", {"Bucket": "data", "Key": "k"}, RES)] == [
        "s3:GetObject"
    ]


def test_versioned_and_listing_calls():
    (call,) = api_calls("s3", "GetObject", {"Bucket": "other", "Key": "k", "VersionId": "v1"}, RES)
    assert call.action == "s3:GetObjectVersion"
    (listing,) = api_calls("s3", "ListObjectsV2", {"Bucket": "other", "Prefix": "incoming/churn/"}, RES)
    assert listing.resource == "arn:aws:s3:::other" and listing.context["s3:prefix"] == ("incoming/churn/",)
    allow = [
        {
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::other",
            "Condition": {"StringLike": {"s3:prefix": ["incoming/*"]}},
        }
    ]
    assert is_allowed(allow, listing)
    (outside,) = api_calls("s3", "ListObjectsV2", {"Bucket": "other", "Prefix": "scored/"}, RES)
    assert not is_allowed(allow, outside)


def test_dynamodb_condition_keys_and_unknown_operations():
    (put,) = api_calls(
        "dynamodb",
        "PutItem",
        {"TableName": "registry", "Item": {"pk": {"S": "CONTROL#churn"}, "sk": {"S": "lock"}}},
        RES,
    )
    assert put.resource == "arn:aws:dynamodb:us-east-1:123456789012:table/registry"
    assert put.context == {"dynamodb:LeadingKeys": ("CONTROL#churn",), "dynamodb:Attributes": ("pk", "sk")}
    with pytest.raises(UnjudgedCall, match="dynamodb:BatchWriteItem"):
        api_calls("dynamodb", "BatchWriteItem", {"RequestItems": {}}, RES)
    with pytest.raises(UnjudgedCall, match="glue:GetTable"):
        api_calls("glue", "GetTable", {}, RES)


def test_wildcards_are_iam_wildcards_only():
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/incoming/*"}
    assert is_allowed([statement], Call("s3:GetObject", "arn:aws:s3:::b/incoming/a/[1].csv"))
    literal = {**statement, "Resource": "arn:aws:s3:::b/[ab].csv"}
    assert not is_allowed([literal], Call("s3:GetObject", "arn:aws:s3:::b/a.csv"))
    deny = {**statement, "Effect": "Deny"}
    assert not is_allowed([statement, deny], Call("s3:GetObject", "arn:aws:s3:::b/incoming/x"))


def _without_put_events() -> dict:
    t = copy.deepcopy(template())
    statements = t["Resources"]["HandlerRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    statements[:] = [s for s in statements if s["Action"] != "events:PutEvents"]
    return t


def test_a_call_the_role_does_not_grant_is_a_finding():
    cloud = LocalCloud(_without_put_events(), stack_name="iam-deny").start()
    try:
        cloud.invoke("local_handlers.record", {"id": "probe"})
        findings = cloud.iam_findings()
        assert [(f.function, f.action, f.verdict) for f in findings] == [
            ("RecordFn", "events:PutEvents", "denied")
        ]
        assert findings[0].resource == "arn:aws:events:us-east-1:123456789012:event-bus/iam-deny-bus"
        assert "RecordFn: events:PutEvents needs events:PutEvents on" in str(findings[0])
        # the allowed call (PutObject under received/) was recorded and judged too
        assert cloud.iam_recorder.calls_made() >= 2
    finally:
        cloud.iam_recorder.calls.clear()  # provoked on purpose: do not fail the stop check
        cloud.stop()

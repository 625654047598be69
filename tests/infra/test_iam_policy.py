"""IAM review of the synthesized stack: the generated table, wildcard actions, who may write what."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest
from infra_helpers import REPO, Synthesized, as_list, statements_of_role

from scorewatch.core.contract import HANDLERS

pytestmark = pytest.mark.xdist_group("infra")


def _iam_table():
    spec = importlib.util.spec_from_file_location("iam_table", REPO / "tools" / "iam_table.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["iam_table"] = mod
    spec.loader.exec_module(mod)
    return mod


iam_table = _iam_table()

# Write actions on S3 objects/buckets and DynamoDB tables, including prefix wildcards that cover one.
S3_WRITE_PREFIXES = ("s3:Put", "s3:Delete", "s3:Abort", "s3:Restore", "s3:Replicate", "s3:*")
DDB_WRITE = (
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLInsert",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
    "dynamodb:*",
)


def role_of(synth: Synthesized, function_id: str) -> str:
    return synth.logical_id(synth.stack.factory.functions[function_id].function.role)


def mentions(statement: dict, logical_id: str) -> bool:
    return logical_id in json.dumps(statement.get("Resource"))


def all_statements(synth: Synthesized):
    for logical, info in iam_table.roles(synth.template).items():
        for s in info["statements"]:
            yield logical, s


def test_iam_table_lists_every_role_with_every_action_it_is_granted(synth):
    text = iam_table.render(synth.template)
    roles = iam_table.roles(synth.template)
    assert set(synth.of_type("AWS::IAM::Role")) == set(roles)
    for logical, info in roles.items():
        section = text.split(f"## {logical}\n", 1)[1].split("\n## ", 1)[0]
        for s in info["statements"]:
            for action in as_list(s["Action"]):
                assert f"`{action}`" in section, (logical, action)
    for fid, entry in HANDLERS.items():
        assert entry in text, fid  # every function's role says which handler uses it


def test_no_role_is_granted_a_wildcard_action(synth):
    wildcards = [
        (logical, action)
        for logical, s in all_statements(synth)
        for action in as_list(s["Action"])
        if "*" in action
    ]
    assert wildcards == []


def test_no_statement_uses_notaction_or_notresource(synth):
    for logical, s in all_statements(synth):
        assert "NotAction" not in s and "NotResource" not in s, logical


@pytest.mark.parametrize("fid", ["score", "split", "finalize", "monitor", "labels"])
def test_scoring_and_monitoring_roles_cannot_write_models_or_change_the_registry_card(synth, fid):
    models = synth.logical_id(synth.stack.storage.models)
    registry = synth.logical_id(synth.stack.tables.registry)
    for s in statements_of_role(synth, role_of(synth, fid)):
        actions = as_list(s["Action"])
        if mentions(s, models):
            assert not [a for a in actions if a.startswith(S3_WRITE_PREFIXES)], (fid, actions)
        if mentions(s, registry) and set(actions) & set(DDB_WRITE):
            # only control items (cooldowns, locks) may be written, never a card or the pointer
            cond = json.dumps(s.get("Condition", {}))
            assert "dynamodb:Attributes" in cond, (fid, s)
            assert fid != "score" and fid != "split" and fid != "finalize", (fid, s)


def test_only_the_promote_role_writes_the_registry_without_an_attribute_condition(synth):
    registry = synth.logical_id(synth.stack.tables.registry)
    unconditional = set()
    for fid in HANDLERS:
        for s in statements_of_role(synth, role_of(synth, fid)):
            if mentions(s, registry) and set(as_list(s["Action"])) & set(DDB_WRITE) and "Condition" not in s:
                unconditional.add(fid)
    assert unconditional <= {"retrain_promote"}
    assert "retrain_promote" in unconditional  # the check can fail: promote does write the pointer


def test_grant_families_become_explicit_and_an_unmapped_wildcard_fails_synthesis():
    from aws_cdk import App, Aspects, Stack
    from aws_cdk import aws_iam as iam

    from scorewatch_infra.actions import ExplicitActions

    def synth(actions):
        app = App()
        stack = Stack(app, "t")
        role = iam.Role(stack, "r", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        role.add_to_policy(iam.PolicyStatement(actions=actions, resources=["*"]))
        Aspects.of(stack).add(ExplicitActions())
        template = app.synth().get_stack_by_name("t").template
        (policy,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy"]
        return policy["Properties"]["PolicyDocument"]["Statement"][0]["Action"]

    assert synth(["s3:GetObject*", "s3:ListBucket"]) == [
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:ListBucket",
    ]
    with pytest.raises(Exception, match=r"s3:Put\*.*has no explicit mapping"):
        synth(["s3:Put*"])

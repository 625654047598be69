"""The site function's wiring and role: triggered by history writes, reads the data, writes site/ only."""

from __future__ import annotations

import json

import pytest
from infra_helpers import as_list, fn_id, statements_of_role

from scorewatch.core.contract import Prefix
from scorewatch_infra.local.router import matches

pytestmark = pytest.mark.xdist_group("infra")


def _rule(synth):
    (rule,) = [
        r["Properties"]
        for r in synth.of_type("AWS::Events::Rule").values()
        if r["Properties"].get("Name") == "scorewatch-history-to-site"
    ]
    return rule


def test_history_and_performance_writes_reach_the_site_function_and_its_own_pages_do_not(synth):
    rule = _rule(synth)
    assert [t["Arn"]["Fn::GetAtt"][0] for t in rule["Targets"]] == [fn_id(synth, "site")]
    pattern = json.loads(
        json.dumps(rule["EventPattern"]).replace(
            json.dumps(rule["EventPattern"]["detail"]["bucket"]["name"][0]), '"data"'
        )
    )

    def event(key):
        return {
            "source": "aws.s3",
            "detail-type": "Object Created",
            "detail": {"bucket": {"name": "data"}, "object": {"key": key}},
        }

    assert matches(pattern, event("monitoring/model=churn/history/date=2026-01-01/b1.parquet"))
    assert matches(pattern, event("monitoring/model=churn/performance/date=2026-01-01/r1.parquet"))
    for key in (
        "monitoring/model=churn/drift/date=2026-01-01/b1.json",  # written before the history
        "monitoring/model=churn/performance/date=2026-01-01/r1.json",
        "site/models/churn/index.html",  # its own writes never loop back
        "scored/model=churn/date=2026-01-01/b1.parquet",
    ):
        assert not matches(pattern, event(key)), key


def test_site_role_writes_only_under_site_and_never_deletes_or_writes_the_registry(synth):
    fn = synth.stack.site.site.function
    statements = statements_of_role(synth, synth.logical_id(fn.role))
    data = synth.logical_id(synth.stack.storage.data)
    registry = synth.logical_id(synth.stack.tables.registry)
    writes = [
        s for s in statements if any(a.startswith(("s3:Put", "s3:Delete")) for a in as_list(s["Action"]))
    ]
    assert writes, "the site function writes its pages"
    for s in writes:
        assert not any(a.startswith("s3:Delete") for a in as_list(s["Action"]))
        (resource,) = as_list(s["Resource"])
        assert data in json.dumps(resource) and json.dumps(resource).endswith(f'/{Prefix.SITE}*"]]}}'), (
            resource
        )
    for s in statements:
        if registry in json.dumps(s.get("Resource")):
            assert not any(
                a in ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
                for a in as_list(s["Action"])
            )
    # Updates are serial: each renders the index from every model's summary.
    props = synth.props(fn_id(synth, "site"))
    assert props["ReservedConcurrentExecutions"] == 1

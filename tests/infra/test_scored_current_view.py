"""The scored_current Athena view (issue 15, invariant 2) in the synthesized Glue catalog."""

from __future__ import annotations

import base64
import json

import pytest

pytestmark = pytest.mark.xdist_group("infra")


def test_the_current_view_is_in_the_synthesized_catalog(synth):
    views = [
        t["Properties"]["TableInput"]
        for t in synth.of_type("AWS::Glue::Table").values()
        if t["Properties"]["TableInput"]["TableType"] == "VIRTUAL_VIEW"
    ]
    (view,) = views
    assert view["Name"] == "scored_current"
    text = view["ViewOriginalText"]
    presto = json.loads(base64.b64decode(text.removeprefix("/* Presto View: ").removesuffix(" */")))
    assert "rank() OVER (PARTITION BY model, source_uri" in presto["originalSql"]
    assert '"scorewatch"."scored"' in presto["originalSql"]
    names = [c["name"] for c in presto["columns"]]
    from scorewatch_infra.analytics import SCORED_COLUMNS

    assert names == [*(c for c, _ in SCORED_COLUMNS), "model", "date"]
    assert presto["originalSql"].startswith(f'SELECT {", ".join(names[:-1])}, "date" FROM (')
    assert names == [c["Name"] for c in view["StorageDescriptor"]["Columns"]]

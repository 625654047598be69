"""docs/iam.md is the table tools/iam_table.py renders from the app as `make synth` builds it.

`make docs` (or `make iam`) regenerates it; this test fails when a grant changed and the page did not.
"""

from __future__ import annotations

import importlib.util
import sys

import pytest
from infra_helpers import REPO

pytestmark = pytest.mark.xdist_group("infra")


def _iam_table():
    spec = importlib.util.spec_from_file_location("iam_table_doc", REPO / "tools" / "iam_table.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["iam_table_doc"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_docs_iam_md_is_the_table_generated_from_the_template():
    iam_table = _iam_table()
    template = iam_table.synthesize()
    on_disk = (REPO / "docs" / "iam.md").read_text(encoding="utf-8")
    assert on_disk == iam_table.render(template), "docs/iam.md is stale: run `make iam`"
    # one section per role of the stack
    assert on_disk.count("\n## ") == len(iam_table.roles(template)) >= 16

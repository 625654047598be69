"""JSON report, history rows and the HTML report (escaping, self-containment, size)."""

from __future__ import annotations

import ast
import io
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from scorewatch.api import compare
from scorewatch.core.config import DriftSettings
from scorewatch.monitoring.evaluation import REPORT_FORMAT
from scorewatch.reports import render_html

EVIL = "<script>alert(1)</script>"
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _frames(n: int = 1500, seed: int = 0):
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            EVIL: rng.choice(["a", "b", EVIL], n),
            "plan": rng.choice(["basic", "pro"], n),
            "score_1": rng.beta(2, 5, n),
        }
    )
    cur = ref.copy()
    cur["age"] = rng.normal(55, 10, n)
    cur["plan"] = rng.choice(["basic", "pro", "<b>new</b>"], n)
    return ref, cur


def _report(**kw):
    ref, cur = _frames()
    return compare(ref, cur, settings=DriftSettings(multivariate=False), **kw)


def test_to_dict_is_strict_json_with_format_and_version():
    d = _report().to_dict()
    text = json.dumps(d, allow_nan=False)
    back = json.loads(text)
    assert back["format"] == REPORT_FORMAT and back["version"] == 1
    assert set(back["summary"]) >= {
        "dataset_drift",
        "drift_share",
        "drifted_features",
        "max_psi",
        "prediction_drift",
    }
    feat = {f["column"]: f for f in back["features"]}
    assert feat["age"]["drifted"] and feat["age"]["test"] == "wasserstein"
    assert len(feat["age"]["distribution"]["labels"]) == len(feat["age"]["distribution"]["current"])
    assert [p["column"] for p in back["predictions"]] == ["score_1"]


def test_history_rows_one_per_column_and_parquet_ready():
    report = _report()
    rows = report.history_rows("batch-1", "churn", "000001", NOW)
    assert len(rows) == len(report.features) + len(report.predictions)
    assert set(rows["batch_id"]) == {"batch-1"}
    assert str(rows["evaluated_at"].dtype) == "datetime64[ms, UTC]"
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), buf)
    table = pq.read_table(io.BytesIO(buf.getvalue()))
    assert table.schema.field("pvalue").type == pa.float64()
    assert table.column("drifted").type == pa.bool_()
    age = rows.set_index("column").loc["age"]
    assert bool(age["drifted"]) and pd.isna(age["pvalue"]) and age["distance"] > 0.1


def test_html_escapes_user_strings_and_is_self_contained():
    page = render_html(_report().to_view(), title=f"report {EVIL}")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;new&lt;/b&gt;" in page
    assert not re.search(r"(src|href)\s*=|https?://|@import|url\(", page)


def test_html_puts_the_summary_before_the_per_feature_sections():
    page = _report().to_html(title="t")
    assert page.index("dataset drift") < page.index("Drifted features by severity") < page.index("<details")
    assert page.index("Data quality") < page.index("All features")
    assert "<svg" in page and "categorical_values_check" in page


def test_html_for_200_columns_stays_small_and_sorted_by_severity():
    rng = np.random.default_rng(1)
    n = 2000
    ref = pd.DataFrame({f"f{i:03d}": rng.normal(size=n) for i in range(150)})
    for i in range(50):
        ref[f"c{i:02d}"] = rng.choice([f"v{k}" for k in range(30)], n)
    cur = ref.copy()
    cur["f007"] = cur["f007"] + 3
    cur["f100"] = cur["f100"] + 0.5
    report = compare(ref, cur, settings=DriftSettings(multivariate=False))
    page = report.to_html(title="wide")
    assert len(page.encode()) < 2 * 1024 * 1024
    assert page.count("<details") == 200
    assert page.index("<code>f007</code>") < page.index("<code>f100</code>") < page.index("<code>f000</code>")


def test_html_escapes_script_in_feature_and_category_names_everywhere():
    """A ``<script>`` feature name and category reach the page only escaped (summary, tables, SVG)."""
    rng = np.random.default_rng(3)
    n = 1500
    ref = pd.DataFrame({EVIL: rng.choice(["a", "b"], n), "x": rng.normal(size=n)})
    cur = pd.DataFrame({EVIL: rng.choice(["a", EVIL], n), "x": rng.normal(size=n)})
    page = compare(ref, cur, settings=DriftSettings(multivariate=False)).to_html(title="t")
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert "<script" not in page and "alert(1)</script>" not in page
    assert f"<code>{escaped}</code>" in page  # the feature name, in the drift table and its section
    assert f"<title>{escaped} — current" in page  # the category, in the bar chart's tooltip
    assert f"{escaped} (" in page  # the category in the "top now" row (name (count))


def test_the_view_is_plain_json_and_reports_import_nothing_from_monitoring():
    view = _report().to_view()
    assert json.loads(json.dumps(view)) == view
    code = (
        "import sys, scorewatch.reports, scorewatch.reports.card; "
        "bad = sorted(m for m in sys.modules if m.startswith(('scorewatch.monitoring', "
        "'scorewatch.scoring', 'scorewatch.lifecycle', 'scorewatch.io'))); "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ})
    # Lazy imports inside functions count too: no import of those packages anywhere in reports/.
    import scorewatch.reports

    forbidden = ("scorewatch.monitoring", "scorewatch.scoring", "scorewatch.lifecycle", "scorewatch.io")
    for path in Path(scorewatch.reports.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not [n for n in names if n.startswith(forbidden)], (path.name, names)

"""The site's performance history (labels runs, monitor estimates), the kept summaries and the
incremental update of one model on a local copy of the bucket."""

from __future__ import annotations

import re
from datetime import timedelta

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from scorewatch.reports import site, site_data
from tests.unit.test_site import EVIL, NOW, _history, _rows, _write_batch


def _perf(rows):
    frame = pd.DataFrame(rows, columns=list(site_data.PERFORMANCE_COLUMNS))
    frame["computed_at"] = pd.to_datetime(frame["computed_at"], utc=True)
    return frame


def _run(run_id, at, per_batch, *, window, model="m", metric="roc_auc"):
    rows = [(model, "000001", "window", None, metric, window, window - 0.02, 100, 40, 0.4, run_id, at)]
    for batch_id, realized, coverage in per_batch:
        rows.append((model, "000001", "batch", batch_id, metric, realized, 0.8, 50, 20, coverage, run_id, at))
    rows.append((model, "000001", "window", None, "accuracy", 0.9, None, 100, 40, 0.4, run_id, at))
    return rows


PERF = _perf(
    _run("r1", NOW - timedelta(hours=3), [("b1", 0.70, 0.2)], window=0.70)
    + _run("r2", NOW - timedelta(hours=1), [("b1", 0.75, 0.5), ("b2", 0.55, 0.3)], window=0.66)
)
SUMMARY = {
    "metric": "roc_auc",
    "value": 0.66,
    "estimated_value": 0.64,
    "floor": 0.6,
    "coverage": 0.4,
    "degraded": False,
}


def test_the_latest_labels_run_holds_each_batch_and_each_run_is_a_window_point():
    assert site_data.primary_metric(PERF) == "roc_auc"  # more realized values than accuracy
    pb = site_data.performance_per_batch(PERF, "roc_auc")
    assert pb.set_index("batch_id")["realized"].to_dict() == {"b1": 0.75, "b2": 0.55}  # r2 superseded r1
    assert pb.set_index("batch_id")["coverage"].to_dict() == {"b1": 0.5, "b2": 0.3}
    runs = site_data.performance_per_run(PERF, "roc_auc")
    assert list(runs["realized"]) == [0.70, 0.66] and list(runs["estimated"].round(2)) == [0.68, 0.64]
    assert (
        site_data.performance_per_batch(PERF, None).empty and site_data.primary_metric(PERF.iloc[:0]) is None
    )


def test_model_page_shows_realized_estimated_floor_and_coverage_with_scales_and_tables():
    h = _history(
        _rows("m", "b1", NOW - timedelta(hours=4)),
        _rows("m", "b2", NOW - timedelta(hours=2), version="000002"),
    )
    pages = site.build_pages(
        h, site_data.empty_outputs(), now=NOW, performance=PERF, summaries={"m": SUMMARY}
    )
    page = pages[1].html
    chart = page.split('id="performance-chart">', 1)[1].split("</div>", 1)[0]
    assert chart.count('class="point"') == 2 + 2  # realized and estimated at b1 and b2
    assert 'class="floor"' in chart and "floor 0.6" in chart
    assert re.search(r"<title>b2 · [^<]*: realized roc_auc 0\.55</title>", chart)
    assert 'id="coverage-chart"' in page
    table = page.split('<table id="performance">', 1)[1].split("</table>", 1)[0]
    b2, b1 = re.findall(r"<tr><td><code>(b\d)</code>.*?<td>(yes|no|—)</td></tr>", table, re.S)
    assert b2 == ("b2", "yes") and b1 == ("b1", "no")  # 0.55 is below the 0.6 floor
    assert page.count("<tr><td>20") >= 2 and '<table id="performance-runs">' in page
    # Every bar chart has a y scale: 0 %, 50 %, 100 % on the drift share.
    drift = page.split('id="drift-chart">', 1)[1].split("</div>", 1)[0]
    assert re.findall(r'class="ylabel"[^>]*>([^<]+)<', drift) == ["0%", "50%", "100%"]
    index = pages[0].html
    assert "roc_auc</span> 0.66" in index and "floor 0.6" in index


def test_lower_is_better_metrics_mark_batches_above_the_floor():
    perf = _perf(_run("r1", NOW, [("b1", 2.0, 0.5), ("b2", 4.0, 0.5)], window=3.0, metric="rmse"))
    h = _history(_rows("m", "b1", NOW - timedelta(hours=4)), _rows("m", "b2", NOW - timedelta(hours=2)))
    summaries = {"m": {**SUMMARY, "metric": "rmse", "floor": 3.0}}
    pages = site.build_pages(
        h,
        site_data.empty_outputs(),
        now=NOW,
        performance=perf,
        summaries=summaries,
        higher_is_better={"rmse": False},
    )
    table = pages[1].html.split('<table id="performance">', 1)[1].split("</table>", 1)[0]
    assert re.findall(r"<tr><td><code>(b\d)</code>.*?<td>(yes|no|—)</td></tr>", table, re.S) == [
        ("b2", "yes"),
        ("b1", "no"),
    ]


def test_monitor_estimates_are_read_when_the_history_has_them_and_names_stay_escaped():
    rows = _rows("m", "b1", NOW - timedelta(hours=2), cols={EVIL: 0.1})
    h = _history(rows)
    plain = site.build_pages(h, site_data.empty_outputs(), now=NOW)[1].html
    assert 'id="performance-none"' in plain and "estimated (monitor)" not in plain
    h["estimated_roc_auc"] = 0.81
    page = site.build_pages(h, site_data.empty_outputs(), now=NOW, summaries={"m": SUMMARY})[1].html
    assert "estimated (monitor)" in page and '<th class="n">estimated (monitor)</th>' in page
    assert re.search(r"<title>b1 · [^<]*: estimated roc_auc 0\.81</title>", page)
    assert "<script" not in page.lower()


def test_degraded_performance_sorts_after_drift_and_before_quality():
    h = _history(
        _rows("drifted", "d1", NOW - timedelta(hours=1), drift_share=0.5, dataset_drift=True),
        _rows("degraded", "p1", NOW - timedelta(hours=1)),
        _rows("quality", "q1", NOW - timedelta(hours=1), quality=1),
    )
    statuses = site_data.fleet(h, site_data.empty_outputs(), now=NOW)
    assert [s.status for s in statuses] == ["drift", "quality", "ok"]
    statuses = site_data.fleet_from_tables(
        site_data.batch_table(h),
        site_data.volume_table(site_data.empty_outputs()),
        now=NOW,
        performance={"degraded": {**SUMMARY, "degraded": True, "value": 0.5}},
    )
    assert [(s.model, s.status) for s in statuses] == [
        ("drifted", "drift"),
        ("degraded", "performance"),
        ("quality", "quality"),
    ]
    assert statuses[1].realized == 0.5 and statuses[1].floor == 0.6


def test_a_kept_summary_round_trips_and_turns_stale_as_time_passes():
    h = _history(_rows("m", "b1", NOW - timedelta(hours=2), pred_drift=True))
    (s,) = site_data.fleet(h, site_data.empty_outputs(), now=NOW)
    back = site_data.status_from_dict(site_data.status_to_dict(s))
    assert back == s and back.flags == ("drift",)
    later = site_data.restale(back, now=NOW + timedelta(days=2), stale_after=timedelta(hours=24))
    assert later.flags == ("drift", "stale") and later.status == "drift"
    quiet = site_data.restale(
        site_data.status_from_dict({**site_data.status_to_dict(s), "flags": ["ok"]}),
        now=NOW + timedelta(days=2),
        stale_after=timedelta(hours=24),
    )
    assert quiet.status == "stale"


def _write_perf(root, model, run_id, at, frame):
    from scorewatch.core import layout

    base = root / f"monitoring/model={model}/performance/date={layout.day(at)}"
    base.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), base / f"{run_id}.parquet")
    (base / f"{run_id}.json").write_text(
        '{"metric": "roc_auc", "value": 0.66, "floor": 0.6, "degraded": true}'
    )


def test_an_update_rewrites_one_model_page_and_the_index_and_reads_only_new_objects(tmp_path):
    from scorewatch.monitoring.site_build import build_site
    from scorewatch.monitoring.site_update import update_model

    data, out = tmp_path / "data", tmp_path / "site"
    _write_batch(data, "churn", "b0001", NOW - timedelta(hours=3), shift=0.0)
    _write_batch(data, "other", "o0001", NOW - timedelta(hours=3), shift=0.0)
    build_site(str(data), str(out), now=NOW)  # the full build keeps every model's summary
    other = (out / "models" / "other" / "index.html").read_bytes()

    first = update_model(str(data), str(out), "churn", now=NOW)
    assert first.objects_read == 2 and first.models_in_index == 2  # its history and its scored footer
    assert update_model(str(data), str(out), "churn", now=NOW).objects_read == 0

    _write_batch(data, "churn", "b0002", NOW - timedelta(hours=1), shift=25.0)
    _write_perf(data, "churn", "r1", NOW, PERF.assign(model_name="churn"))
    done = update_model(str(data), str(out), "churn", now=NOW)
    assert done.objects_read == 3 and done.reports_copied == 1  # new history, performance, footer
    assert (out / "models" / "other" / "index.html").read_bytes() == other
    page = (out / "models" / "churn" / "index.html").read_text()
    assert page.count('class="cell"') == 2 * 2 and 'id="performance-chart"' in page
    index = (out / "index.html").read_text()
    assert re.findall(r'data-status="(\w+)"', index) == ["drift", "ok"]  # churn drifted, other fine
    assert 'href="models/other/index.html"' in index
    assert '<span class="badge b-performance">performance</span>' in index  # the summary says degraded


def test_an_empty_labels_table_is_skipped_not_a_failure(tmp_path):
    from scorewatch.monitoring.site_update import update_model

    data, out = tmp_path / "data", tmp_path / "site"
    _write_batch(data, "churn", "b0001", NOW - timedelta(hours=3), shift=0.0)
    _write_perf(data, "churn", "r0", NOW, pd.DataFrame())  # a run with no labeled batch: no columns
    done = update_model(str(data), str(out), "churn", now=NOW)
    assert done.objects_read == 3
    assert 'id="performance-none"' in (out / "models" / "churn" / "index.html").read_text()

"""The static site's queries on synthetic history with known answers, and its rendering."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from scorewatch.reports import site, site_data

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
EVIL = "<script>alert(1)</script>"


def _rows(
    model,
    batch_id,
    at,
    *,
    version="000001",
    cols=None,
    drift_share=0.0,
    dataset_drift=False,
    pred_drift=False,
    quality=0,
):
    cols = cols or {"age": 0.2, "plan": 0.1}
    out = []
    for name, sev in cols.items():
        out.append(
            {
                "model_name": model,
                "batch_id": batch_id,
                "model_version": version,
                "evaluated_at": pd.Timestamp(at),
                "column": name,
                "role": "feature",
                "test": "ks",
                "pvalue": 0.5,
                "distance": None,
                "threshold": 0.05,
                "drifted": sev >= 1,
                "severity": sev,
                "quality_violations": quality if name == next(iter(cols)) else 0,
                "dataset_drift": dataset_drift,
                "drift_share": drift_share,
            }
        )
    out.append(
        {
            "model_name": model,
            "batch_id": batch_id,
            "model_version": version,
            "evaluated_at": pd.Timestamp(at),
            "column": "score_1",
            "role": "prediction",
            "test": "jensenshannon",
            "pvalue": None,
            "distance": 0.3 if pred_drift else 0.01,
            "threshold": 0.1,
            "drifted": pred_drift,
            "severity": 3.0 if pred_drift else 0.1,
            "quality_violations": 0,
            "dataset_drift": dataset_drift,
            "drift_share": drift_share,
        }
    )
    return out


def _history(*groups):
    return pd.DataFrame([r for g in groups for r in g])


def _outputs(rows):
    frame = pd.DataFrame(rows, columns=["model", "batch_id", "kind", "rows", "at"])
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame


@pytest.fixture
def fleet_history():
    h = _history(
        # ok: fresh, no drift
        _rows("alpha", "a1", NOW - timedelta(hours=30)),
        _rows("alpha", "a2", NOW - timedelta(hours=2)),
        # drift in its latest batch (older batch was fine)
        _rows("bravo", "b1", NOW - timedelta(hours=10)),
        _rows(
            "bravo",
            "b2",
            NOW - timedelta(hours=1),
            cols={"age": 2.5, "plan": 0.3},
            drift_share=0.5,
            dataset_drift=True,
        ),
        # stale: fine, but the last batch is 3 days old
        _rows("charlie", "c1", NOW - timedelta(days=3)),
        # drifted earlier, fine now: ok
        _rows(
            "delta",
            "d1",
            NOW - timedelta(hours=5),
            cols={"age": 3.0, "plan": 2.0},
            drift_share=1.0,
            dataset_drift=True,
        ),
        _rows("delta", "d2", NOW - timedelta(hours=3)),
        # prediction drift only, and stale: drift wins, both flags shown
        _rows("echo", "e1", NOW - timedelta(days=2), pred_drift=True),
        # quality violations in the latest evaluation
        _rows("foxtrot", "f1", NOW - timedelta(hours=1), quality=2),
    )
    out = _outputs(
        [
            ("alpha", "a1", "scored", 100, NOW - timedelta(hours=30)),
            ("alpha", "a2", "scored", 90, NOW - timedelta(hours=2)),
            ("alpha", "a2", "rejected_rows", 10, NOW - timedelta(hours=2)),
            ("alpha", "zz", "rejected_file", 0, NOW - timedelta(hours=1)),
            ("golf", "g1", "scored", 5, NOW - timedelta(hours=1)),  # scored, never evaluated
        ]
    )
    return h, out


def test_fleet_is_ordered_by_attention_drift_quality_stale_ok(fleet_history):
    h, out = fleet_history
    statuses = site_data.fleet(h, out, now=NOW, stale_after=timedelta(hours=24))
    assert [(s.model, s.status) for s in statuses] == [
        ("bravo", "drift"),  # drift share 0.5 sorts before echo's 0.0
        ("echo", "drift"),
        ("foxtrot", "quality"),
        ("charlie", "stale"),
        ("alpha", "ok"),
        ("delta", "ok"),
        ("golf", "ok"),
    ]
    by = {s.model: s for s in statuses}
    assert by["echo"].flags == ("drift", "stale")
    assert by["bravo"].drifted_features == ("age",) and by["bravo"].last_drift_share == 0.5
    assert by["delta"].drift_series == (1.0, 0.0)
    assert by["golf"].last_version is None and by["golf"].last_drift_share is None


def test_stale_detection_uses_the_last_batch_time_and_the_threshold(fleet_history):
    h, out = fleet_history
    by = {s.model: s for s in site_data.fleet(h, out, now=NOW, stale_after=timedelta(hours=24))}
    assert by["charlie"].last_batch_at == NOW - timedelta(days=3)
    # A scored object newer than the last evaluation counts as the last batch.
    assert by["alpha"].last_batch_at == NOW - timedelta(hours=1)
    wider = {s.model: s.status for s in site_data.fleet(h, out, now=NOW, stale_after=timedelta(days=4))}
    assert wider["charlie"] == "ok"
    later = {s.model: s.flags for s in site_data.fleet(h, out, now=NOW + timedelta(days=2))}
    assert "stale" in later["alpha"] and later["bravo"] == ("drift", "stale")
    # A model named but never seen is stale, never ok.
    (ghost,) = [s for s in site_data.fleet(h, out, now=NOW, models=["hotel"]) if s.model == "hotel"]
    assert ghost.status == "stale" and ghost.last_batch_at is None


def test_volumes_over_24h_and_7d(fleet_history):
    h, out = fleet_history
    by = {s.model: s for s in site_data.fleet(h, out, now=NOW)}
    a = by["alpha"]
    assert (a.rows_24h, a.rejected_24h, a.rows_7d, a.rejected_7d, a.rejected_files_7d) == (90, 10, 190, 10, 1)
    assert a.rejected_share_7d == pytest.approx(10 / 200)


def test_timeline_joins_evaluations_and_volumes_and_rejected_rate(fleet_history):
    h, out = fleet_history
    t = site_data.timeline(h, out, "alpha")
    assert list(t["batch_id"]) == ["a1", "a2", "zz"]
    assert list(t["rows_scored"]) == [100, 90, 0]
    assert t.loc[1, "rejected_rate"] == pytest.approx(0.1)
    assert pd.isna(t.loc[2, "drift_share"]) and t.loc[2, "rejected_files"] == 1


def test_heatmap_orders_features_by_worst_severity_and_keeps_values():
    h = _history(
        _rows("m", "b1", NOW - timedelta(hours=3), cols={"age": 0.2, "plan": 0.1, "zip": 0.3}),
        _rows("m", "b2", NOW - timedelta(hours=2), cols={"age": 0.4, "plan": 1.7, "zip": 0.2}),
        _rows("m", "window-x", NOW - timedelta(hours=1), cols={"age": 9.0, "plan": 0.1, "zip": 0.2}),
    )
    hm = site_data.heatmap(h, "m")
    assert hm.batch_ids == ("b1", "b2")  # windows are not batches
    assert hm.columns == ("plan", "age", "zip")
    cell = hm.cells[0][1]
    assert cell is not None and cell.drifted and cell.severity == pytest.approx(1.7) and cell.test == "ks"
    assert site_data.heatmap(h, "m", last=1).batch_ids == ("b2",)
    assert site_data.drift_share_series(h, "m", scope="window") == [("window-x", 0.0)]


def test_site_pages_are_self_contained_and_escape_injected_names():
    evil_model = "m" + EVIL
    h = _history(
        _rows(
            evil_model,
            "b1",
            NOW - timedelta(hours=2),
            cols={EVIL: 2.0, "age": 0.1},
            drift_share=0.5,
            dataset_drift=True,
        ),
        _rows(evil_model, "b2", NOW - timedelta(hours=1), version="000002", cols={EVIL: 0.5, "age": 0.1}),
    )
    pages = site.build_pages(h, site_data.empty_outputs(), now=NOW, reports={(evil_model, "b1"): "x"})
    assert pages[0].path == "index.html"
    assert pages[1].path == "models/m%3Cscript%3Ealert%281%29%3C%2Fscript%3E/index.html"
    for page in pages:
        assert "<script" not in page.html.lower()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.html
        assert not re.search(r"src\s*=|https?://|@import|url\(", page.html)
    model = pages[1].html
    assert model.count('class="cell"') == 4  # 2 features x 2 batches
    assert model.count('class="n hm-cell"') == 4  # and the same cells in the table fallback
    assert 'href="reports/b1.html"' in model and "reports/b2.html" not in model
    # The version change at b2 is marked on each of the three time axes.
    assert model.count('class="marker"') == 3 and model.count("<title>v000002</title>") == 3
    assert re.search(
        r"<title>&lt;script&gt;alert\(1\)&lt;/script&gt; · b1 · [^<]*ks 0\.5 \(threshold 0\.05\), "
        r"severity 2\.00, drifted</title>",
        model,
    )
    index = pages[0].html
    assert index.count('class="model-row"') == 1 and 'data-status="ok"' in index  # b2, the latest, is fine
    assert 'href="models/m%3Cscript%3Ealert%281%29%3C%2Fscript%3E/index.html"' in index


def test_empty_bucket_builds_an_index_with_no_models():
    pages = site.build_pages(
        pd.DataFrame(columns=["model_name", "batch_id", "evaluated_at", "column", "role"]),
        site_data.empty_outputs(),
        now=NOW,
    )
    assert [p.path for p in pages] == ["index.html"] and "0 models" in pages[0].html


def _write_batch(root, model, batch_id, at, *, shift):
    """A batch evaluated by the project's own code, written where the monitor writes it."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from scorewatch.api import compare
    from scorewatch.core import layout
    from scorewatch.core.config import DriftSettings

    rng = np.random.default_rng(len(batch_id))
    ref = pd.DataFrame({"age": rng.normal(40, 10, 800), EVIL: rng.choice(["a", "b"], 800)})
    cur = pd.DataFrame({"age": rng.normal(40 + shift, 10, 500), EVIL: rng.choice(["a", "b"], 500)})
    report = compare(ref, cur, settings=DriftSettings(multivariate=False))
    d = layout.day(at)
    hist = root / layout.history_key(model, d, batch_id)
    hist.parent.mkdir(parents=True, exist_ok=True)
    rows = report.history_rows(batch_id, model, "000001", at)
    pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), hist)
    html = root / layout.drift_key(model, d, batch_id, ext="html")
    html.parent.mkdir(parents=True, exist_ok=True)
    html.write_text(report.to_html(title=f"{model} {batch_id}"))
    scored = root / layout.scored_key(model, d, batch_id)
    scored.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pandas(cur, preserve_index=False), scored)
    return report


def test_site_command_on_a_local_copy_of_the_bucket(tmp_path, capsys):
    from scorewatch.cli import main
    from scorewatch.core import layout

    data, out = tmp_path / "data", tmp_path / "site"
    _write_batch(data, "churn", "b0001", NOW - timedelta(hours=3), shift=0.0)
    drifted = _write_batch(data, "churn", "b0002", NOW - timedelta(hours=1), shift=25.0)
    assert drifted.dataset_drift
    rejected = data / layout.rejected_key("churn", "2026-03-10", "b0003", report=True)
    rejected.parent.mkdir(parents=True)
    rejected.write_text("{}")
    (data / "scored" / "model=..%2Fx").mkdir()  # not a model name: ignored

    assert main(["site", "--data", str(data), "--output", str(out), "--now", NOW.isoformat()]) == 0
    assert "2 drift reports copied" in capsys.readouterr().out
    index = (out / "index.html").read_text()
    assert re.findall(r'data-status="(\w+)"', index) == ["drift"]
    page = (out / "models" / "churn" / "index.html").read_text()
    assert page.count('class="cell"') == 2 * 2  # age and the injected name x 2 batches
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert (out / "models" / "churn" / "reports" / "b0002.html").is_file()

    fresh = tmp_path / "site2"
    assert (
        main(["site", "--data", str(data), "--output", str(fresh), "--no-reports", "--now", NOW.isoformat()])
        == 0
    )
    assert not (fresh / "models" / "churn" / "reports").exists()
    assert main(["site", "--data", str(data), "--output", str(fresh), "--now", "yesterday"]) == 5


def _versions(rows):
    return pd.DataFrame(rows, columns=list(site_data.VERSION_COLUMNS)).astype(object)


def test_champion_promotions_and_marker_positions_from_the_registry():
    t = [NOW - timedelta(hours=h) for h in (5, 4, 3, 2, 1)]
    versions = _versions(
        [
            ("m", "000001", "archived", t[0] - timedelta(days=1), t[0] - timedelta(days=1), t[2], None),
            ("m", "000002", "champion", t[1], t[2] - timedelta(minutes=5), None, "000001"),
            ("m", "000003", "rejected", t[3], None, None, "000002"),
        ]
    )
    assert site_data.champion(versions, "m") == ("000002", t[2] - timedelta(minutes=5))
    assert site_data.champion(versions, "other") == (None, None)
    promos = site_data.promotions(versions, "m")
    assert [v for _, v in promos] == ["000001", "000002"]
    # 000001 before the first batch -> 0; 000002 five minutes before batch 2 -> 2; after the end -> 5.
    events = [*[(at, v) for at, v in promos], (NOW, "late")]
    assert site_data.marker_positions(t, events) == [(0, "000001"), (2, "000002"), (5, "late")]


def test_pages_with_the_registry_show_the_champion_and_promotion_markers():
    h = _history(*[_rows("m", f"b{i}", NOW - timedelta(hours=5 - i)) for i in range(5)])
    versions = _versions(
        [
            ("m", "000001", "archived", NOW - timedelta(days=9), NOW - timedelta(days=9), NOW, None),
            (
                "m",
                "000002",
                "champion",
                NOW - timedelta(days=1),
                NOW - timedelta(hours=2, minutes=30),
                None,
                "000001",
            ),
            ("idle", "000001", "champion", NOW - timedelta(days=30), NOW - timedelta(days=30), None, None),
        ]
    )
    pages = {
        p.path: p.html for p in site.build_pages(h, site_data.empty_outputs(), now=NOW, versions=versions)
    }
    assert set(pages) == {"index.html", "models/m/index.html", "models/idle/index.html"}
    index = pages["index.html"]
    assert re.findall(r'data-status="(\w+)"', index) == ["stale", "ok"]  # the registered, never-used model
    assert '000002<br><span class="muted">promoted 2 h ago</span>' in index
    page = pages["models/m/index.html"]
    # Only the promotion inside the batch range is marked, at batch b3 (the first after it), on 3 axes.
    assert page.count("<title>v000002 promoted</title>") == 3 and "<title>v000001 promoted" not in page
    assert '<table id="versions">' in page and "dashed lines mark promotions, retraining" in page
    assert '<table id="events">' in page and "v000001 promoted" in page  # listed, not drawn


def test_site_command_refuses_half_a_registry(tmp_path, monkeypatch, capsys):
    from scorewatch.cli import main
    from scorewatch.core.contract import Env

    monkeypatch.delenv(Env.REGISTRY_TABLE, raising=False)
    monkeypatch.delenv(Env.MODELS_BUCKET, raising=False)
    argv = ["site", "--data", str(tmp_path), "--output", str(tmp_path / "out"), "--registry-table", "t"]
    assert main(argv) == 5 and "go together" in capsys.readouterr().err
    assert main(argv[:5]) == 0  # no registry configured: built without it


def test_the_model_page_names_the_config_version_each_batch_ran_under():
    older = _rows("m", "b1", NOW - timedelta(hours=2))  # history written before configs were stored
    newer = [{**r, "config_version": 7} for r in _rows("m", "b2", NOW - timedelta(hours=1))]
    h = _history(older, newer)
    table = site_data.batch_table(h)
    assert pd.isna(table.loc[0, "config_version"]) and table.loc[1, "config_version"] == 7
    page = {p.path: p.html for p in site.build_pages(h, site_data.empty_outputs(), now=NOW)}[
        "models/m/index.html"
    ]
    b1, b2 = (re.search(rf"<code>{b}</code>.*?</tr>", page, re.S).group(0) for b in ("b1", "b2"))
    # the cell after the model version
    assert re.search(r"000001</td>\s*<td>7</td>", b2) and re.search(r"000001</td>\s*<td>—</td>", b1)
    assert "<th>config</th>" in page


def test_each_model_is_judged_stale_against_its_own_schedule(fleet_history):
    h, out = fleet_history
    # alpha's last batch is 1 h old: stale for a model scored every 15 minutes, not for the default.
    rule = site_data.StaleRule(timedelta(hours=24), {"alpha": timedelta(minutes=22, seconds=30)})
    by = {s.model: s for s in site_data.fleet(h, out, now=NOW, stale_after=rule)}
    assert by["alpha"].status == "stale" and by["alpha"].stale_after_hours == 0.375
    assert by["delta"].status == "ok" and by["delta"].stale_after_hours == 24
    # charlie (3 days old) is fine for a weekly model.
    weekly = site_data.StaleRule(timedelta(hours=24), {"charlie": timedelta(days=10.5)})
    weekly_by = {s.model: s.status for s in site_data.fleet(h, out, now=NOW, stale_after=weekly)}
    assert weekly_by["charlie"] == "ok"
    # A kept summary re-aged for a later build keeps its model's own threshold.
    again = site_data.restale(by["delta"], now=NOW + timedelta(hours=4), stale_after=rule)
    assert again.status == "ok"
    assert site_data.restale(by["delta"], now=NOW + timedelta(hours=30), stale_after=rule).status == "stale"
    two_hours = site_data.StaleRule(timedelta(hours=24), {"alpha": timedelta(hours=2)})
    fresh = site_data.restale(by["alpha"], now=NOW, stale_after=two_hours)
    assert fresh.status == "ok" and fresh.stale_after_hours == 2

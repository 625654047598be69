"""``scorewatch site`` end to end on moto's server: history written by the real score and monitor
handlers, read back from the data bucket, rendered into a folder."""

from __future__ import annotations

import re

import pytest
from handler_kit import MODEL, Ctx, encode, frame, make_stack, register_champion

from scorewatch.cli import main
from scorewatch.handlers import monitor, score


@pytest.fixture
def monitored(resources, monkeypatch):
    cfg = {"models": [{"name": MODEL, "chunk_rows": 200, "max_reject_fraction": 0.5}]}
    stack = make_stack(resources, monkeypatch, config=cfg)
    register_champion(resources)
    bad = frame(300, seed=8, start_id=3000)
    bad["tenure"] = bad["tenure"].astype(object)
    bad.loc[:9, "tenure"] = "not a number"  # 10 rejected rows
    frames = [frame(300, seed=7), bad, frame(300, seed=9, shift=1.0, start_id=6000)]
    for i, df in enumerate(frames):
        key = f"incoming/{MODEL}/site/{i}.csv"
        out = score.handler(stack.s3_event(key, stack.put(key, encode(df, "csv"))), Ctx())
        assert out["status"] == "scored"
        (event,) = [e for e in stack.events(wait=0.2) if e["detail-type"] == "Batch Scored"]
        assert monitor.handler(event, Ctx(function_name="monitor"))["status"] == "evaluated"
        stack.events(wait=0.1)  # drain the Drift Detected event, if any
    assert monitor.handler({"model_name": MODEL}, Ctx(function_name="monitor"))["outcomes"][0]["status"] == (
        "evaluated"
    )
    return stack


def test_site_from_the_bucket_shows_the_model_its_heatmap_and_its_reports(monitored, tmp_path, capsys):
    out = tmp_path / "site"
    assert main(["site", "--data", f"s3://{monitored.res.data_bucket}", "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.strip().endswith(str(out / "index.html"))
    assert "4 drift reports copied" in printed  # 3 batches + 1 window

    index = (out / "index.html").read_text()
    rows = re.findall(r'<tr class="model-row" data-status="(\w+)">', index)
    assert rows == ["drift"]  # the latest evaluation (the window over the drifted batch) drifted
    assert f'href="models/{MODEL}/index.html"' in index
    # The registry named by the environment gives the champion and the versions table.
    assert '000001<br><span class="muted">promoted' in index
    assert ">890<" in index  # rows scored in 24 h: 300 + 290 + 300
    assert ">10 <" in index or ">10<" in index  # rejected rows in 24 h

    page = (out / "models" / MODEL / "index.html").read_text()
    assert page.count('class="cell"') == 3 * 3  # tenure, charges, plan x 3 batches
    assert page.count('class="n hm-cell"') == 3 * 3
    links = re.findall(r'href="(reports/[^"]+\.html)"', page)
    assert len(links) == 4 and all((out / "models" / MODEL / link).is_file() for link in links)
    assert '<table id="windows">' in page and '<table id="versions">' in page
    # The drifted batch's features are red in the heatmap and named in the batch table.
    assert re.search(r"<title>tenure · [0-9a-f]+ · [^<]*severity [\d.]+, drifted</title>", page)
    assert "<script" not in index + page and not re.search(r"https?://|src\s*=", index + page)
    index_size, page_size = len(index.encode()), len(page.encode())
    print(f"site sizes: index {index_size:,} B, model page {page_size:,} B")
    assert index_size < 20_000 and page_size < 80_000


def test_site_without_the_registry_has_no_champion(monitored, tmp_path):
    out = tmp_path / "site"
    argv = ["site", "--data", f"s3://{monitored.res.data_bucket}", "--output", str(out), "--no-registry"]
    assert main(argv) == 0
    assert '<table id="versions">' not in (out / "models" / MODEL / "index.html").read_text()


def _history_key(stack, model=MODEL):
    (key, *_) = sorted(k for k in stack.keys(f"monitoring/model={model}/history/") if k.endswith(".parquet"))
    return key


def test_the_site_handler_reads_only_what_changed_and_site_open_presigns_its_pages(
    monitored, capsys, monkeypatch
):
    import urllib.request

    from scorewatch.handlers import site as site_handler

    event = monitored.s3_event(_history_key(monitored), {"ETag": '"x"', "VersionId": "v"})
    first = site_handler.handler(event, Ctx(function_name="site"))
    # 4 history objects (3 batches + 1 window) and 3 scored + 1 rejected footers, 4 reports copied
    assert first["objects_read"] == 8 and first["reports_copied"] == 4 and first["models_in_index"] == 1
    again = site_handler.handler({"model_name": MODEL}, Ctx(function_name="site"))
    assert again["objects_read"] == 0 and again["reports_copied"] == 0  # everything came from the kept state
    page_key = f"site/models/{MODEL}/index.html"
    page = monitored.body(page_key).decode()
    assert page.count('class="cell"') == 3 * 3 and '<table id="versions">' in page
    assert 'id="performance-none"' in page  # no labels run yet

    assert main(["site", "open"]) == 0
    url = capsys.readouterr().out.strip()
    assert "X-Amz-Signature=" in url and "site/index.html" in url
    with urllib.request.urlopen(url) as resp:  # the moto server serves the presigned GET
        body = resp.read().decode()
    assert f'href="models/{MODEL}/index.html"' in body
    assert main(["site", "open", MODEL, "--expires", "60"]) == 0
    with urllib.request.urlopen(capsys.readouterr().out.strip()) as resp:
        assert resp.read().decode() == page
    assert main(["site", "open", "nosuchmodel"]) != 0
    assert "has no page" in capsys.readouterr().err
    assert main(["site", "open", "--expires", "0"]) != 0


def test_stale_follows_each_models_stored_schedule(monitored, tmp_path):
    """A model scored every 15 minutes is stale an hour after its last batch; on the default
    (a daily monitoring run) it is not. Both read from the configuration stored in the registry."""
    from datetime import UTC, datetime, timedelta

    from scorewatch.core.config import ModelConfig
    from scorewatch.io.registry.configs import ConfigStore

    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    data = f"s3://{monitored.res.data_bucket}"

    def badges(name):
        out = tmp_path / name
        assert main(["site", "--data", data, "--output", str(out), "--now", later]) == 0
        return re.findall(r'<span class="badge b-(\w+)"( title="[^"]*")?>', (out / "index.html").read_text())

    assert badges("default") == [("drift", ""), ("quality", "")]
    store = ConfigStore(monitored.res.registry_table)
    cfg = store.current(MODEL).config.model_dump()
    cfg["schedules"]["scoring"] = "rate(15 minutes)"
    store.put(ModelConfig.model_validate(cfg), actor="test")
    stale = ("stale", ' title="no batch within 0.375 h"')
    assert badges("quarter-hourly") == [("drift", ""), ("quality", ""), stale]

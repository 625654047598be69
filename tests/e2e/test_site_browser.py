"""The monitoring site rendered by a real browser (headless Chromium), screenshots kept.

Skips with the reason when no Chromium is installed (see test_report_browser.py). Screenshots go
to test-artifacts/site-index.png and test-artifacts/site-model.png.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scorewatch.core.cards import StatusChange
from scorewatch.io.site_history import versions_frame
from scorewatch.reports.site import build_pages
from tests.e2e.test_report_browser import ARTIFACTS, _browser, _run
from tests.unit.test_site_events import _card, _cmp

pytestmark = pytest.mark.slow

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
EVIL = "<script>document.title='pwned'</script>"
FEATURES = ("monthly_charges", "contract", EVIL)
BATCHES = 16


def _history() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    rows, outputs = [], []
    for m, model in enumerate(("churn", "fraud", "upsell")):
        for b in range(BATCHES):
            at = NOW - timedelta(hours=6 * (BATCHES - b)) - timedelta(days=3 if model == "upsell" else 0)
            bid = f"{model}-{b:03d}"
            drifting = model == "churn" and b >= BATCHES - 4
            sev = {f: float(rng.gamma(2, 0.15)) + (1.5 if drifting and f != EVIL else 0.0) for f in FEATURES}
            share = sum(v >= 1 for v in sev.values()) / len(FEATURES)
            version = "000002" if b >= BATCHES // 2 else "000001"
            for f, v in sev.items():
                rows.append(
                    {
                        "model_name": model,
                        "batch_id": bid,
                        "model_version": version,
                        "evaluated_at": pd.Timestamp(at),
                        "column": f,
                        "role": "feature",
                        "test": "wasserstein",
                        "pvalue": None,
                        "distance": v / 10,
                        "threshold": 0.1,
                        "drifted": v >= 1,
                        "severity": v,
                        "quality_violations": 0,
                        "dataset_drift": share >= 0.5,
                        "drift_share": share,
                    }
                )
            outputs.append((model, bid, "scored", 1000 + 10 * m, at))
            outputs.append((model, bid, "rejected_rows", b % 3, at))
    out = pd.DataFrame(outputs, columns=["model", "batch_id", "kind", "rows", "at"])
    out["at"] = pd.to_datetime(out["at"], utc=True)
    return pd.DataFrame(rows), out


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory) -> Path:
    history, outputs = _history()
    root = tmp_path_factory.mktemp("site")
    for page in build_pages(history, outputs, now=NOW):
        (root / page.path).parent.mkdir(parents=True, exist_ok=True)
        (root / page.path).write_text(page.html, encoding="utf-8")
    return root


def _batch_time(b: int) -> datetime:
    return NOW - timedelta(hours=6 * (BATCHES - b))


def _registry():
    """churn's registry: v2 approved by a reviewer and promoted just before batch 8; a retrained v3
    rejected by the gate (its reason names the injected feature) just before batch 12."""
    cards = [
        _card("000001", "archived", NOW - timedelta(days=30), promoted_at=NOW - timedelta(days=30)),
        _card(
            "000002",
            "champion",
            _batch_time(7),
            parent_version="000001",
            promoted_at=_batch_time(8) - timedelta(hours=1),
            approvals=("alice",),
            comparison=_cmp(True, 0.86, 0.84),
            status_history=(
                StatusChange(
                    from_status="candidate", to_status="champion", at=_batch_time(8) - timedelta(hours=1)
                ),
            ),
        ),
        _card(
            "000003",
            "rejected",
            _batch_time(11),
            parent_version="000002",
            archived_at=_batch_time(12) - timedelta(hours=1),
            comparison=_cmp(False, 0.80, 0.86, f"guard failed on {EVIL}"),
        ),
    ]
    return versions_frame([("churn", c) for c in cards])


@pytest.fixture(scope="module")
def registry_site_dir(tmp_path_factory) -> Path:
    history, outputs = _history()
    root = tmp_path_factory.mktemp("site-registry")
    for page in build_pages(history, outputs, now=NOW, versions=_registry()):
        (root / page.path).parent.mkdir(parents=True, exist_ok=True)
        (root / page.path).write_text(page.html, encoding="utf-8")
    return root


def _dom(browser: str, tmp_path: Path, page: Path) -> str:
    proc = _run(browser, tmp_path / "profile", "--dump-dom", page.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_overview_lists_models_by_attention_in_the_browser(site_dir, tmp_path):
    dom = _dom(_browser(), tmp_path, site_dir / "index.html")
    assert re.findall(r'<tr class="model-row" data-status="(\w+)">', dom) == ["drift", "stale", "ok"]
    assert dom.count('class="spark"') == 3
    assert "<script>" not in dom.lower() and "<title>pwned</title>" not in dom


def test_model_page_has_heatmap_cells_markers_and_injected_names_as_text(site_dir, tmp_path):
    dom = _dom(_browser(), tmp_path, site_dir / "models" / "churn" / "index.html")
    assert dom.count('class="cell"') == len(FEATURES) * BATCHES
    assert dom.count('class="marker"') == 3  # the version change, on each time axis
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom
    assert "<script>" not in dom.lower() and "<title>pwned</title>" not in dom


def test_model_page_marks_the_rejected_challenger_and_the_approval_in_the_browser(
    registry_site_dir, tmp_path
):
    dom = _dom(_browser(), tmp_path, registry_site_dir / "models" / "churn" / "index.html")
    # One of each on the drift, rows and rejected-rate axes (v1's promotion precedes the batches).
    assert len(re.findall(r'<line class="marker" data-kind="rejected"', dom)) == 3
    assert len(re.findall(r'<line class="marker" data-kind="approved"', dom)) == 3
    assert dom.count('class="marker"') == 6
    assert "v000002 approved by alice and promoted (gate passed: roc_auc 0.860 vs 0.840)" in dom
    events = dom[dom.index('<table id="events">') :].split("</table>")[0]
    assert re.findall(r'<tr data-kind="(\w+)">', events) == ["promoted", "approved", "rejected"]
    assert "guard failed on &lt;script&gt;document.title='pwned'&lt;/script&gt;" in events
    assert "<script>" not in dom.lower() and "<title>pwned</title>" not in dom


@pytest.mark.parametrize(
    ("page", "name"),
    [
        ("index.html", "site-index"),
        ("models/churn/index.html", "site-model"),
        ("registry:models/churn/index.html", "site-model-registry"),
    ],
)
def test_site_screenshots_are_saved_as_test_artifacts(site_dir, registry_site_dir, tmp_path, page, name):
    if page.startswith("registry:"):
        site_dir, page = registry_site_dir, page.removeprefix("registry:")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"{name}.png"
    shot.unlink(missing_ok=True)
    proc = _run(
        _browser(),
        tmp_path / "profile",
        f"--screenshot={shot}",
        "--window-size=1300,1500",
        (site_dir / page).as_uri(),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000

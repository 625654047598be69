"""The HTML drift report rendered by a real browser (headless Chromium).

Skips with the reason when no Chromium is installed (`apt-get install -y chromium`; `.ci/run`
installs it). The screenshot is saved to test-artifacts/drift-report.png.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scorewatch.core.config import DriftSettings
from scorewatch.core.schema import FeatureSchema, FeatureSpec
from scorewatch.monitoring.evaluation import evaluate
from scorewatch.monitoring.profiles import build_profile
from scorewatch.reports.html import render_html

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
EVIL = "<script>document.title='pwned'</script>"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip(f"no headless browser found (looked for {', '.join(BROWSERS)}); apt-get install -y chromium")


def _run(browser: str, profile_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile_dir}",
        *args,
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def report_file(tmp_path_factory) -> Path:
    rng = np.random.default_rng(0)
    n = 2000
    reference = pd.DataFrame(
        {
            "monthly_charges": rng.normal(60, 15, n),
            "contract": rng.choice(["Month-to-month", "One year", "Two year"], n, p=[0.55, 0.2, 0.25]),
            EVIL: rng.normal(0, 1, n),
        }
    )
    current = pd.DataFrame(
        {
            "monthly_charges": rng.normal(72, 15, n),  # price increase: drifts
            "contract": rng.choice(["Month-to-month", "Flex monthly", "Two year"], n, p=[0.4, 0.35, 0.25]),
            EVIL: rng.normal(0, 1, n),
        }
    )
    schema = FeatureSchema(
        features=(
            FeatureSpec(name="monthly_charges", type="numeric"),
            FeatureSpec(name="contract", type="categorical"),
            FeatureSpec(name=EVIL, type="numeric"),
        )
    )
    ref = build_profile(reference, schema)
    cur = build_profile(current, schema, edges_from=ref)
    report = evaluate(
        ref,
        cur,
        settings=DriftSettings(multivariate=False),
        reference_sample=reference,
        current_sample=current,
    )
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_html(report.to_view(), title="churn drift " + EVIL), encoding="utf-8")
    return path


def test_report_renders_summary_and_charts_and_shows_injected_names_as_text(report_file, tmp_path):
    browser = _browser()
    proc = _run(browser, tmp_path / "profile-dom", "--dump-dom", report_file.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert "scorewatch monitoring report" in dom
    assert "dataset drift" in dom and "Drifted features by severity" in dom
    assert dom.count("<svg") >= 3  # one distribution chart per column
    assert "monthly_charges" in dom and "Flex monthly" in dom
    # The injected name is text: escaped in the DOM, never an element, never executed.
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom
    assert "<script>" not in dom.lower()
    assert "<title>pwned</title>" not in dom


def test_report_screenshot_is_saved_as_a_test_artifact(report_file, tmp_path):
    browser = _browser()
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "drift-report.png"
    shot.unlink(missing_ok=True)
    proc = _run(
        browser,
        tmp_path / "profile-shot",
        f"--screenshot={shot}",
        "--window-size=1200,1600",
        report_file.as_uri(),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000  # a rendered page, not a blank one

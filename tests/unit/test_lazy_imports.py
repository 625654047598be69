"""Cold-start import rules, checked in fresh interpreters (module sets, not timings).

Every Lambda handler module imports neither a scikit-learn estimator module nor scipy.stats
(the bulk of an eager import, see benchmarks/bench_coldstart.py); the monitor path loads an
estimator only when its domain classifier runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from scorewatch.core.contract import HANDLERS

ESTIMATORS = (
    "sklearn.ensemble",
    "sklearn.linear_model",
    "sklearn.tree",
    "sklearn.svm",
    "sklearn.neighbors",
    "sklearn.neural_network",
)
HEAVY = (*ESTIMATORS, "scipy.stats")
MODULES = sorted({entry.rsplit(".", 1)[0] for entry in HANDLERS.values()})


def loaded_after(code: str) -> list[str]:
    """Which of HEAVY are in sys.modules after running ``code`` in a fresh interpreter."""
    script = (
        textwrap.dedent(code)
        + f"\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", MODULES)
def test_handler_module_imports_no_estimator_and_no_scipy_stats(module):
    assert loaded_after(f"import {module}") == []


MONITOR_RUN = """
import numpy as np, pandas as pd
import scorewatch.handlers.monitor
from scorewatch.core.config import DriftSettings
from scorewatch.monitoring.evaluation import evaluate
from scorewatch.monitoring.profiles import build_profile
from scorewatch.core.schema import FeatureSchema, FeatureSpec

x, c = FeatureSpec(name="x", type="numeric"), FeatureSpec(name="c", type="categorical")
schema = FeatureSchema(features=(x, c))
rng = np.random.default_rng(0)
ref = pd.DataFrame({"x": rng.normal(0, 1, 400), "c": rng.choice(list("abc"), 400)})
cur = pd.DataFrame({"x": rng.normal(1, 1, 400), "c": rng.choice(list("abc"), 400)})
rp = build_profile(ref, schema)
report = evaluate(
    rp, build_profile(cur, schema, edges_from=rp), settings=DriftSettings(multivariate=MULTIVARIATE),
    reference_sample=ref, current_sample=cur, input_columns=["x", "c"],
)
assert report.dataset_drift
"""


def test_score_handler_import_leaves_scipy_stats_unloaded():
    # the score function's cold start: scipy.stats alone is ~1 s of import
    assert "scipy.stats" not in loaded_after("import scorewatch.handlers.score")


@pytest.mark.parametrize(
    "module",
    ["scorewatch.monitoring.stattests", "scorewatch.monitoring.drift", "scorewatch.monitoring.evaluation"],
)
def test_statistics_modules_import_no_scipy_stats(module):
    assert "scipy.stats" not in loaded_after(f"import {module}")


def test_large_batch_drift_runs_without_scipy_stats():
    # above 1,000 rows the default tests are Wasserstein and Jensen-Shannon: no scipy.stats needed
    loaded = loaded_after(
        MONITOR_RUN.replace("MULTIVARIATE", "False")
        .replace("400)", "3000)")
        .replace(
            "assert report.dataset_drift",
            "assert report.dataset_drift\n"
            "assert {f.result.test for f in report.features} == {'wasserstein', 'jensenshannon'}",
        )
    )
    assert "scipy.stats" not in loaded, loaded


def test_small_batch_drift_loads_scipy_stats_for_ks():
    # the rule above can fail: KS and chi-square (<= 1,000 rows) do import scipy.stats
    assert "scipy.stats" in loaded_after(MONITOR_RUN.replace("MULTIVARIATE", "False"))


def test_monitor_evaluation_without_the_domain_classifier_loads_no_estimator():
    loaded = loaded_after(MONITOR_RUN.replace("MULTIVARIATE", "False"))
    assert not set(loaded) & set(ESTIMATORS), loaded


def test_monitor_evaluation_with_the_domain_classifier_loads_its_estimator():
    # the rule above can fail: the domain classifier does need an estimator module
    loaded = loaded_after(MONITOR_RUN.replace("MULTIVARIATE", "True"))
    assert set(loaded) & set(ESTIMATORS), loaded


TRACED_IMPORT = """
import json, sys
import {module}
from scorewatch.handlers import tracer
print(json.dumps({{"disabled": bool(tracer.disabled),
                  "loaded": [m for m in ("requests", "sqlite3", "httpx", "pandas") if m in sys.modules]}}))
"""


@pytest.mark.parametrize("module", MODULES)
def test_with_tracing_on_only_botocore_is_instrumented(module, tmp_path):
    """As deployed (inside Lambda, tracing active) the X-Ray SDK patches botocore only: Powertools'
    default patch_all would import every library it can trace (requests, sqlite3...) at cold start.
    split and finalize never need pandas."""
    env = {
        **{k: v for k, v in os.environ.items() if k != "POWERTOOLS_TRACE_DISABLED"},
        "LAMBDA_TASK_ROOT": str(tmp_path),
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
    }
    proc = subprocess.run(
        [sys.executable, "-c", TRACED_IMPORT.format(module=module)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["disabled"] is False
    loaded = set(out["loaded"])
    assert not loaded & {"requests", "sqlite3", "httpx"}
    if module.endswith((".split", ".finalize")):
        assert "pandas" not in loaded

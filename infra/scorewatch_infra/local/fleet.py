"""``scorewatch demo --fleet N``: N models at once on one synthesized stack (issue 16).

1. synthesize the CDK app once and deploy it on the embedded emulator;
2. onboard N models with ``configure`` only (no synthesis per model): binary, multiclass and
   regression models in turn, on scikit-learn's bundled data sets (breast cancer, wine,
   diabetes) resampled with a little noise to the requested row count;
3. train, register and promote each model's first champion on its reference data;
4. drop a stable batch for every model -> all scored, no drift;
5. drop the second batch of every model at once: shifted for the drifting models (half of the
   features mirrored around their mean and moved by 1.5 standard deviations, labels kept from the
   unshifted rows: the old model is wrong now), stable for the others -> ``Drift Detected`` for
   the drifting models, and their retraining executions run concurrently on the one state machine;
6. drop a third batch -> scored by the new champions where one was promoted.

The fleet table and ``summary.json`` account for every batch dropped (scored or rejected) and for
every retraining execution (one per Drift Detected event, each finished). ``benchmarks/bench_fleet.py``
runs the same scenario at benchmark sizes.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scorewatch_infra.local.cloud import ExecutionRecord, LocalCloud
from scorewatch_infra.local.demo import CONFIG_CONTEXT_KEY, DEFAULT_CONFIG, DemoError, Printer
from scorewatch_infra.local.synth import synth

TASKS = ("binary", "multiclass", "regression")
#: scikit-learn bundled data set per task (no download) and the model-name stem it gives.
DATASETS = {"binary": "cancer", "multiclass": "wine", "regression": "diabetes"}
TARGET = "target"
ID_COLUMN = "row_id"
SHIFT_STD = 1.5  # how far a drifting model's shifted features move, in standard deviations
JITTER_STD = 0.1  # noise added to every resampled value, in standard deviations
SUMMARY_KEYS = (
    "model",
    "batches_scored",
    "drift_detected",
    "retraining_status",
    "champion_before",
    "champion_after",
)


def load_base(task: str) -> Any:
    """The bundled data set of ``task`` as one frame: features (snake_case names) and ``target``."""
    from sklearn import datasets

    loader = {
        "binary": datasets.load_breast_cancer,
        "multiclass": datasets.load_wine,
        "regression": datasets.load_diabetes,
    }[task]
    frame = loader(as_frame=True).frame
    frame.columns = [re.sub(r"[^a-z0-9]+", "_", str(c).lower()).strip("_") for c in frame.columns]
    features = [c for c in frame.columns if c != TARGET][:10]
    return frame[[*features, TARGET]]


@dataclass(frozen=True)
class FleetModel:
    """One model of the fleet: its name, task, whether it drifts, and its data set."""

    name: str
    task: str
    drifting: bool
    base: Any = field(repr=False)
    seed: int = 0

    @property
    def features(self) -> list[str]:
        return [c for c in self.base.columns if c != TARGET]

    def sample(self, rows: int, *, seed: int, shifted: bool = False, start_id: int = 0) -> Any:
        """``rows`` rows resampled from the data set with noise; ``shifted`` mirrors half the features
        around their mean and moves them by SHIFT_STD standard deviations, keeping the labels of the
        unshifted rows (what meant high now reads low: the old champion is wrong)."""
        import numpy as np

        rng = np.random.default_rng([self.seed, seed])
        frame = self.base.sample(n=rows, replace=True, random_state=rng).reset_index(drop=True)
        std = self.base[self.features].std()
        for c in self.features:
            frame[c] = frame[c] + rng.normal(0, JITTER_STD * std[c], rows)
        if shifted:
            mean = self.base[self.features].mean()
            for c in self.features[: len(self.features) // 2]:
                frame[c] = 2 * mean[c] - frame[c] + SHIFT_STD * std[c]
        if self.task != "regression":
            frame[TARGET] = frame[TARGET].astype(int)
        frame.insert(0, ID_COLUMN, [f"{self.name}-{start_id + i}" for i in range(rows)])
        return frame

    def config(self) -> Any:
        from scorewatch.core.config import (
            DriftSettings,
            EstimatorSpec,
            ModelConfig,
            RetrainingSettings,
        )

        estimator = (
            "HistGradientBoostingRegressor" if self.task == "regression" else "HistGradientBoostingClassifier"
        )
        return ModelConfig(
            name=self.name,
            task=self.task,  # type: ignore[arg-type]
            target=TARGET,
            id_columns=(ID_COLUMN,),
            positive_class=1 if self.task == "binary" else None,
            # Features: the default tests, Holm-corrected (stable resamples of 300-600 rows flag a
            # column in 1-5% of batches, 40% of the columns in none; a drifting model's shift is
            # far beyond).
            # Predictions: PSI, since prediction drift alone announces drift and one score
            # column's p-value test would do so on 5% of stable batches.
            drift=DriftSettings(
                dataset_drift_share=0.4,
                prediction_test="psi",
                prediction_threshold=0.3,
            ),
            retraining=RetrainingSettings(
                spec=EstimatorSpec(
                    estimator=estimator,
                    params={"max_iter": 60, "min_samples_leaf": 30, "l2_regularization": 1.0},
                ),
                labeled_prefix=f"labeled/{self.name}/",
                use_scored_with_labels=False,
                holdout_fraction=0.25,
                random_state=0,
            ),
        )


def fleet_models(n: int, *, drift_fraction: float = 0.5) -> list[FleetModel]:
    """``n`` models cycling through the tasks; ``round(n * drift_fraction)`` of them (at least one,
    spread evenly) drift."""
    if n < 1:
        raise DemoError("a fleet needs at least one model")
    n_drift = min(n, max(1, round(n * drift_fraction))) if drift_fraction > 0 else 0
    drifting = {int(k * n / n_drift) for k in range(n_drift)} if n_drift else set()
    bases = {task: load_base(task) for task in TASKS}
    out = []
    for i in range(n):
        task = TASKS[i % len(TASKS)]
        out.append(FleetModel(f"{DATASETS[task]}-{i:03d}", task, i in drifting, bases[task], seed=i))
    return out


@dataclass
class FleetResult:
    output: Path
    rows: list[dict[str, Any]] = field(default_factory=list)  # one per model (SUMMARY_KEYS first)
    accounting: dict[str, Any] = field(default_factory=dict)
    executions: list[ExecutionRecord] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # drop -> Parquet, seconds, per scored batch
    phases: dict[str, float] = field(default_factory=dict)  # phase -> seconds
    seconds: float = 0.0
    site: Path | None = None  # index.html of the monitoring site built from the data bucket

    def summary(self) -> dict[str, Any]:
        return {
            "models": self.rows,
            "accounting": self.accounting,
            "phases_seconds": {k: round(v, 2) for k, v in self.phases.items()},
            "seconds": round(self.seconds, 2),
        }


class FleetScenario:
    """Onboards, bootstraps and feeds a fleet on a started ``LocalCloud``."""

    def __init__(self, cloud: LocalCloud, models: list[FleetModel], *, output: Path, rows: int, seed: int):
        from scorewatch.core.contract import Env

        self.cloud = cloud
        self.models = models
        self.output = output
        self.rows = rows
        self.seed = seed
        self.data_bucket = cloud.environment_value(Env.DATA_BUCKET)
        self.models_bucket = cloud.environment_value(Env.MODELS_BUCKET)
        self.registry_table = cloud.environment_value(Env.REGISTRY_TABLE)
        self.dropped: dict[str, float] = {}  # data-bucket key -> wall time of the upload
        self.champion_before: dict[str, str] = {}

    def registry(self) -> Any:
        from scorewatch.io.registry import Registry

        return Registry(table_name=self.registry_table, models_bucket=self.models_bucket)

    def put(self, key: str, frame: Any, *, batch: bool = False) -> None:
        body = frame.to_csv(index=False).encode()
        if batch:
            self.dropped[key] = time.time()
        self.cloud.client("s3").put_object(Bucket=self.data_bucket, Key=key, Body=body)

    def settle(self) -> None:
        self.cloud.drain(timeout=1800)
        if self.cloud.router.errors:
            errors = "\n  ".join(self.cloud.router.errors)
            raise DemoError(f"event delivery failed:\n  {errors}")

    # -- onboarding ----------------------------------------------------------------------------

    def onboard(self) -> str:
        """``configure`` every model (the store and its schedules; no synthesis)."""
        from scorewatch.core.contract import Env
        from scorewatch.io.registry.configs import ConfigStore
        from scorewatch.lifecycle.configure import configure
        from scorewatch_infra.local.seeding import scheduler_of

        store = ConfigStore(
            self.cloud.environment_value(Env.REGISTRY_TABLE), client=self.cloud.client("dynamodb")
        )
        scheduler = scheduler_of(self.cloud)
        applied = [
            configure(store, m.config(), actor="scorewatch demo --fleet", scheduler=scheduler)
            for m in self.models
        ]
        created = sum(a.outcome == "created" for a in applied)
        schedules = sum(len(a.schedules) for a in applied)
        return f"{created} models configured (config version 1), {schedules} schedules applied"

    def bootstrap(self) -> str:
        """Train, register and promote every model's first champion on its reference data."""
        for m in self.models:
            self.champion_before[m.name] = self._champion(m)
        return f"{len(self.models)} champions registered and promoted"

    def _champion(self, m: FleetModel) -> str:
        import pyarrow as pa

        from scorewatch.core.schema import FeatureSchema, FeatureSpec
        from scorewatch.lifecycle.training import train_model
        from scorewatch.monitoring import performance
        from scorewatch.monitoring.profiles import ProfileBuilder
        from scorewatch.scoring.scorer import predict_frame
        from scorewatch.scoring.validation import validate_batch

        mc = m.config()
        reference = m.sample(self.rows, seed=self.seed, start_id=0)
        # The reference set is also the first labeled training data retraining will use.
        self.put(f"labeled/{m.name}/0-reference.csv", reference)
        specs = [
            FeatureSpec(name=c, type="numeric", min=float(reference[c].min()), max=float(reference[c].max()))
            for c in m.features
        ]
        schema = FeatureSchema(features=tuple(specs), id_columns=(ID_COLUMN,))
        batch = pa.RecordBatch.from_pandas(reference.drop(columns=[TARGET]), preserve_index=False)
        chunk = validate_batch(batch, schema, row_offset=0, source_uri="reference.csv")
        y = reference[TARGET].reset_index(drop=True)
        trained = train_model(
            mc.retraining.spec, chunk.features, y, task=m.task, schema=schema, random_state=0
        )
        classes = tuple(trained.estimator.classes_.tolist()) if m.task != "regression" else None
        # The baseline is what the champion sees on rows it was not fitted on (a fresh resample):
        # in-sample scores of a few hundred resampled rows are more confident than any later batch's.
        fresh = m.sample(self.rows, seed=self.seed + 500, start_id=5 * 10**6)
        fresh_batch = pa.RecordBatch.from_pandas(fresh.drop(columns=[TARGET]), preserve_index=False)
        fresh_chunk = validate_batch(fresh_batch, schema, row_offset=0, source_uri="baseline.csv")
        outputs = predict_frame(trained.estimator, fresh_chunk.features, task=m.task, classes=classes)
        builder = ProfileBuilder(schema, score_columns=tuple(outputs.columns), random_state=self.seed)
        builder.update(fresh_chunk.features, outputs)
        y = fresh[TARGET].reset_index(drop=True)
        profile, sample = builder.finish()
        perf = performance.realized_performance(
            m.task, y, outputs, classes=classes, positive_class=mc.positive_class
        )
        registry = self.registry()
        now = datetime.now(UTC)
        card = registry.register(
            m.name,
            trained.estimator,
            task=m.task,
            feature_schema=schema,
            now=now,
            target=TARGET,
            classes=classes,
            metrics={k: v for k, v in perf.metrics.items() if v is not None},
            params=trained.params,
            baseline_profile=profile.to_dict(),
            baseline_sample=pa.Table.from_pandas(sample, preserve_index=False),
            description=f"initial {m.task} champion trained by scorewatch demo --fleet",
        )
        registry.promote(
            m.name, card.version, now=now, promoted_by="scorewatch demo --fleet", expected_champion=None
        )
        return card.version

    # -- batches -------------------------------------------------------------------------------

    def drop_round(self, index: int, *, shifted: bool, recent_labels: bool = False) -> str:
        """Drop batch ``index`` of every model at once (shifted for drifting models when asked)."""
        if recent_labels:
            # The outcomes of recent rows arrive in the labeled feed before the drifted batch.
            for m in self.models:
                if m.drifting:
                    recent = m.sample(self.rows, seed=self.seed + 1000, shifted=True, start_id=10**6)
                    self.put(f"labeled/{m.name}/1-recent.csv", recent)
        for m in self.models:
            frame = m.sample(
                self.rows, seed=self.seed + index, shifted=shifted and m.drifting, start_id=index * 10**7
            )
            self.put(f"incoming/{m.name}/batch-{index:02d}.csv", frame.drop(columns=[TARGET]), batch=True)
        self.settle()
        drifting = sum(m.drifting for m in self.models) if shifted else 0
        return f"{len(self.models)} batches dropped ({drifting} shifted)"


def _execution_model(e: ExecutionRecord) -> str | None:
    doc = e.input if isinstance(e.input, dict) else {}
    detail = doc.get("detail") if isinstance(doc.get("detail"), dict) else {}
    value = detail.get("model") or doc.get("model_name") or doc.get("model")
    return str(value) if value else None


def max_concurrent(executions: list[ExecutionRecord]) -> int:
    """The most executions running at one instant (from their start and stop times)."""
    edges = []
    for e in executions:
        edges.append((e.started.timestamp(), 1))
        edges.append(((e.stopped or datetime.now(UTC)).timestamp(), -1))
    running = best = 0
    for _, step in sorted(edges, key=lambda x: (x[0], x[1])):
        running += step
        best = max(best, running)
    return best


def account(scenario: FleetScenario, result: FleetResult) -> None:
    """Rows per model and the accounting of every batch and execution."""
    cloud = scenario.cloud
    scored = [e["detail"] for e in cloud.events_of("Batch Scored")]
    rejected = [e["detail"] for e in cloud.events_of("Batch Rejected")]
    drift = [e["detail"] for e in cloud.events_of("Drift Detected")]
    executions = [e for e in cloud.executions() if "retrain" in e.state_machine.lower()]
    result.executions = executions
    outcome: dict[str, list[str]] = {}
    for d in scored:
        key = str(d["source_uri"]).split(f"s3://{scenario.data_bucket}/", 1)[-1]
        outcome.setdefault(key, []).append("scored")
        if key in scenario.dropped:
            at = datetime.fromisoformat(str(d["scored_at"]).replace("Z", "+00:00")).timestamp()
            result.latencies.append(at - scenario.dropped[key])
    for d in rejected:
        key = str(d["source_uri"]).split(f"s3://{scenario.data_bucket}/", 1)[-1]
        outcome.setdefault(key, []).append("rejected")
    unaccounted = [k for k in scenario.dropped if len(outcome.get(k, [])) != 1]
    by_model: dict[str, list[ExecutionRecord]] = {}
    for e in executions:
        by_model.setdefault(_execution_model(e) or "?", []).append(e)
    drift_models = [str(d["model"]) for d in drift]
    unmatched = [m for m in set(drift_models) if len(by_model.get(m, [])) != drift_models.count(m)]
    unmatched += [m for m in by_model if m not in drift_models]
    running = [e.name for e in executions if e.status == "RUNNING"]
    registry = scenario.registry()
    for m in scenario.models:
        runs = by_model.get(m.name, [])
        result.rows.append(
            {
                "model": m.name,
                "batches_scored": sum(1 for d in scored if d["model"] == m.name),
                "drift_detected": m.name in drift_models,
                "retraining_status": runs[-1].status if runs else None,
                "champion_before": scenario.champion_before.get(m.name),
                "champion_after": registry.champion_version(m.name),
                "task": m.task,
                "drifting": m.drifting,
                "batches_rejected": sum(1 for d in rejected if d["model"] == m.name),
                "retraining_states": list(runs[-1].states) if runs else [],
            }
        )
    statuses: dict[str, int] = {}
    for e in executions:
        statuses[e.status] = statuses.get(e.status, 0) + 1
    result.accounting = {
        "batches_dropped": len(scenario.dropped),
        "batches_scored": len(scored),
        "batches_rejected": len(rejected),
        "batches_unaccounted": sorted(unaccounted),
        "drift_detected_events": len(drift),
        "retraining_executions": len(executions),
        "executions_by_status": statuses,
        "executions_unaccounted": sorted(set(unmatched) | set(running)),
        "max_concurrent_executions": max_concurrent(executions),
        "delivery_errors": list(cloud.router.errors),
        # Calls the functions made that their roles would not allow on AWS (local/iam.py).
        "iam_findings": [str(f) for f in cloud.iam_findings()],
        "all_accounted_for": not unaccounted and not unmatched and not running and not cloud.router.errors,
    }


def fleet_table(result: FleetResult) -> str:
    """The fleet table: one row per model, then the accounting line."""
    head = (
        f"{'model':<14} {'task':<10} {'drifting':<8} {'scored':>6} {'drift':<5} {'retraining':<10} champion"
    )
    lines = [head, "-" * len(head)]
    for r in result.rows:
        moved = f"v{r['champion_before']} -> v{r['champion_after']}"
        if r["champion_before"] == r["champion_after"]:
            moved = f"v{r['champion_after']} (kept)"
        lines.append(
            f"{r['model']:<14} {r['task']:<10} {'yes' if r['drifting'] else 'no':<8} "
            f"{r['batches_scored']:>6} {'yes' if r['drift_detected'] else 'no':<5} "
            f"{r['retraining_status'] or '-':<10} {moved}"
        )
    a = result.accounting
    lines.append(
        f"{a['batches_scored']}/{a['batches_dropped']} batches scored ({a['batches_rejected']} rejected); "
        f"{a['retraining_executions']} retraining executions {a['executions_by_status']} for "
        f"{a['drift_detected_events']} Drift Detected, at most {a['max_concurrent_executions']} at once; "
        + ("every batch and execution accounted for" if a["all_accounted_for"] else "NOT all accounted for")
    )
    return "\n".join(lines)


def _site(scenario: FleetScenario, result: FleetResult) -> str:
    """The fleet's static site (``scorewatch site``), read from the emulator's data bucket."""
    from datetime import UTC, datetime

    from scorewatch.monitoring.site_build import build_site

    out = scenario.output / "site"
    build_site(f"s3://{scenario.data_bucket}", str(out), now=datetime.now(UTC), registry=scenario.registry())
    result.site = out / "index.html"
    return f"monitoring site: {result.site}"


def run_fleet(
    output: Path,
    *,
    models: int,
    batches: int = 3,
    rows: int = 600,
    drift_fraction: float = 0.5,
    seed: int = 7,
    printer: Printer = print,
    synth_cache: Path | None = None,
    on_cloud: Callable[[LocalCloud], None] | None = None,
) -> FleetResult:
    """Run the fleet scenario; write ``output/summary.json``; raise ``DemoError`` on a failed step.

    ``batches`` >= 2: batch 1 is stable for everyone, batch 2 is shifted for the drifting models,
    later batches are drawn like batch 2 (so the new champions score them).
    """
    if batches < 2:
        raise DemoError("the fleet scenario needs at least 2 batches (a stable one, then the shifted one)")
    t0 = time.perf_counter()
    if output.exists():
        shutil.rmtree(output)
    output.mkdir(parents=True)
    fleet = fleet_models(models, drift_fraction=drift_fraction)
    printer(
        f"scorewatch demo --fleet {models} — {sum(m.drifting for m in fleet)} drifting, {batches} batches of "
        f"{rows} rows per model, output {output}"
    )
    result = FleetResult(output=output)

    def phase(name: str, fn: Callable[[], str]) -> None:
        printer(f"▶ {name}")
        t = time.perf_counter()
        summary = fn()
        result.phases[name] = time.perf_counter() - t
        printer(f"  ✓ {summary}  [{result.phases[name]:.1f}s]")

    stacks: dict[str, Any] = {}

    def synthesize() -> str:
        stacks.update(synth(context={CONFIG_CONTEXT_KEY: str(DEFAULT_CONFIG)}, cache_dir=synth_cache)[0])
        name, template = next(iter(stacks.items()))
        return f"synthesized {name} once: {len(template['Resources'])} resources for the whole fleet"

    phase("synthesize", synthesize)
    stack_name, template = next(iter(stacks.items()))
    with LocalCloud(template, stack_name=stack_name) as cloud:
        if on_cloud is not None:
            on_cloud(cloud)
        scenario = FleetScenario(cloud, fleet, output=output, rows=rows, seed=seed)
        try:
            phase("onboard with configure", scenario.onboard)
            phase("register the first champions", scenario.bootstrap)
            phase("batch 1 for every model (stable)", lambda: scenario.drop_round(1, shifted=False))
            phase(
                "batch 2 for every model (shifted for the drifting ones) -> retraining",
                lambda: scenario.drop_round(2, shifted=True, recent_labels=True),
            )
            for i in range(3, batches + 1):
                phase(f"batch {i} for every model", lambda i=i: scenario.drop_round(i, shifted=True))
            phase("build the monitoring site", lambda: _site(scenario, result))
        finally:
            account(scenario, result)
            result.seconds = time.perf_counter() - t0
            events = [e for _, e in cloud.router.events if e.get("source") != "aws.s3"]
            (output / "events.jsonl").write_text(
                "".join(json.dumps(e, default=str) + "\n" for e in events), encoding="utf-8"
            )
            (output / "summary.json").write_text(
                json.dumps(result.summary(), indent=2, default=str), encoding="utf-8"
            )
    printer(fleet_table(result))
    return result

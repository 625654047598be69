"""The scorewatch scenario on the local cloud (``scorewatch demo``, ``make demo``).

1. synthesize the CDK app and deploy it on the embedded emulator;
2. train the first ``churn`` champion on the reference data, register it with its baseline and
   promote it (what a data scientist does once, by hand);
3. drop a stable batch into ``incoming/churn/`` -> scored, monitored, no drift;
4. drop a drifted batch (price increase, a new contract type, missing values) -> scored, drift
   detected, ``Drift Detected`` -> the retraining state machine runs -> challenger promoted;
5. drop a later batch -> scored by the new champion;
6. drop the later batch's labels into ``labels/churn/`` -> realized performance.

Everything after step 2 happens only through the deployed topology: uploads to the emulator's S3,
EventBridge rules from the template, the functions in-process, the state machine on the emulator.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from scorewatch_infra.local.cloud import ExecutionRecord, LocalCloud
from scorewatch_infra.local.synth import REPO_ROOT, synth
from scorewatch_infra.local.template import TemplateError

MODEL = "churn"
CONFIG_CONTEXT_KEY = "scorewatch:config"
DEFAULT_CONFIG = REPO_ROOT / "examples" / "models.json"


class DemoError(TemplateError):
    """A step of the scenario did not produce what the scenario requires."""


def load_generator() -> ModuleType:
    """The churn generator from examples/ (a script directory, not a package)."""
    path = REPO_ROOT / "examples" / "churn.py"
    spec = importlib.util.spec_from_file_location("scorewatch_examples_churn", path)
    if spec is None or spec.loader is None:
        raise DemoError(f"cannot load the churn generator from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Step:
    name: str
    seconds: float
    summary: str


@dataclass
class DemoResult:
    output: Path
    steps: list[Step] = field(default_factory=list)
    executions: list[ExecutionRecord] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    champion_before: str | None = None
    champion_after: str | None = None
    versions: dict[str, str] = field(default_factory=dict)  # version -> status
    batches: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    retraining_error: str | None = None
    alarms: dict[str, str] = field(default_factory=dict)  # alarm name -> state at the end
    site: Path | None = None  # index.html of the monitoring site built from the collected data
    seconds: float = 0.0

    def of_type(self, detail_type: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("detail-type") == detail_type]


Printer = Callable[[str], None]


class Scenario:
    """Runs the demo steps against a started ``LocalCloud``."""

    def __init__(
        self,
        cloud: LocalCloud,
        *,
        output: Path,
        seed: int,
        rows: int,
        printer: Printer,
        config_path: Path = DEFAULT_CONFIG,
    ):
        from scorewatch.core.contract import Env

        self.cloud = cloud
        self.config_path = config_path
        self.output = output
        self.seed = seed
        self.rows = rows
        self.say = printer
        self.gen = load_generator()
        self.data_bucket = cloud.environment_value(Env.DATA_BUCKET)
        self.models_bucket = cloud.environment_value(Env.MODELS_BUCKET)
        self.registry_table = cloud.environment_value(Env.REGISTRY_TABLE)
        self.result = DemoResult(output=output)

    # -- helpers ---------------------------------------------------------------------------------

    def registry(self) -> Any:
        from scorewatch.io.registry import Registry

        return Registry(table_name=self.registry_table, models_bucket=self.models_bucket)

    def step(self, name: str, fn: Callable[[], str]) -> None:
        self.say(f"▶ {name}")
        t0 = time.perf_counter()
        summary = fn()
        seconds = time.perf_counter() - t0
        self.result.steps.append(Step(name, seconds, summary))
        self.say(f"  ✓ {summary}  [{seconds:.1f}s]")

    def drop(self, key: str, frame: Any) -> None:
        path = self.output / "inputs" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
        self.cloud.upload(self.data_bucket, key, path)

    def settle(self) -> None:
        self.cloud.drain(timeout=600)
        if self.cloud.router.errors:
            self.result.errors.extend(self.cloud.router.errors)
            errors = "\n  ".join(self.cloud.router.errors)
            self.cloud.router.errors.clear()
            raise DemoError(f"event delivery failed:\n  {errors}")

    def new_events(self, since: int, detail_type: str) -> list[dict[str, Any]]:
        return [e for _, e in self.cloud.router.events[since:] if e.get("detail-type") == detail_type]

    # -- steps -----------------------------------------------------------------------------------

    def bootstrap(self) -> str:
        """Store the models file's configurations, train, register and promote the first champion."""
        import pyarrow as pa

        from scorewatch.core.config import load_config
        from scorewatch.core.schema import FeatureSchema, FeatureSpec
        from scorewatch.lifecycle.training import train_model
        from scorewatch.monitoring.profiles import ProfileBuilder
        from scorewatch.scoring.scorer import predict_frame
        from scorewatch.scoring.validation import validate_batch
        from scorewatch_infra.local.seeding import seed_models

        # The template holds no model configuration: the store is seeded as `configure --all` does.
        seed_models(self.cloud, self.config_path, actor="scorewatch demo")
        config = load_config(self.config_path)
        mc = config.model(MODEL)
        reference = self.gen.generate(self.rows, scenario="reference", seed=self.seed)
        # The reference set is also the first labeled training data retraining will use.
        self.drop(f"labeled/{MODEL}/0-reference.csv", reference)
        numeric = {"tenure_months", "monthly_charges", "total_charges", "senior_citizen"}
        specs = []
        for name in self.gen.FEATURES:
            if name in numeric:
                col = reference[name]
                specs.append(
                    FeatureSpec(name=name, type="numeric", min=float(col.min()), max=float(col.max()))
                )
            else:
                cats = tuple(sorted(str(v) for v in reference[name].dropna().unique()))
                specs.append(FeatureSpec(name=name, type="categorical", categories=cats))
        schema = FeatureSchema(features=tuple(specs), id_columns=(self.gen.ID_COLUMN,))
        batch = pa.RecordBatch.from_pandas(reference, preserve_index=False)
        chunk = validate_batch(batch, schema, row_offset=0, source_uri="reference.csv")
        if chunk.rejected:
            raise DemoError(
                f"the reference data has {len(chunk.rejected)} invalid rows: {chunk.rejected[:3]}"
            )
        y = reference[self.gen.TARGET].reset_index(drop=True)
        trained = train_model(
            mc.retraining.spec,
            chunk.features,
            y,
            task=mc.task,
            schema=schema,
            random_state=mc.retraining.random_state,
        )
        classes = tuple(trained.estimator.classes_.tolist())
        outputs = predict_frame(trained.estimator, chunk.features, task=mc.task, classes=classes)
        builder = ProfileBuilder(schema, score_columns=tuple(outputs.columns), random_state=self.seed)
        builder.update(chunk.features, outputs)
        profile, sample = builder.finish()
        from scorewatch.monitoring import performance

        perf = performance.realized_performance(
            mc.task, y, outputs, classes=classes, positive_class=mc.positive_class
        )
        registry = self.registry()
        now = datetime.now(UTC)
        card = registry.register(
            MODEL,
            trained.estimator,
            task=mc.task,
            feature_schema=schema,
            now=now,
            target=mc.target,
            classes=classes,
            metrics={k: v for k, v in perf.metrics.items() if v is not None},
            params=trained.params,
            baseline_profile=profile.to_dict(),
            baseline_sample=pa.Table.from_pandas(sample, preserve_index=False),
            description="initial champion trained by scorewatch demo on the reference data",
        )
        registry.promote(MODEL, card.version, now=now, promoted_by="scorewatch demo", expected_champion=None)
        self.result.champion_before = card.version
        auc = perf.metrics.get("roc_auc")
        return f"champion {MODEL} v{card.version} registered (in-sample AUC {auc:.3f}, {len(reference)} rows)"

    def drop_stable(self) -> str:
        since = len(self.cloud.router.events)
        self.drop(
            f"incoming/{MODEL}/batch-01-stable.csv",
            self.gen.generate(self.rows, scenario="stable", seed=self.seed, with_labels=False),
        )
        self.settle()
        scored = self.new_events(since, "Batch Scored")
        drift = self.new_events(since, "Drift Detected")
        if len(scored) != 1:
            raise DemoError(f"stable batch: expected one Batch Scored event, got {len(scored)}")
        if drift:
            raise DemoError(f"stable batch: unexpected Drift Detected {drift[0]['detail']}")
        d = scored[0]["detail"]
        self.result.batches.append({"batch": "stable", **d})
        return f"{d.get('rows_scored')} rows scored by v{d.get('version')}; no drift"

    def drop_drifted(self) -> str:
        # Outcomes of recent customers arrive in the labeled feed (the CRM's churn list).
        recent = self.gen.generate(self.rows, scenario="drifted", seed=self.seed + 1000)
        self.drop(f"labeled/{MODEL}/1-recent.csv", recent)
        since = len(self.cloud.router.events)
        self.drop(
            f"incoming/{MODEL}/batch-02-drifted.csv",
            self.gen.generate(self.rows, scenario="drifted", seed=self.seed, with_labels=False),
        )
        self.settle()
        scored = self.new_events(since, "Batch Scored")
        drift = self.new_events(since, "Drift Detected")
        if not drift:
            raise DemoError("drifted batch: no Drift Detected event")
        d = drift[0]["detail"]
        self.result.batches.append({"batch": "drifted", **(scored[0]["detail"] if scored else {})})
        runs = [e for e in self.cloud.executions() if "retrain" in e.state_machine.lower()]
        if not runs:
            raise DemoError("drift detected but no retraining execution ran")
        run = runs[-1]
        self.result.retraining_error = run.error
        promoted = self.new_events(since, "Model Promoted")
        rejected = self.new_events(since, "Model Rejected")
        verdict = "promoted" if promoted else ("rejected" if rejected else run.status.lower())
        share = d.get("drift_share")
        share_text = f"{share:.0%}" if isinstance(share, (int, float)) else share
        return (
            f"drift share {share_text} ({', '.join(map(str, d.get('drifted_features', [])[:4]))}...); "
            f"retraining {run.status}: {' → '.join(run.states)}; challenger {verdict}"
        )

    def drop_later(self) -> str:
        since = len(self.cloud.router.events)
        later = self.gen.generate(self.rows, scenario="later", seed=self.seed)
        self.later = later
        self.drop(f"incoming/{MODEL}/batch-03-later.csv", later.drop(columns=[self.gen.TARGET]))
        self.settle()
        scored = self.new_events(since, "Batch Scored")
        if len(scored) != 1:
            raise DemoError(f"later batch: expected one Batch Scored event, got {len(scored)}")
        d = scored[0]["detail"]
        self.result.batches.append({"batch": "later", **d})
        return f"{d.get('rows_scored')} rows scored by v{d.get('version')}"

    def drop_labels(self) -> str:
        before = len(self.cloud.runtime.invocations)
        self.drop(f"labels/{MODEL}/batch-03-later-labels.csv", self.gen.labels_for(self.later))
        self.settle()
        runs = [i for i in self.cloud.runtime.invocations[before:] if "label" in i.function.lower()]
        if not runs:
            raise DemoError("labels were uploaded but no labels function ran")
        failed = [i for i in runs if i.error_type]
        if failed:
            raise DemoError(f"labels function failed: {failed[0].error_type}: {failed[0].error_message}")
        perf = [
            p
            for p in self.cloud.metrics.points
            if p.name in ("RealizedPerformance", "LabelCoverage") and p.namespace == "Scorewatch"
        ]
        text = (
            ", ".join(f"{p.name} {p.value:.3f}" for p in perf[-2:])
            or "no realized-performance metric emitted"
        )
        return f"labels joined: {text}"

    # -- outputs -----------------------------------------------------------------------------------

    def collect(self) -> str:
        """Copy scored outputs, reports, cards, histories, events and logs under the output folder."""
        s3 = self.cloud.client("s3")
        n = 0
        for bucket, dest in ((self.data_bucket, "data"), (self.models_bucket, "models")):
            paginator = s3.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=bucket):
                for obj in page.get("Contents", []):
                    key = obj["Key"]
                    if dest == "data" and key.startswith(("incoming/", "labeled/", "labels/")):
                        continue  # the inputs are already under inputs/
                    if dest == "models" and not key.endswith((".json", ".parquet")):
                        continue  # model artifacts stay in the (emulated) registry
                    target = self.output / dest / key
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
                    n += 1
        from scorewatch.reports.card import render_card_html

        registry = self.registry()
        for card in registry.list_versions(MODEL):
            self.result.versions[card.version] = card.status
            path = self.output / "cards" / f"{MODEL}-{card.version}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(card.model_dump_json(indent=2), encoding="utf-8")
            path.with_suffix(".html").write_text(render_card_html(card), encoding="utf-8")
        self.result.champion_after = registry.champion_version(MODEL)
        self.result.executions = self.cloud.executions()
        self.result.events = [e for _, e in self.cloud.router.events if e.get("source") != "aws.s3"]
        (self.output / "events.jsonl").write_text(
            "".join(json.dumps(e, default=str) + "\n" for _, e in self.cloud.router.events), encoding="utf-8"
        )
        (self.output / "executions.json").write_text(
            json.dumps(
                [
                    {
                        "state_machine": e.state_machine,
                        "name": e.name,
                        "status": e.status,
                        "states": list(e.states),
                        "error": e.error,
                        "output": e.output,
                    }
                    for e in self.result.executions
                ],
                indent=2,
                default=str,
            ),
            encoding="utf-8",
        )
        logs = self.output / "logs"
        logs.mkdir(exist_ok=True)
        for inv in self.cloud.runtime.invocations:
            with open(logs / f"{inv.function}.log", "a", encoding="utf-8") as fh:
                fh.write(inv.output)
        from scorewatch_infra.local.status import print_status, status_document

        doc = status_document(self.cloud)
        self.result.alarms = {a["name"]: a["state"] for a in doc["alarms"]}
        with open(self.output / "status.txt", "w", encoding="utf-8") as fh:
            print_status(doc, out=fh)
        reports = sorted((self.output / "data").rglob("*.html"))
        return f"{n} objects, {len(self.result.versions)} model cards, {len(reports)} HTML drift reports"


def build_demo_site(output: Path, registry: Any = None) -> str:
    """The static monitoring site (``scorewatch site``) from ``output/data`` into ``output/site``."""
    from scorewatch.monitoring.site_build import build_site

    built = build_site(str(output / "data"), str(output / "site"), now=datetime.now(UTC), registry=registry)
    return built.index_uri


def run_demo(
    output: Path,
    *,
    seed: int = 7,
    rows: int = 4000,
    config_path: Path = DEFAULT_CONFIG,
    printer: Printer = print,
    synth_cache: Path | None = None,
) -> DemoResult:
    """Run the whole scenario; raise ``DemoError`` naming the first step that went wrong."""
    t0 = time.perf_counter()
    if output.exists():
        shutil.rmtree(output)
    output.mkdir(parents=True)
    printer(f"scorewatch demo — seed {seed}, {rows} rows per batch, output {output}")
    t = time.perf_counter()
    stacks, _ = synth(context={CONFIG_CONTEXT_KEY: str(config_path)}, cache_dir=synth_cache)
    stack_name, template = next(iter(stacks.items()))
    seconds = time.perf_counter() - t
    printer(f"  ✓ synthesized {stack_name}: {len(template['Resources'])} resources  [{seconds:.1f}s]")
    t = time.perf_counter()
    with LocalCloud(template, stack_name=stack_name) as cloud:
        r = cloud.report
        printer(
            f"  ✓ deployed on the emulator ({cloud.emulator.url if cloud.emulator else '?'}): "
            f"{len(r.deployed) - len(r.no_local_effect)} resources, {len(r.functions)} functions, "
            f"{len(r.state_machines)} state machines, {len(r.rules)} rules, {len(r.schedules)} schedules; "
            f"{len(r.no_local_effect)} without local effect  [{time.perf_counter() - t:.1f}s]"
        )
        scenario = Scenario(
            cloud, output=output, seed=seed, rows=rows, printer=printer, config_path=config_path
        )
        try:
            scenario.step("train and register the first champion", scenario.bootstrap)
            scenario.step("drop a stable batch", scenario.drop_stable)
            scenario.step(
                "drop a drifted batch (price +12%, new 'Flex monthly' contract, missing values)",
                scenario.drop_drifted,
            )
            scenario.step("drop a later batch", scenario.drop_later)
            scenario.step("labels arrive for the later batch", scenario.drop_labels)
        finally:
            scenario.step("collect outputs", scenario.collect)

        def site() -> str:
            scenario.result.site = Path(build_demo_site(output, scenario.registry()))
            return f"monitoring site: {scenario.result.site}"

        scenario.step("build the monitoring site", site)
        result = scenario.result
    result.seconds = time.perf_counter() - t0
    return result

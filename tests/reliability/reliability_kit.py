"""Shared set-up for the reliability suite: a champion, handler env, S3 events and bus capture.

Kept apart from tests/integration/handler_kit.py on purpose: this suite must keep meaning the
same thing while the handler tests evolve. Everything talks to moto's server over HTTP.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from handler_env import Ctx, Stack, wire_handlers  # noqa: F401 - re-exported to the tests

from scorewatch.core.cards import ArtifactRef, ModelCard
from scorewatch.core.schema import FeatureSchema, FeatureSpec

TESTS = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
MODEL = "churn"
SCHEMA = FeatureSchema(
    features=(
        FeatureSpec(name="tenure", type="numeric"),
        FeatureSpec(name="charges", type="numeric"),
        FeatureSpec(name="plan", type="categorical", categories=("basic", "max", "pro")),
    ),
    id_columns=("customer_id",),
)


@lru_cache(maxsize=1)
def corpus_module() -> Any:
    """tests/data/bad/generate.py, imported by path (tests/ is not a package)."""
    name = "bad_corpus_generate"
    spec = importlib.util.spec_from_file_location(name, TESTS / "data" / "bad" / "generate.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses look their module up while the class is built
    spec.loader.exec_module(mod)
    return mod


@lru_cache(maxsize=1)
def estimator() -> Any:
    """A seeded churn pipeline that imputes missing numbers and ignores unseen categories."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(0)
    n = 300
    x = pd.DataFrame(
        {
            "tenure": rng.normal(20, 8, n),
            "charges": rng.normal(60, 15, n),
            "plan": rng.choice(["basic", "pro", "max"], n),
        }
    )
    y = ((x["tenure"] < 20) | (x["plan"] == "basic")).astype(int)
    ct = ColumnTransformer(
        [
            ("num", SimpleImputer(), ["tenure", "charges"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
        ]
    )
    return Pipeline([("ct", ct), ("model", LogisticRegression(max_iter=500))]).fit(x, y)


def local_model() -> Any:
    """A LoadedModel for scoring local files without a registry."""
    from scorewatch.io.registry import LoadedModel

    card = ModelCard(
        model_name=MODEL,
        version="000001",
        task="binary",
        feature_schema=SCHEMA,
        classes=(0, 1),
        artifact=ArtifactRef(key=f"{MODEL}/000001/model.skops", sha256="0" * 64, size_bytes=1),
        created_at=NOW,
    )
    return LoadedModel(card=card, estimator=estimator())


def frame(n: int, *, seed: int = 0, start_id: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": [f"c{start_id + i:07d}" for i in range(n)],
            "tenure": rng.normal(20, 8, n).round(2),
            "charges": rng.normal(60, 15, n).round(2),
            "plan": rng.choice(["basic", "pro", "max"], n),
        }
    )


def model_config(name: str = MODEL, **overrides: Any) -> dict[str, Any]:
    return {"name": name, "chunk_rows": 100, "max_reject_fraction": 0.5, **overrides}


def make_stack(resources: Any, monkeypatch: Any, *, models: list[dict[str, Any]] | None = None) -> Stack:
    """Handler env for ``resources`` + an SQS queue capturing everything published on the bus."""
    cfg = {"models": models or [model_config()]}
    return Stack(res=resources, queue_url=wire_handlers(resources, monkeypatch, cfg))


def registry(resources: Any) -> Any:
    from scorewatch.io.registry import Registry

    return Registry(table_name=resources.registry_table, models_bucket=resources.models_bucket)


def register_champion(resources: Any, name: str = MODEL, *, baseline: bool = True) -> ModelCard:
    """Register :func:`estimator` for ``name`` (with a baseline profile) and promote it."""
    import pyarrow as pa

    from scorewatch.monitoring.profiles import build_profile
    from scorewatch.scoring.scorer import predict_frame

    reg = registry(resources)
    kw: dict[str, Any] = {}
    if baseline:
        train = frame(300, seed=1)[SCHEMA.names]
        both = pd.concat([train, predict_frame(estimator(), train, task="binary", classes=(0, 1))], axis=1)
        kw["baseline_profile"] = build_profile(
            both, SCHEMA, score_columns=("prediction", "score_0", "score_1")
        ).to_dict()
        kw["baseline_sample"] = pa.Table.from_pandas(both, preserve_index=False)
    card = reg.register(
        name, estimator(), task="binary", feature_schema=SCHEMA, now=NOW, classes=(0, 1), **kw
    )
    return reg.promote(name, card.version, now=NOW, promoted_by="test")


def cloud_resources(cloud: Any) -> Any:
    """The stack's buckets, table and bus (its functions' environment); registry cache cleared."""
    from types import SimpleNamespace

    from scorewatch.core.contract import Env
    from scorewatch.io import registry as registry_mod

    registry_mod.clear_cache()
    return SimpleNamespace(
        data_bucket=cloud.environment_value(Env.DATA_BUCKET),
        models_bucket=cloud.environment_value(Env.MODELS_BUCKET),
        registry_table=cloud.environment_value(Env.REGISTRY_TABLE),
        event_bus=cloud.environment_value(Env.EVENT_BUS),
    )


def seed_labeled(cloud: Any, resources: Any, *names: str) -> None:
    """The labeled training rows every local retraining test starts from, under ``labeled/<name>/``."""
    df = frame(400, seed=7)
    df["churn"] = ((df["tenure"] < 20) | (df["plan"] == "basic")).astype(int)
    for name in names:
        cloud.client("s3").put_object(
            Bucket=resources.data_bucket, Key=f"labeled/{name}/train.csv", Body=csv_bytes(df)
        )


def csv_bytes(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode()


@contextmanager
def local_cloud(tmp_path_factory: Any, models: list[dict[str, Any]]) -> Iterator[Any]:
    """The synthesized stack for ``models``, deployed on an embedded local cloud."""
    from scorewatch_infra.local.cloud import LocalCloud
    from scorewatch_infra.local.demo import CONFIG_CONTEXT_KEY
    from scorewatch_infra.local.synth import synth

    path = tmp_path_factory.mktemp("config") / "models.json"
    path.write_text(json.dumps({"models": models}))
    stacks, _ = synth(context={CONFIG_CONTEXT_KEY: str(path)}, cache_dir=tmp_path_factory.mktemp("synth"))
    stack_name, template = next(iter(stacks.items()))
    with LocalCloud(template, stack_name=stack_name) as cloud:
        from scorewatch_infra.local.seeding import seed_models

        seed_models(cloud, path, actor="tests")
        yield cloud

"""A ``schema`` in a model's configuration, on moto's server: the monitor, the CLI, the store."""

from __future__ import annotations

import json

import pytest
from handler_kit import MODEL, Ctx, encode, frame, make_stack, register_champion

from scorewatch.cli import EXIT_USAGE, main
from scorewatch.handlers import monitor, score
from scorewatch.io.registry.configs import ConfigStore, parse_model_config

#: The champion's features are tenure, charges and plan; this schema says tenure is an identifier.
TENURE_IS_AN_ID = {
    "features": [{"name": "charges", "type": "numeric"}, {"name": "plan", "type": "categorical"}],
    "id_columns": ["customer_id", "tenure"],
}


@pytest.fixture
def stack(resources, monkeypatch):
    # TTL 0 (handler_env): every handler call reads the stored configuration again.
    st = make_stack(resources, monkeypatch, config={"models": [{"name": MODEL, "chunk_rows": 200}]})
    st.card = register_champion(resources)
    st.store = ConfigStore(resources.registry_table)
    return st


def _tenure_shifted_batch(stack) -> dict:
    df = frame(400, seed=7)
    df["tenure"] = df["tenure"] + 40.0  # only tenure moves
    key = f"incoming/{MODEL}/m/shifted.csv"
    assert score.handler(stack.s3_event(key, stack.put(key, encode(df, "csv"))), Ctx())["status"] == "scored"
    (event,) = [e for e in stack.events(wait=0.2) if e["detail-type"] == "Batch Scored"]
    return event


def _report(stack, out: dict) -> dict:
    return stack.read_json(out["report_uri"].split("/", 3)[3])


def test_a_configured_identifier_is_not_monitored_and_is_monitored_again_once_removed(stack):
    event = _tenure_shifted_batch(stack)
    before = monitor.handler(event, Ctx(function_name="monitor"))
    assert "tenure" in before["drifted_features"]

    stack.store.put(
        parse_model_config({"name": MODEL, "chunk_rows": 200, "schema": TENURE_IS_AN_ID}), actor="t"
    )
    out = monitor.handler(event, Ctx(function_name="monitor"))
    doc = _report(stack, out)
    assert out["status"] == "evaluated" and "tenure" not in out["drifted_features"]
    assert [f["column"] for f in doc["report"]["features"]] == ["charges", "plan"]
    assert not [v for v in doc["report"]["quality"] if v["column"] == "tenure"]
    assert doc["excluded_columns"] == [
        {
            "name": "tenure",
            "role": "id",
            "reason": "identifier: id_columns of the model configuration's schema",
        }
    ]
    mv = doc["report"]["multivariate"]
    assert mv is None or "tenure" not in json.dumps(mv)

    stack.store.put(parse_model_config({"name": MODEL, "chunk_rows": 200}), actor="t")
    again = monitor.handler(event, Ctx(function_name="monitor"))
    assert "tenure" in again["drifted_features"]
    assert _report(stack, again)["excluded_columns"] == []


def test_a_column_the_configured_schema_does_not_list_is_excluded_with_its_reason(stack):
    event = _tenure_shifted_batch(stack)
    only_plan = {"features": [{"name": "plan", "type": "categorical"}]}
    stack.store.put(parse_model_config({"name": MODEL, "schema": only_plan}), actor="t")
    doc = _report(stack, monitor.handler(event, Ctx(function_name="monitor")))
    assert [f["column"] for f in doc["report"]["features"]] == ["plan"]
    assert {c["name"]: c["role"] for c in doc["excluded_columns"]} == {
        "tenure": "excluded",
        "charges": "excluded",
    }


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_configure_accepts_schema_infer_output_and_refuses_a_bad_schema_naming_the_field(
    stack, tmp_path, capsys
):
    data = tmp_path / "day.csv"
    frame(300, seed=1).to_csv(data, index=False)
    code, inferred, _ = _run(capsys, "schema", "infer", str(data))
    assert code == 0
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"chunk_rows": 200, "schema": json.loads(inferred)}))
    code, out, _ = _run(capsys, "models", "configure", MODEL, "--file", str(good))
    assert code == 0 and "config version 2" in out
    stored = stack.store.current(MODEL).config.feature_schema
    assert stored is not None and stored.id_columns == ("customer_id",)
    assert stored.names == ["tenure", "charges", "plan"]

    bad_doc = json.loads(inferred)
    bad_doc["feature_schema"]["features"][0]["type"] = "number"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"chunk_rows": 200, "schema": bad_doc}))
    code, out, err = _run(capsys, "models", "configure", MODEL, "--file", str(bad))
    assert code == EXIT_USAGE and "schema.features.0.type" in err and out == ""
    overlap = {"features": [{"name": "tenure", "type": "numeric"}], "id_columns": ["tenure"]}
    bad.write_text(json.dumps({"schema": overlap}))
    code, _, err = _run(capsys, "models", "configure", MODEL, "--file", str(bad))
    assert code == EXIT_USAGE and "schema: ['tenure'] listed both as features and as id_columns" in err
    current = stack.store.current(MODEL)
    assert current.version == 2 and current.config.feature_schema == stored

    code, out, _ = _run(capsys, "models", "configure", MODEL, "--file", str(good))
    assert code == 0 and "unchanged, config version 2" in out


def test_retraining_trains_on_the_configured_schema_and_still_scores_the_champion(resources, monkeypatch):
    from scorewatch.io import registry as registry_mod
    from scorewatch.lifecycle.retraining import RetrainRequest
    from tests.integration.test_lifecycle import MODEL as LMODEL
    from tests.integration.test_lifecycle import World, _config, generate

    registry_mod.clear_cache()
    config = _config(labeled_prefix="labeled/churn/", use_scored_with_labels=False)
    # x1 is an identifier to the configuration (the champion was trained on it); plan is text codes
    config["models"][0]["schema"] = {
        "features": [{"name": "x2", "type": "numeric"}, {"name": "plan", "type": "categorical"}],
        "id_columns": ["customer_id", "x1"],
    }
    world = World(resources, monkeypatch, config=config)
    v1 = world.champion()
    data = generate(800, seed=5, concept="new", start_id=0)
    world.s3.put_object(
        Bucket=world.res.data_bucket, Key="labeled/churn/a.csv", Body=data.to_csv(index=False).encode()
    )
    assembled = world.steps.assemble(RetrainRequest(model_name=LMODEL), execution_id="cfg-schema")
    hold = world.stack.read_parquet(f"training/model={LMODEL}/run=cfg-schema/holdout.parquet")
    assert {"x1", "x2", "plan", "customer_id"} <= set(hold.columns)  # the champion's inputs are kept

    trained = world.steps.train(assembled)
    card = world.registry.get(LMODEL, trained.candidate_version)
    assert card.feature_schema.names == ["x2", "plan"]
    assert card.feature_schema.id_columns == ("customer_id", "x1")
    estimator = world.registry.load(LMODEL, trained.candidate_version).estimator
    assert list(estimator.feature_names_in_) == ["x2", "plan"]
    profile = world.registry.read_baseline_profile(card)
    assert [c["name"] for c in profile["columns"] if c["role"] == "feature"] == ["x2", "plan"]

    evaluated = world.steps.evaluate(trained)
    assert evaluated.champion_version == v1 and evaluated.champion_score is not None
    assert evaluated.challenger_score is not None and evaluated.challenger_score > 0.8

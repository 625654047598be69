"""`scorewatch models ...` and `scorewatch score` end to end against moto's server."""

from __future__ import annotations

import hashlib
import io
import json

import boto3
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from scorewatch.cli import EXIT_CONFIG_ERROR, EXIT_INPUT_REJECTED, EXIT_MODEL_ERROR, EXIT_OK, main
from scorewatch.core.contract import Env
from scorewatch.io import registry as registry_mod
from scorewatch.io.registry import Registry

FEATURES = ["tenure", "monthly_spend", "plan"]


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "customer_id": [f"c{seed}-{i}" for i in range(n)],
            "tenure": rng.integers(1, 60, n).astype(float),
            "monthly_spend": rng.normal(50, 10, n).round(2),
            "plan": rng.choice(["basic", "pro", "max"], n),
        }
    )
    df["churned"] = ((df["tenure"] < 12) | (df["plan"] == "basic")).astype(int)
    return df


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> str:
    df = _frame(400, 0)
    ct = ColumnTransformer(
        [
            ("num", "passthrough", ["tenure", "monthly_spend"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
        ]
    )
    pipe = Pipeline([("ct", ct), ("model", HistGradientBoostingClassifier(max_iter=10, random_state=0))])
    pipe.fit(df[FEATURES], df["churned"])
    path = tmp_path_factory.mktemp("models") / "churn.skops"
    sio.dump(pipe, path)
    return str(path)


@pytest.fixture
def env(resources, monkeypatch):
    registry_mod.clear_cache()
    monkeypatch.setenv(Env.REGISTRY_TABLE, resources.registry_table)
    monkeypatch.setenv(Env.MODELS_BUCKET, resources.models_bucket)
    return resources


def _put_csv(bucket: str, key: str, df: pd.DataFrame) -> str:
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=df.to_csv(index=False).encode())
    return f"s3://{bucket}/{key}"


def _read_parquet(bucket: str, key: str) -> pd.DataFrame:
    body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return pq.read_table(io.BytesIO(body)).to_pandas()


def _keys(bucket: str, prefix: str = "") -> set[str]:
    resp = boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix)
    return {o["Key"] for o in resp.get("Contents", [])}


def _register(env, model_file: str, capsys) -> dict:
    ref = _put_csv(env.data_bucket, "reference/churn.csv", _frame(300, 1))
    code = main(
        [
            "models", "register", "--name", "churn", "--model-file", model_file, "--task", "binary",
            "--reference", ref, "--target", "churned", "--id-columns", "customer_id", "--promote", "--json",
        ]
    )  # fmt: skip
    out = capsys.readouterr()
    assert code == EXIT_OK, out.err
    return json.loads(out.out)


def test_register_then_score_s3_to_s3(env, model_file, capsys):
    card = _register(env, model_file, capsys)
    assert card["status"] == "champion"
    assert card["feature_schema"]["id_columns"] == ["customer_id"]
    # the labeled reference fitted CBPE: calibration checked on half of it, the check recorded
    assert card["estimation"]["method"] == "cbpe" and card["estimation"]["reference_rows"] == 300
    assert card["calibration"]["check_rows"] == 150 and "roc_auc" in card["estimation"]["check"]
    plan = next(f for f in card["feature_schema"]["features"] if f["name"] == "plan")
    assert plan == {**plan, "type": "categorical", "categories": ["basic", "max", "pro"]}
    assert card["baseline"]["profile_key"] == "churn/000001/baseline/profile.json"
    assert card["training_data"]["rows"] == 300

    batch = _frame(250, 2).drop(columns=["churned"])
    src = _put_csv(env.data_bucket, "incoming/churn/day1.csv", batch)
    out_uri = f"s3://{env.data_bucket}/scored/churn-day1.parquet"
    code = main(
        ["score", "--model", "churn@champion", "--input", src, "--output", out_uri, "--chunk-rows", "100"]
    )
    out = capsys.readouterr()
    assert code == EXIT_OK, out.err
    assert "scored 250 of 250 rows (0 rejected) with churn@000001" in out.out

    scored = _read_parquet(env.data_bucket, "scored/churn-day1.parquet")
    assert len(scored) == 250
    assert {
        "customer_id",
        "prediction",
        "score_0",
        "score_1",
        "model_name",
        "model_version",
        "batch_id",
    } <= set(scored.columns)
    assert set(scored["model_version"]) == {"000001"}
    assert scored["customer_id"].tolist() == batch["customer_id"].tolist()
    np.testing.assert_allclose(scored["score_0"] + scored["score_1"], 1.0)


def test_score_by_version_and_json_output(env, model_file, capsys):
    _register(env, model_file, capsys)
    src = _put_csv(env.data_bucket, "incoming/churn/day2.csv", _frame(50, 3).drop(columns=["churned"]))
    code = main(
        [
            "score",
            "--model",
            "churn@1",
            "--input",
            src,
            "--output",
            f"s3://{env.data_bucket}/scored/",
            "--json",
        ]
    )
    out = capsys.readouterr()
    assert code == EXIT_OK, out.err
    result = json.loads(out.out)
    assert result["rows_scored"] == 50
    assert result["output_uri"] == f"s3://{env.data_bucket}/scored/{result['batch_id']}.parquet"
    assert f"scored/{result['batch_id']}.parquet" in _keys(env.data_bucket, "scored/")


def test_rejected_input_exits_3_writes_report_and_leaves_input(env, model_file, capsys):
    _register(env, model_file, capsys)
    bad = _frame(40, 4).drop(columns=["churned"]).astype({"tenure": object})
    bad.loc[:19, "tenure"] = "lots"
    src = _put_csv(env.data_bucket, "incoming/churn/bad.csv", bad)
    before = (
        boto3.client("s3").get_object(Bucket=env.data_bucket, Key="incoming/churn/bad.csv")["Body"].read()
    )
    report = f"s3://{env.data_bucket}/rejected/bad.json"
    code = main(
        [
            "score", "--model", "churn@champion", "--input", src,
            "--output", f"s3://{env.data_bucket}/scored/bad.parquet", "--rejected", report,
        ]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == EXIT_INPUT_REJECTED
    assert err.startswith("scorewatch: input rejected:") and "bad.csv" in err
    assert len(err.strip().splitlines()) == 1
    assert "scored/bad.parquet" not in _keys(env.data_bucket, "scored/")
    doc = json.loads(
        boto3.client("s3").get_object(Bucket=env.data_bucket, Key="rejected/bad.json")["Body"].read()
    )
    assert doc["rows_rejected"] == 20 and doc["rejected_sample"][0]["column"] == "tenure"
    after = boto3.client("s3").get_object(Bucket=env.data_bucket, Key="incoming/churn/bad.csv")["Body"].read()
    assert after == before


def test_missing_column_and_missing_input_exit_3(env, model_file, capsys):
    _register(env, model_file, capsys)
    src = _put_csv(env.data_bucket, "incoming/churn/nocol.csv", _frame(10, 5).drop(columns=["plan"]))
    out = f"s3://{env.data_bucket}/scored/x.parquet"
    assert (
        main(["score", "--model", "churn@champion", "--input", src, "--output", out]) == EXIT_INPUT_REJECTED
    )
    assert "plan" in capsys.readouterr().err
    missing = f"s3://{env.data_bucket}/incoming/churn/nope.csv"
    assert (
        main(["score", "--model", "churn@champion", "--input", missing, "--output", out])
        == EXIT_INPUT_REJECTED
    )
    assert "nope.csv" in capsys.readouterr().err


@pytest.mark.parametrize("ref", ["nosuch@champion", "churn@000042"])
def test_unknown_model_exits_4(env, model_file, capsys, ref):
    _register(env, model_file, capsys)
    src = _put_csv(env.data_bucket, "incoming/churn/day3.csv", _frame(10, 6))
    code = main(["score", "--model", ref, "--input", src, "--output", f"s3://{env.data_bucket}/o.parquet"])
    err = capsys.readouterr().err
    assert code == EXIT_MODEL_ERROR
    assert err.startswith("scorewatch: model error:")


def test_tampered_artifact_exits_4(env, model_file, capsys):
    _register(env, model_file, capsys)
    s3 = boto3.client("s3")
    key = "churn/000001/model.skops"
    tampered = s3.get_object(Bucket=env.models_bucket, Key=key)["Body"].read() + b"x"
    # Overwriting the key alone is harmless (loads are pinned to the registered S3 version), so
    # the attacker also repoints the registry row at the tampered version.
    other = s3.put_object(Bucket=env.models_bucket, Key=key, Body=tampered)["VersionId"]
    reg = Registry(table_name=env.registry_table, models_bucket=env.models_bucket)
    card = reg.get("churn", "1")
    # Version content is write-once and the champion's card is pinned by its pointer, which only
    # the promote role may write: this attacker can write the whole table and rewrites both.
    from scorewatch.io.registry.marshalling import card_item, key, marshal, pointer_partition

    pinned_other = card.artifact.model_copy(update={"version_id": other})
    tampered_card = card.model_copy(update={"artifact": pinned_other})
    ddb = boto3.client("dynamodb")
    ddb.put_item(TableName=env.registry_table, Item=marshal(card_item(tampered_card)))
    ddb.update_item(
        TableName=env.registry_table,
        Key=key(pointer_partition("churn"), "#champion"),
        UpdateExpression="SET card = :c",
        ExpressionAttributeValues=marshal({":c": tampered_card.model_dump_json()}),
    )
    src = _put_csv(env.data_bucket, "incoming/churn/day4.csv", _frame(10, 7))
    code = main(
        [
            "score",
            "--model",
            "churn@champion",
            "--input",
            src,
            "--output",
            f"s3://{env.data_bucket}/o.parquet",
        ]
    )
    assert code == EXIT_MODEL_ERROR
    assert "sha256 mismatch" in capsys.readouterr().err


def test_model_path_characters_exit_4(env, capsys):
    code = main(["models", "show", "../x"])
    assert code == EXIT_MODEL_ERROR
    assert "invalid model name" in capsys.readouterr().err


def test_no_registry_configured_exits_5(aws, monkeypatch, capsys):
    monkeypatch.delenv(Env.REGISTRY_TABLE, raising=False)
    monkeypatch.delenv(Env.MODELS_BUCKET, raising=False)
    code = main(["score", "--model", "churn@champion", "--input", "x.csv", "--output", "y.parquet"])
    assert code == EXIT_CONFIG_ERROR
    assert main(["models", "list"]) == EXIT_CONFIG_ERROR
    assert "SCOREWATCH_REGISTRY_TABLE" in capsys.readouterr().err


def test_bad_model_ref_is_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["score", "--model", "churn", "--input", "a.csv", "--output", "b.parquet"])
    assert info.value.code == 2
    assert "name@champion" in capsys.readouterr().err


def test_local_model_file_scores_with_inferred_schema(tmp_path, model_file, capsys):
    src = tmp_path / "in.csv"
    _frame(30, 8).drop(columns=["churned"]).to_csv(src, index=False)
    out = tmp_path / "out.parquet"
    code = main(
        [
            "score",
            "--model",
            model_file,
            "--input",
            str(src),
            "--output",
            str(out),
            "--id-columns",
            "customer_id",
        ]
    )
    captured = capsys.readouterr()
    assert code == EXIT_OK, captured.err
    assert "schema inferred from the estimator; no card" in captured.err
    scored = pq.read_table(out).to_pandas()
    assert len(scored) == 30 and scored["model_name"].iloc[0] == "churn"
    assert scored["model_version"].iloc[0].startswith("local-")
    assert "customer_id" in scored.columns


def test_local_joblib_needs_unsafe_flag(tmp_path, model_file, capsys):
    import joblib

    pkl = tmp_path / "m.joblib"
    joblib.dump(sio.load(model_file, trusted=sio.get_untrusted_types(file=model_file)), pkl)
    src = tmp_path / "in.csv"
    _frame(10, 9).drop(columns=["churned"]).to_csv(src, index=False)
    args = ["score", "--model", str(pkl), "--input", str(src), "--output", str(tmp_path / "o.parquet")]
    assert main(args) == EXIT_MODEL_ERROR
    assert "joblib/pickle" in capsys.readouterr().err
    # opted in, but a pickle is still only loaded against a known hash
    assert main([*args, "--allow-unsafe-pickle"]) == EXIT_MODEL_ERROR
    assert "--model-sha256" in capsys.readouterr().err
    wrong = "0" * 64
    assert main([*args, "--allow-unsafe-pickle", "--model-sha256", wrong]) == EXIT_MODEL_ERROR
    assert "sha256" in capsys.readouterr().err
    right = hashlib.sha256(pkl.read_bytes()).hexdigest()
    assert main([*args, "--allow-unsafe-pickle", "--model-sha256", right.upper()]) == EXIT_OK


def test_models_list_show_promote_rollback(env, model_file, capsys):
    _register(env, model_file, capsys)
    _register(env, model_file, capsys)  # v2 becomes champion, v1 archived
    assert main(["models", "list", "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out) == [
        {"model": "churn", "champion": "000002", "versions": 2, "latest": "000002"}
    ]
    assert main(["models", "show", "churn"]) == EXIT_OK
    shown = capsys.readouterr().out
    assert "churn@000002" in shown and "TreePredictor" not in shown and "plan" in shown
    assert main(["models", "rollback", "churn"]) == EXIT_OK
    assert "champion is 000001 again" in capsys.readouterr().out
    assert main(["models", "promote", "churn", "2", "--expect-champion", "none"]) == EXIT_MODEL_ERROR
    assert "expected champion" in capsys.readouterr().err
    # v2 was archived by the rollback: promoting it again is not a lifecycle step
    assert main(["models", "promote", "churn", "2", "--expect-champion", "1"]) == EXIT_MODEL_ERROR
    assert "archived -> champion" in capsys.readouterr().err
    forced = ["models", "promote", "churn", "2", "--expect-champion", "1", "--force", "--reason", "fixed"]
    assert main(forced) == EXIT_OK
    capsys.readouterr()
    assert main(["models", "show", "churn@2", "--json"]) == EXIT_OK
    last = json.loads(capsys.readouterr().out)["status_history"][-1]
    assert (last["from_status"], last["to_status"], last["reason"], last["forced"]) == (
        "archived",
        "champion",
        "fixed",
        True,
    )
    assert main(["models", "show", "churn@1", "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["status"] == "archived"


def test_progress_bar_path_scores_every_chunk(tmp_path, model_file, capsys):
    src = tmp_path / "in.csv"
    _frame(95, 10).drop(columns=["churned"]).to_csv(src, index=False)
    out = tmp_path / "out.parquet"
    args = ["score", "--model", model_file, "--input", str(src), "--output", str(out), "--chunk-rows", "10"]
    code = main([*args, "--progress", "always", "--json"])
    captured = capsys.readouterr()
    assert code == EXIT_OK, captured.err
    assert json.loads(captured.out.strip().splitlines()[-1])["rows_scored"] == 95
    assert pq.read_table(out).num_rows == 95


def test_register_types_a_numeric_reference_column_with_blanks_numeric(env, model_file, capsys):
    ref = _frame(300, 4).astype({"monthly_spend": object})
    ref.loc[[3, 40, 41], "monthly_spend"] = " "  # a CSV export artefact
    uri = _put_csv(env.data_bucket, "reference/blanks.csv", ref)
    code = main(
        [
            "models", "register", "--name", "blanks", "--model-file", model_file, "--task", "binary",
            "--reference", uri, "--target", "churned", "--id-columns", "customer_id", "--json",
        ]
    )  # fmt: skip
    out = capsys.readouterr()
    assert code == EXIT_OK, out.err
    types = {f["name"]: f["type"] for f in json.loads(out.out)["feature_schema"]["features"]}
    assert types == {"tenure": "numeric", "monthly_spend": "numeric", "plan": "categorical"}


def test_register_takes_a_schema_file(env, model_file, capsys, tmp_path):
    schema = {
        "features": [
            {"name": "tenure", "type": "numeric", "min": 0, "max": 100},
            {"name": "monthly_spend", "type": "numeric"},
            {"name": "plan", "type": "categorical", "categories": ["basic", "max", "pro"]},
        ],
        "id_columns": [],
    }
    path = tmp_path / "schema.json"
    path.write_text(json.dumps({"feature_schema": schema, "columns": []}))
    uri = _put_csv(env.data_bucket, "reference/schema.csv", _frame(300, 5))
    code = main(
        [
            "models", "register", "--name", "typed", "--model-file", model_file, "--task", "binary",
            "--reference", uri, "--target", "churned", "--id-columns", "customer_id",
            "--schema", str(path), "--json",
        ]
    )  # fmt: skip
    out = capsys.readouterr()
    assert code == EXIT_OK, out.err
    card = json.loads(out.out)["feature_schema"]
    assert card["id_columns"] == ["customer_id"]
    assert next(f for f in card["features"] if f["name"] == "tenure")["max"] == 100


# --- issue 15: one line and the documented exit code for every refusal ---------------------------
def test_output_equal_to_input_is_refused_and_the_input_is_untouched(env, model_file, capsys, tmp_path):
    from scorewatch.cli import EXIT_USAGE

    _register(env, model_file, capsys)
    src = _put_csv(env.data_bucket, "incoming/churn/same.csv", _frame(20, 3).drop(columns=["churned"]))
    before = boto3.client("s3").get_object(Bucket=env.data_bucket, Key="incoming/churn/same.csv")
    code = main(["score", "--model", "churn@champion", "--input", src, "--output", src])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert err.count("\n") == 1 and "is the input" in err and "Traceback" not in err
    versions = boto3.client("s3").list_object_versions(
        Bucket=env.data_bucket, Prefix="incoming/churn/same.csv"
    )
    assert [v["VersionId"] for v in versions["Versions"]] == [before["VersionId"]]
    local = tmp_path / "day.csv"
    _frame(10, 4).drop(columns=["churned"]).to_csv(local, index=False)
    content = local.read_bytes()
    # the same file spelled differently is still the input
    other = str(tmp_path / "." / "day.csv")
    assert main(["score", "--model", model_file, "--input", str(local), "--output", other]) == EXIT_USAGE
    assert main(["score", "--model", model_file, "--input", str(local), "--rejected", str(local),
                 "--output", str(tmp_path / "o.parquet")]) == EXIT_USAGE  # fmt: skip
    assert local.read_bytes() == content and not (tmp_path / "o.parquet").exists()


def test_existing_directory_as_output_is_one_line_exit_2(tmp_path, model_file, capsys):
    from scorewatch.cli import EXIT_USAGE

    src = tmp_path / "in.csv"
    _frame(10, 5).drop(columns=["churned"]).to_csv(src, index=False)
    (tmp_path / "out").mkdir()
    code = main(["score", "--model", model_file, "--input", str(src), "--output", str(tmp_path / "out"),
                 "--id-columns", "customer_id"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == EXIT_USAGE and "existing directory" in err and "Traceback" not in err
    assert err.strip().count("\n") == 0
    assert list((tmp_path / "out").iterdir()) == []
    # with the trailing slash it is a directory prefix, as documented
    code = main(["score", "--model", model_file, "--input", str(src), "--output", str(tmp_path / "out") + "/",
                 "--id-columns", "customer_id"])  # fmt: skip
    assert code == EXIT_OK, capsys.readouterr().err
    assert len(list((tmp_path / "out").glob("*.parquet"))) == 1


def test_missing_credentials_is_one_line_exit_5(env, model_file, capsys, monkeypatch, tmp_path):
    _register(env, model_file, capsys)
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    from scorewatch.io.storage import s3 as s3_mod

    def forget_clients():
        registry_mod.clear_cache()
        s3_mod._s3_client.cache_clear()
        s3_mod._s3fs.cache_clear()

    forget_clients()
    src = f"s3://{env.data_bucket}/incoming/churn/x.csv"
    try:
        code = main(
            ["score", "--model", "churn@champion", "--input", src, "--output", str(tmp_path / "o.parquet")]
        )
    finally:
        forget_clients()  # the next tests get clients with credentials again
    err = capsys.readouterr().err
    assert code == EXIT_CONFIG_ERROR, err
    assert "credentials" in err and "Traceback" not in err and err.strip().count("\n") == 0


def test_non_scorewatch_error_is_one_line_exit_10(monkeypatch, capsys, tmp_path, model_file):
    from scorewatch.cli import EXIT_UNEXPECTED
    from scorewatch.scoring import offline

    def boom(*args, **kwargs):
        raise KeyError("something\nwith two lines")

    monkeypatch.setattr(offline, "score_file_with", boom)
    src = tmp_path / "in.csv"
    _frame(5, 6).drop(columns=["churned"]).to_csv(src, index=False)
    code = main(["score", "--model", model_file, "--input", str(src), "--output", str(tmp_path / "o.parquet"),
                 "--id-columns", "customer_id"])  # fmt: skip
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "note:" not in line]
    assert code == EXIT_UNEXPECTED and len(errors) == 1, err
    assert errors[0].startswith("scorewatch: unexpected error: KeyError") and "Traceback" not in err
    monkeypatch.setenv("SCOREWATCH_TRACEBACK", "1")
    with pytest.raises(KeyError):
        main(["score", "--model", model_file, "--input", str(src), "--output", str(tmp_path / "o.parquet"),
              "--id-columns", "customer_id"])  # fmt: skip


def test_score_a_model_file_with_a_reviewed_schema(tmp_path, model_file, capsys):
    src = tmp_path / "in.csv"
    df = _frame(120, 21).drop(columns=["churned"])
    df.to_csv(src, index=False)
    assert main(["schema", "infer", str(src)]) == EXIT_OK
    doc = json.loads(capsys.readouterr().out)
    limit = float(df["tenure"].median())
    for f in doc["feature_schema"]["features"]:
        if f["name"] == "tenure":
            f.update({"max": limit, "strict": True})  # the reviewer's rule: above it is an error
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(doc))
    out = tmp_path / "o.parquet"
    args = ["score", "--model", model_file, "--input", str(src), "--output", str(out), "--json"]
    code = main([*args, "--schema", str(schema), "--id-columns", "customer_id", "--max-reject-fraction", "1"])
    captured = capsys.readouterr()
    assert code == EXIT_OK, captured.err
    result = json.loads(captured.out.strip().splitlines()[-1])
    above = int((df["tenure"] > limit).sum())
    assert above > 0 and result["rows_rejected"] == above and result["rows_scored"] == len(df) - above

    partial = {"features": [{"name": "tenure", "type": "numeric"}]}
    schema.write_text(json.dumps(partial))
    assert main([*args, "--schema", str(schema)]) == EXIT_CONFIG_ERROR
    err = capsys.readouterr().err
    assert (
        "must name exactly the features" in err
        and "monthly_spend" in err
        and len(err.strip().splitlines()) == 1
    )


def test_schema_is_refused_for_a_registered_model(env, model_file, capsys, tmp_path):
    from scorewatch.cli import EXIT_USAGE

    _register(env, model_file, capsys)
    src = _put_csv(env.data_bucket, "incoming/churn/s.csv", _frame(20, 3).drop(columns=["churned"]))
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps({"features": [{"name": "tenure", "type": "numeric"}]}))
    out = str(tmp_path / "o.parquet")
    code = main(
        ["score", "--model", "churn@champion", "--input", src, "--output", out, "--schema", str(schema)]
    )
    assert code == EXIT_USAGE
    assert "--schema applies to a model file" in capsys.readouterr().err

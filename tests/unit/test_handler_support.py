"""Settings, event details, EMF metrics, the handlers' Powertools stack and transient errors (no emulator)."""

from __future__ import annotations

import functools
import io
import json
import warnings
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from pydantic import ValidationError

from scorewatch.core.contract import DIMENSION_MODEL, HANDLERS, METRIC_NAMESPACE, DetailType, Env, Metric
from scorewatch.core.errors import ConfigError, InputRejectedError, TransientError
from scorewatch.handlers import logger, observed
from scorewatch.handlers import settings as st
from scorewatch.io.events import (
    DETAIL_MODELS,
    BatchScored,
    DriftDetected,
    EventPublisher,
    parse_detail,
)
from scorewatch.io.metrics import METRICS, record
from scorewatch.io.transient import is_transient, transient_errors
from tests.handler_env import Ctx

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

BASE_ENV = {
    Env.DATA_BUCKET: "data-bucket",
    Env.MODELS_BUCKET: "models-bucket",
    Env.REGISTRY_TABLE: "registry",
    Env.IDEMPOTENCY_TABLE: "idem",
    Env.EVENT_BUS: "bus",
}


def test_every_handler_has_a_settings_model():
    assert set(st.SETTINGS_BY_FUNCTION) == set(HANDLERS)


def test_score_settings_parse_and_carry_no_model_configuration():
    s = st.load(st.ScoreSettings, {**BASE_ENV, Env.CONFIG_TTL_SECONDS: "5"})
    assert s.data_bucket == "data-bucket"
    assert s.registry_table == "registry"
    assert s.config_ttl_seconds == 5
    assert st.load(st.ScoreSettings, BASE_ENV).config_ttl_seconds == 60
    assert not hasattr(s, "models")
    assert s.large_file_state_machine_arn is None
    assert s.allow_unsafe_pickle is False


def test_settings_are_cached_per_environment_values():
    a = st.load(st.ScoreSettings, BASE_ENV)
    b = st.load(st.ScoreSettings, dict(BASE_ENV))
    c = st.load(st.ScoreSettings, {**BASE_ENV, Env.DATA_BUCKET: "other-bucket"})
    assert a is b
    assert c.data_bucket == "other-bucket"


def test_missing_env_key_is_a_config_error_naming_the_key():
    env = {k: v for k, v in BASE_ENV.items() if k != Env.IDEMPOTENCY_TABLE}
    with pytest.raises(ConfigError, match=Env.IDEMPOTENCY_TABLE):
        st.load(st.ScoreSettings, env)


def test_invalid_config_ttl_names_the_key():
    env = {**BASE_ENV, Env.CONFIG_TTL_SECONDS: "-1"}
    with pytest.raises(ConfigError, match=Env.CONFIG_TTL_SECONDS):
        st.load(st.MonitorSettings, env)


def test_required_env_lists_what_each_function_needs():
    assert Env.IDEMPOTENCY_TABLE in st.required_env(st.ScoreSettings)
    assert Env.IDEMPOTENCY_TABLE not in st.required_env(st.MonitorSettings)
    assert Env.LARGE_FILE_STATE_MACHINE_ARN not in st.required_env(st.ScoreSettings)
    assert Env.LARGE_FILE_STATE_MACHINE_ARN in st.env_keys(st.ScoreSettings)
    assert Env.MODELS_BUCKET not in st.required_env(st.SplitSettings)
    for cls in st.SETTINGS_BY_FUNCTION.values():
        assert {Env.DATA_BUCKET, Env.EVENT_BUS, Env.REGISTRY_TABLE} <= st.required_env(cls)
        assert Env.MODELS_CONFIG not in st.env_keys(cls)


def test_boolean_flags_parse_from_strings():
    s = st.load(st.RetrainSettings, {**BASE_ENV, Env.ALLOW_UNSAFE_PICKLE: "true"})
    assert s.allow_unsafe_pickle is True


def _scored(**kw):
    base = dict(
        model="churn",
        version="000001",
        batch_id="abc",
        source_uri="s3://b/incoming/churn/a.csv",
        rows_in=3,
        rows_scored=2,
        rows_rejected=1,
        output_uri="s3://b/scored/x.parquet",
        profile_uri="s3://b/monitoring/p.json",
        scored_at=NOW,
    )
    return BatchScored(**{**base, **kw})


def test_every_detail_type_has_a_model():
    assert set(DETAIL_MODELS) == {v for k, v in vars(DetailType).items() if not k.startswith("_")}


def test_detail_round_trips_through_json():
    d = _scored()
    back = parse_detail(DetailType.BATCH_SCORED, d.to_json())
    assert back == d
    assert json.loads(d.to_json())["scored_at"] == "2026-01-02T03:04:05Z"


def test_detail_rejects_unknown_fields_and_negative_counts():
    with pytest.raises(ValidationError):
        _scored(unknown=1)
    with pytest.raises(ValidationError):
        _scored(rows_scored=-1)


class _FakeEvents:
    def __init__(self, response=None, exc=None):
        self.calls, self.response, self.exc = [], response, exc

    def put_events(self, Entries):
        self.calls.append(Entries)
        if self.exc:
            raise self.exc
        return self.response or {
            "FailedEntryCount": 0,
            "Entries": [{"EventId": f"id{i}"} for i in range(len(Entries))],
        }


def test_publisher_sends_source_detail_type_and_bus():
    fake = _FakeEvents()
    eid = EventPublisher("bus", client=fake).publish(_scored())
    assert eid == "id0"
    entry = fake.calls[0][0]
    assert entry["Source"] == "scorewatch"
    assert entry["DetailType"] == "Batch Scored"
    assert entry["EventBusName"] == "bus"
    assert json.loads(entry["Detail"])["batch_id"] == "abc"


def test_publisher_raises_transient_error_on_failed_entries():
    fake = _FakeEvents(
        response={"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "x"}]}
    )
    with pytest.raises(TransientError, match="InternalFailure"):
        EventPublisher("bus", client=fake).publish(_scored())


def test_publisher_maps_throttling_to_transient_and_keeps_other_errors():
    throttled = ClientError({"Error": {"Code": "ThrottlingException"}}, "PutEvents")
    with pytest.raises(TransientError):
        EventPublisher("bus", client=_FakeEvents(exc=throttled)).publish(_scored())
    missing = ClientError({"Error": {"Code": "ResourceNotFoundException"}}, "PutEvents")
    with pytest.raises(ClientError):
        EventPublisher("bus", client=_FakeEvents(exc=missing)).publish(_scored())


def test_publisher_batches_more_than_ten_entries():
    fake = _FakeEvents()
    ids = EventPublisher("bus", client=fake).publish_many([_scored(batch_id=str(i)) for i in range(23)])
    assert len(ids) == 23
    assert [len(c) for c in fake.calls] == [10, 10, 3]


def test_drift_detected_requires_scope():
    with pytest.raises(ValidationError):
        DriftDetected(
            model="m",
            version="1",
            dataset_drift=True,
            drift_share=0.6,
            prediction_drift=False,
            report_uri="s3://b/r.json",
            detected_at=NOW,
        )


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (
            ClientError({"Error": {"Code": "SlowDown"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "Get"),
            True,
        ),
        (ClientError({"Error": {"Code": "X"}, "ResponseMetadata": {"HTTPStatusCode": 500}}, "Get"), True),
        (
            ClientError(
                {"Error": {"Code": "AccessDenied"}, "ResponseMetadata": {"HTTPStatusCode": 403}}, "Get"
            ),
            False,
        ),
        (EndpointConnectionError(endpoint_url="http://x"), True),
        (OSError("AWS Error SLOW_DOWN during GetObject operation: SlowDown"), True),
        (FileNotFoundError("nope"), False),
        (ValueError("bad"), False),
    ],
)
def test_is_transient_classifies_errors(exc, expected):
    assert is_transient(exc) is expected


def test_record_emits_emf_with_only_the_model_dimension(capsys, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "scorewatch")
    METRICS.clear_metrics()
    record("churn", {Metric.ROWS_SCORED: 7, Metric.MAX_PSI: None})
    record("fraud", {Metric.ROWS_SCORED: 3})
    METRICS.flush_metrics()
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [(b[DIMENSION_MODEL], b[Metric.ROWS_SCORED]) for b in blobs] == [
        ("churn", [7.0]),
        ("fraud", [3.0]),
    ]
    for b in blobs:
        directive = b["_aws"]["CloudWatchMetrics"][0]
        assert directive["Namespace"] == METRIC_NAMESPACE
        assert directive["Dimensions"] == [[DIMENSION_MODEL]]
        assert Metric.MAX_PSI not in b


SLOW_DOWN = ClientError({"Error": {"Code": "SlowDown"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "Put")


def test_transient_errors_names_what_failed_and_chains_the_cause():
    with pytest.raises(TransientError, match=r"transient failure writing s3://b/k: ClientError") as info:
        with transient_errors(what="writing s3://b/k"):
            raise SLOW_DOWN
    assert info.value.__cause__ is SLOW_DOWN


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("bad"),
        FileNotFoundError("s3://b/k"),
        TransientError("already classified"),
        InputRejectedError("bad column", reason="missing_columns"),
    ],
)
def test_transient_errors_lets_other_and_own_errors_through_unchanged(exc):
    with pytest.raises(type(exc)) as info:
        with transient_errors(what="x"):
            raise exc
    assert info.value is exc


def test_transient_errors_judges_a_wrapper_by_its_cause():
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyPersistenceLayerError

    def wrapped(cause: Exception) -> None:
        try:
            raise cause
        except Exception as exc:
            raise IdempotencyPersistenceLayerError("Failed to save in progress record") from exc

    wrappers = (IdempotencyPersistenceLayerError,)
    with pytest.raises(TransientError, match="idempotency record for s3://b/k: ClientError") as info:
        with transient_errors(what="idempotency record for s3://b/k", wrappers=wrappers):
            wrapped(SLOW_DOWN)
    assert isinstance(info.value.__cause__, IdempotencyPersistenceLayerError)
    with pytest.raises(IdempotencyPersistenceLayerError):
        with transient_errors(what="idempotency record", wrappers=wrappers):
            wrapped(ValueError("not a throttle"))


def test_observed_handlers_log_the_correlation_id_clear_state_and_flush_metrics(capsys, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "scorewatch")

    @observed
    def handler(event, context):
        if event.get("extra"):
            logger.append_keys(extra=event["extra"])
        logger.info("handled")
        record("churn", {Metric.ROWS_SCORED: 2})
        return {"ok": True}

    @functools.partial(observed, emf=False)
    def quiet(event, context):
        logger.info("quiet")
        return {}

    buf = io.StringIO()
    old = logger.registered_handler.setStream(buf)
    try:
        assert handler({"id": "evt-1", "extra": "leaks?"}, Ctx()) == {"ok": True}
        handler({"execution_id": "exec-2"}, Ctx())
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # log_metrics would warn "No application metrics"
            quiet({"batch_id": "b-3"}, Ctx(function_name="retrain_train"))
    finally:
        logger.registered_handler.setStream(old)
    lines = [json.loads(line) for line in buf.getvalue().splitlines()]
    assert [(ln["message"], ln["correlation_id"]) for ln in lines] == [
        ("handled", "evt-1"),
        ("handled", "exec-2"),
        ("quiet", "b-3"),
    ]
    assert lines[0]["extra"] == "leaks?" and "extra" not in lines[1]  # clear_state
    assert "cold_start" in lines[0] and lines[1]["cold_start"] is False
    blobs = [json.loads(ln) for ln in capsys.readouterr().out.splitlines() if '"_aws"' in ln]
    assert [b[Metric.ROWS_SCORED] for b in blobs] == [[2.0], [2.0]]

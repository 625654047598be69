"""Event normalisation, idempotency keys and data-layout keys of the handlers (no emulator)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jmespath
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from scorewatch.core import layout
from scorewatch.core.config import parse_config
from scorewatch.core.contract import Env
from scorewatch.core.errors import InputRejectedError
from scorewatch.handlers import scheduled_models, score_requests
from scorewatch.handlers.score import IDEMPOTENCY
from scorewatch.handlers.settings import ScoreSettings, load
from scorewatch.io.events import DriftDetected, parse_detail
from scorewatch.scoring.batch import PartSpec, ScoreOutcome, ScoreRequest

EVENTS = Path(__file__).resolve().parents[1] / "events"
SETTINGS = load(
    ScoreSettings,
    {
        Env.DATA_BUCKET: "sw-data-example",
        Env.MODELS_BUCKET: "sw-models-example",
        Env.REGISTRY_TABLE: "registry",
        Env.IDEMPOTENCY_TABLE: "idem",
        Env.EVENT_BUS: "bus",
    },
)


def _event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def _key(payload: dict):
    return jmespath.search(IDEMPOTENCY.event_key_jmespath, payload)


def test_object_created_event_becomes_a_pinned_request():
    (req,) = score_requests(_event("s3_object_created.json"), SETTINGS)
    assert req.bucket == "sw-data-example"
    assert req.key == "incoming/churn/2026-01-02/customers.csv"
    assert req.version_id == "IYV3p45BT0ac8hjHg1houSdS1a.Mppb."
    assert req.etag == "b1946ac92492d2347c6235b4d2611184"


def test_key_with_spaces_and_unicode_is_kept_verbatim():
    (req,) = score_requests(_event("s3_object_created_unicode_key.json"), SETTINGS)
    assert req.key == "incoming/churn/März export/Kunden Übersicht 2026 (final) é.csv"
    assert req.uri == f"s3://sw-data-example/{req.key}"
    assert layout.model_from_key(req.key) == "churn"


def test_direct_part_payload_parses_without_touching_s3():
    (req,) = score_requests(_event("direct_payload_part.json"), SETTINGS)
    assert req.part == PartSpec(index=2, row_groups=[4, 5])
    assert (req.model_name, req.model_version) == ("churn", "000001")


def test_step_functions_wrapped_payload_is_unwrapped():
    payload = {"input": _event("direct_payload_part.json"), "execution_id": "arn:exec"}
    (req,) = score_requests(payload, SETTINGS)
    assert req.key.endswith("big.parquet")


def test_part_needs_exactly_one_of_row_groups_or_byte_range():
    with pytest.raises(ValidationError):
        PartSpec(index=0)
    with pytest.raises(ValidationError):
        PartSpec(index=0, row_groups=[1], byte_range=(0, 10))
    assert PartSpec(index=1, byte_range=(10, 20)).byte_range == (10, 20)


def test_idempotency_key_is_the_upload_part_and_model_version():
    base = {"bucket": "bkt", "key": "incoming/churn/a.csv", "version_id": "v1", "etag": "e1"}
    assert _key(base) == ["bkt", "incoming/churn/a.csv", "v1", None, None, None]
    assert _key(base) == _key(dict(base))  # same upload, same key
    assert _key(dict(base, version_id="v2")) != _key(base)  # new upload to the same key
    assert _key(dict(base, version_id=None)) == ["bkt", "incoming/churn/a.csv", "e1", None, None, None]
    part = ScoreRequest(**base, part=PartSpec(index=3, row_groups=[3])).model_dump(mode="json")
    assert _key(part) == ["bkt", "incoming/churn/a.csv", "v1", 3, None, None]
    # a backfill pinning a model version is not the champion's run of the same upload
    pinned = dict(base, model_name="churn", model_version="20260101T000000-abc")
    assert _key(pinned) == ["bkt", "incoming/churn/a.csv", "v1", None, "churn", "20260101T000000-abc"]
    assert _key(dict(pinned, model_version="20260201T000000-def")) != _key(pinned)


def test_idempotency_key_is_absent_without_version_or_etag():
    assert _key({"bucket": "b", "key": "k", "version_id": None, "etag": None}) is None
    assert IDEMPOTENCY.raise_on_no_idempotency_key is True


def test_scheduled_event_targets_the_model_named_by_its_rule():
    cfg = parse_config(
        {
            "models": [
                {"name": "churn", "schedules": {"monitoring": "rate(1 day)"}},
                {"name": "x-churn", "schedules": {"monitoring": "rate(1 day)"}},
                {"name": "fraud", "schedules": {"monitoring": None}},
            ]
        }
    )
    from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

    ev = EventBridgeModel.model_validate(_event("scheduled_event.json"))
    assert scheduled_models(ev, cfg, kind="monitor") == ["churn"]
    other = copy.deepcopy(_event("scheduled_event.json"))
    other["resources"] = ["arn:aws:events:us-east-1:123456789012:rule/sw-monitor-x-churn"]
    assert scheduled_models(EventBridgeModel.model_validate(other), cfg, kind="monitor") == ["x-churn"]
    other["resources"] = []
    assert scheduled_models(EventBridgeModel.model_validate(other), cfg, kind="monitor") == [
        "churn",
        "x-churn",
    ]
    assert scheduled_models(EventBridgeModel.model_validate(other), cfg, kind="score") == []


@pytest.mark.parametrize(
    "key",
    ["orphan.csv", "incoming/orphan.csv", "incoming/../x/a.csv", "incoming/churn/", "labels/churn/a.csv"],
)
def test_keys_outside_incoming_model_are_rejected_as_input(key):
    with pytest.raises(InputRejectedError) as info:
        layout.model_from_key(key)
    assert key in str(info.value)


def test_output_keys_are_deterministic_and_hive_partitioned():
    assert (
        layout.profile_key("churn", "2026-01-02", "ab")
        == "monitoring/model=churn/profiles/date=2026-01-02/ab.json"
    )
    assert layout.rejected_key("churn", "2026-01-02", "ab", report=True).endswith("/ab.json")
    assert layout.part_profile_key("churn", "ab", 7) == "monitoring/model=churn/parts/ab/part-00007.json"
    assert layout.manifest_key("churn", "ab") == "parts/model=churn/ab/manifest.json"


def test_outcome_survives_the_idempotency_serializer():
    from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer

    ser = PydanticSerializer(model=ScoreOutcome)
    out = ScoreOutcome(status="scored", source_uri="s3://b/k", batch_id="ab", rows_in=3, rows_scored=3)
    assert ser.from_dict(json.loads(json.dumps(ser.to_dict(out)))) == out


def test_drift_detected_fixture_parses():
    ev = _event("drift_detected.json")
    detail = parse_detail(ev["detail-type"], ev["detail"])
    assert isinstance(detail, DriftDetected) and detail.scope == "batch" and detail.dataset_drift


@given(
    model=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,20}", fullmatch=True),
    dirs=st.lists(
        st.text(st.characters(blacklist_characters="/", blacklist_categories=("Cs",)), min_size=1), max_size=3
    ),
    name=st.text(st.characters(blacklist_characters="/", blacklist_categories=("Cs",)), min_size=1),
)
def test_model_from_key_reads_the_first_segment_under_incoming(model, dirs, name):
    key = "/".join(["incoming", model, *dirs, name])
    assert layout.model_from_key(key) == model

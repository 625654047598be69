"""Version numbers and CLI model references (no AWS)."""

from __future__ import annotations

import pytest

from scorewatch.cli.registry_args import parse_model_ref
from scorewatch.core.errors import ConfigError, ModelNotFoundError
from scorewatch.io.registry import format_version
from scorewatch.scoring.offline import local_model_name


@pytest.mark.parametrize(
    ("given", "expected"), [(3, "000003"), ("3", "000003"), ("000042", "000042"), (" 7 ", "000007")]
)
def test_format_version_zero_pads(given, expected):
    assert format_version(given) == expected


@pytest.mark.parametrize("bad", ["0", "-1", "abc", "1.5", "", "../1", "champion"])
def test_format_version_refuses_non_versions(bad):
    with pytest.raises(ModelNotFoundError, match="invalid model version"):
        format_version(bad)


def test_parse_model_ref_registry_and_files(tmp_path):
    assert parse_model_ref("churn@champion").name == "churn"
    assert parse_model_ref("churn@champion").ref == "champion"
    assert parse_model_ref("churn@12").ref == "12"
    assert parse_model_ref("s3://models/churn.skops").path == "s3://models/churn.skops"
    assert parse_model_ref("model.PKL").is_file
    existing = tmp_path / "weird@name"
    existing.write_bytes(b"")
    assert parse_model_ref(str(existing)).path == str(existing)


@pytest.mark.parametrize("bad", ["churn", "@champion", "churn@"])
def test_parse_model_ref_refuses_ambiguous_text(bad):
    with pytest.raises(ConfigError, match="name@champion"):
        parse_model_ref(bad)


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("models/churn.skops", "churn"),
        ("/x/My Model v2.joblib", "My-Model-v2"),
        ("../..skops", "local-model"),
    ],
)
def test_local_model_name_is_a_safe_name(path, name):
    assert local_model_name(path) == name

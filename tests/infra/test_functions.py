"""The function factory on its own: architecture choice, one image asset, environment keys."""

from __future__ import annotations

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Match, Template

from scorewatch.core.contract import HANDLERS, Env
from scorewatch.core.errors import ConfigError
from scorewatch_infra.functions import FUNCTION_SPECS, FunctionFactory, read_dockerignore

pytestmark = pytest.mark.xdist_group("infra")

ENV = {Env.DATA_BUCKET: "data", Env.EVENT_BUS: "bus", Env.REGISTRY_TABLE: "registry"}


def factory_template(architecture: str) -> Template:
    stack = Stack(App(), "factory")
    factory = FunctionFactory(stack, "functions", prefix="t", architecture=architecture, environment=ENV)
    factory.create("split")
    return Template.from_stack(stack)


def test_x86_64_is_selectable():
    template = factory_template("x86_64")
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {"Architectures": ["x86_64"], "ImageConfig": {"Command": [HANDLERS["split"]]}},
    )


def test_unknown_architecture_is_refused():
    with pytest.raises(ConfigError, match="architecture 'ppc64le'"):
        FunctionFactory(Stack(App(), "s"), "f", prefix="t", architecture="ppc64le", environment=ENV)


def test_synchronous_functions_get_no_dead_letter_queue():
    template = factory_template("arm64")
    template.resource_count_is("AWS::SQS::Queue", 0)
    template.resource_count_is("AWS::Lambda::EventInvokeConfig", 0)
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": Match.object_like({Env.DATA_BUCKET: "data", Env.REGISTRY_TABLE: "registry"})
            }
        },
    )


def test_specs_use_only_contract_env_keys_and_lambda_limits():
    contract_keys = {v for k, v in vars(Env).items() if not k.startswith("_")}
    for fid, spec in FUNCTION_SPECS.items():
        assert set(spec.env_keys) <= contract_keys, fid
        assert 128 <= spec.memory_mb <= 10240 and spec.timeout.to_seconds() <= 900, fid
        assert 512 <= spec.ephemeral_mb <= 10240, fid


def test_image_context_allowlists_only_the_package_and_requirements():
    patterns = read_dockerignore()
    assert patterns[0] == "*"
    assert {"!functions/scorewatch", "!layers/requirements.txt", "!layers/Dockerfile"} <= set(patterns)

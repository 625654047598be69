"""Shared by the infra tests (a plain module: the tests directories are not packages)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "examples" / "models.json"


@dataclass
class Synthesized:
    config: Any  # scorewatch.core.config.ScorewatchConfig the app was synthesized with
    template: dict[str, Any]
    report: dict[str, Any]
    template_path: Path
    stack: Any
    synth_error: str | None

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.template["Resources"]

    def of_type(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == cfn_type}

    def props(self, logical_id: str) -> dict[str, Any]:
        return self.resources[logical_id].get("Properties", {})

    def logical_id(self, construct: Any) -> str:
        return self.stack.resolve(construct.node.default_child.logical_id)


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def statements_of_role(synth: Synthesized, role_logical_id: str) -> list[dict[str, Any]]:
    """Every statement of the IAM policies attached to one role."""
    out = []
    for policy in synth.of_type("AWS::IAM::Policy").values():
        if {"Ref": role_logical_id} in policy["Properties"]["Roles"]:
            out += policy["Properties"]["PolicyDocument"]["Statement"]
    return out


def fn_id(synth: Synthesized, function_id: str) -> str:
    """Logical id of the function ``function_id`` (a contract.HANDLERS key)."""
    return synth.logical_id(synth.stack.factory.functions[function_id].function)
